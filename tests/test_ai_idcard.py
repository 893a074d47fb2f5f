"""IDCardOCR and AILicenseRec (spec §19.6): fields, crops, warnings and errors on fictional cards.

No real card is used: :func:`cinb.ai.idcard.specimen` draws cards of fictional people (region code
99, which no region has; valid check digits) in the real layout, and :func:`photograph` puts them
on a table, turned, in perspective, blurred, compressed, copied in grey or cut by the frame. Every
test runs the real OCR model (rapidocr PP-OCRv6); a card takes 1.5-2 s of CPU.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

import cinb
from cinb import CIError
from cinb.ai import idcard
from cinb.ai.idcard import (
    CONFIG_KEYS,
    Person,
    check_digit,
    correct_number,
    date_problem,
    license_specimen,
    parse_config,
    photograph,
    specimen,
    valid_number,
)
from cinb.errors import BAD_PARAMETER, CORRUPT_IMAGE, FILE_TOO_LARGE
from cinb.imageinput import ImageInput
from cinb.watermark.fonts import font_spec

pytest.importorskip("rapidocr")

ALL = json.dumps(dict.fromkeys(CONFIG_KEYS, True))
HONG = Person(name="李小红", sex="女", nation="回", birth=dt.date(1985, 11, 3),
              address="示例自治区样本州演示县虚构镇测试村三组", sequence=456, authority="样本县公安局",
              valid="2015.07.21-2035.07.21")


def encoded(img: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def expected_front(p: Person) -> dict:
    return {"Name": p.name, "Sex": p.sex, "Nation": p.nation, "Birth": f"{p.birth.year}/{p.birth.month}/{p.birth.day}",
            "Address": p.address, "IdNum": p.number, "Authority": "", "ValidDate": ""}


@pytest.fixture(scope="module")
def front_all():
    return cinb.ci_process(encoded(photograph(specimen(), angle=6, tilt=0.06, seed=1), quality=92), "IDCardOCR",
                           Config=ALL)


# --- the number, dates and Config (no model) -----------------------------------------------------------


def test_check_digit_follows_gb_11643():
    assert check_digit("11010519491231002") == "X"  # the standard's own worked example
    assert valid_number("11010519491231002X") and not valid_number("110105194912310021")
    assert not valid_number("11010519491331002X")  # month 13: no such birth date
    p = Person()
    assert valid_number(p.number) and int(p.number[16]) % 2 == 1  # odd sequence: male
    assert int(Person(sex="女").number[16]) % 2 == 0


def test_a_misread_digit_is_corrected_only_when_one_lookalike_fits_birth_and_sex():
    good = Person().number
    misread = good[:16] + "8" + good[17:]  # 3 read as 8
    assert correct_number(misread, birth="1990/4/22", sex="男") == (good, True)
    assert correct_number(good[:17] + "8")[1] is False  # several single changes fit: left as read
    assert correct_number("12345") == ("12345", False)


def test_valid_dates_are_5_10_20_years_or_long_term():
    today = dt.date(2026, 12, 2)
    assert date_problem("2016.03.15-2036.03.15", today=today) == (None, False)
    assert date_problem("2012.05.01-长期", today=today) == (None, False)
    assert date_problem("2006.03.15-2016.03.15", today=today) == (None, True)  # expired is not illegal
    assert date_problem("2016.03.15-2023.03.15", today=today)[0].startswith("a span of 7 years")
    assert date_problem("2016.03.15-2026.03.16", today=today)[0] is not None
    assert date_problem("2036.03.15-2046.03.15", today=today)[0] == "issued in the future"
    assert date_problem("2016.13.15-2026.13.15", today=today)[0] == "not a calendar date"
    assert date_problem("", today=today)[0] == "unreadable"


def test_config_is_cis_json_of_booleans():
    assert parse_config(None) == dict.fromkeys(CONFIG_KEYS, False)
    assert parse_config('{"CropIdCard":true,"CropPortrait":false}')["CropIdCard"] is True
    for bad in ('{"CropIdCard":tru}', "[true]", '{"CropIDCard":true}', '{"Quality":"yes"}', '{"Quality":2}',
                "9" * 5000, "[" * 100000):  # past Python's int digit limit; past its recursion limit
        with pytest.raises(CIError) as err:
            parse_config(bad)
        assert err.value.code == BAD_PARAMETER


@pytest.mark.parametrize("query", ["ci-process=IDCardOCR&Config=%7Bnope", "ci-process=IDCardOCR&CardSide=SIDE",
                                   "ci-process=AILicenseRec&CardType=Passport"])
def test_bad_parameters_are_refused_before_any_model(query):
    with pytest.raises(CIError) as err:
        cinb.ci_process(encoded(Image.new("RGB", (8, 8))), query)
    assert err.value.code == BAD_PARAMETER


def test_over_7_mb_of_base64_is_refused():
    noise = np.random.default_rng(0).integers(0, 256, (1500, 1500, 3), dtype=np.uint8)
    data = encoded(Image.fromarray(noise), "PNG", compress_level=0)
    assert 4 * -(-len(data) // 3) > idcard.MAX_BASE64_BYTES
    with pytest.raises(CIError) as err:
        cinb.ci_process(data, "IDCardOCR")
    assert err.value.code == FILE_TOO_LARGE


def test_not_an_image_is_refused():
    with pytest.raises(CIError) as err:
        cinb.ci_process(b"not an image at all", "IDCardOCR")
    assert err.value.code in (-113, CORRUPT_IMAGE)


# --- reading cards -------------------------------------------------------------------------------------


def test_front_photographed_reads_every_field_in_cis_shape(front_all):
    r = front_all
    assert r.format == "json" and list(r.json) == ["IdInfo", "AdvancedInfo"]
    assert r.json["IdInfo"] == expected_front(Person())
    assert r.xml.startswith("<Response><IdInfo><Name>张三</Name><Sex>男</Sex><Nation>汉</Nation>"
                            "<Birth>1990/4/22</Birth>")
    assert r.info["side"] == "FRONT" and r.info["method"] == "outline" and r.info["id_checksum"] is True
    assert r.info["consistent"] is True


def test_advanced_info_crops_quality_and_no_warning_on_a_clean_colour_card(front_all):
    adv = front_all.json["AdvancedInfo"]
    assert list(adv) == ["IdCard", "Portrait", "Quality", "BorderCodeValue", "WarnInfos"]
    card = Image.open(io.BytesIO(base64.b64decode(adv["IdCard"])))
    assert card.format == "JPEG" and card.size == idcard.CARD_PX
    portrait = Image.open(io.BytesIO(base64.b64decode(adv["Portrait"])))
    assert portrait.format == "JPEG" and 150 < portrait.height < 400 and portrait.width < portrait.height * 1.1
    assert isinstance(adv["Quality"], int) and adv["Quality"] >= 50
    assert adv["BorderCodeValue"] < 50 and adv["WarnInfos"] == []
    assert "<WarnInfos>" not in front_all.xml or "<WarnInfos></WarnInfos>" in front_all.xml


def test_advanced_info_is_left_out_unless_asked_for():
    r = cinb.ci_process(specimen(HONG), "IDCardOCR", CardSide="FRONT")
    assert list(r.json) == ["IdInfo"] and r.json["IdInfo"] == expected_front(HONG)


def test_back_upside_down_in_perspective():
    img = photograph(specimen(HONG, side="BACK"), angle=176, tilt=0.08, seed=3)
    r = cinb.ci_process(encoded(img), "IDCardOCR", Config='{"InvalidDateWarn":true}')
    assert r.json["IdInfo"]["Authority"] == "样本县公安局" and r.json["IdInfo"]["ValidDate"] == "2015.07.21-2035.07.21"
    assert r.json["IdInfo"]["Name"] == "" and r.info["side"] == "BACK"
    assert r.json["AdvancedInfo"] == {"WarnInfos": []}


def test_blurred_compressed_small_card_still_reads():
    p = Person(name="欧阳明月", sex="女", nation="满", birth=dt.date(2001, 1, 9), address="演示市示范路8号",
               sequence=88)
    small = specimen(p, px_per_mm=6)
    img = photograph(small, angle=-5, blur=1.2, quality_=35, seed=4)
    r = cinb.ci_process(encoded(img, quality=40), "IDCardOCR", Config='{"Quality":true}')
    assert r.json["IdInfo"] == expected_front(p)
    sharp = cinb.ci_process(encoded(photograph(specimen(p), angle=-5, seed=4), quality=95), "IDCardOCR",
                            Config='{"Quality":true}')
    assert r.json["AdvancedInfo"]["Quality"] < sharp.json["AdvancedInfo"]["Quality"]


def test_grey_copy_warns_9102_and_a_cut_border_warns_9101():
    copy = photograph(specimen(), angle=2, grey=True, background=(235, 235, 235), seed=5)
    r = cinb.ci_process(encoded(copy), "IDCardOCR", Config='{"CopyWarn":true,"BorderCheckWarn":true}')
    assert r.json["AdvancedInfo"]["WarnInfos"] == [-9102] and r.json["IdInfo"]["IdNum"] == Person().number
    cut = photograph(specimen(HONG), crop=0.15, seed=6)
    r = cinb.ci_process(encoded(cut), "IDCardOCR", Config='{"CopyWarn":true,"BorderCheckWarn":true}')
    assert r.json["AdvancedInfo"]["WarnInfos"] == [-9101] and r.json["AdvancedInfo"]["BorderCodeValue"] >= 50
    assert r.json["IdInfo"]["Name"] == HONG.name and r.info["method"] == "labels"


def test_temporary_card_and_illegal_span_warn_but_expiry_does_not():
    p = Person(temporary=True, valid="2016.03.15-2023.03.15")
    r = idcard.id_card_ocr(ImageInput(specimen(p, side="BACK")), Config={"TempIdWarn": True, "InvalidDateWarn": True})
    assert r.response["AdvancedInfo"]["WarnInfos"] == [-9100, -9104]
    old = Person(valid="2006.03.15-2016.03.15")
    r = idcard.id_card_ocr(ImageInput(specimen(old, side="BACK")), Config={"InvalidDateWarn": True},
                           today=dt.date(2026, 12, 2))
    assert r.response["AdvancedInfo"]["WarnInfos"] == [] and r.info["expired"] is True


def test_wrong_side_and_no_card_are_errors():
    with pytest.raises(CIError) as err:
        cinb.ci_process(specimen(side="BACK"), "IDCardOCR", CardSide="FRONT")
    assert err.value.code == CORRUPT_IMAGE and "CardSideError" in str(err.value)
    page = Image.new("RGB", (640, 200), "white")
    ImageDraw.Draw(page).text((20, 70), "数据万象图片处理 2026", fill="black", font=font_spec("simhei").load(40))
    with pytest.raises(CIError) as err:
        cinb.ci_process(page, "IDCardOCR")
    assert err.value.code == CORRUPT_IMAGE and "ImageNoIdCard" in str(err.value)


def test_multi_card_detect_reads_the_side_asked_for():
    front, back = specimen(px_per_mm=8), specimen(side="BACK", px_per_mm=8)
    page = Image.new("RGB", (front.width * 2 + 180, front.height + 160), (60, 62, 70))
    page.paste(front, (60, 80))
    page.paste(back, (front.width + 120, 80))
    r = cinb.ci_process(page, "IDCardOCR", CardSide="BACK", Config='{"MultiCardDetect":true}')
    assert r.json["IdInfo"]["ValidDate"] == "2016.03.15-2036.03.15" and r.info["card_count"] == 2


# --- AILicenseRec --------------------------------------------------------------------------------------


def _inside(points, quad) -> bool:
    import cv2
    q = np.asarray(quad, np.float32)
    return all(cv2.pointPolygonTest(q, tuple(float(v) for v in p.split(",")), True) > -6 for p in points)


def test_license_rec_locates_id_card_fields_in_the_picture():
    img = photograph(specimen(), angle=5, tilt=0.05, seed=7)
    r = cinb.ci_process(encoded(img), "AILicenseRec", CardType="IDCard")
    items = r.json["IdInfo"]
    assert r.json["Status"] == 1
    assert [(i["Name"], i["DetectedText"]) for i in items] == [
        ("姓名", "张三"), ("性别", "男"), ("民族", "汉"), ("出生日期", "1990/4/22"),
        ("住址", Person().address), ("公民身份证号", Person().number)]
    quad = idcard.find_cards(np.asarray(img))[0]
    for item in items:
        pts = item["Location"]["Point"]
        assert len(pts) == 4 and _inside(pts, quad) and 0 <= item["Score"] <= 100
        (x0, y0), (x1, y1), _, (x3, y3) = [tuple(map(int, p.split(","))) for p in pts]
        assert y1 > y0 and x3 > x0 and abs(y3 - y0) < 0.2 * (x3 - x0)  # TL, BL, BR, TR: CI's order
    name = np.array([list(map(int, p.split(","))) for p in items[0]["Location"]["Point"]])
    assert name[:, 0].max() - name[:, 0].min() < 140  # the value only, not the 姓名 label
    assert r.xml.startswith("<Response><Status>1</Status><IdInfo><Name>姓名</Name><DetectedText>张三</DetectedText>")


def test_license_rec_reads_a_driving_licence_and_not_an_id_back():
    r = cinb.ci_process(encoded(photograph(license_specimen(), angle=-4, seed=8)), "AILicenseRec")
    got = {i["Name"]: i["DetectedText"] for i in r.json["IdInfo"]}
    assert r.json["Status"] == 1 and got["证号"] == Person().number and got["姓名"] == "张三"
    assert got["准驾车型"] == "C1" and got["出生日期"] == "1990-04-22" and got["有效期限"] == "2016-06-01至2026-06-01"
    assert got["住址"] == Person().address  # two printed lines joined
    back = cinb.ci_process(specimen(side="BACK"), "AILicenseRec", CardType="IDCard")
    assert back.json == {"Status": 0, "IdInfo": []}


# --- collections and CLI -------------------------------------------------------------------------------


def test_idcard_analysis_and_cli(tmp_path):
    specimen(HONG).save(tmp_path / "front.png")
    Image.new("RGB", (300, 200), (90, 140, 60)).save(tmp_path / "green.png")
    df = cinb.analyze(str(tmp_path), "idcard", workers=1, progress=False).set_index("name")
    assert df.loc["front.png", "id_name"] == HONG.name and df.loc["front.png", "id_num"] == HONG.number
    assert bool(df.loc["front.png", "id_num_ok"]) and df.loc["front.png", "id_side"] == "FRONT"
    assert "ImageNoIdCard" in str(df.loc["green.png", "error"])
    out = subprocess.run([sys.executable, "-m", "cinb", "ai", "IDCardOCR", str(tmp_path / "front.png"),
                          "CardSide=FRONT"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["IdInfo"]["Nation"] == "回"


def test_a_sideways_photo_is_read_upright():
    img = photograph(specimen(HONG), angle=-80, tilt=0.05, seed=12)
    r = cinb.ci_process(encoded(img), "IDCardOCR")
    assert r.json["IdInfo"] == expected_front(HONG) and r.info["side"] == "FRONT"
