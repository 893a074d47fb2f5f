"""jpegli through its C API (cinb.codecs.jpegli): optimised Huffman tables, distance, yjpeg metadata.

Facts are checked against pyjpegli's own encoder (same pixels), the JPEG markers read from the
bytes (baseline SOF0, DHT tables), and Pillow's reading of EXIF/ICC/XMP.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

import cinb
from cinb import data
from cinb.codecs import jpegli
from cinb.codecs.jpeg import encode_jpeg

pyjpegli = pytest.importorskip("pyjpegli")
pytestmark = pytest.mark.skipif(not jpegli.available(), reason="jpegli C API not reachable")
SAMPLE = data.sample_dir()


def photo() -> Image.Image:
    with Image.open(SAMPLE / "coffee.jpg") as im:
        return im.convert("RGB").crop((100, 60, 420, 300))


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def sof_markers(data: bytes) -> set[int]:
    out, pos = set(), 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] != 0xDA:
        out.add(data[pos + 1])
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return out & {0xC0, 0xC1, 0xC2}


@pytest.mark.parametrize("quality", [40, 85, 95])
def test_optimised_tables_give_identical_pixels_in_fewer_bytes(quality):
    img = photo()
    plain = pyjpegli.encode(img.tobytes(), img.width, img.height, quality)
    mine = jpegli.encode(img.tobytes(), img.width, img.height, quality=quality)
    assert np.array_equal(pixels(mine), pixels(plain))
    assert len(mine) < 0.97 * len(plain)
    assert sof_markers(mine) == {0xC0}


def test_standard_tables_reproduce_pyjpegli_bit_for_bit():
    img = photo()
    assert jpegli.encode(img.tobytes(), img.width, img.height, quality=85, optimize_coding=False) == \
        pyjpegli.encode(img.tobytes(), img.width, img.height, 85)


def test_distance_is_monotonic_and_close_to_the_quality_mapping():
    img = photo()
    sizes = [len(jpegli.encode(img.tobytes(), img.width, img.height, distance=d)) for d in (0.5, 1.0, 2.0, 4.0)]
    assert sizes == sorted(sizes, reverse=True)
    by_q = jpegli.encode(img.tobytes(), img.width, img.height, quality=90)
    by_d = jpegli.encode(img.tobytes(), img.width, img.height, distance=jpegli.quality_to_distance(90))
    assert 0.85 < len(by_d) / len(by_q) < 1.15  # jpegli's quality scale is a distance underneath


def test_subsampling_choice():
    img = photo()
    for name, expected in (("4:4:4", 0), ("4:2:2", 1), ("4:2:0", 2)):
        out = jpegli.encode(img.tobytes(), img.width, img.height, distance=1.0, subsampling=name)
        assert JpegImagePlugin.get_sampling(Image.open(io.BytesIO(out))) == expected


@pytest.mark.parametrize("kwargs, message", [
    ({"quality": 85, "distance": 1.0}, "exactly one"),
    ({}, "exactly one"),
    ({"quality": 0}, "quality"),
    ({"quality": 101}, "quality"),
    ({"quality": 85.5}, "quality"),
    ({"distance": 0.0}, "distance"),
    ({"distance": 30.0}, "distance"),
    ({"distance": float("nan")}, "distance"),
    ({"distance": 1.0, "subsampling": "4:1:1"}, "subsampling"),
])
def test_bad_arguments_are_refused_before_jpegli(kwargs, message):
    with pytest.raises(ValueError, match=message):
        jpegli.encode(bytes(8 * 8 * 3), 8, 8, **kwargs)


@pytest.mark.parametrize("size, length", [((0, 8), 0), ((8, 8), 10), ((70000, 1), 210000)])
def test_bad_sizes_are_refused(size, length):
    with pytest.raises(ValueError):
        jpegli.encode(bytes(length), *size, quality=80)


def test_one_pixel_and_odd_sizes_encode():
    for w, h in ((1, 1), (17, 3), (3, 33)):
        img = Image.effect_noise((w, h), 40).convert("RGB")
        out = jpegli.encode(img.tobytes(), w, h, distance=1.0)
        assert Image.open(io.BytesIO(out)).size == (w, h)


def test_yjpeg_keeps_exif_icc_xmp_and_is_baseline():
    img = photo()
    exif = Image.Exif()
    exif[0x010F] = "cinb-test"
    exif[0x0112] = 3
    with Image.open(SAMPLE / "display-p3.jpg") as im:
        icc = im.info["icc_profile"]
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    out = encode_jpeg(img, 85, encoder="jpegli", exif=exif.tobytes(), icc_profile=icc, xmp=xmp)
    back = Image.open(io.BytesIO(out))
    assert back.getexif()[0x010F] == "cinb-test" and back.getexif()[0x0112] == 3
    assert back.info["icc_profile"] == icc
    assert back.info["xmp"] == xmp
    assert sof_markers(out) == {0xC0}
    assert np.array_equal(pixels(out), pixels(pyjpegli.encode(img.tobytes(), img.width, img.height, 85)))


def test_yjpeg_rule_is_smaller_than_pyjpegli_at_identical_pixels():
    src = SAMPLE / "coffee.jpg"
    out = cinb.process(src, "imageMogr2/format/yjpeg/quality/85")
    with Image.open(src) as im:
        img = im.convert("RGB")
    plain = pyjpegli.encode(img.tobytes(), img.width, img.height, 85)
    assert np.array_equal(pixels(out.data), pixels(plain))
    assert len(out.data) < 0.97 * len(plain)
