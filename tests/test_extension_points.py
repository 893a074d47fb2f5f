"""Typed extension points, each owned by its registry: imageMogr2 parameters, encode strategies, CLI
commands, rule families loaded on first use."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest
from PIL import Image, ImageOps

from cinb import CIError, parse_rule, process
from cinb.codecs.options import EncodeOptions
from cinb.codecs.registry import register_strategy
from cinb.rules.mogr2 import register_op, unregister_op


@dataclass(frozen=True)
class Invert:
    on: int

    def tokens(self) -> list[str]:
        return ["invert", str(self.on)]

    def apply(self, canvas, ctx):
        return canvas.map_frames(ImageOps.invert) if self.on else canvas


def _parse_invert(value: str) -> Invert:
    if value not in ("0", "1"):
        raise CIError(f"invert must be 0 or 1, got {value!r}", token=value)
    return Invert(int(value))


@pytest.fixture
def invert_op():
    register_op("invert", _parse_invert)
    yield
    unregister_op("invert")


def test_a_registered_imagemogr2_parameter_parses_prints_and_applies(invert_op):
    rule = parse_rule("imageMogr2/thumbnail/2x/invert/1/format/png")
    assert str(rule) == "imageMogr2/thumbnail/2x/invert/1/format/png"
    assert parse_rule(str(rule)) == rule
    out = process(Image.new("RGB", (4, 4), "white"), rule)
    assert out.image.getpixel((0, 0)) == (0, 0, 0)


def test_a_registered_parameter_rejects_a_bad_value_and_is_forgotten_after(invert_op):
    with pytest.raises(CIError, match="invert must be 0 or 1"):
        parse_rule("imageMogr2/invert/2")
    unregister_op("invert")
    with pytest.raises(CIError, match="unknown imageMogr2 parameter 'invert'"):
        parse_rule("imageMogr2/invert/1")


@pytest.mark.parametrize("key", ["thumbnail", "quality", "rotate", "style", "strip"])
def test_built_in_imagemogr2_parameters_cannot_be_taken_over(key):
    with pytest.raises(ValueError, match="already reads"):
        register_op(key, _parse_invert)


@pytest.mark.parametrize("key", ["", "Invert", "in/vert", 3])
def test_a_parameter_name_must_be_a_lower_case_token(key):
    with pytest.raises(ValueError):
        register_op(key, _parse_invert)


def test_scrop_is_registered_by_its_feature_module_on_first_use():
    code = ("import sys; from cinb import parse_rule; assert 'cinb.ai.smartcrop' not in sys.modules; "
            "op = parse_rule('imageMogr2/scrop/100x100').stages[0].ops[0]; print(type(op).__module__, op.tokens())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["cinb.ai.smartcrop", "['scrop',", "'100x100']"]
    with pytest.raises(CIError, match="scrop"):
        parse_rule("imageMogr2/scrop/100x")


def test_an_encode_strategy_is_asked_for_through_encode_options():
    calls = []

    def tiny(canvas, opts, codec, quality, *, marker):
        calls.append((codec.name, quality, marker))
        return codec.save(canvas, 10, opts), 10, {"tiny": marker}, {}

    register_strategy("tiny-test", tiny)
    from cinb.rules.model import Stage

    @dataclass(frozen=True)
    class TinyStage(Stage):
        def __str__(self):
            return "tiny"

        @property
        def encode(self):
            return EncodeOptions(strategy=("tiny-test", {"marker": "m"}))

        def apply(self, canvas, ctx):
            return canvas

    from cinb.rules.model import Rule

    rule = Rule(parse_rule("imageMogr2/format/jpg").stages + (TinyStage(),))
    out = process(Image.new("RGB", (16, 16), "red"), rule)
    assert calls == [("jpeg", 85, "m")]
    assert out.info["tiny"] == "m" and out.info["quality"] == 10
    assert "strategy" not in out.info and "_encode_strategy" not in out.info


def test_an_unknown_encode_strategy_is_a_clear_error():
    from cinb.canvas import Canvas
    from cinb.codecs.registry import encode

    canvas = Canvas(frames=[Image.new("RGB", (4, 4))], source_format="png")
    with pytest.raises(CIError, match="no encoding strategy 'nowhere'"):
        encode(canvas, EncodeOptions(strategy=("nowhere", {})))


def test_encode_options_with_a_strategy_merge_and_stay_hashable():
    slim = EncodeOptions(strategy=("imageSlim", {"threshold": 80.0}))
    merged = EncodeOptions(format="webp").merged(slim)
    assert merged.format == "webp" and merged.strategy == ("imageSlim", {"threshold": 80.0})
    assert hash(merged) == hash(EncodeOptions(format="webp"))  # the strategy's dict is left out of the hash
    assert EncodeOptions(format="webp").merged(EncodeOptions(format="png")).strategy is None


def test_imageslim_reaches_its_strategy_without_touching_canvas_info():
    rule = parse_rule("imageMogr2/format/png|imageSlim")
    assert rule.encode_options.strategy[0] == "imageSlim"
    out = process(Image.new("RGB", (32, 32), "white"), rule)
    assert out.info["slim_metric"] == "ssimulacra2"


def test_cli_commands_come_from_the_command_modules():
    from cinb import cli

    assert cli.COMMAND_MODULES == ("cinb.collection.cli", "cinb.ai.cli", "cinb.lab")
    assert not hasattr(cli, "EXTRA_COMMANDS")
    commands = cli.build_parser()._subparsers._group_actions[0].choices
    assert {"process", "info", "scan", "apply", "analyze", "ai", "lab"} <= set(commands)


def test_parse_rule_knows_every_family_in_a_fresh_process():
    # no feature package imported by hand: the registry loads its plugins on first use
    code = ("from cinb.rules import families, parse_rule\n"
            "print(parse_rule('watermark/3/type/3/text/aGk').stages[0].__class__.__module__)\n"
            "print(' '.join(families()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    module, families = out.stdout.splitlines()
    assert module == "cinb.blind.stages", out.stderr
    assert {"imageMogr2", "imageView2", "style", "imageInfo", "exif", "imageAve", "watermark/1", "watermark/2",
            "watermark/3", "watermark/4", "imageSlim"} <= set(families.split())


def test_an_unknown_family_is_still_refused_after_loading_the_plugins():
    with pytest.raises(CIError, match="unknown processing family 'nope'"):
        parse_rule("nope/1")
    with pytest.raises(CIError, match="unsupported watermark variant '9'"):
        parse_rule("watermark/9/x")


def test_a_core_rule_loads_no_feature_package():
    code = ("import sys\n"
            "from cinb import parse_rule\n"
            "parse_rule('imageMogr2/thumbnail/10x|imageInfo'); parse_rule('style/thumb')\n"
            "print(','.join(p for p in ('cinb.watermark', 'cinb.blind', 'cinb.compression', 'cinb.ai', 'pandas')\n"
            "               if p in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
