"""unregister_endpoint undoes everything registering did: the name, its aliases, its rule form, its analysis."""

from __future__ import annotations

import io

import pytest
from PIL import Image

import cinb
from cinb.ai.endpoints import Answer, Endpoint, int_param, register_endpoint, unregister_endpoint
from cinb.ai.stages import register_rule_form
from cinb.collection.analyses.endpoints import register_endpoint_analysis
from cinb.collection.analyses.registry import get_analysis, list_analyses, register_analysis, unregister_analysis
from cinb.errors import CIError
from cinb.rules import parse_rule
from cinb.rules.registry import families, register_family, unregister_family


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (6, 4), (10, 20, 30)).save(buf, "PNG")
    return buf.getvalue()


def _width(inp, *, times):
    return Answer({"Width": inp.image(None).width * times})


def _declare(name="WidthDemo"):
    ep = register_endpoint(Endpoint(name, _width, params=(int_param("times", 1, lo=1, hi=3),), rule=name,
                                    aliases=(f"{name}Alias",), analysis=name.lower(), columns={"w": int},
                                    flatten=lambda r: {"w": r["Width"]}))
    register_rule_form(ep)
    register_endpoint_analysis(ep)
    return ep


def test_unregistering_removes_the_name_aliases_rule_form_and_analysis():
    _declare()
    assert cinb.ci_process(_png(), "WidthDemoAlias", times=2).json == {"Width": 12}
    assert str(parse_rule("WidthDemo/times/2")) == "WidthDemo/times/2"
    assert "widthdemo" in list_analyses() and get_analysis("widthdemo")
    unregister_endpoint("WidthDemo")
    for name in ("WidthDemo", "WidthDemoAlias", "widthdemo"):
        with pytest.raises(CIError) as err:
            cinb.ci_process(_png(), name)
        assert err.value.code == -103
    assert "WidthDemo" not in families()
    with pytest.raises(CIError) as err:
        parse_rule("WidthDemo/times/2")
    assert err.value.code == -103
    assert "widthdemo" not in list_analyses()
    with pytest.raises(CIError):
        get_analysis("widthdemo")
    unregister_endpoint("WidthDemo")  # twice, or a name never registered: nothing to do
    unregister_endpoint("NeverRegisteredDemo")


def test_registering_again_after_unregistering_works():
    _declare()
    unregister_endpoint("WidthDemo")
    _declare()
    try:
        assert cinb.ci_process(_png(), "WidthDemo").json == {"Width": 6}
        assert str(parse_rule("WidthDemo")) == "WidthDemo"
    finally:
        unregister_endpoint("WidthDemo")


def test_a_rule_family_or_analysis_of_the_same_name_that_is_not_the_endpoints_stays():
    # something else registered under the endpoint's rule prefix or analysis name is not the endpoint's
    ep = register_endpoint(Endpoint("OtherDemo", _width, params=(int_param("times", 1, lo=1, hi=3),),
                                    rule="OtherDemo", analysis="otherdemo", columns={"w": int},
                                    flatten=lambda r: {"w": r["Width"]}))
    stage = parse_rule("imageMogr2/rotate/90").stages[0]
    register_family("OtherDemo", lambda segments: stage)
    register_analysis("otherdemo", lambda ctx: {"w": 1}, columns={"w": int})
    try:
        unregister_endpoint(ep.name)
        assert "OtherDemo" in families() and "otherdemo" in list_analyses()
    finally:
        unregister_family("OtherDemo")
        unregister_analysis("otherdemo")
