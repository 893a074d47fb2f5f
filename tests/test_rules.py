"""The rule grammar: canonical text round trips, equivalent spellings, malformed rules."""

from __future__ import annotations

import pytest

import cinb
from cinb import CIError

M = "imageMogr2/"

VALID = [
    # thumbnail, all forms
    M + "thumbnail/!50p",
    M + "thumbnail/!50px",
    M + "thumbnail/!x50p",
    M + "thumbnail/200x",
    M + "thumbnail/x100",
    M + "thumbnail/200x100",
    M + "thumbnail/!200x100r",
    M + "thumbnail/200x100!",
    M + "thumbnail/200x100>",
    M + "thumbnail/200x100<",
    M + "thumbnail/200x>",
    M + "thumbnail/x100<",
    M + "thumbnail/30000@",
    M + "thumbnail/20000x",  # clamped, still valid grammar
    M + "thumbnail/200x200/pad/1",
    M + "thumbnail/200x200/pad/1/color/I0ZGMDAwMA",
    M + "thumbnail/200x200/pad/0",
    M + "size-limit/15k",
    M + "size-limit/2m!",
    M + "size-limit/15K",
    # crops
    M + "crop/200x",
    M + "crop/x100",
    M + "crop/200x100",
    M + "crop/!200x100a10a20",
    M + "crop/!200x100-10a20",
    M + "crop/!x100a0a5",
    M + "gravity/Center/crop/200x200",
    M + "gravity/southeast/crop/!100x50a10a10",
    M + "crop/300x400/gravity/center",
    M + "cut/100x100x50x50",
    M + "iradius/100",
    M + "rradius/20",
    # rotation, flip, orientation
    M + "rotate/90",
    M + "rotate/0",
    M + "rotate/360",
    M + "rotate/33",
    M + "auto-orient",
    M + "auto-orient/thumbnail/100x",
    M + "flip/horizontal",
    M + "flip/vertical",
    # formats and encoder options
    M + "format/jpg",
    M + "format/jpeg",
    M + "format/png",
    M + "format/webp",
    M + "format/gif",
    M + "format/bmp",
    M + "format/avif",
    M + "format/heif",
    M + "format/heic",
    M + "format/yjpeg",
    M + "cgif/1",
    M + "cgif/20",
    M + "interlace/1",
    M + "interlace/0",
    M + "quality/80",
    M + "quality/80!",
    M + "rquality/50",
    M + "lquality/60",
    M + "quality/0",
    M + "strip",
    M + "ignore-error/1",
    M + "ignore-error/0",
    # filters
    M + "blur/3x2",
    M + "blur/50x0.5",
    M + "sharpen/70",
    M + "bright/-20",
    M + "bright/100",
    M + "contrast/30",
    M + "contrast/-100",
    M + "grayscale/1",
    M + "grayscale/0",
    # combinations (order and encoder options)
    M + "auto-orient/thumbnail/!50p/gravity/Center/crop/100x100/rotate/90/format/png/quality/80/strip",
    M + "format/png/format/webp",
    M + "strip/thumbnail/100x/interlace/1/format/jpg/ignore-error/1",
    # imageView2
    "imageView2/0/w/100/h/100",
    "imageView2/1/w/100/h/200",
    "imageView2/2/w/100",
    "imageView2/3/h/100",
    "imageView2/4/w/100/h/50",
    "imageView2/5/w/100/h/50",
    "imageView2/2/w/100/format/png",
    "imageView2/2/w/100/q/80",
    "imageView2/2/w/100/q/80!",
    "imageView2/2/w/100/rq/50",
    "imageView2/2/w/100/lq/50",
    "imageView2/2/w/100/ignore-error/1",
    # info stages and pipelines
    "imageInfo",
    "exif",
    "imageAve",
    M + "thumbnail/!50p|imageInfo",
    M + "thumbnail/!50p|" + M + "rotate/90",
    "imageView2/2/w/200|" + M + "crop/100x100|imageAve",
    "|".join([M + "rotate/90"] * 10),
]


@pytest.mark.parametrize("text", VALID)
def test_canonical_round_trip(text):
    rule = cinb.parse_rule(text)
    assert isinstance(rule, cinb.Rule)
    canonical = str(rule)
    again = cinb.parse_rule(canonical)
    assert again == rule
    assert str(again) == canonical  # idempotent


def test_enough_valid_rules():
    assert len(VALID) >= 80


# Spellings CI accepts as the same request.
EQUIVALENT = [
    (M + "thumbnail/200x100>", M + "thumbnail/200x100%3E"),
    (M + "thumbnail/200x100<", M + "thumbnail/200x100%3C"),
    (M + "thumbnail/!50p", M + "thumbnail/%2150p"),
    (M + "thumbnail/!50p|imageInfo", M + "thumbnail/!50p%7CimageInfo"),
    (M + "gravity/Center/crop/10x10", M + "gravity/center/crop/10x10"),
    (M + "gravity/Center/crop/10x10", M + "gravity/CENTER/crop/10x10"),
    (M + "gravity/NorthWest/crop/10x10", M + "gravity/northwest/crop/10x10"),
    (M + "thumbnail/9x9/pad/1/color/I0ZGMDAwMA", M + "thumbnail/9x9/pad/1/color/I0ZGMDAwMA=="),
    (M + "thumbnail/9x9/pad/1/color/I0ZGMDAwMA", M + "thumbnail/9x9/pad/1/color/I0ZGMDAwMA%3D%3D"),
    (M + "format/jpg", M + "format/jpeg"),
    (M + "format/heif", M + "format/heic"),
    (M + "size-limit/15k", M + "size-limit/15K"),
]


@pytest.mark.parametrize("gravity", ["NorthWest", "Center", "SouthEast"])
def test_crop_equals_offset_form_with_zero_offsets(gravity):
    # Spec §3.2: crop/<w>x<h> is crop/!<w>x<h>a0a0 (the Rule objects may differ, the output not).
    from engine_images import grid_png

    a = cinb.process(grid_png(), M + f"gravity/{gravity}/crop/200x100")
    b = cinb.process(grid_png(), M + f"gravity/{gravity}/crop/!200x100a0a0")
    assert a.data == b.data


@pytest.mark.parametrize("a,b", EQUIVALENT)
def test_equivalent_spellings(a, b):
    assert cinb.parse_rule(a) == cinb.parse_rule(b)
    assert str(cinb.parse_rule(a)) == str(cinb.parse_rule(b))


@pytest.mark.parametrize(
    "a,b",
    [
        (M + "thumbnail/!50p", M + "thumbnail/!51p"),
        (M + "thumbnail/200x100", M + "thumbnail/200x100!"),
        (M + "rotate/90", M + "rotate/270"),
        (M + "quality/80", M + "quality/80!"),
        (M + "crop/10x10/thumbnail/!50p", M + "thumbnail/!50p/crop/10x10"),  # order is meaning
        ("imageView2/1/w/100", "imageView2/2/w/100"),
    ],
)
def test_different_rules_differ(a, b):
    assert cinb.parse_rule(a) != cinb.parse_rule(b)
    assert str(cinb.parse_rule(a)) != str(cinb.parse_rule(b))


def test_gravity_canonical_is_camelcase():
    assert "gravity/SouthEast" in str(cinb.parse_rule(M + "gravity/southeast/crop/10x10"))


# (rule, expected code, tokens of which at least one must appear in the message)
MALFORMED = [
    (M + "thumbnail/abc", -103, ["abc"]),
    (M + "thumbnail", -103, ["thumbnail"]),
    (M + "thumbnail/", -103, ["thumbnail"]),
    (M + "thumbnail/!0p", -103, ["!0p"]),
    (M + "thumbnail/!1000p", -103, ["!1000p"]),
    (M + "thumbnail/!50", -103, ["!50"]),
    (M + "thumbnail/0x100", -103, ["0x100"]),
    (M + "thumbnail/100x0", -103, ["100x0"]),
    (M + "thumbnail/0x", -103, ["0x"]),
    (M + "thumbnail/300x300^", -103, ["300x300^"]),
    (M + "thumbnail/0@", -103, ["0@"]),
    (M + "thumbnail/100000000@", -103, ["100000000@"]),
    (M + "thumbnail/-100x100", -103, ["-100x100"]),
    (M + "thumbnail/100x100><", -103, ["100x100><"]),
    (M + "thumbnail/!100x100", -103, ["!100x100"]),
    (M + "thumbnail/x", -103, ["thumbnail", "x"]),
    (M + "foo/1", -103, ["foo"]),
    (M + "crop/abc", -103, ["abc"]),
    (M + "crop/x", -103, ["crop", "x"]),
    (M + "crop/0x100", -103, ["0x100"]),
    (M + "crop/!100x100b10a10", -103, ["!100x100b10a10"]),
    (M + "crop/100x100/gravity", -103, ["gravity"]),
    (M + "cut/100x100x10", -103, ["100x100x10"]),
    (M + "cut/0x100x0x0", -103, ["0x100x0x0"]),
    (M + "gravity/middle/crop/10x10", -103, ["middle"]),
    (M + "rotate/abc", -103, ["abc"]),
    (M + "rotate/361", -103, ["361"]),
    (M + "rotate/-90", -103, ["-90"]),
    (M + "rotate/", -103, ["rotate"]),
    (M + "flip/diagonal", -103, ["diagonal"]),
    (M + "format/tiff", -103, ["tiff"]),
    (M + "format/", -103, ["format"]),
    (M + "quality/101", -103, ["101"]),
    (M + "quality/abc", -103, ["abc"]),
    (M + "quality/-1", -103, ["-1"]),
    (M + "quality/90!!", -103, ["90!!"]),
    (M + "rquality/101", -103, ["101"]),
    (M + "lquality/x", -103, ["x"]),
    (M + "format/jpg/quality", -103, ["quality"]),
    (M + "interlace/2", -103, ["2"]),
    (M + "blur/0x2", -103, ["0x2"]),
    (M + "blur/51x2", -103, ["51x2"]),
    (M + "blur/5x0", -103, ["5x0"]),
    (M + "blur/5", -103, ["5"]),
    (M + "sharpen/9", -103, ["9"]),
    (M + "sharpen/301", -103, ["301"]),
    (M + "bright/101", -103, ["101"]),
    (M + "bright/-101", -103, ["-101"]),
    (M + "contrast/200", -103, ["200"]),
    (M + "grayscale/2", -103, ["2"]),
    (M + "size-limit/15", -103, ["15"]),
    (M + "size-limit/15g", -103, ["15g"]),
    (M + "size-limit/0k", -103, ["0k"]),
    (M + "cgif/0", -103, ["0"]),
    (M + "cgif/101", -103, ["101"]),
    (M + "iradius/0", -103, ["0"]),
    (M + "iradius/abc", -103, ["abc"]),
    (M + "rradius/-5", -103, ["-5"]),
    (M + "thumbnail/100x100/pad/2", -103, ["2"]),
    (M + "thumbnail/100x100/pad/1/color/cmVk", -103, ["cmVk"]),  # b64 of "red", not #RRGGBB
    (M + "thumbnail/100x100/pad/1/color/@@@", -103, ["@@@"]),
    (M + "ignore-error/2", -103, ["2"]),
    (M + "rcrop/1x2", -103, ["rcrop"]),
    (M + "strip/1", -103, ["1", "strip"]),
    ("imageView2/6/w/100", -103, ["6"]),
    ("imageView2/x/w/100", -103, ["x"]),
    ("imageView2/2/w/abc", -103, ["abc"]),
    ("imageView2/2/w/0", -103, ["0"]),
    ("imageView2/2/w/100/foo/1", -103, ["foo"]),
    ("imageView2/2/w/100/q/101", -103, ["101"]),
    ("imageView2/2/w/100/h", -103, ["h"]),
    ("imageView2", -103, ["imageView2"]),
    ("foo/bar", -103, ["foo"]),
    ("imageMogr", -103, ["imageMogr"]),
    ("imageInfo|" + M + "thumbnail/!50p", -103, ["imageInfo"]),
    ("exif|imageAve", -103, ["exif"]),
    (M + "thumbnail/!50p||" + M + "rotate/90", -103, ["|", "empty", "stage"]),
    ("|".join([M + "rotate/90"] * 11), -103, ["10", "11"]),
]


def test_enough_malformed_rules():
    assert len(MALFORMED) >= 50


@pytest.mark.parametrize("text,code,tokens", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_rule(text, code, tokens):
    with pytest.raises(CIError) as info:
        cinb.parse_rule(text)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.code == code
    message = str(err)
    assert any(token in message for token in tokens), message



@pytest.mark.parametrize("query", [
    # padded Base64 (spec §2.1 accepts I0ZGRkZGRg==) in the rule of a signed URL's query
    "imageMogr2/thumbnail/300x300/pad/1/color/I0ZGRkZGRg==&q-sign-algorithm=sha1&q-ak=AKID",
    "?q-sign-algorithm=sha1&q-signature=ab/c=&imageMogr2/thumbnail/300x300/pad/1/color/I0ZGRkZGRg==",
    "?imageMogr2/thumbnail/300x300/pad/1/color/I0ZGRkZGRg%3D%3D&x-cos-security-token=t0k/en==",
])
def test_the_rule_of_a_signed_query_may_hold_base64_padding(query):
    assert str(cinb.parse_rule(query)) == M + "thumbnail/300x300/pad/1/color/I0ZGRkZGRg"


def test_a_query_of_parameters_only_names_no_rule():
    with pytest.raises(CIError) as info:
        cinb.parse_rule("q-sign-algorithm=sha1&q-ak=AKID")
    assert info.value.code == -103
