"""yjpeg and imageSlim through jpegli, with cinb's lossless coefficient rewrites (cinb.codecs.jpegcoef).

Facts are checked against pyjpegli's own encoder (same pixels), the JPEG markers read from the
bytes (baseline SOF0, APPn/COM segments), and Pillow's reading of EXIF/ICC/XMP. The paths without
cinb's C extension are tested too (the module's ``_jpegcoef`` set to None).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cinb
from cinb import data
from cinb.codecs import jpegcoef
from cinb.codecs.jpeg import encode_jpeg, jpeg_segments, jpegli_encoder
from cinb.compression import slim
from reference_metrics import reference_ssimulacra2

pyjpegli = pytest.importorskip("pyjpegli")
needs_ext = pytest.mark.skipif(not jpegcoef.available(), reason="cinb's C extension (cinb.codecs._jpegcoef) not built")
SAMPLE = data.sample_dir()


def photo() -> Image.Image:
    with Image.open(SAMPLE / "coffee.jpg") as im:
        return im.convert("RGB").crop((100, 60, 420, 300))


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def sof_markers(data: bytes) -> set[int]:
    out, pos = set(), 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] != 0xDA:
        out.add(data[pos + 1])
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return out & {0xC0, 0xC1, 0xC2}


def pil_jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


@pytest.fixture
def no_extension(monkeypatch):
    monkeypatch.setattr(jpegcoef, "_jpegcoef", None)


def test_where_libjpeg_headers_exist_the_install_built_the_extension():
    if not Path("/usr/include/jpeglib.h").exists():
        pytest.skip("libjpeg's headers (libjpeg-dev) not installed: the extension is optional")
    assert jpegcoef.available()


# --- optimize: Huffman tables, losslessly ----------------------------------------------------------

@needs_ext
@pytest.mark.parametrize("quality", [40, 85, 95])
def test_optimised_tables_give_identical_pixels_in_fewer_bytes(quality):
    img = photo()
    plain = pyjpegli.encode(img.tobytes(), img.width, img.height, quality)
    mine = jpegcoef.optimize(plain)
    assert np.array_equal(pixels(mine), pixels(plain))
    assert len(mine) < 0.97 * len(plain)
    assert sof_markers(plain) == sof_markers(mine) == {0xC0}


@needs_ext
def test_optimize_copies_every_marker_segment_verbatim_and_in_order():
    img = photo()
    exif = Image.Exif()
    exif[0x010F] = "cinb-test"
    with Image.open(SAMPLE / "display-p3.jpg") as im:
        icc = im.info["icc_profile"]
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    src = pil_jpeg(img, quality=90, exif=exif.tobytes(), icc_profile=icc, xmp=xmp, comment=b"a comment")
    out = jpegcoef.optimize(src)
    assert len(out) < len(src)
    assert jpeg_segments(out)[1] == jpeg_segments(src)[1]
    assert [s[1] for s in jpeg_segments(src)[1]] == [0xE0, 0xE1, 0xE1, 0xE2, 0xFE]
    assert np.array_equal(pixels(out), pixels(src))


@needs_ext
@pytest.mark.parametrize("name", ["progressive.jpg", "cmyk.jpg", "cmyk-no-icc.jpg", "grace-hopper.jpg"])
def test_optimize_is_lossless_on_progressive_cmyk_and_other_sources(name):
    src = (SAMPLE / name).read_bytes()
    out = jpegcoef.optimize(src)
    assert np.array_equal(pixels(out), pixels(src))
    assert len(out) <= len(src)


@needs_ext
def test_optimize_keeps_greyscale_and_444_pixels():
    img = photo()
    for src in (pil_jpeg(img.convert("L"), quality=80), pil_jpeg(img, quality=80, subsampling=0)):
        out = jpegcoef.optimize(src)
        assert np.array_equal(pixels(out), pixels(src)) and len(out) < len(src)


@needs_ext
@pytest.mark.parametrize("bad", [b"", b"\xff\xd8", b"\xff\xd8garbage" * 10, b"not a jpeg at all"])
def test_optimize_returns_bad_input_unchanged(bad):
    assert jpegcoef.optimize(bad) == bad
    with pytest.raises(ValueError):
        jpegcoef._jpegcoef.optimize(bad)


@needs_ext
def test_optimize_refuses_a_truncated_stream_rather_than_rewrite_it():
    src = pil_jpeg(photo(), quality=85)
    cut = src[:len(src) // 2]
    with pytest.raises(ValueError, match="Premature end"):
        jpegcoef._jpegcoef.optimize(cut)
    assert jpegcoef.optimize(cut) == cut


def test_without_the_extension_optimize_returns_its_input(no_extension):
    src = pil_jpeg(photo(), quality=85)
    assert not jpegcoef.available()
    assert jpegcoef.optimize(src) is src
    assert jpegcoef.between(src, src, 0.5) is None


# --- between: fractional qualities -------------------------------------------------------------------

@needs_ext
def test_fractional_quality_lies_between_its_integer_neighbours():
    encode = jpegli_encoder(photo())
    sizes = [len(encode(q)) for q in (84, 84.25, 84.5, 84.75, 84.875, 85)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert encode(85.0) == encode(85)
    assert sof_markers(encode(84.5)) == {0xC0}


@needs_ext
def test_integer_qualities_are_pyjpegli_pixels_and_the_ends_of_a_merge_are_the_neighbours():
    img = photo()
    lo = pyjpegli.encode(img.tobytes(), img.width, img.height, 84)
    hi = pyjpegli.encode(img.tobytes(), img.width, img.height, 85)
    assert np.array_equal(pixels(jpegli_encoder(img)(84)), pixels(lo))
    assert np.array_equal(pixels(jpegcoef.between(lo, hi, 0)), pixels(lo))
    assert np.array_equal(pixels(jpegcoef.between(lo, hi, 1)), pixels(hi))
    mid = jpegcoef.between(lo, hi, 0.5)
    tables = [jpegcoef.quantization_tables(x) for x in (lo, mid, hi)]
    for slot in (0, 1):
        assert all(m in (a, b) for a, m, b in zip(tables[0][slot], tables[1][slot], tables[2][slot], strict=True))
    assert tables[1] not in (tables[0], tables[2])


@needs_ext
@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan"), float("inf"), "0.5"])
def test_between_refuses_a_fraction_outside_0_1(fraction):
    src = pil_jpeg(photo(), quality=85)
    with pytest.raises(ValueError, match="fraction"):
        jpegcoef.between(src, src, fraction)


@needs_ext
def test_between_gives_none_for_images_that_cannot_merge():
    img = photo()
    a = pil_jpeg(img, quality=80)
    assert jpegcoef.between(a, pil_jpeg(img.resize((64, 64)), quality=90), 0.5) is None  # sizes differ
    assert jpegcoef.between(a, pil_jpeg(img, quality=90, subsampling=0), 0.5) is None  # sampling differs
    assert jpegcoef.between(a, b"junk", 0.5) is None
    with pytest.raises(ValueError, match="64 bytes per table"):
        jpegcoef._jpegcoef.merge(a, a, b"\x01" * 10)


def test_quantization_tables_reads_pillow_tables_in_natural_order():
    img = photo()
    tables = jpegcoef.quantization_tables(pil_jpeg(img, quality=50))
    assert sorted(tables) == [0, 1]
    # ITU T.81 table K.1 (IJG quality 50), row-major: zigzag order would put 12 second
    assert tables[0][:8] == [16, 11, 10, 16, 24, 40, 51, 61] and tables[0][8:11] == [12, 12, 14]
    with pytest.raises(ValueError):
        jpegcoef.quantization_tables(b"GIF89a")


def test_yjpeg_keeps_exif_icc_xmp_and_is_baseline():
    img = photo()
    exif = Image.Exif()
    exif[0x010F] = "cinb-test"
    exif[0x0112] = 3
    with Image.open(SAMPLE / "display-p3.jpg") as im:
        icc = im.info["icc_profile"]
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    out = encode_jpeg(img, 85, encoder="jpegli", exif=exif.tobytes(), icc_profile=icc, xmp=xmp)
    assert jpegcoef.available() or out is not None
    back = Image.open(io.BytesIO(out))
    assert back.getexif()[0x010F] == "cinb-test" and back.getexif()[0x0112] == 3
    assert back.info["icc_profile"] == icc
    assert back.info["xmp"] == xmp
    assert sof_markers(out) == {0xC0}
    assert np.array_equal(pixels(out), pixels(pyjpegli.encode(img.tobytes(), img.width, img.height, 85)))


@needs_ext
def test_yjpeg_rule_is_smaller_than_pyjpegli_at_identical_pixels():
    src = SAMPLE / "coffee.jpg"
    out = cinb.process(src, "imageMogr2/format/yjpeg/quality/85")
    with Image.open(src) as im:
        img = im.convert("RGB")
    plain = pyjpegli.encode(img.tobytes(), img.width, img.height, 85)
    assert np.array_equal(pixels(out.data), pixels(plain))
    assert len(out.data) < 0.97 * len(plain)


# --- imageSlim -------------------------------------------------------------------------------------

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


@needs_ext
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


def test_without_the_extension_yjpeg_and_imageslim_fall_back_to_pyjpegli(no_extension):
    img = photo()
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


@needs_ext
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


# --- luma and chroma from two encodes (imageSlim's chroma offsets) -----------------------------------

def ycbcr(data: bytes) -> np.ndarray:
    """The decoded planes without colour conversion (libjpeg's YCbCr output)."""
    im = Image.open(io.BytesIO(data))
    im.draft("YCbCr", im.size)
    assert im.mode == "YCbCr"
    return np.asarray(im)


def test_component_tables_reads_the_frame_header():
    img = photo()
    assert jpegcoef.component_tables(pil_jpeg(img, quality=80)) == [0, 1, 1]
    assert jpegcoef.component_tables(pil_jpeg(img.convert("L"), quality=80)) == [0]
    assert jpegcoef.component_tables(pil_jpeg(img, quality=80, progressive=True)) == [0, 1, 1]  # SOF2
    with pytest.raises(ValueError, match="not a JPEG"):
        jpegcoef.component_tables(b"\x89PNG\r\n\x1a\n")
    header_only = pil_jpeg(img, quality=80)
    sof = header_only.index(b"\xff\xc0")
    with pytest.raises(ValueError, match="frame header"):
        jpegcoef.component_tables(header_only[:sof + 8])  # cut inside the SOF0 segment


@needs_ext
def test_with_chroma_takes_luma_from_one_encode_and_chroma_from_the_other():
    img = photo()
    encode = jpegli_encoder(img)
    luma, chroma = encode(90), encode(60.5)
    out = jpegcoef.with_chroma(luma, chroma)
    assert out is not None and sof_markers(out) == {0xC0}
    tables = jpegcoef.quantization_tables(out)
    assert tables == {0: jpegcoef.quantization_tables(luma)[0], 1: jpegcoef.quantization_tables(chroma)[1]}
    mixed, y_src, c_src = ycbcr(out), ycbcr(luma), ycbcr(chroma)
    assert np.array_equal(mixed[..., 0], y_src[..., 0])
    assert np.array_equal(mixed[..., 1:], c_src[..., 1:])
    assert len(encode(60.5)) < len(out) < len(encode(90))


@needs_ext
def test_with_chroma_gives_none_for_inputs_that_cannot_merge():
    img = photo()
    a = pil_jpeg(img, quality=90)
    assert jpegcoef.with_chroma(a, pil_jpeg(img.resize((64, 64)), quality=60)) is None  # sizes differ
    assert jpegcoef.with_chroma(a, pil_jpeg(img, quality=60, subsampling=0)) is None  # sampling differs
    grey = pil_jpeg(img.convert("L"), quality=90)
    assert jpegcoef.with_chroma(grey, grey) is None  # no chroma
    assert jpegcoef.with_chroma(a, b"junk") is None
    assert jpegcoef.with_chroma(b"junk", a) is None
    assert jpegcoef.with_chroma(a[: len(a) // 2], a) is None  # truncated: libjpeg warns, no merge


def test_with_chroma_without_the_extension_gives_none(no_extension):
    a = pil_jpeg(photo(), quality=90)
    assert jpegcoef.with_chroma(a, a) is None


@needs_ext
def test_imageslim_chroma_offsets_give_fewer_bytes_and_keep_the_promise(monkeypatch):
    import importlib

    slim_mod = importlib.import_module("cinb.compression.slim")
    offsets = slim_mod.CHROMA_OFFSETS
    with Image.open(SAMPLE / "coffee.jpg") as im:
        src_img = im.convert("RGB").crop((100, 60, 420, 300))
    buf = io.BytesIO()
    src_img.save(buf, "JPEG", quality=95)
    out = cinb.process(buf.getvalue(), "imageSlim")
    monkeypatch.setattr(slim_mod, "CHROMA_OFFSETS", ())
    plain = cinb.process(buf.getvalue(), "imageSlim")
    assert "slim_chroma_quality" not in plain.info
    # on this crop a chroma offset wins (measured: 12,662 vs 12,770 bytes)
    assert len(out.data) < len(plain.data)
    offset = out.info["slim_chroma_quality"] - out.info["slim_quality"]
    assert offset in offsets
    assert out.info["quality"] == int(out.info["slim_quality"])
    assert out.info["slim_score"] >= 80.05
    source = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    assert reference_ssimulacra2(source, Image.open(io.BytesIO(out.data)).convert("RGB")) >= 80.0
    monkeypatch.undo()
    fast = slim(buf.getvalue(), effort=3)  # below the default: no chroma-offset search
    assert "slim_chroma_quality" not in fast.info and fast.data == plain.data
