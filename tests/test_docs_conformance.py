"""Basic processing checked against Tencent Cloud CI's own pages (the product rule: where CI's
documentation and shared/spec/ci-api.md disagree, the documentation wins).

Each case names the page it comes from (cloud.tencent.com / tencentcloud.com document ids). The
ranges are tested at both ends and one step outside, the documented examples with the document's
own numbers (rquality: source 80 x 80 % = 64; lquality: 85 stays 85, 60 rises to 80).
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

import cinb
import engine_images as ei
from cinb import CIError
from cinb.errors import OutOfRangeError

M = "imageMogr2/"


def _jpeg(quality: int = 80) -> bytes:
    return ei.photo_jpeg(120, 90, quality=quality)


# (rule, accepted?) at the ends of each documented range; page ids in the comments.
RANGES = [
    # quality / rquality / lquality: 0-100 (1045/33717, 436/36370)
    (M + "quality/0", True), (M + "quality/100", True), (M + "quality/101", False),
    (M + "rquality/0", True), (M + "rquality/100", True), (M + "rquality/101", False),
    (M + "lquality/0", True), (M + "lquality/100", True), (M + "lquality/101", False),
    # sharpen: integer 10-300 (1045/33719)
    (M + "sharpen/10", True), (M + "sharpen/300", True), (M + "sharpen/9", False), (M + "sharpen/301", False),
    # blur: radius 1-50, sigma above 0 (436/36371)
    (M + "blur/1x0.5", True), (M + "blur/50x3", True), (M + "blur/0x3", False), (M + "blur/51x3", False),
    (M + "blur/3x0", False),
    # bright and contrast: integers -100..100 (436/41159, 1045/40647; contrast 436/41160); grayscale 0/1 (436/66518)
    (M + "bright/-100", True), (M + "bright/100", True), (M + "bright/-101", False), (M + "bright/101", False),
    (M + "contrast/-100", True), (M + "contrast/100", True), (M + "contrast/101", False),
    (M + "grayscale/0", True), (M + "grayscale/1", True), (M + "grayscale/2", False),
    # rotate: 0-360 (1045/33715)
    (M + "rotate/0", True), (M + "rotate/360", True), (M + "rotate/361", False),
    # cgif: 1, or (1, 100] (1045/33716)
    (M + "cgif/1", True), (M + "cgif/100", True), (M + "cgif/0", False), (M + "cgif/101", False),
    # interlace: 0 or 1 (1045/33716)
    (M + "interlace/0", True), (M + "interlace/1", True), (M + "interlace/2", False),
    # text watermark: dissolve 1-100, degree 0-360, shadow 0-100 (1045/33721)
    ("watermark/2/text/Y2luYg/dissolve/1", True), ("watermark/2/text/Y2luYg/dissolve/100", True),
    ("watermark/2/text/Y2luYg/dissolve/0", False), ("watermark/2/text/Y2luYg/dissolve/101", False),
    ("watermark/2/text/Y2luYg/batch/1/degree/360", True), ("watermark/2/text/Y2luYg/batch/1/degree/361", False),
    ("watermark/2/text/Y2luYg/shadow/0", True), ("watermark/2/text/Y2luYg/shadow/100", True),
    ("watermark/2/text/Y2luYg/shadow/101", False),
]


@pytest.mark.parametrize(("rule", "accepted"), RANGES)
def test_documented_ranges_are_accepted_and_refused_at_their_ends(rule, accepted):
    if accepted:
        assert cinb.process(_jpeg(), rule).format == "jpeg"
    else:
        with pytest.raises(CIError) as err:
            cinb.process(_jpeg(), rule)
        assert err.value.code == -103


def test_out_of_range_with_ignore_error_returns_the_original():
    # every basic-processing page: "针对文件过大、参数超限等导致处理失败的场景,会直接返回原图"
    src = _jpeg()
    assert cinb.process(src, M + "sharpen/301/ignore-error/1").data == src


def test_rquality_and_lquality_follow_the_documented_examples():
    # 1045/33717: source 80, rquality/80 -> 64; source 85, lquality/80 -> 85; source 60, lquality/80 -> 80
    assert cinb.process(_jpeg(80), M + "rquality/80").info["quality"] == 64
    assert cinb.process(_jpeg(85), M + "lquality/80").info["quality"] == 85
    assert cinb.process(_jpeg(60), M + "lquality/80").info["quality"] == 80


def test_quality_takes_the_lower_of_source_and_given_unless_forced():
    # 1045/33717: "取原图质量和指定质量的最小值"; "90!" forces the value
    assert cinb.process(_jpeg(70), M + "quality/90").info["quality"] == 70
    assert cinb.process(_jpeg(70), M + "quality/90!").info["quality"] == 90


def test_cgif_reduces_gif_frames_and_leaves_other_sources_alone():
    # 1045/33716: cgif is "只针对原图为 gif 格式"; 1 = at most 30 frames, (1,100] = that many frames
    gif = ei.animated_gif(frames=40)
    out = Image.open(io.BytesIO(cinb.process(gif, M + "cgif/1").data))
    assert out.n_frames == 30
    out = Image.open(io.BytesIO(cinb.process(gif, M + "cgif/7").data))
    assert out.n_frames == 7
    jpeg = _jpeg()
    assert cinb.process(jpeg, M + "cgif/5").format == "jpeg"


def test_cgif_1_cuts_the_frames_after_the_30th():
    # 1045/33716 and 436/36369: "FrameNumber=1: cuts the input GIF to the default number of frames
    # (30). If the original number of frames is greater than 30, the exceeded frames will be cut"
    # ("则截取"), unlike (1,100], which compresses the animation to that many frames
    gif = ei.animated_gif(frames=40)
    out = cinb.process(gif, M + "cgif/1").data
    assert ei.gif_durations(out) == ei.gif_durations(gif)[:30]
    first, last = Image.open(io.BytesIO(out)), Image.open(io.BytesIO(gif))
    first.seek(29)
    last.seek(29)
    assert ei.close(first.convert("RGB").getpixel((100, 45)), last.convert("RGB").getpixel((100, 45)), tol=12)


def test_interlace_is_ignored_for_outputs_other_than_jpeg():
    # 1045/33716: "如果输出非 jpg 图片格式,会忽略该参数"
    plain = cinb.process(_jpeg(), M + "format/png").data
    assert cinb.process(_jpeg(), M + "interlace/1/format/png").data == plain


def test_image_info_has_the_documented_fields_all_strings():
    # 1131/44889 (2024-12): format, width, height, size, md5, frame_count, bit_depth, vertical_dpi,
    # horizontal_dpi; the example gives every value as a string
    answer = cinb.process(_jpeg(), "imageInfo").json
    for field in ("format", "width", "height", "size", "md5", "frame_count", "bit_depth",
                  "vertical_dpi", "horizontal_dpi"):
        assert isinstance(answer[field], str), field
    assert answer["format"] == "jpeg" and answer["frame_count"] == "1"
    assert json.loads(json.dumps(answer)) == answer


def test_animations_are_never_enlarged():
    # 1246/109193 (2025-10): "动图格式不支持进行尺寸放大"
    gif = ei.animated_gif(frames=3, size=(60, 40))
    r = cinb.process(gif, M + "thumbnail/!200p")
    assert (r.width, r.height) == (60, 40)


# --- density (460/129119, 2026-03): 1-1200, default the source's DPI, not for animated GIFs ------


def test_density_value_is_checked_when_the_op_is_built():
    from cinb.rules.mogr2 import parse_density

    assert parse_density("1").dpi == 1 and parse_density("1200").dpi == 1200
    with pytest.raises(OutOfRangeError):
        parse_density("1201")
    with pytest.raises(OutOfRangeError):
        parse_density("0")
    with pytest.raises(CIError) as err:
        parse_density("3OO")
    assert err.value.code == -103 and not isinstance(err.value, OutOfRangeError)


def _with_dpi(fmt: str, dpi: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buf, fmt, dpi=(dpi, dpi))
    return buf.getvalue()


@pytest.mark.parametrize(("source", "rule"), [("JPEG", M + "thumbnail/!50p"), ("PNG", M + "thumbnail/!50p"),
                                              ("JPEG", M + "format/png"), ("PNG", M + "format/jpg"),
                                              ("JPEG", M + "format/yjpeg"), ("PNG", M + "format/bmp")])
def test_output_keeps_the_source_dpi(source, rule):
    out = cinb.process(_with_dpi(source, 300), rule)
    assert cinb.image_info(out.data)["vertical_dpi"] == "300"


@pytest.mark.parametrize("fmt", ["jpg", "png", "yjpeg", "bmp"])
def test_density_sets_the_output_dpi(fmt):
    out = cinb.process(_with_dpi("JPEG", 72), M + f"density/300/format/{fmt}")
    info = cinb.image_info(out.data)
    assert (info["horizontal_dpi"], info["vertical_dpi"]) == ("300", "300")


@pytest.mark.parametrize(("mode", "size"), [(1, (500, 400)), (2, (500, 250)), (3, (800, 400)), (4, (800, 400)),
                                            (5, (500, 400))])
def test_image_view2_modes_follow_the_documented_1000x500_example(mode, size):
    # CI's imageView2 page (460/6929): 1000x500 with w/500/h/400 -> mode 1 500x400 (800x400 then a
    # centre crop), mode 2 500x250, mode 3 800x400; modes 4 and 5 by the long/short-edge rules
    r = cinb.process(ei.photo_jpeg(1000, 500), f"imageView2/{mode}/w/500/h/400")
    assert (r.width, r.height) == size


def test_watermark_defaults_are_the_documented_ones():
    # text: font tahoma.ttf, fontsize 13 (points), fill #3D3D3D, dissolve 90, gravity SouthEast, dx = dy = 0
    # (1246/45371, 1045/33721); image: dissolve 90, gravity SouthEast, dx = dy = 0 (1045/33720)
    text = cinb.parse_rule("watermark/2/text/Y2luYg").stages[0]
    assert (text.font, text.fontsize, text.fill, text.dissolve, text.gravity, text.dx, text.dy) == \
        ("tahoma.ttf", 13, (0x3D, 0x3D, 0x3D), 90, "SouthEast", 0, 0)
    image = cinb.parse_rule("watermark/1/image/aHR0cDovL2EvYi5wbmc").stages[0]
    assert (image.dissolve, image.gravity, image.dx, image.dy) == (90, "SouthEast", 0, 0)


def test_text_watermark_degree_applies_only_when_tiled():
    # 1045/33721: degree "当 batch 值为1时生效" (takes effect when batch is 1)
    src = ei.photo_jpeg(200, 150)
    plain = cinb.process(src, "watermark/2/text/Y2luYg/fontsize/30|imageMogr2/format/png").data
    turned = cinb.process(src, "watermark/2/text/Y2luYg/fontsize/30/degree/45|imageMogr2/format/png").data
    tiled = cinb.process(src, "watermark/2/text/Y2luYg/fontsize/30/batch/1|imageMogr2/format/png").data
    tiled_turned = cinb.process(src, "watermark/2/text/Y2luYg/fontsize/30/batch/1/degree/45|imageMogr2/format/png").data
    assert plain == turned
    assert tiled != tiled_turned


# --- size-limit (1246/109211, 2025-10; 436/56734) ----------------------------------------------------
# "仅支持对 JPG 格式的图片限制大小,非 JPG 格式的图片可以结合格式转换参数,转换为 JPG 后再限制大小"
# (only JPG outputs; convert others with /format/jpg first), and "限制大小与极智压缩不可同时使用,若同时
# 使用时,仅生效极智压缩" (with imageSlim, only imageSlim takes effect).


def test_size_limit_lowers_a_jpeg_below_the_limit():
    big = cinb.process(ei.photo_jpeg(400, 300, quality=95), M + "quality/95!").data
    r = cinb.process(big, M + "strip/format/jpg/size-limit/15k")
    assert r.format == "jpeg" and len(r.data) <= 15 * 1024


def test_size_limit_does_not_change_an_explicit_png_output():
    r = cinb.process(ei.quad_png(), M + "format/png/size-limit/5k")
    assert r.format == "png"


def test_size_limit_with_image_slim_applies_only_image_slim():
    r = cinb.process(ei.photo_jpeg(400, 300, quality=95), M + "size-limit/15k|imageSlim")
    assert "X-Slimflag" in r.response


@pytest.mark.parametrize("rule", ["imageMogr2/cut/100x100x900x10", "imageMogr2/indexcrop/width/1000/index/0",
                                  "imageMogr2/crop/!100x100a900a0"])
def test_ignore_error_returns_the_original_for_a_value_out_of_range_only_once_the_picture_is_known(rule):
    # CI: with /ignore-error/1, "file too large, parameter over its limit, etc." return the original; these
    # values are only out of range for a 451 x 300 picture
    src = cinb.data.path("chelsea")
    with pytest.raises(cinb.CIError) as err:
        cinb.process(src, rule)
    assert err.value.code == -103
    out = cinb.process(src, rule + "/ignore-error/1")
    with open(src, "rb") as f:
        assert out.data == f.read()
