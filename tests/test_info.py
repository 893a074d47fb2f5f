"""imageInfo / exif / imageAve (spec §13): CI's JSON shapes, every value a string."""

from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from PIL import Image

import cinb
import engine_images as ei
from cinb import CIError

M = "imageMogr2/"
INFO_KEYS = {"format", "width", "height", "size", "md5", "frame_count", "bit_depth",
             "vertical_dpi", "horizontal_dpi"}


def _all_strings(obj) -> bool:
    if isinstance(obj, dict):
        return all(isinstance(k, str) and _all_strings(v) for k, v in obj.items())
    return isinstance(obj, str)


@pytest.mark.parametrize(
    "build,fmt,size,frames",
    [
        (lambda: ei.photo_jpeg(), "jpeg", (400, 300), 1),
        (lambda: ei.quad_png(), "png", (400, 300), 1),
        (lambda: ei.animated_gif(), "gif", (120, 90), 5),
        (lambda: ei.encode(ei.quadrants(64, 48), "WEBP"), "webp", (64, 48), 1),
        (lambda: ei.encode(ei.quadrants(64, 48), "BMP"), "bmp", (64, 48), 1),
        (lambda: ei.encode(ei.quadrants(64, 48), "AVIF"), "avif", (64, 48), 1),
    ],
)
def test_image_info_shape(build, fmt, size, frames):
    data = build()
    info = cinb.image_info(data)
    assert INFO_KEYS <= set(info)
    assert _all_strings(info)
    assert info["format"] == fmt
    assert (info["width"], info["height"]) == (str(size[0]), str(size[1]))
    assert info["size"] == str(len(data))
    assert info["md5"] == hashlib.md5(data).hexdigest()
    assert info["frame_count"] == str(frames)
    assert info["bit_depth"] == "8"
    assert info["vertical_dpi"].isdigit() and info["horizontal_dpi"].isdigit()
    if "dynamic_range" in info:
        assert info["dynamic_range"] in {"hdr", "gainmap hdr", "sdr", "unknow"}


def test_image_info_heif():
    data = cinb.process(ei.photo_jpeg(), M + "format/heif").data
    info = cinb.image_info(data)
    assert info["format"] == "heif" and (info["width"], info["height"]) == ("400", "300")


def test_image_info_path_equals_bytes(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(ei.photo_jpeg())
    assert cinb.image_info(path) == cinb.image_info(ei.photo_jpeg()) == cinb.image_info(str(path))


def test_image_info_reports_stored_size_of_oriented_image():
    # imageInfo describes the file: the stored 60x80, not the upright 80x60.
    info = cinb.image_info(ei.oriented_jpeg(6))
    assert (info["width"], info["height"]) == ("60", "80")


def test_image_info_does_not_decode_over_limit_pixels():
    with pytest.raises(CIError) as err:
        cinb.image_info(ei.png_header_only(40000, 40000))
    assert err.value.code == -447


@pytest.mark.parametrize("fn", [cinb.image_info, cinb.exif, cinb.image_ave])
def test_info_on_non_image(fn):
    with pytest.raises(CIError) as err:
        fn(b"definitely not an image")
    assert err.value.code == -113


def test_exif_values():
    ex = cinb.exif(ei.meta_jpeg(6))
    assert _all_strings(ex)
    assert all(set(v) == {"val"} for v in ex.values())
    assert ex["Make"] == {"val": "cinb-test"}
    assert ex["Orientation"]["val"] == "6"
    assert ex["ExposureTime"] == {"val": "1/200"}  # rationals as num/den


@pytest.mark.parametrize("build", [lambda: ei.quad_png(), lambda: ei.photo_jpeg()])
def test_exif_absent(build):
    assert cinb.exif(build()) == {"error": "no exif data"}


@pytest.mark.parametrize(
    "build,expected",
    [
        (lambda: ei.solid_png((0x12, 0x34, 0x56)), "0x123456"),
        (lambda: ei.solid_png((255, 255, 255)), "0xffffff"),
        # mean of the four quadrant colours: (122.5, 117.5, 70) rounded half up
        (lambda: ei.quad_png(), "0x7b7646"),
    ],
)
def test_image_ave(build, expected):
    assert cinb.image_ave(build()) == {"RGB": expected}


def test_image_ave_format_on_photo():
    ave = cinb.image_ave(ei.photo_jpeg())
    assert set(ave) == {"RGB"} and re.fullmatch(r"0x[0-9a-f]{6}", ave["RGB"])


# Info stages at the end of a pipeline describe the processed image.


def test_image_info_stage_equals_function():
    result = cinb.process(ei.photo_jpeg(), "imageInfo")
    assert result.format == "json"
    assert result.json == cinb.image_info(ei.photo_jpeg())
    assert json.loads(result.data) == result.json


@pytest.mark.parametrize(
    "rule,expected",
    [
        (M + "thumbnail/!50p|imageInfo", {"format": "jpeg", "width": "200", "height": "150"}),
        (M + "thumbnail/!50p/format/png|imageInfo", {"format": "png", "width": "200", "height": "150"}),
        ("imageView2/2/w/100|" + M + "rotate/90|imageInfo", {"width": "75", "height": "100"}),
    ],
)
def test_image_info_stage_after_processing(rule, expected):
    info = cinb.process(ei.photo_jpeg(), rule).json
    assert {k: info[k] for k in expected} == expected
    assert _all_strings(info)


def test_image_info_stage_counts_frames():
    assert cinb.process(ei.animated_gif(), M + "cgif/3|imageInfo").json["frame_count"] == "3"


def test_exif_stage_sees_strip():
    assert cinb.process(ei.meta_jpeg(), M + "strip|exif").json == {"error": "no exif data"}
    kept = cinb.process(ei.meta_jpeg(), M + "thumbnail/!50p|exif").json
    assert kept["Make"] == {"val": "cinb-test"}


def test_image_ave_stage():
    assert cinb.process(ei.solid_png((0x12, 0x34, 0x56)), M + "thumbnail/!50p|imageAve").json == {
        "RGB": "0x123456"
    }
    assert cinb.process(ei.quad_png(), M + "crop/100x100|imageAve").json == {"RGB": "0xdc1414"}


def test_info_on_pil_image():
    im = Image.open(io.BytesIO(ei.quad_png()))
    assert cinb.image_ave(im) == {"RGB": "0x7b7646"}
    assert cinb.image_info(im)["width"] == "400"


@pytest.mark.parametrize("kind,fn", [("exif", cinb.exif), ("imageAve", cinb.image_ave)])
def test_bare_info_stage_equals_function(kind, fn):
    assert cinb.process(ei.meta_jpeg(6), kind).json == fn(ei.meta_jpeg(6))
