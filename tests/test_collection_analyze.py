"""cinb.analyze: the registry, the non-AI analyses, group analyses, errors in rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cinb
from cinb.collection.analyses import get_analysis, list_analyses, register_analysis, resolve, unregister_analysis
from cinb.collection.analyses.duplicates import near_groups
from cinb.collection.analyses.hashes import hamming
from collection_data import BAD, GOOD, SAMPLE


@pytest.fixture(scope="module")
def issues(mixed):
    df = cinb.scan(mixed, progress=False)
    return cinb.analyze(df, "issues", "phash", "dhash", "colorfulness", workers=2, progress=False).set_index("name")


def test_flags_the_images_built_to_have_them(issues):
    flagged = {col: sorted(issues.index[issues[col].fillna(False).astype(bool)])
               for col in ("dark", "light", "blurry", "grayscale", "odd_aspect", "low_information")}
    assert flagged["dark"] == ["dark.jpg"]
    assert flagged["light"] == []
    assert "blurry.jpg" in flagged["blurry"] and "astronaut.jpg" not in flagged["blurry"]
    assert flagged["grayscale"] == ["camera.png", "gray-rgb.png"]  # an L image and an RGB one with equal channels
    assert flagged["odd_aspect"] == ["panorama.jpg"]
    assert "flat.png" in flagged["low_information"] and "coffee.jpg" not in flagged["low_information"]
    assert issues.loc["tiny.png", "odd_size"] and not issues.loc["coffee.jpg", "odd_size"]
    assert issues.loc["coffee.jpg", "colorfulness"] > 3 * issues.loc["dark.jpg", "colorfulness"]
    assert issues.loc["camera.png", "colorfulness"] == 0


def test_exact_and_near_duplicates(issues):
    dup = issues["duplicate_group"]
    assert dup["chelsea.png"] == dup["chelsea-copy.bmp"]  # same pixels, PNG vs BMP
    assert dup["rocket.jpg"] == dup["inner.jpg"]  # byte copy in album.jpg/
    assert pd.isna(dup["chelsea.jpg"]) and pd.isna(dup["chelsea-small.jpg"]) and pd.isna(dup["coffee.jpg"])
    firsts = issues["duplicate_of"].dropna()
    assert len(firsts) == 2 and firsts.str.endswith(("chelsea-copy.bmp", "inner.jpg")).all()
    near = issues["near_group"]
    chelsea = {"chelsea.jpg", "chelsea.png", "chelsea-copy.bmp", "chelsea-small.jpg", "not-really.jpg"}
    assert near[sorted(chelsea)].nunique() == 1 and not pd.isna(near["chelsea.jpg"])
    assert near["astronaut.jpg"] != near["chelsea.jpg"] and near["coffee.jpg"] != near["chelsea.jpg"]
    assert set(near.index[near == near["chelsea.jpg"]]) == chelsea
    assert hamming(issues.loc["chelsea.jpg", "phash"], issues.loc["chelsea-small.jpg", "phash"]) <= 6
    assert hamming(issues.loc["chelsea.jpg", "phash"], issues.loc["astronaut.jpg", "phash"]) > 16


def test_bad_files_get_errors_and_missing_values(issues):
    for name in BAD:
        assert isinstance(issues.loc[name, "error"], str) and "X-ErrNo" in issues.loc[name, "error"], name
        assert pd.isna(issues.loc[name, "phash"]) and pd.isna(issues.loc[name, "sharpness"])
    assert "X-ErrNo -443" in issues.loc["truncated.jpg", "error"]
    assert issues.loc[GOOD, "error"].isna().all()


def test_ci_information_analyses_equal_the_engine(mixed):
    df = cinb.analyze([mixed / "coffee.jpg", mixed / "camera.png", mixed / "empty.jpg"], "image_info", "exif",
                      "image_ave", progress=False, workers=1)
    info = cinb.image_info(str(mixed / "coffee.jpg"))
    assert {k: df.loc[0, f"info_{k}"] for k in info} == info
    assert df.loc[0, "exif"] == cinb.exif(str(mixed / "coffee.jpg"))
    assert df.loc[1, "exif"] is None
    assert df.loc[0, "ave_rgb"] == cinb.image_ave(str(mixed / "coffee.jpg"))["RGB"]
    assert "X-ErrNo -40168" in df.loc[2, "error"]  # empty input: CI's code


def test_orientation_is_applied_before_hashing():
    paths = [SAMPLE / f"orientation-{i}.jpg" for i in range(1, 9)]
    df = cinb.analyze(paths, "phash", "aspect", progress=False, workers=1)
    # all eight files show the same upright picture once their EXIF orientation is applied
    assert max(hamming(df["phash"][0], h) for h in df["phash"]) <= 4
    assert df["aspect_ratio"].tolist() == [1.5] * 8


def test_pool_and_single_process_agree(mixed):
    df = cinb.scan(mixed, progress=False)
    names = ("phash", "dhash", "sharpness", "brightness", "entropy", "grayscale", "pixel_hash")
    one = cinb.analyze(df, *names, workers=1, progress=False)
    two = cinb.analyze(df, *names, workers=2, progress=False)
    pd.testing.assert_frame_equal(one, two)


def _mean_red(ctx, *, scale=1.0):
    return {"mean_red": float(np.asarray(ctx.image(64))[..., 0].mean()) * scale}


def test_registry_plugins_get_parallelism_options_and_errors(mixed):
    register_analysis("mean_red", _mean_red, columns={"mean_red": float}, defaults={"scale": 1.0})
    try:
        df = cinb.analyze([mixed / "coffee.jpg", mixed / "random.png"], "mean_red", workers=2, progress=False,
                          options={"mean_red": {"scale": 2.0}})
        assert df["mean_red"][0] > 2 and pd.isna(df["mean_red"][1]) and "X-ErrNo -113" in df["error"][1]
        with pytest.raises(cinb.CIError, match="no option"):
            cinb.analyze([mixed / "coffee.jpg"], "mean_red", options={"mean_red": {"scael": 2}}, progress=False)
    finally:
        unregister_analysis("mean_red")
    assert "mean_red" not in list_analyses()
    with pytest.raises(cinb.CIError, match="unknown analysis 'nope'"):
        cinb.analyze([mixed / "coffee.jpg"], "nope", progress=False)


def test_aliases_presets_and_reuse_of_existing_columns(mixed):
    assert get_analysis("colourfulness").name == "colorfulness" and get_analysis("blur").name == "sharpness"
    image, group = resolve(["issues"])
    assert {a.name for a in group} == {"odd_size", "duplicates", "near_duplicates"}
    # phash already in the table is reused: equal fake hashes put two different images in one group
    df = pd.DataFrame({"path": [str(mixed / "coffee.jpg"), str(mixed / "rocket.jpg")],
                       "phash": ["0123456789abcdef", "0123456789abcdee"]})
    out = cinb.analyze(df, "near_duplicates", progress=False, options={"near_duplicates": {"radius": 1}})
    assert out["near_group"].tolist() == [0, 0]
    assert "error" not in out.columns  # no per-image pass ran


def test_near_groups_are_transitive_and_blocked():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**63, 50, dtype=np.uint64)
    chain = np.array([0, 0b1, 0b11, 0b111], dtype=np.uint64)  # each one bit from the next
    hashes = np.concatenate([base, chain])
    groups = near_groups(hashes, 1, block=7)
    assert len(set(groups[-4:])) == 1 and groups[-1] >= 0
    assert (groups[:50] == -1).all()
