"""watermark/3 and watermark/4 rules: parsing, canonical text, errors, and the engine round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import cinb
from cinb import CIError, data, parse_rule
from cinb.blind import BlindEmbed, BlindExtract, check_collection, embed_collection
from cinb.rules.grammar import b64u_encode

SAMPLE = data.sample_dir()


@pytest.mark.parametrize("rule, canonical", [
    ("watermark/3/type/3/text/Y2luYg/level/2", "watermark/3/type/3/text/Y2luYg/level/2"),
    ("watermark/3/type/3/text/Y2luYg==", "watermark/3/type/3/text/Y2luYg"),
    ("watermark/3/level/0/type/3/text/Y2luYg/version/3.0", "watermark/3/type/3/text/Y2luYg/level/0/version/3.0"),
    ("watermark/3/type/2/image/bG9nby5wbmc/level/3", "watermark/3/type/2/image/bG9nby5wbmc/level/3"),
    ("watermark/3/type/1/image/bG9nby5wbmc", "watermark/3/type/1/image/bG9nby5wbmc"),
    ("watermark/4/type/3", "watermark/4/type/3"),
    ("watermark/4/type/2/image/bG9nby5wbmc", "watermark/4/type/2/image/bG9nby5wbmc"),
    ("watermark/4/type/1/image/b3JpZy5qcGc/version/1.0", "watermark/4/type/1/image/b3JpZy5qcGc/version/1.0"),
])
def test_canonical_text_round_trips(rule, canonical):
    parsed = parse_rule(rule)
    assert str(parsed) == canonical
    assert parse_rule(canonical) == parsed


def test_parsed_fields():
    stage = parse_rule("watermark/3/type/3/text/5rC05Y2w/level/1").stages[0]
    assert isinstance(stage, BlindEmbed) and stage.text == "水印" and stage.level == 1
    stage = parse_rule("watermark/4/type/2/image/bG9nby5wbmc").stages[0]
    assert isinstance(stage, BlindExtract) and stage.image == "logo.png"


@pytest.mark.parametrize("rule, token", [
    ("watermark/3/type/4/text/Y2luYg", "4"),               # bad type
    ("watermark/3/type/x/text/Y2luYg", "x"),               # type not a number
    ("watermark/3/type/3/text/Y2luYg/level/4", "4"),       # bad level
    ("watermark/3/type/3/text/Y2luYg/level/-1", "-1"),
    ("watermark/3/type/3", "text"),                        # missing text
    ("watermark/3/type/3/text/%%%", "%%%"),                 # bad b64
    ("watermark/3/type/3/text/Y", "Y"),                    # truncated b64
    ("watermark/3/type/3/text/__8", "__8"),                # not UTF-8 once decoded
    ("watermark/3/type/3/text/" + b64u_encode("far too long for a mark"), None),
    ("watermark/3/type/2", "image"),                       # missing image
    ("watermark/3/type/2/text/Y2luYg", "image"),
    ("watermark/3/type/3/text/Y2luYg/image/bG9nby5wbmc", "image"),
    ("watermark/3/type/3/text/Y2luYg/dissolve/50", "dissolve"),  # unknown key
    ("watermark/3/type/3/type/3/text/Y2luYg", "type"),     # repeated key
    ("watermark/3/text/Y2luYg", "watermark/3"),            # no type
    ("watermark/3", "watermark/3"),
    ("watermark/3/type/3/text/Y2luYg/version/9", "9"),
    ("watermark/3/type/2/image/" + b64u_encode("https://b.cos.ap-x.myqcloud.com/a.png"), None),
    ("watermark/4/type/0", "0"),
    ("watermark/4/type/3/image/bG9nby5wbmc", "image"),
    ("watermark/4/type/2", "image"),
    ("watermark/4/type/1", "image"),
    ("watermark/4/type/3/level/2", "level"),
])
def test_bad_rules_are_rejected(rule, token):
    with pytest.raises(CIError) as err:
        parse_rule(rule)
    assert err.value.code == -103
    if token is not None:
        assert err.value.token == token


@pytest.fixture(scope="module")
def marked_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("blind") / "coffee-marked.jpg"
    result = cinb.process(SAMPLE / "coffee.jpg", "watermark/3/type/3/text/" + b64u_encode("水印") + "/level/2")
    assert result.format == "jpeg" and (result.width, result.height) == (600, 400)
    result.save(out)
    return out


def test_process_embeds_and_extracts(marked_file):
    result = cinb.process(marked_file, "watermark/4/type/3")
    assert result.response["Text"] == "水印"
    assert result.response["WatermarkStatus"] > 75


def test_process_extract_after_thumbnail(marked_file):
    result = cinb.process(marked_file, "imageMogr2/thumbnail/!60p|watermark/4/type/3")
    assert result.response["Text"] == "水印"


def test_process_unmarked_reports_absent():
    result = cinb.process(SAMPLE / "coffee.jpg", "watermark/4/type/3")
    assert result.response["WatermarkStatus"] < 60 and result.response["Text"] == ""


def test_process_type2_with_local_watermark(tmp_path):
    logo = np.full((32, 32), 255, np.uint8)  # within 1/8 of the 451x300 picture's sides (CI's limit)
    logo[4:28, 4:11] = 0
    logo[21:28, 4:28] = 0
    Image.fromarray(logo).save(tmp_path / "logo.png")
    Image.open(SAMPLE / "chelsea.jpg").save(tmp_path / "cat.png")
    rule = "watermark/3/type/2/image/" + b64u_encode("logo.png")
    cinb.process(tmp_path / "cat.png", rule).save(tmp_path / "cat-marked.png")
    result = cinb.process(tmp_path / "cat-marked.png", "watermark/4/type/2/image/" + b64u_encode("logo.png"))
    assert result.response["WatermarkStatus"] > 75
    assert (result.width, result.height) == (32, 32)  # the derived image is the recovered watermark
    assert np.mean((np.asarray(result.image.convert("L")) < 128) == (logo < 128)) > 0.9


def test_animated_sources_are_refused():
    with pytest.raises(CIError) as err:
        cinb.process(SAMPLE / "animated.gif", "watermark/3/type/3/text/Y2luYg")
    assert err.value.code == -113


def test_collection_entry_points(tmp_path):
    paths = [str(SAMPLE / "coffee.jpg"), str(SAMPLE / "rocket.jpg"), str(tmp_path / "missing.jpg")]
    df = pd.DataFrame({"path": paths, "owner": ["ann", "bob", "cy"]})
    marked = embed_collection(df, tmp_path / "out", text_column="owner", workers=1, progress=False)
    assert marked["error"].isna().tolist() == [True, True, False]
    assert "missing.jpg" in marked["error"].iloc[2]
    # The PSNR of the written file also counts re-encoding at the source's JPEG quality.
    assert (marked["blind_psnr"].iloc[:2] >= 37).all()
    checked = check_collection(pd.DataFrame({"path": list(marked["blind_path"].iloc[:2]) + paths[:1]}),
                               workers=1, progress=False)
    assert checked["blind_text"].tolist() == ["ann", "bob", ""]
    assert checked["blind_present"].tolist() == [True, True, False]
    assert checked["error"].isna().all()
    assert json.loads(json.dumps({"s": int(checked["blind_status"].iloc[0])}))["s"] > 75
