"""Bad input never escapes as anything but CIError; limits are enforced from headers.

Hypothesis runs derandomised (deterministic) with modest example counts to keep the suite fast.
"""

from __future__ import annotations

import io
import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import cinb
import engine_images as ei
from cinb import CIError

M = "imageMogr2/"
FAST = settings(
    max_examples=200, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def tiny_png() -> bytes:
    return ei.encode(ei.quadrants(40, 30), "PNG")


@pytest.fixture(scope="module")
def tiny_gif() -> bytes:
    return ei.animated_gif(4, (24, 18))


# ---------------------------------------------------------------------------------------------
# Random rules

FAMILIES = ["imageMogr2", "imageView2/0", "imageView2/1", "imageView2/2", "imageView2/5",
            "imageView2/9", "imageInfo", "exif", "imageAve", "watermark/9", "style/none", "junk"]
KEYS = ["thumbnail", "crop", "cut", "gravity", "rotate", "flip", "format", "quality", "rquality",
        "lquality", "blur", "sharpen", "bright", "contrast", "grayscale", "strip", "auto-orient",
        "iradius", "rradius", "pad", "color", "size-limit", "interlace", "cgif", "ignore-error",
        "w", "h", "q", "rq", "lq", "scrop", "rcrop", "bogus", ""]
WORDS = ["!50p", "!x30p", "!20px", "!999p", "!0p", "20x", "x20", "30x20", "!30x20r", "30x20!",
         "30x20>", "30x20<", "x20<", "400@", "Center", "north", "SOUTHEAST", "horizontal",
         "vertical", "png", "jpg", "webp", "gif", "bmp", "avif", "yjpeg", "tpg", "I0ZGMDAwMA",
         "I0ZGMDAwMA==", "15k", "1m!", "3x2", "50x0.5", "90!", "!20x10a5a5", "!20x10-5a5",
         "10x10x5x5", "%3E", "%7C", "-1", "0", "1", "1.5", "", "!", "x", "@", "é", "\x00"]
numbers = st.integers(min_value=-5, max_value=400).map(str)
geometry = st.text(alphabet="0123456789x!<>@pra-", min_size=1, max_size=8)
value = st.one_of(st.sampled_from(WORDS), numbers, geometry)
stage = st.builds(
    lambda fam, parts: "/".join([fam, *parts]),
    st.sampled_from(FAMILIES),
    st.lists(st.one_of(st.sampled_from(KEYS), value), max_size=8),
)
rules = st.lists(stage, min_size=1, max_size=3).map("|".join)


@FAST
@given(rule=rules)
def test_random_rules_only_raise_cierror(tiny_png, rule):
    try:
        result = cinb.process(tiny_png, rule)
    except CIError as err:
        assert isinstance(err.code, int) and err.code < 0
        return
    assert result.data and result.format


@settings(FAST, max_examples=150)
@given(rule=st.text(max_size=60))
def test_arbitrary_text_rules_only_raise_cierror(tiny_png, rule):
    try:
        cinb.process(tiny_png, rule)
    except CIError:
        pass


@settings(FAST, max_examples=150)
@given(rule=rules)
def test_random_rules_on_animation(tiny_gif, rule):
    try:
        cinb.process(tiny_gif, rule)
    except CIError:
        pass


@FAST
@given(rule=rules)
def test_parse_canonical_is_stable_for_any_accepted_rule(rule):
    try:
        parsed = cinb.parse_rule(rule)
    except CIError:
        return
    assert cinb.parse_rule(str(parsed)) == parsed


# ---------------------------------------------------------------------------------------------
# Random and damaged bytes


def _only_cierror(data: bytes, rule: str = M + "thumbnail/!50p") -> None:
    for call in (lambda: cinb.process(data, rule), lambda: cinb.image_info(data),
                 lambda: cinb.image_ave(data), lambda: cinb.exif(data)):
        try:
            call()
        except CIError:
            pass


@settings(FAST, max_examples=150)
@given(data=st.binary(max_size=3000))
def test_random_bytes_only_raise_cierror(data):
    _only_cierror(data)


@st.composite
def damaged(draw):
    """A real PNG/JPEG/GIF/WebP with bytes flipped and/or cut short."""
    kind = draw(st.sampled_from(["png", "jpeg", "gif", "webp"]))
    src = {
        "png": lambda: ei.encode(ei.quadrants(40, 30), "PNG"),
        "jpeg": lambda: ei.photo_jpeg(40, 30),
        "gif": lambda: ei.animated_gif(3, (20, 16)),
        "webp": lambda: ei.encode(ei.quadrants(40, 30), "WEBP"),
    }[kind]()
    data = bytearray(src)
    for _ in range(draw(st.integers(0, 6))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    cut = draw(st.integers(1, len(data)))
    return bytes(data[:cut])


@settings(FAST, max_examples=250)
@given(data=damaged())
def test_damaged_images_only_raise_cierror(data):
    _only_cierror(data)


# ---------------------------------------------------------------------------------------------
# Specific broken inputs


def _code(src, rule=M + "thumbnail/!50p") -> int:
    with pytest.raises(CIError) as info:
        cinb.process(src, rule)
    return info.value.code


def test_zero_bytes_is_empty_input():
    assert _code(b"") == -40168  # CI's error table: empty source data


def test_text_file_is_unsupported():
    assert _code(b"hello, this is not an image\n" * 10) == -113


def test_zero_byte_file_path(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert _code(path) == -40168


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises((CIError, FileNotFoundError)) as info:
        cinb.process(tmp_path / "nope.jpg", M + "thumbnail/!50p")
    assert "nope.jpg" in str(info.value)


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_truncated_image_is_corrupt(kind):
    data = ei.photo_jpeg() if kind == "jpeg" else ei.encode(ei.quadrants(400, 300), "PNG")
    assert _code(data[: len(data) // 2]) == -443


def test_corrupt_png_data_is_corrupt():
    data = bytearray(ei.quad_png())
    data[200] ^= 0xFF  # inside IDAT
    assert _code(bytes(data)) == -443


# ---------------------------------------------------------------------------------------------
# Limits (spec §17; docs/ci-compatibility.md "Limits")


@pytest.mark.parametrize(
    "width,height",
    [(40000, 40000), (30001, 10), (10, 30001), (20000, 20000), (16000, 16000)],
)
def test_png_header_over_limits(width, height):
    # Only the header claims this size; the check must happen before any pixel is decoded.
    assert _code(ei.png_header_only(width, height)) == -447


def _gif_header_only(width: int, height: int, frames: int) -> bytes:
    """GIF whose logical screen is width x height with `frames` 1x1 frames (cheap to build)."""
    out = [b"GIF89a", struct.pack("<HHBBB", width, height, 0x80, 0, 0), b"\x00\x00\x00\xff\xff\xff",
           b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"]
    for _ in range(frames):
        out.append(b"\x21\xf9\x04\x00\x0a\x00\x00\x00")  # graphic control: 100 ms
        out.append(b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00")
    out.append(b"\x3b")
    return b"".join(out)


def test_gif_with_301_frames():
    data = ei.animated_gif(301, (8, 8))
    assert Image.open(io.BytesIO(data)).n_frames == 301
    assert _code(data) == -447


def test_gif_with_300_frames_is_fine():
    result = cinb.process(ei.animated_gif(300, (8, 8)), M + "thumbnail/!50p")
    assert Image.open(io.BytesIO(result.data)).n_frames == 300


def test_animation_pixels_count_frames():
    # 4000 x 4000 x 16 frames = 256 Mpx > 250 Mpx, although each frame alone is fine.
    data = _gif_header_only(4000, 4000, 16)
    assert Image.open(io.BytesIO(data)).size == (4000, 4000)
    assert _code(data) == -447


def _sparse_big_file(tmp_path, size=33 * 1024 * 1024):
    path = tmp_path / "big.png"
    path.write_bytes(ei.encode(ei.quadrants(40, 30), "PNG"))
    os.truncate(path, size)  # sparse: costs no disk or time
    return path


def test_file_over_32mb_path(tmp_path):
    assert _code(_sparse_big_file(tmp_path)) == -167


def test_file_over_32mb_bytes():
    data = ei.encode(ei.quadrants(40, 30), "PNG")
    data += b"\x00" * (32 * 1024 * 1024 + 1 - len(data))
    assert _code(data) == -167


@pytest.fixture(scope="module")
def long_png() -> bytes:
    return ei.plain_png(2100, 10)


def test_output_over_9999_px(long_png):
    assert _code(long_png, M + "thumbnail/!500p") == -442  # 10500 x 50


def test_output_of_exactly_9999_is_fine():
    result = cinb.process(ei.plain_png(3333, 3), M + "thumbnail/!300p")
    assert (result.width, result.height) == (9999, 9)


def test_output_over_9999_from_imageview2_is_never_reached(long_png):
    # imageView2 never enlarges, so it cannot exceed the output limit from a valid input.
    result = cinb.process(long_png, "imageView2/2/w/20000")
    assert (result.width, result.height) == (2100, 10)


# ignore-error/1 returns the original bytes for limit errors (-167, -442, -447) only.


def test_ignore_error_output_too_large(long_png):
    result = cinb.process(long_png, M + "thumbnail/!500p/ignore-error/1")
    assert result.data == long_png


@pytest.mark.parametrize("rule", [M + "thumbnail/!50p/ignore-error/1", "imageView2/2/w/100/ignore-error/1"])
def test_ignore_error_resolution_too_large(rule):
    data = ei.png_header_only(40000, 40000)
    assert cinb.process(data, rule).data == data


def test_ignore_error_too_many_frames():
    data = ei.animated_gif(301, (8, 8))
    assert cinb.process(data, M + "thumbnail/!50p/ignore-error/1").data == data


def test_ignore_error_file_too_large(tmp_path):
    path = _sparse_big_file(tmp_path)
    result = cinb.process(path, M + "ignore-error/1/thumbnail/!50p")
    assert len(result.data) == 33 * 1024 * 1024 and result.data == path.read_bytes()


def test_ignore_error_zero_keeps_the_error(long_png):
    assert _code(long_png, M + "thumbnail/!500p/ignore-error/0") == -442


@pytest.mark.parametrize(
    "data,rule,code",
    [
        (b"", M + "thumbnail/!50p/ignore-error/1", -40168),  # empty input is not a limit error
        (b"plain text", M + "thumbnail/!50p/ignore-error/1", -113),  # nor is unreadable input
        (None, M + "thumbnail/abc/ignore-error/1", -103),  # grammar errors are never ignored
        (None, M + "thumbnail/!50p/ignore-error/1/format/tpg", -113),
    ],
)
def test_ignore_error_does_not_hide_other_errors(data, rule, code):
    src = ei.photo_jpeg() if data is None else data
    assert _code(src, rule) == code


def test_truncated_with_ignore_error_is_still_corrupt():
    data = ei.photo_jpeg()
    assert _code(data[: len(data) // 2], M + "thumbnail/!50p/ignore-error/1") == -443
