"""Visible watermarks, imageView2, the information APIs, styles and compression, checked against
Tencent Cloud CI's own pages (where they and shared/spec/ci-api.md disagree, the pages win).

Audit 2026-12-02 (helper AU). Each test names the page it comes from: cloud.tencent.com ids
(460/..., 1246/..., 1131/..., 436/...) and tencentcloud.com ids (1045/...). ``AUDIT`` is the
audit's record, page by page: what the page says and what cinb does.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

import cinb
import engine_images as ei
from cinb import CIError
from cinb.info import image_info

#: (page, what CI's page says, what cinb does)
AUDIT = [
    ("460/6927 (2025-09) imageInfo",
     "format, width, height, size, md5, dynamic_range (hdr, gainmap hdr, sdr, unknow), frame_count, bit_depth, "
     "vertical_dpi, horizontal_dpi; all strings",
     "same fields in that order; dynamic_range read from the file (gain map, PQ/HLG transfer), else sdr"),
    ("1246/109207 exif",
     "JPG PNG BMP WebP TIFF AVIF HEIF; {Tag: {val: text}}; without EXIF {\"error\" : \"no exif data\"}",
     "same"),
    ("460/6929 (2026-01) imageView2",
     "modes 1-5, 1000x500 with w/500/h/400 examples; one side given: modes 1/5 square, 3/4 same value; "
     "q 0-100 (min with the source, ! forces); rq relative; lq a floor; format jpg bmp gif png webp; ignore-error/1",
     "same; mode 0 and cinb's other output formats are accepted too (Qiniu's grammar); never enlarges (row 8)"),
    ("460/6951, 1246/45371, 1045/33721 text watermark",
     "font tahoma.ttf, fontsize in points (13), fill #3D3D3D, dissolve 1-100 (90), gravity SouthEast, dx = dy = 0, "
     "degree only with batch/1, shadow 0-100; center ignores dx, dy; north/south ignore dx; west/east ignore dy",
     "same"),
    ("460/19568 fonts", "13 font names", "all 13 resolve (OFL stand-ins)"),
    ("460/6930, 1045/33720 image watermark",
     "image URL http:// only; blogo 1 scales, 2 crops; scatype 1-3 with spcent 1-1000 (area: 1-250); "
     "at most 10 image watermarks; an animated picture cannot be a watermark",
     "same"),
    ("460/46820, 1246/45276, 1045/42359 Guetzli",
     "JPG of quality > 70 under 16 Mpx (console page: 4 Mpx); other pictures are not processed: "
     "x-GuetzliState < 0 (cannot be processed) or 0 (not processed), the picture served as it is",
     "the original with x-GuetzliState -1 (a JPEG outside the limits) or 0 (not a JPEG)"),
    ("1246/109208, 1045/33724 imageAve", "{\"RGB\": \"0xRRGGBB\"}", "same (lower-case hex as the example)"),
    ("1246/109218, 436/60455 AVIF; 1045/42362, 436/60451 HEIF",
     "imageMogr2/format/avif|heif, no other parameter; AVIF from jpg png bmp gif webp tpg heif; HEIF from jpg png "
     "bmp webp tpg avif (no GIF)",
     "same; GIF -> HEIF is -113 (row 28); tpg -113 (proprietary)"),
    ("1246/109241, 436/96675 imageSlim",
     "format kept; X-Slimflag 0 failed, 1 slimmed, 2 original returned; Auto mode for jpg png gif",
     "same (gif, png, jpg, webp keep their format)"),
    ("cos-python-sdk-v5 demo/ci_watermark.py, demo/ci_compress.py",
     "watermark URL http://<bucket>.cos.<region>.tencentcos.cn/<key> in standard base64 with padding; "
     "CompressType tpg or heif -> imageMogr2/format/<type>",
     "the URL form resolves under the watermark folders; heif written, tpg -113"),
]


# --- imageInfo (460/6927, 2025-09) ----------------------------------------------------------------

INFO_FIELDS = ["format", "width", "height", "size", "md5", "dynamic_range", "frame_count", "bit_depth",
               "vertical_dpi", "horizontal_dpi"]


def test_image_info_fields_in_the_documented_order():
    info = image_info(ei.photo_jpeg(64, 48))
    assert list(info) == INFO_FIELDS
    assert all(isinstance(v, str) for v in info.values())


def _png_with_chunk(kind: bytes, payload: bytes) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 100, 110)).save(buf, "PNG")
    data = buf.getvalue()
    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def test_dynamic_range_is_sdr_for_an_ordinary_picture():
    assert image_info(ei.photo_jpeg(64, 48))["dynamic_range"] == "sdr"
    assert image_info(_png_with_chunk(b"cICP", bytes([1, 13, 0, 1])))["dynamic_range"] == "sdr"  # sRGB


@pytest.mark.parametrize("transfer", [16, 18])  # H.273: 16 SMPTE ST 2084 (PQ), 18 ARIB STD-B67 (HLG)
def test_dynamic_range_is_hdr_for_a_png_with_a_pq_or_hlg_cicp_chunk(transfer):
    assert image_info(_png_with_chunk(b"cICP", bytes([9, transfer, 0, 1])))["dynamic_range"] == "hdr"


def _heif_with_transfer(transfer: int) -> bytes:
    im = Image.new("RGB", (64, 64), (100, 120, 140))
    im.info["nclx_profile"] = {"color_primaries": 9, "transfer_characteristics": transfer,
                               "matrix_coefficients": 9, "full_range_flag": 1}
    buf = io.BytesIO()
    im.save(buf, "HEIF", quality=60)
    return buf.getvalue()


def test_dynamic_range_is_hdr_for_a_heif_with_a_pq_nclx_colour_box():
    assert image_info(_heif_with_transfer(16))["dynamic_range"] == "hdr"
    assert image_info(_heif_with_transfer(1))["dynamic_range"] == "sdr"


def test_dynamic_range_is_hdr_for_an_avif_with_an_hlg_nclx_colour_box():
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (100, 120, 140)).save(buf, "AVIF", quality=60)
    data = bytearray(buf.getvalue())
    at = data.find(b"colrnclx")
    assert at > 0
    data[at + 10:at + 12] = struct.pack(">H", 18)  # primaries u16, then transfer u16
    assert image_info(bytes(data))["dynamic_range"] == "hdr"
    assert image_info(buf.getvalue())["dynamic_range"] == "sdr"


def _jpeg_with_xmp(xmp: bytes) -> bytes:
    data = ei.photo_jpeg(64, 48)
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + app1 + data[2:]


def test_dynamic_range_is_gainmap_hdr_for_an_ultra_hdr_jpeg():
    # Ultra HDR / Adobe gain map: the primary image's XMP declares hdrgm:Version
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0"/>'
           b"</rdf:RDF></x:xmpmeta>")
    assert image_info(_jpeg_with_xmp(xmp))["dynamic_range"] == "gainmap hdr"
    plain = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>'
    assert image_info(_jpeg_with_xmp(plain))["dynamic_range"] == "sdr"


def test_dynamic_range_is_gainmap_hdr_for_an_iso_21496_jpeg_and_reads_only_the_header():
    data = ei.photo_jpeg(64, 48)
    payload = b"urn:iso:std:iso:ts:21496:-1\x00\x00\x00"
    app2 = b"\xff\xe2" + struct.pack(">H", len(payload) + 2) + payload
    assert image_info(data[:2] + app2 + data[2:])["dynamic_range"] == "gainmap hdr"
    # a marker string inside the compressed data (not a metadata segment) declares nothing
    assert image_info(data[:-2] + payload + data[-2:])["dynamic_range"] == "sdr"


def test_image_info_stage_reports_the_output_dynamic_range():
    out = cinb.process(_png_with_chunk(b"cICP", bytes([9, 16, 0, 1])), "imageInfo")
    assert out.json["dynamic_range"] == "hdr"


def _deep_rgb(bits: int):
    import numpy as np

    return np.random.default_rng(0).integers(0, 1 << bits, (32, 32, 3)).astype(np.uint16)


@pytest.mark.parametrize(("kind", "bits"), [("png", 16), ("tiff", 16), ("avif", 10), ("heif", 10)])
def test_bit_depth_is_the_file_s_own(kind, bits):
    # 460/6927 "bit_depth: 图片的位深": the stored depth, not the 8 bits Pillow decodes some files to
    imagecodecs = pytest.importorskip("imagecodecs")
    arr = _deep_rgb(bits)
    if kind == "png":
        data = imagecodecs.png_encode(arr)
    elif kind == "tiff":
        data = imagecodecs.tiff_encode(arr)
    elif kind == "avif":
        data = imagecodecs.avif_encode(arr, level=60, bitspersample=10)
    else:
        import pillow_heif

        buf = io.BytesIO()
        pillow_heif.from_bytes(mode="RGB;16", size=(32, 32), data=(arr << 6).tobytes()).save(buf, quality=80)
        data = buf.getvalue()
    assert image_info(data)["bit_depth"] == str(bits)


def test_bit_depth_of_ordinary_pictures_stays_8():
    assert image_info(ei.photo_jpeg(32, 24))["bit_depth"] == "8"
    buf = io.BytesIO()
    Image.new("RGB", (32, 24)).save(buf, "AVIF", quality=60)
    assert image_info(buf.getvalue())["bit_depth"] == "8"
    assert image_info(ei.quad_png())["bit_depth"] == "8"


# --- exif (1246/109207) ----------------------------------------------------------------------------

def test_exif_without_exif_is_the_documented_error_object():
    assert cinb.process(ei.quad_png(), "exif").json == {"error": "no exif data"}


# --- imageView2 (460/6929, 2026-01; 1246/45370) ----------------------------------------------------

@pytest.mark.parametrize(("rule", "quality"), [
    ("imageView2/2/w/500/q/90", 80),   # "取原图质量和指定质量的最小值"
    ("imageView2/2/w/500/q/90!", 90),  # "后面加!...表示强制使用指定值"
    ("imageView2/2/w/500/rq/80", 64),  # "原图质量为80, rquality 80 -> 64(80x80%)"
    ("imageView2/2/w/500/lq/90", 90),  # lq raises a lower source quality
    ("imageView2/2/w/500/lq/60", 80),  # and keeps a higher one
])
def test_image_view2_quality_parameters_follow_the_page(rule, quality):
    r = cinb.process(ei.photo_jpeg(1000, 500, quality=80), rule)
    assert (r.width, r.height, r.info["quality"]) == (500, 250, quality)


@pytest.mark.parametrize(("rule", "size"), [
    ("imageView2/1/w/500", (500, 500)),   # one side: a square
    ("imageView2/3/w/300", (600, 300)),   # one side: the other "设为相同值"
    ("imageView2/4/w/500", (1000, 500)),  # long and short edge at least 500
    ("imageView2/5/w/500", (500, 500)),   # one side: a square
])
def test_image_view2_single_side_forms_follow_the_page(rule, size):
    r = cinb.process(ei.photo_jpeg(1000, 500), rule)
    assert (r.width, r.height) == size


@pytest.mark.parametrize("fmt", ["jpg", "bmp", "gif", "png", "webp"])
def test_image_view2_documented_formats(fmt):
    r = cinb.process(ei.photo_jpeg(100, 50), f"imageView2/2/w/50/format/{fmt}")
    assert r.format == {"jpg": "jpeg"}.get(fmt, fmt) and (r.width, r.height) == (50, 25)


def test_image_view2_quality_out_of_range_is_103_and_ignore_error_returns_the_original():
    src = ei.photo_jpeg(100, 50)
    with pytest.raises(CIError) as err:
        cinb.process(src, "imageView2/2/w/50/q/101")
    assert err.value.code == -103
    assert cinb.process(src, "imageView2/2/w/50/q/101/ignore-error/1").data == src


# --- text watermark (460/6951, 1246/45371, 1045/33721) and fonts (460/19568) ------------------------

CI_FONTS = ["simfang仿宋.ttf", "tahoma.ttf", "simhei黑体.ttf", "simkai楷体.ttf", "simsun宋体.ttc",
            "STHeiti Light华文黑体.ttc", "STHeiti Medium.ttc", "幼圆.TTF", "ahronbd.ttf", "arial.ttf", "ariblk.ttf",
            "Helvetica.dfont", "HelveticaNeue.dfont"]


@pytest.mark.parametrize("font", CI_FONTS)
def test_every_font_of_the_fonts_page_is_accepted(font):
    from cinb.rules.grammar import b64u_encode

    rule = f"watermark/2/text/{b64u_encode('cinb 水印')}/font/{b64u_encode(font)}/fontsize/20"
    assert cinb.process(ei.photo_jpeg(200, 100), rule).format == "jpeg"


def _mark_box(rule: str) -> tuple[int, int, int, int]:
    """Bounding box of what a text watermark changed on a flat grey picture."""
    import numpy as np

    src = Image.new("RGB", (300, 200), (128, 128, 128))
    buf = io.BytesIO()
    src.save(buf, "PNG")
    out = Image.open(io.BytesIO(cinb.process(buf.getvalue(), rule + "|imageMogr2/format/png").data)).convert("RGB")
    diff = np.abs(np.asarray(out, dtype=int) - 128).sum(axis=2) > 0
    ys, xs = np.nonzero(diff)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


TEXT = "watermark/2/text/Y2luYg/fontsize/30/fill/I0ZGMDAwMA/dissolve/100"


@pytest.mark.parametrize(("gravity", "ignored"), [("center", "dxdy"), ("north", "dx"), ("south", "dx"),
                                                 ("west", "dy"), ("east", "dy")])
def test_gravity_ignores_the_documented_offsets(gravity, ignored):
    # 1246/45371: center: dx, dy invalid; north/south: dx invalid (centred horizontally);
    # west/east: dy invalid (centred vertically)
    base = _mark_box(f"{TEXT}/gravity/{gravity}")
    moved = _mark_box(f"{TEXT}/gravity/{gravity}/dx/20/dy/20")
    if ignored == "dxdy":
        assert moved == base
    elif ignored == "dx":
        assert (moved[0], moved[2]) == (base[0], base[2]) and moved[1] != base[1]
    else:
        assert (moved[1], moved[3]) == (base[1], base[3]) and moved[0] != base[0]


def test_south_east_offsets_move_the_mark_away_from_the_corner():
    base = _mark_box(f"{TEXT}/gravity/southeast")
    moved = _mark_box(f"{TEXT}/gravity/southeast/dx/20/dy/10")
    assert (base[2] - moved[2], base[3] - moved[3]) == (20, 10)


# --- image watermark (460/6930, 1045/33720) ---------------------------------------------------------

def test_image_watermark_url_must_be_http():
    from cinb.rules.grammar import b64u_encode

    with pytest.raises(CIError) as err:
        cinb.parse_rule("watermark/1/image/" + b64u_encode("https://examplebucket-1250000000.cos.ap-shanghai."
                                                           "myqcloud.com/shuiyin_2.png"))
    assert err.value.code == -103


@pytest.mark.parametrize(("scatype", "spcent", "ok"), [(1, 1000, True), (1, 1001, False), (2, 1000, True),
                                                       (3, 250, True), (3, 251, False), (1, 0, False)])
def test_scatype_spcent_ranges(scatype, spcent, ok):
    rule = f"watermark/1/image/bG9nby5wbmc/scatype/{scatype}/spcent/{spcent}"
    if ok:
        assert cinb.parse_rule(rule).stages[0].spcent == spcent
    else:
        with pytest.raises(CIError) as err:
            cinb.parse_rule(rule)
        assert err.value.code == -103


def test_exif_values_are_rendered_as_in_the_page_example():
    # 1246/109207: {"ColorSpace": {"val": "sRGB"}, "ExifVersion": {"val": "48 50 51 48"}, "FNumber": {"val": "13/1"},
    # "ExposureTime": {"val": "1/200"}, "DateTime": {"val": "2018:09:03 17:37:06"}, ...}
    from PIL import ExifTags, TiffImagePlugin

    exif = Image.Exif()
    exif[ExifTags.Base.DateTime] = "2018:09:03 17:37:06"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.ColorSpace] = 1
    sub[ExifTags.Base.ExifVersion] = b"0230"
    sub[ExifTags.Base.FNumber] = TiffImagePlugin.IFDRational(13, 1)
    sub[ExifTags.Base.ExposureTime] = TiffImagePlugin.IFDRational(1, 200)
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 20, 30)).save(buf, "JPEG", exif=exif.tobytes())
    answer = cinb.process(buf.getvalue(), "exif").json
    assert {k: answer[k]["val"] for k in ("ColorSpace", "ExifVersion", "FNumber", "ExposureTime", "DateTime")} == {
        "ColorSpace": "sRGB", "ExifVersion": "48 50 51 48", "FNumber": "13/1", "ExposureTime": "1/200",
        "DateTime": "2018:09:03 17:37:06"}


# --- imageAve (1246/109208, 1045/33724) -------------------------------------------------------------

def test_image_ave_is_0x_and_six_hex_digits():
    # the pages' example: {"RGB": "0x736246"}
    out = cinb.process(Image.new("RGB", (8, 8), (0x73, 0x62, 0x46)), "imageAve").json
    assert out == {"RGB": "0x736246"}


# --- text watermark colour (1246/45371: "十六进制 RGB 格式(如 #FF0000)... URL 安全的 Base64 编码") ---------

@pytest.mark.parametrize(("colour", "ok"), [("#FF0000", True), ("#ff0000", True), ("FF0000", False), ("red", False),
                                            ("#F00", False)])
def test_text_fill_is_a_b64u_hash_rrggbb(colour, ok):
    from cinb.rules.grammar import b64u_encode

    rule = f"watermark/2/text/Y2luYg/fill/{b64u_encode(colour)}"
    if ok:
        assert cinb.parse_rule(rule).stages[0].fill == (255, 0, 0)
    else:
        with pytest.raises(CIError) as err:
            cinb.parse_rule(rule)
        assert err.value.code == -103


# --- Guetzli (460/46820, 1246/45276, 1045/42359) ----------------------------------------------------

def test_guetzli_refusals_carry_cis_state_and_the_original():
    from cinb.compression import guetzli

    low = ei.photo_jpeg(64, 48, quality=60)
    r = guetzli(low)
    assert (r.info["x-GuetzliState"], r.data, r.format) == (-1, low, "jpeg")
    png = ei.quad_png()
    r = guetzli(png)
    assert (r.info["x-GuetzliState"], r.data, r.format) == (0, png, "png")


def test_the_python_sdk_watermark_url_form_resolves(tmp_path):
    # cos-python-sdk-v5 demo/ci_watermark.py: http://<bucket>.cos.<region>.tencentcos.cn/<key>, encoded with
    # standard base64 (padding kept); the key is looked up under the watermark folders
    import base64

    from cinb.settings import using

    Image.new("RGB", (20, 20), (255, 0, 0)).save(tmp_path / "watermark.png")
    url = "http://examplebucket-1250000000.cos.ap-beijing.tencentcos.cn/watermark.png"
    rule = f"watermark/1/image/{base64.b64encode(url.encode()).decode()}/gravity/center/dissolve/100"
    with using(watermark_dirs=[tmp_path]):
        out = cinb.process(Image.new("RGB", (100, 100), "white"), rule + "|imageMogr2/format/png")
    assert out.image.getpixel((50, 50)) == (255, 0, 0)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "AVIF", "HEIF"])
def test_exif_is_read_from_every_documented_format(fmt):
    # 1246/109207: "支持获取 JPG、PNG、BMP、WebP、TiFF、AVIF、HEIF 格式图片的 EXIF 信息" (BMP carries none)
    from PIL import ExifTags

    if fmt == "HEIF":
        pytest.importorskip("pillow_heif").register_heif_opener()
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "CINB"
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (1, 2, 3)).save(buf, fmt, exif=exif.tobytes())
    assert cinb.process(buf.getvalue(), "exif").json["Make"] == {"val": "CINB"}


@pytest.mark.parametrize(("gravity", "sign"), [("northwest", (1, 1)), ("northeast", (-1, 1)),
                                               ("southwest", (1, -1)), ("southeast", (-1, -1))])
def test_corner_offsets_move_the_mark_inwards(gravity, sign):
    # 1246/45371 nine-grid: dx/dy are margins from the chosen corner
    base = _mark_box(f"{TEXT}/gravity/{gravity}")
    moved = _mark_box(f"{TEXT}/gravity/{gravity}/dx/20/dy/10")
    assert (moved[0] - base[0], moved[1] - base[1]) == (20 * sign[0], 10 * sign[1])
