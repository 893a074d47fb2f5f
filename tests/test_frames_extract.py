"""``imageMogr2/frame/<N>``: one frame of an animation (CI's GIF Frame Extraction page, 436/75062).

CI: N is a positive integer counted from 1; past the last frame the last frame is taken.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cinb import process
from cinb.errors import BAD_PARAMETER, CIError, OutOfRangeError
from cinb.rules import parse_rule
from cinb.rules.mogr2 import register_op

SHADES = (10, 100, 200)


def _gif(size=(40, 20)) -> bytes:
    frames = [Image.new("RGB", size, (v, 0, 0)) for v in SHADES]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=[40, 50, 60], loop=0)
    return out.getvalue()


def _red(image: Image.Image) -> int:
    return image.convert("RGB").getpixel((0, 0))[0]


@pytest.mark.parametrize("n, shade", [(1, 10), (2, 100), (3, 200)])
def test_frame_n_counts_from_one(n, shade):
    result = process(_gif(), f"imageMogr2/frame/{n}/format/png")
    assert _red(result.image) == shade
    assert result.info["frame"] == f"{n} of 3"


@pytest.mark.parametrize("n", [4, 300, 999999999])
def test_frame_past_the_last_gives_the_last(n):
    assert _red(process(_gif(), f"imageMogr2/frame/{n}/format/png").image) == SHADES[-1]


def test_frame_of_a_gif_kept_as_gif_is_one_still_frame():
    result = process(_gif(), "imageMogr2/frame/2")
    assert result.format == "gif"
    out = Image.open(io.BytesIO(result.data))
    assert getattr(out, "n_frames", 1) == 1
    assert _red(out) == 100


def test_frame_of_a_still_picture_is_the_picture():
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (7, 8, 9)).save(buf, "PNG")
    assert process(buf.getvalue(), "imageMogr2/frame/5/format/png").image.getpixel((0, 0))[:3] == (7, 8, 9)


def test_frame_then_thumbnail_and_format():
    result = process(_gif(), "imageMogr2/frame/3/thumbnail/20x/format/jpg")
    assert result.format == "jpeg" and result.image.size == (20, 10)
    assert abs(_red(result.image) - 200) <= 3


def test_thumbnail_then_frame_applies_in_written_order():
    result = process(_gif(), "imageMogr2/thumbnail/20x/frame/2/format/png")
    assert result.image.size == (20, 10) and _red(result.image) == 100


@pytest.mark.parametrize("rule", [
    "imageMogr2/frame/2",
    "imageMogr2/frame/1/format/jpg",
    "imageMogr2/thumbnail/100x/frame/300/format/png/quality/80",
])
def test_canonical_text_round_trips(rule):
    assert str(parse_rule(rule)) == rule


@pytest.mark.parametrize("value", ["0", "-1", "a", "", "1.5", "1x", "1234567890"])
def test_bad_frame_is_103_naming_the_value(value):
    with pytest.raises(CIError) as err:
        parse_rule(f"imageMogr2/frame/{value}/format/png")
    assert err.value.code == BAD_PARAMETER
    assert err.value.token == value or (value == "" and err.value.token is not None)


def test_frame_zero_is_out_of_range_and_a_word_is_malformed():
    # 0 is a number outside CI's range (ignore-error/1 gives the original back); a word or a sign is a
    # malformed rule, which ignore-error does not excuse
    src = _gif()
    with pytest.raises(OutOfRangeError):
        parse_rule("imageMogr2/frame/0")
    assert process(src, "imageMogr2/frame/0/ignore-error/1").data == src
    for value in ("a", "-1", "1.5"):
        with pytest.raises(CIError) as err:
            parse_rule(f"imageMogr2/frame/{value}")
        assert not isinstance(err.value, OutOfRangeError)


@pytest.mark.parametrize("key", ["frame", "density"])
def test_frame_and_density_are_built_in_parameters(key):
    with pytest.raises(ValueError, match="already reads"):
        register_op(key, lambda value: None)
