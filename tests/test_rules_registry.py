"""The family registry's extension points: register_family / unregister_family, register_query_parser."""

from __future__ import annotations

import pytest

from cinb.errors import CIError
from cinb.rules import parse_rule
from cinb.rules.registry import families, register_family, unregister_family


def _rotate90(segments):
    return parse_rule("imageMogr2/rotate/90").stages[0]


def test_unregister_family_removes_the_prefix_and_forgets_parsed_rules():
    register_family("DemoFamily", _rotate90)
    assert str(parse_rule("DemoFamily/x")) == "imageMogr2/rotate/90"  # parsed once: now cached
    assert unregister_family("DemoFamily") is True
    assert "DemoFamily" not in families()
    with pytest.raises(CIError) as err:
        parse_rule("DemoFamily/x")  # not answered from the parse cache
    assert err.value.code == -103


def test_unregister_family_of_an_unknown_prefix_is_nothing_to_do():
    assert unregister_family("NeverRegisteredFamily") is False


def test_unregister_family_with_where_leaves_a_parser_that_does_not_match():
    register_family("DemoOwned", _rotate90)
    try:
        assert unregister_family("DemoOwned", where=lambda parser: getattr(parser, "endpoint", None) == "X") \
            is False
        assert "DemoOwned" in families()
        assert unregister_family("DemoOwned", where=lambda parser: parser is _rotate90) is True
        assert "DemoOwned" not in families()
    finally:
        unregister_family("DemoOwned")


def test_an_endpoints_rule_form_parser_names_its_endpoint():
    # what lets unregister_endpoint recognise the rule form it registered
    from cinb.ai.endpoints import Answer, Endpoint, register_endpoint, unregister_endpoint
    from cinb.ai.stages import register_rule_form

    register_rule_form(register_endpoint(Endpoint("OwnerDemo", lambda inp: Answer({}), rule="OwnerDemo")))
    try:
        assert unregister_family("OwnerDemo", where=lambda p: getattr(p, "endpoint", None) == "OwnerDemo")
    finally:
        unregister_endpoint("OwnerDemo")
