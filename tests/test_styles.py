"""Styles (spec §15, compatibility #18): named rules in a JSON file, style/<name>, separators."""

from __future__ import annotations

import json

import pytest

import cinb
import engine_images as ei
from cinb import CIError

M = "imageMogr2/"


@pytest.fixture()
def styles() -> cinb.Styles:
    return cinb.Styles(styles={
        "thumb": M + "thumbnail/200x",
        "square": M + "gravity/Center/crop/100x100/format/png",
        "info": M + "thumbnail/!50p|imageInfo",
    })


@pytest.fixture()
def photo(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(ei.photo_jpeg())
    return path


@pytest.mark.parametrize(
    "rule,size,fmt",
    [
        ("style/thumb", (200, 150), "jpeg"),
        (M + "style/thumb", (200, 150), "jpeg"),
        ("style/square", (100, 100), "png"),
        ("style/thumb|" + M + "rotate/90", (150, 200), "jpeg"),
        (M + "rotate/90|style/thumb", (200, 267), "jpeg"),
    ],
)
def test_style_stage(styles, rule, size, fmt):
    result = cinb.process(ei.photo_jpeg(), rule, styles=styles)
    assert (result.width, result.height, result.format) == (*size, fmt)


def test_style_equals_its_rule(styles):
    a = cinb.process(ei.photo_jpeg(), "style/square", styles=styles)
    b = cinb.process(ei.photo_jpeg(), M + "gravity/Center/crop/100x100/format/png")
    assert a.data == b.data


def test_style_with_info_stage(styles):
    result = cinb.process(ei.photo_jpeg(), "style/info", styles=styles)
    assert result.format == "json" and result.json["width"] == "200"


@pytest.mark.parametrize("rule", ["style/nope", M + "style/nope"])
def test_unknown_style(styles, rule):
    with pytest.raises(CIError) as err:
        cinb.process(ei.photo_jpeg(), rule, styles=styles)
    assert err.value.code == -105 and "nope" in str(err.value)


def test_style_without_styles():
    with pytest.raises(CIError) as err:
        cinb.process(ei.photo_jpeg(), "style/thumb")
    assert err.value.code == -105 and "thumb" in str(err.value)


def test_style_name_round_trips_in_rules():
    rule = cinb.parse_rule("style/thumb|" + M + "rotate/90")
    assert cinb.parse_rule(str(rule)) == rule and "style/thumb" in str(rule)


@pytest.mark.parametrize(
    "key,expected",
    [
        ("photo.jpg!thumb", ("photo.jpg", "thumb")),
        ("photo.jpg-thumb", ("photo.jpg", "thumb")),
        ("photo.jpg_thumb", ("photo.jpg", "thumb")),
        ("photo.jpg/thumb", ("photo.jpg", "thumb")),
        ("dir/photo.jpg!thumb", ("dir/photo.jpg", "thumb")),
        ("my-holiday_photo.jpg!thumb", ("my-holiday_photo.jpg", "thumb")),  # last separator
        ("a-b-thumb", ("a-b", "thumb")),
        ("my-photo.jpg", ("my-photo.jpg", None)),  # tail names no style: plain key
        ("photo.jpg!nope", ("photo.jpg!nope", None)),
        ("photo.jpg", ("photo.jpg", None)),
    ],
)
def test_split_key(styles, key, expected):
    assert styles.split_key(key) == expected


def test_split_key_only_enabled_separators():
    only_bang = cinb.Styles(styles={"thumb": M + "thumbnail/200x"}, separators="!")
    assert only_bang.split_key("photo.jpg!thumb") == ("photo.jpg", "thumb")
    assert only_bang.split_key("photo.jpg-thumb") == ("photo.jpg-thumb", None)
    assert only_bang.split_key("photo.jpg_thumb") == ("photo.jpg_thumb", None)


@pytest.mark.parametrize("sep", ["!", "-", "_", "/"])
def test_process_separator_key(styles, photo, sep):
    result = cinb.process(f"{photo}{sep}thumb", "", styles=styles)
    assert (result.width, result.height) == (200, 150)


def test_process_separator_key_then_rule(styles, photo):
    result = cinb.process(f"{photo}!thumb", M + "rotate/90", styles=styles)
    assert (result.width, result.height) == (150, 200)


def test_existing_file_is_never_split(styles, tmp_path):
    path = tmp_path / "photo-thumb"  # a real file whose name ends in -thumb
    path.write_bytes(ei.photo_jpeg())
    result = cinb.process(path, M + "format/png", styles=styles)
    assert (result.width, result.height) == (400, 300)


def test_styles_file_round_trip(tmp_path):
    path = tmp_path / "styles.json"
    s = cinb.Styles(path)
    assert len(s) == 0
    s.add("thumb", M + "thumbnail/200x")
    s.add("web", M + "thumbnail/!50p/format/webp|" + M + "strip")
    s.save()
    assert set(json.loads(path.read_text())) == {"thumb", "web"}
    again = cinb.Styles(path)
    assert again.names() == ["thumb", "web"]
    assert again.rule("web") == cinb.parse_rule(M + "thumbnail/!50p/format/webp|" + M + "strip")
    result = cinb.process(ei.photo_jpeg(), "style/web", styles=again)
    assert (result.width, result.height, result.format) == (200, 150, "webp")


def test_styles_add_replace_remove(styles):
    styles.add("thumb", M + "thumbnail/100x")
    assert cinb.process(ei.photo_jpeg(), "style/thumb", styles=styles).width == 100
    styles.remove("thumb")
    assert "thumb" not in styles
    with pytest.raises(CIError) as err:
        styles.remove("thumb")
    assert err.value.code == -105


def test_style_rule_is_validated():
    with pytest.raises(CIError) as err:
        cinb.Styles(styles={"bad": M + "thumbnail/abc"})
    assert err.value.code == -103 and "abc" in str(err.value)


@pytest.mark.parametrize("name", ["a!b", "a-b", "a_b", "a/b", ""])
def test_style_name_with_enabled_separator_is_refused(name):
    with pytest.raises(CIError):
        cinb.Styles(styles={name: M + "thumbnail/200x"})


def test_style_name_may_hold_disabled_separator():
    s = cinb.Styles(styles={"small-web": M + "thumbnail/200x"}, separators="!")
    assert s.split_key("photo.jpg!small-web") == ("photo.jpg", "small-web")


def test_style_names_are_case_sensitive(styles):
    with pytest.raises(CIError) as err:
        cinb.process(ei.photo_jpeg(), "style/Thumb", styles=styles)
    assert err.value.code == -105


def test_at_most_100_styles():
    s = cinb.Styles(styles={f"s{i}": M + "thumbnail/200x" for i in range(100)})
    with pytest.raises(CIError):
        s.add("one-more".replace("-", ""), M + "thumbnail/200x")


def test_corrupt_styles_file(tmp_path):
    path = tmp_path / "styles.json"
    path.write_text("{not json")
    with pytest.raises(CIError) as err:
        cinb.Styles(path)
    assert "styles.json" in str(err.value)
