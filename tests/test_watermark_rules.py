"""watermark/1 and watermark/2 grammar: defaults, canonical text round trips, malformed rules."""

from __future__ import annotations

import pytest

from cinb import CIError, parse_rule
from cinb.rules.grammar import b64u_encode as b64
from cinb.watermark import ImageWatermark, TextWatermark

LOGO = b64("http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/shuiyin_2.png")


def test_image_defaults_match_ci():
    s = parse_rule(f"watermark/1/image/{LOGO}").stages[0]
    assert isinstance(s, ImageWatermark)
    assert (s.gravity, s.dx, s.dy, s.dissolve, s.batch, s.spacing, s.degree) == ("SouthEast", 0, 0, 90, 0, 10, 0)
    assert s.scatype is None and s.spcent is None and s.blogo is None
    assert s.image == "http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/shuiyin_2.png"
    assert s.encode is None


def test_text_defaults_match_ci():
    s = parse_rule("watermark/2/text/Y2luYg").stages[0]
    assert isinstance(s, TextWatermark)
    assert (s.text, s.font, s.fontsize, s.fill, s.shadow, s.dissolve, s.gravity) == (
        "cinb", "tahoma.ttf", 13, (0x3D, 0x3D, 0x3D), 0, 90, "SouthEast")


@pytest.mark.parametrize("rule, canonical", [
    # padded base64 and lower-case gravity normalise; defaults written out are dropped
    (f"watermark/1/image/{LOGO}==/gravity/center/dissolve/90/dx/0",
     f"watermark/1/image/{LOGO}/gravity/Center"),
    # parameters come back in the fixed order whatever order they were written in
    (f"watermark/1/degree/45/batch/1/image/{LOGO}/spacing/20/dissolve/50",
     f"watermark/1/image/{LOGO}/dissolve/50/batch/1/spacing/20/degree/45"),
    (f"watermark/1/image_key/{b64('logo/wm.png')}/blogo/2/scatype/3/spcent/100/gravity/NorthWest/dx/5/dy/7",
     f"watermark/1/image_key/{b64('logo/wm.png')}/blogo/2/gravity/NorthWest/dx/5/dy/7/scatype/3/spcent/100"),
    # font names are matched loosely and written in CI's spelling; tahoma (the default) is dropped
    (f"watermark/2/text/{b64('水印')}/font/{b64('SimHei')}/fontsize/40/fill/{b64('#ff0000')}/shadow/50",
     f"watermark/2/text/{b64('水印')}/font/{b64('simhei黑体.ttf')}/fontsize/40/fill/{b64('#FF0000')}/shadow/50"),
    (f"watermark/2/text/Y2luYg/font/{b64('tahoma.ttf')}/fontsize/13/fill/{b64('#3D3D3D')}",
     "watermark/2/text/Y2luYg"),
    ("watermark/2/text/Y2luYg/batch/1/degree/360/spacing/0/scatype/1/spcent/1000",
     "watermark/2/text/Y2luYg/scatype/1/spcent/1000/batch/1/spacing/0/degree/360"),
])
def test_canonical_text_round_trips(rule, canonical):
    parsed = parse_rule(rule)
    assert str(parsed) == canonical
    assert parse_rule(str(parsed)) == parsed


def test_constructed_stage_equals_parsed_stage():
    built = TextWatermark(text="cinb 水印", font="simkai", fontsize=30, fill="#00FF00", gravity="north", dy=4)
    assert parse_rule(str(built)).stages[0] == built
    img = ImageWatermark(image="wm/logo.png", batch=1, degree=30)
    assert parse_rule(str(img)).stages[0] == img


def test_python_fill_accepts_colour_names():
    assert TextWatermark(text="x", fill="white").fill == (255, 255, 255)
    assert str(TextWatermark(text="x", fill="red")).endswith(f"/fill/{b64('#FF0000')}")


def test_ten_watermark_stages_pass_eleven_fail():
    stage = "watermark/2/text/Y2luYg"
    assert len(parse_rule("|".join([stage] * 10))) == 10
    with pytest.raises(CIError) as err:
        parse_rule("|".join([stage] * 11))
    assert err.value.code == -103


def test_pipeline_with_imagemogr2():
    rule = parse_rule(f"imageMogr2/thumbnail/!50p|watermark/1/image/{LOGO}|watermark/2/text/Y2luYg/gravity/north")
    assert [type(s).__name__ for s in rule] == ["Mogr2Stage", "ImageWatermark", "TextWatermark"]


BAD = [
    ("watermark/1", "watermark/1"),  # no parameters
    ("watermark/1/gravity/Center", "image"),  # no image
    (f"watermark/1/image/{LOGO}/image_key/{b64('k.png')}", "image"),  # both image and image_key
    (f"watermark/1/image/{LOGO}/gravity/middle", "middle"),
    (f"watermark/1/image/{LOGO}/dissolve/0", "0"),
    (f"watermark/1/image/{LOGO}/dissolve/101", "101"),
    (f"watermark/1/image/{LOGO}/scatype/1/spcent/0", "0"),
    (f"watermark/1/image/{LOGO}/scatype/1/spcent/1001", "1001"),
    (f"watermark/1/image/{LOGO}/scatype/3/spcent/251", "251"),  # area scale tops out at 250
    (f"watermark/1/image/{LOGO}/scatype/4/spcent/100", "4"),
    (f"watermark/1/image/{LOGO}/spcent/100", "scatype"),  # spcent without scatype
    (f"watermark/1/image/{LOGO}/blogo/3", "3"),
    (f"watermark/1/image/{LOGO}/degree/361", "361"),
    (f"watermark/1/image/{LOGO}/dx/-5", "-5"),
    (f"watermark/1/image/{LOGO}/batch/2", "2"),
    (f"watermark/1/image/{LOGO}/spacing/101", "101"),
    ("watermark/1/image/not*base64", "not*base64"),
    ("watermark/1/image/" + b64("https://bucket.cos.ap-beijing.myqcloud.com/a.png"),
     "https://bucket.cos.ap-beijing.myqcloud.com/a.png"),  # CI requires http://
    ("watermark/1/image/" + b64("http://bucket.cos.ap-beijing.myqcloud.com/"),
     "http://bucket.cos.ap-beijing.myqcloud.com/"),  # no object key
    (f"watermark/1/image/{LOGO}/text/Y2luYg", "text"),  # a text parameter on an image mark
    (f"watermark/1/image/{LOGO}/gravity", "gravity"),  # missing value
    (f"watermark/1/image/{LOGO}/dx/1/dx/2", "dx"),  # repeated
    ("watermark/2/fontsize/20", "watermark/2"),  # no text
    ("watermark/2/text/", "text"),  # empty value
    (f"watermark/2/text/{b64('   ')}", "   "),  # blank text
    (f"watermark/2/text/Y2luYg/font/{b64('comic.ttf')}", "comic.ttf"),  # unknown font
    (f"watermark/2/text/Y2luYg/fill/{b64('red')}", b64('red')),  # not #RRGGBB
    (f"watermark/2/text/Y2luYg/fill/{b64('#12345')}", b64('#12345')),
    ("watermark/2/text/Y2luYg/fontsize/0", "0"),
    ("watermark/2/text/Y2luYg/shadow/101", "101"),
    ("watermark/2/text/Y2luYg/blogo/1", "blogo"),  # blogo is an image-watermark parameter
    ("watermark/2/text/Y2luYg/dissolve/abc", "abc"),
    ("watermark/2/text/" + b64(b"\xff\xfe"), b64(b"\xff\xfe")),  # not UTF-8
    ("watermark/5/text/Y2luYg", "watermark/5"),
]


@pytest.mark.parametrize("rule, token", BAD)
def test_malformed_rules_are_ci_errors(rule, token):
    with pytest.raises(CIError) as err:
        parse_rule(rule)
    assert err.value.code == -103
    assert err.value.token == token


@pytest.mark.parametrize("kwargs", [
    {"text": "x", "gravity": "up"},
    {"text": "x", "fill": (256, 0, 0)},
    {"text": "x", "fill": "#GGGGGG"},
    {"text": "x", "dissolve": 0},
    {"text": "x", "font": "wingdings"},
    {"text": "x", "scatype": 3, "spcent": 500},
    {"text": ""},
])
def test_constructor_validates_like_the_parser(kwargs):
    with pytest.raises(CIError) as err:
        TextWatermark(**kwargs)
    assert err.value.code == -103
