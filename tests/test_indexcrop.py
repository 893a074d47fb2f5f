"""``imageMogr2/indexcrop``: cut into equal blocks along the width or the height, keep one
(CI's Index Slicing page, tencentcloud.com 436/75060; cloud.tencent.com 436/113297)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cinb import process
from cinb.errors import BAD_PARAMETER, CIError
from cinb.rules import parse_rule

W, H = 250, 80


@pytest.fixture(scope="module")
def ramp() -> Image.Image:
    """Red = x, green = y: a pixel says where it came from."""
    im = Image.new("RGB", (W, H))
    im.putdata([(x, y, 0) for y in range(H) for x in range(W)])
    return im


def _png(rule: str) -> str:
    return f"imageMogr2/{rule}/format/png"


@pytest.mark.parametrize("index, x0, width", [(0, 0, 100), (1, 100, 100), (2, 200, 50)])
def test_width_cuts_columns_from_the_left_the_last_narrower(ramp, index, x0, width):
    result = process(ramp, _png(f"indexcrop/width/100/index/{index}"))
    assert result.image.size == (width, H)
    assert result.image.getpixel((0, 0))[:2] == (x0, 0)
    assert result.info["indexcrop"] == f"block {index} of 3"


@pytest.mark.parametrize("index, y0, height", [(0, 0, 30), (1, 30, 30), (2, 60, 20)])
def test_height_cuts_rows_from_the_top(ramp, index, y0, height):
    result = process(ramp, _png(f"indexcrop/height/30/index/{index}"))
    assert result.image.size == (W, height)
    assert result.image.getpixel((0, 0))[:2] == (0, y0)


def test_index_defaults_to_the_first_block(ramp):
    result = process(ramp, _png("indexcrop/width/100"))
    assert result.image.size == (100, H) and result.image.getpixel((0, 0))[:2] == (0, 0)


@pytest.mark.parametrize("index", [3, 4, 999999999])
def test_index_past_the_last_block_gives_the_original(ramp, index):
    result = process(ramp, _png(f"indexcrop/width/100/index/{index}"))
    assert result.image.size == (W, H)
    assert result.info["indexcrop"] == f"index {index} past the last of 3 blocks: original"


def test_length_equal_to_the_side_is_one_block(ramp):
    assert process(ramp, _png(f"indexcrop/width/{W}")).image.size == (W, H)
    assert process(ramp, _png(f"indexcrop/width/{W}/index/1")).info["indexcrop"].endswith("original")


def test_length_past_the_side_is_103(ramp):
    with pytest.raises(CIError) as err:
        process(ramp, _png(f"indexcrop/width/{W + 1}"))
    assert err.value.code == BAD_PARAMETER and err.value.token == str(W + 1)
    with pytest.raises(CIError) as err:
        process(ramp, _png(f"indexcrop/height/{H + 1}"))
    assert err.value.code == BAD_PARAMETER and err.value.token == str(H + 1)


def test_after_thumbnail_the_blocks_are_of_the_scaled_picture(ramp):
    result = process(ramp, "imageMogr2/thumbnail/125x/indexcrop/width/50/index/2/format/jpg")
    assert result.format == "jpeg" and result.image.size == (25, 40)


def test_before_thumbnail_the_block_is_scaled(ramp):
    result = process(ramp, "imageMogr2/indexcrop/height/40/index/1/thumbnail/!50p/format/png")
    assert result.image.size == (125, 20)


def test_every_frame_of_an_animation_is_cut():
    frames = [Image.new("RGB", (60, 20), (v, 0, 0)) for v in (10, 200)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=[50, 70], loop=0)
    result = process(buf.getvalue(), "imageMogr2/indexcrop/width/25/index/2")
    out = Image.open(io.BytesIO(result.data))
    assert out.n_frames == 2 and out.size == (10, 20)


@pytest.mark.parametrize("rule", [
    "imageMogr2/indexcrop/width/100/index/2",
    "imageMogr2/indexcrop/height/1/index/0/format/png",
    "imageMogr2/thumbnail/300x/indexcrop/width/50/index/1/format/jpg/quality/80/strip",
    "imageMogr2/indexcrop/width/5/index/0/indexcrop/height/5/index/1",
])
def test_canonical_text_round_trips(rule):
    assert str(parse_rule(rule)) == rule


def test_index_left_out_reads_as_index_0():
    assert str(parse_rule("imageMogr2/indexcrop/width/100")) == "imageMogr2/indexcrop/width/100/index/0"


def test_flags_and_aigc_around_indexcrop_keep_their_pairing():
    rule = "imageMogr2/strip/indexcrop/height/10/index/1/AIGCMetadata/Label/MQ/format/png"
    parsed = str(parse_rule(rule))
    assert "indexcrop/height/10/index/1" in parsed and "AIGCMetadata/Label/MQ" in parsed


@pytest.mark.parametrize("tail, token", [
    ("indexcrop", "indexcrop"),                       # no sub-parameter
    ("indexcrop/index/1", "index"),                   # no length
    ("indexcrop/width/10/height/10", "height"),       # CI: only one of width and height
    ("indexcrop/width/0", "0"),                       # length from 1
    ("indexcrop/width/a", "a"),
    ("indexcrop/width/-5", "-5"),
    ("indexcrop/width/1.5", "1.5"),
    ("indexcrop/width/10/index/-1", "-1"),
    ("indexcrop/width/10/index", "format"),          # index without a value: the next word is named
    ("indexcrop/width/10/width/20", "width"),         # repeated
    ("indexcrop/width/1234567890", "1234567890"),
])
def test_bad_indexcrop_is_103_naming_the_token(tail, token):
    with pytest.raises(CIError) as err:
        parse_rule(f"imageMogr2/{tail}/format/png")
    assert err.value.code == BAD_PARAMETER
    assert err.value.token == token
