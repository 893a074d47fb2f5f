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
from reference_metrics import reference_ssimulacra2

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
    ({"quality": float("inf")}, "quality"),
    ({"quality": True}, "quality"),
    ({"quality": "85"}, "quality"),
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


# --- imageSlim searches jpegli distance -------------------------------------------------------------

def test_fractional_quality_lies_between_its_integer_neighbours():
    img = photo()
    sizes = [len(jpegli.encode(img.tobytes(), img.width, img.height, quality=q))
             for q in (84, 84.25, 84.5, 84.75, 84.875, 85)]
    assert sizes == sorted(sizes)
    assert jpegli.encode(img.tobytes(), img.width, img.height, quality=85.0) == \
        jpegli.encode(img.tobytes(), img.width, img.height, quality=85)
    assert sof_markers(jpegli.encode(img.tobytes(), img.width, img.height, quality=84.5)) == {0xC0}


@pytest.mark.parametrize("name, box", [("coffee.jpg", (100, 60, 420, 300)), ("coffee.jpg", (0, 0, 160, 96))])
def test_imageslim_keeps_the_promise_by_the_reference_package(name, box):
    with Image.open(SAMPLE / name) as im:
        src_img = im.convert("RGB").crop(box)
    buf = io.BytesIO()
    src_img.save(buf, "JPEG", quality=95)
    out = cinb.process(buf.getvalue(), "imageSlim")
    assert out.format == "jpeg" and out.response["X-Slimflag"] == 1
    source = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    assert out.info["slim_score"] >= 80.05
    assert reference_ssimulacra2(source, Image.open(io.BytesIO(out.data)).convert("RGB")) >= 80.0


def test_imageslim_fine_search_is_no_larger_than_the_integer_search():
    import importlib

    from cinb.compression.encoders import decode_image
    from cinb.compression.metrics import Reference
    from cinb.decode import open_canvas
    from cinb.rules.model import EncodeOptions

    slim_mod = importlib.import_module("cinb.compression.slim")
    with Image.open(SAMPLE / "coffee.jpg") as im:
        img = im.convert("RGB").crop((0, 0, 480, 320))
    canvas = open_canvas(img)
    opts = EncodeOptions(format="jpg")
    ref = Reference(img)
    fine = slim_mod._jpeg_fine_search(canvas, opts, 85, ref, "ssimulacra2", 80.05)
    coarse = slim_mod._search(lambda q: slim_mod._jpeg_candidate(canvas, opts, q), decode_image, ref,
                              "ssimulacra2", 80.05, 85)
    assert fine[2] >= 80.05 and coarse[2] >= 80.05
    assert len(fine[0]) <= len(coarse[0]) and fine[2] <= coarse[2]
    assert coarse[1] - 1 <= fine[1] <= coarse[1]


def test_imageslim_reports_an_integer_quality_and_the_exact_one():
    with Image.open(SAMPLE / "coffee.jpg") as im:
        buf = io.BytesIO()
        im.convert("RGB").crop((0, 0, 320, 240)).save(buf, "JPEG", quality=95)
    out = cinb.process(buf.getvalue(), "imageSlim")
    if "slim_quality" in out.info:
        assert out.info["quality"] == int(out.info["slim_quality"])


def test_imageslim_greyscale_and_tiny_images_still_slim():
    with Image.open(SAMPLE / "coffee.jpg") as im:
        grey = im.convert("L").crop((0, 0, 200, 150))
    buf = io.BytesIO()
    grey.save(buf, "JPEG", quality=97)
    out = cinb.process(buf.getvalue(), "imageSlim")
    assert out.format == "jpeg" and out.response["X-Slimflag"] in (1, 2)
    tiny = io.BytesIO()
    Image.new("RGB", (1, 1), "red").save(tiny, "JPEG", quality=95)
    assert cinb.process(tiny.getvalue(), "imageSlim").response["X-Slimflag"] in (1, 2)


def test_without_the_c_api_yjpeg_and_imageslim_fall_back_to_pyjpegli(monkeypatch):
    img = photo()
    monkeypatch.setattr(jpegli, "available", lambda: False)
    assert encode_jpeg(img, 85, encoder="jpegli") == pyjpegli.encode(img.tobytes(), img.width, img.height, 85)
    assert encode_jpeg(img, 85.7, encoder="jpegli") == pyjpegli.encode(img.tobytes(), img.width, img.height, 85)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    out = cinb.process(buf.getvalue(), "imageSlim")
    assert out.response["X-Slimflag"] == 1 and "slim_quality" not in out.info
    assert out.info["slim_score"] >= 80.05



def _scanned_page(sigma: float = 4.0, w: int = 480, h: int = 320) -> Image.Image:
    from PIL import ImageDraw, ImageFilter, ImageFont

    try:
        font = ImageFont.truetype("DejaVuSerif.ttf", 15)
    except OSError:
        pytest.skip("DejaVu Serif (fonts-dejavu-core) not installed")
    yy, xx = np.mgrid[0:h, 0:w]
    shade = 232 + 10 * np.sin(xx / 310) * np.cos(yy / 270)
    img = Image.fromarray(np.clip(np.stack([shade, shade - 3, shade - 10], -1), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for y in range(12, h - 20, 23):
        draw.text((12, y), "Invoice total amount order date customer report page", font=font, fill=(25, 25, 30))
    noise = np.random.default_rng(7).normal(0, sigma, (h, w, 1))
    return Image.fromarray(np.clip(np.asarray(img.filter(ImageFilter.GaussianBlur(0.6)), dtype=float) + noise,
                                   0, 255).astype(np.uint8))


def test_imageslim_searches_jpegli_above_the_rule_quality_when_its_scale_needs_it(monkeypatch):
    import importlib

    slim_mod = importlib.import_module("cinb.compression.slim")
    page = _scanned_page()
    png = io.BytesIO()
    page.save(png, "PNG")
    out = cinb.process(png.getvalue(), "imageMogr2/format/jpg|imageSlim")
    plain = cinb.process(png.getvalue(), "imageMogr2/format/jpg")
    assert out.response["X-Slimflag"] == 1 and len(out.data) < 0.9 * len(plain.data)
    assert out.info["slim_quality"] > 85  # above the rule's quality: jpegli's scale differs from libjpeg's
    assert reference_ssimulacra2(page, Image.open(io.BytesIO(out.data)).convert("RGB")) >= 80.0
    monkeypatch.setattr(slim_mod, "JPEG_SEARCH_TOP", 0)  # capped at the rule's quality, as before
    capped = cinb.process(png.getvalue(), "imageMogr2/format/jpg|imageSlim")
    assert capped.response["X-Slimflag"] == 2 and capped.data == plain.data
