"""Parsed rules are cached by text, shared only when immutable, bounded, and forgotten when a parser
is registered."""

from __future__ import annotations

import dataclasses

import pytest
from PIL import Image

import cinb
from cinb.caches import clear_caches
from cinb.errors import CIError
from cinb.rules.mogr2 import register_op, unregister_op
from cinb.rules.registry import parse_rule

RULE = "imageMogr2/auto-orient/thumbnail/512x512/quality/85!|imageInfo"


def test_the_same_text_gives_the_same_immutable_rule():
    a, b = parse_rule(RULE), parse_rule(RULE)
    assert a is b
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.stages = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.stages[0].ops = ()
    assert isinstance(a.stages, tuple) and isinstance(a.stages[0].ops, tuple)
    assert str(a) == RULE


def test_processing_with_a_cached_rule_leaves_it_unchanged():
    rule = "imageMogr2/thumbnail/!50p/format/png"
    before = repr(parse_rule(rule))
    for size in [(40, 30), (30, 40)]:
        assert cinb.process(Image.new("RGB", size, "red"), rule).width == size[0] // 2
    assert repr(parse_rule(rule)) == before


def test_registering_an_operation_is_seen_by_a_rule_parsed_before():
    @dataclasses.dataclass(frozen=True)
    class Invert:
        on: str

        def tokens(self):
            return ["invert", self.on]

        def apply(self, canvas, ctx=None):
            return canvas

    with pytest.raises(CIError):
        parse_rule("imageMogr2/invert/1")
    register_op("invert", Invert)
    try:
        assert parse_rule("imageMogr2/invert/1").stages[0].ops == (Invert("1"),)
    finally:
        unregister_op("invert")
    with pytest.raises(CIError):
        parse_rule("imageMogr2/invert/1")


def test_a_rule_holding_mutable_state_is_parsed_afresh():
    @dataclasses.dataclass  # not frozen: callers must not share it
    class Tag:
        value: str

        def tokens(self):
            return ["tagit", self.value]

        def apply(self, canvas, ctx=None):
            return canvas

    register_op("tagit", Tag)
    try:
        a, b = parse_rule("imageMogr2/tagit/x"), parse_rule("imageMogr2/tagit/x")
        assert a == b and a is not b and a.stages[0].ops[0] is not b.stages[0].ops[0]
    finally:
        unregister_op("tagit")


def test_the_cache_is_bounded_and_clearable():
    first = parse_rule("imageMogr2/thumbnail/77x")
    assert parse_rule("imageMogr2/thumbnail/77x") is first
    for i in range(300):
        parse_rule(f"imageMogr2/thumbnail/{1000 + i}x")
    assert parse_rule("imageMogr2/thumbnail/77x") is not first  # the oldest entry was dropped
    again = parse_rule("imageMogr2/thumbnail/77x")
    assert "cinb.rules.registry.clear_parsed" in clear_caches()
    assert parse_rule("imageMogr2/thumbnail/77x") is not again


def test_bad_rules_raise_every_time():
    for _ in range(2):
        with pytest.raises(CIError) as err:
            parse_rule("imageMogr2/thumbnail/abc")
        assert err.value.code == -103
