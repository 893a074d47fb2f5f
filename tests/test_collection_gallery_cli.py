"""df.ci.show (thumbnail grid), the df.ci accessor, map_rows, and the scan/apply/analyze commands."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

import cinb
from cinb.cli import main
from cinb.collection import map_rows
from cinb.settings import using
from collection_data import BAD, GOOD


@pytest.fixture()
def thumb_cache(tmp_path):
    cinb.clear_caches()
    with using(thumb_cache=tmp_path / "thumbs"):
        yield tmp_path / "thumbs"


def test_show_pages_captions_and_errors(mixed, thumb_cache):
    df = cinb.scan(mixed, progress=False).ci.analyze("brightness", progress=False)
    g = df.ci.show(["name", "brightness"], limit=5, size=96, progress=False)
    assert (g.shown, g.total) == (5, len(df))
    assert g.html.count("<img ") == 5 and "show(..., start=5)" in g.html and "<b>brightness</b>" in g.html
    assert len(list(thumb_cache.rglob("*.jpg"))) == 5  # cached on disk
    bad = df[df["name"].isin(BAD)].ci.show(progress=False)
    assert bad.html.count("<img ") == 0 and bad.html.count('class="cinb-cell cinb-bad"') == len(BAD)
    assert "X-ErrNo -113" in bad.html
    # a full page of thumbnails stays small enough for a notebook
    whole = df.ci.show(limit=100, progress=False)
    assert len(whole.html) < 30_000 * whole.shown


def test_show_thumbnails_come_from_the_cache(mixed, thumb_cache, monkeypatch):
    df = cinb.scan([mixed / "coffee.jpg", mixed / "rocket.jpg"], progress=False)
    first = df.ci.show(progress=False).html
    cinb.clear_caches()  # the in-memory thumbnails: only the disk cache is left

    def no_decode(*args, **kwargs):
        raise AssertionError("decoded although cached")

    import cinb.collection.analyses.context as context

    monkeypatch.setattr(context.ImageContext, "image", no_decode)
    assert df.ci.show(progress=False).html == first


def test_show_grouped_by_near_duplicates(mixed, thumb_cache):
    df = cinb.analyze(mixed, "near_duplicates", progress=False, workers=1)
    g = df.ci.show(by="near_group", progress=False)
    groups = df["near_group"].dropna()
    assert g.shown == len(groups) and g.html.count("near_group = ") == groups.nunique()


def test_accessor_errors_ok_and_map_rows_contract(mixed):
    df = cinb.scan(mixed, progress=False)
    assert set(df.ci.errors()["name"]) == {"empty.jpg", "random.png", "huge.png"}
    assert len(df.ci.ok()) + len(df.ci.errors()) == len(df)
    out = map_rows(pd.DataFrame({"x": [1, 0, 2]}, index=[10, 20, 30]), _inverse, columns={"inv": float},
                   workers=2, progress=False)
    assert out["inv"].tolist()[0::2] == [1.0, 0.5] and pd.isna(out.loc[20, "inv"])
    assert out.loc[20, "error"] == "ZeroDivisionError: division by zero" and list(out.index) == [10, 20, 30]


def _inverse(row):
    return {"inv": 1 / row["x"]}


def test_cli_scan_analyze_apply(mixed, tmp_path, capsys):
    table = tmp_path / "t.parquet"
    assert main(["scan", str(mixed), "-o", str(table)]) == 0
    scanned = pd.read_parquet(table)
    assert set(GOOD) <= set(scanned["name"])
    assert main(["analyze", str(table), "phash", "exif", "near_duplicates", "--option", "near_duplicates.radius=4",
                 "-o", str(tmp_path / "a.csv")]) == 0
    analyzed = pd.read_csv(tmp_path / "a.csv")
    assert analyzed["phash"].notna().sum() == len(GOOD) + 1  # + album.jpg/inner.jpg
    coffee = analyzed[analyzed["name"] == "coffee.jpg"].iloc[0]
    assert json.loads(coffee["exif"]) == cinb.exif(str(mixed / "coffee.jpg"))
    code = main(["apply", str(mixed / "[cr]o*.jpg"), "imageMogr2/thumbnail/30x", "-o", str(tmp_path / "o"),
                 "--table", str(tmp_path / "o.jsonl")])
    assert code == 0 and sorted(os.listdir(tmp_path / "o")) == [".cinb-apply.jsonl", "coffee.jpg", "rocket.jpg"]
    code = main(["apply", str(mixed), "imageMogr2/thumbnail/30x", "-o", str(tmp_path / "o2"), "--name",
                 "{stem}-{suffix}.{ext}"])
    err = capsys.readouterr().err
    assert code == 1 and "empty.jpg" in err and "failed" in err
    assert main(["analyze", str(mixed), "no_such_analysis"]) == 2


def _crash_on_three(row):
    if row["x"] == 3:
        os._exit(1)  # a decoder segfault or the OOM killer, as the pool sees it
    return {"y": row["x"] * 10}


def test_a_row_that_kills_its_worker_only_fails_itself():
    out = map_rows(pd.DataFrame({"x": range(8)}), _crash_on_three, columns={"y": int}, workers=2, chunksize=2,
                   progress=False)
    assert out["y"].tolist()[:3] == [0, 10, 20] and out["y"].tolist()[4:] == [40, 50, 60, 70]
    assert pd.isna(out["y"][3]) and out["error"][3].startswith("the worker process died")
    assert out["error"].notna().sum() == 1
