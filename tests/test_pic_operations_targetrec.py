"""Pic-Operations with ImageTargetRec: CI reports the boxes in ``UploadResult/ImgTargetRecResult``,
beside ``ProcessResults`` (CI's Go SDK, ci.go: ``ImageProcessResult{OriginalInfo, ProcessResults>Object,
ImgTargetRecResult}``), not inside the Object; QRcode's fields stay in the Object (``PicProcessObject``
has ``CodeStatus``, ``QRcodeInfo``)."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

pytest.importorskip("cv2")

import cinb
from cinb import data
from cinb.pic_operations import pic_operations, to_xml


@pytest.fixture(scope="module")
def portrait() -> bytes:
    buf = io.BytesIO()
    with Image.open(data.astronaut()) as img:
        img.convert("RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_imgtargetrecresult_sits_beside_processresults(portrait, tmp_path):
    rule = "ci-process=ImageTargetRec&detect-type=face&cover=1"  # the Go SDK example's rule text
    res = pic_operations(portrait, json.dumps({"rules": [{"fileid": "masked.jpg", "rule": rule}]}),
                         bucket_dir=tmp_path, key="pic/astronaut.jpg")
    assert list(res) == ["ProcessResults", "ImgTargetRecResult"]
    obj = res["ProcessResults"]["Object"][0]
    assert "FaceDetailInfos" not in obj and obj["Key"] == "pic/masked.jpg"
    faces = res["ImgTargetRecResult"]["FaceDetailInfos"]["FaceDetailInfo"]
    assert faces and faces == cinb.process(portrait, "ImageTargetRec/detect-type/face").response[
        "FaceDetailInfos"]["FaceDetailInfo"]
    xml = to_xml(res)
    assert "</ProcessResults><ImgTargetRecResult><FaceDetailInfos><FaceDetailInfo><X>" in xml


def test_several_imagetargetrec_rules_give_one_block_each(portrait, tmp_path):
    rules = [{"fileid": "a.jpg", "rule": "ImageTargetRec/detect-type/face"},
             {"fileid": "b.png", "rule": "imageMogr2/format/png"},
             {"fileid": "c.jpg", "rule": "ImageTargetRec/detect-type/face/cover/1"}]
    res = pic_operations(portrait, {"rules": rules}, bucket_dir=tmp_path, key="x.jpg")
    blocks = res["ImgTargetRecResult"]
    assert isinstance(blocks, list) and len(blocks) == 2 and blocks[0] == blocks[1]
    assert [o["Key"] for o in res["ProcessResults"]["Object"]] == ["a.jpg", "b.png", "c.jpg"]
