"""CI's query text for endpoint rules (``ci-process=Name&k=v``) parses wherever a rule is taken.

CI's pages write Pic-Operations rules for endpoints as a query: ``"rule": "ci-process=GoodsMatting"``
(GoodsMatting, 436/79733), ``"ci-process=ImageTargetRec&detect-type=car,face,plate,body&cover=1"``
(ImageTargetRec, 460/118934; the Go SDK's example uses the same text). cinb's slash form
(``QRcode/cover/1``) is the same stage.
"""

from __future__ import annotations

import base64
import json

import pytest

import cinb
from cinb.errors import CIError
from cinb.pic_operations import pic_operations
from cinb.rules import parse_rule


@pytest.mark.parametrize(("query", "slash"), [
    ("ci-process=GoodsMatting", "GoodsMatting"),
    ("?ci-process=QRcode&cover=1", "QRcode/cover/1"),
    ("ci-process=ImageTargetRec&detect-type=face&cover=1", "ImageTargetRec/detect-type/face/cover/1"),
    ("ci-process=ImageTargetRec&detect-type=car,face,plate,body&cover=1",
     "ImageTargetRec/detect-type/body,car,face,plate/cover/1"),
    ("q-sign-algorithm=sha1&ci-process=QRcode&q-ak=AKID&cover=1", "QRcode/cover/1"),  # signature items ignored
    ("CI-Process=qrcode&cover=1", "QRcode/cover/1"),
])
def test_the_query_form_parses_to_the_slash_forms_stage(query, slash):
    assert parse_rule(query) == parse_rule(slash)
    assert str(parse_rule(query)) == str(parse_rule(slash))


@pytest.mark.parametrize(("query", "message"), [
    ("ci-process=DetectFace", "no rule form"),  # CI runs it only as a GET request
    ("ci-process=NoSuchThing", "unknown ci-process"),
    ("ci-process=ImageTargetRec", "needs parameter detect-type"),
    ("ci-process=QRcode&cover=7", "cover"),
    ("q-ak=AKID&q-signature=abc", "cannot find one processing rule"),
    # CI documents the query text as a whole rule only; a stage of a pipeline takes the slash form
    ("imageMogr2/thumbnail/100x|ci-process=QRcode&cover=1", "ci-process"),
])
def test_bad_query_rules_are_cierror_103(query, message):
    with pytest.raises(CIError, match=message) as err:
        parse_rule(query)
    assert err.value.code == -103


@pytest.fixture(scope="module")
def qr_png() -> bytes:
    answer = cinb.ci_process(None, "qrcode-generate", qrcode_content="https://example.com/q")
    return base64.b64decode(answer.json["ResultImage"])


def test_process_runs_the_query_form_like_the_slash_form(qr_png):
    by_query = cinb.process(qr_png, "?ci-process=QRcode&cover=1")
    by_slash = cinb.process(qr_png, "QRcode/cover/1")
    assert by_query.data == by_slash.data
    assert by_query.response["CodeStatus"] == 1 and by_query.response == by_slash.response


def test_a_pipeline_ending_in_the_slash_form_runs(qr_png):
    r = cinb.process(qr_png, "imageMogr2/format/png|QRcode/cover/1")
    assert r.response["CodeStatus"] == 1


def test_pic_operations_takes_cis_query_rule_text(qr_png, tmp_path):
    ops = {"rules": [{"fileid": "covered.png", "rule": "ci-process=QRcode&cover=1"}]}
    res = pic_operations(qr_png, json.dumps(ops), bucket_dir=tmp_path, key="qr.png")
    obj = res["ProcessResults"]["Object"][0]
    assert obj["Key"] == "covered.png" and obj["CodeStatus"] == "1"
    assert (tmp_path / "covered.png").read_bytes() == cinb.process(qr_png, "QRcode/cover/1").data
