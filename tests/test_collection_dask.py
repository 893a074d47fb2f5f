"""scan / analyze / apply on a Dask DataFrame, run by a real dask.distributed LocalCluster (2 processes)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

import cinb
from cinb.collection import compute, to_dask
from collection_data import BAD, GOOD

distributed = pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def client():
    # One cluster for the whole module: starting worker processes is the slow part.
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_scan_and_analyze_stay_lazy_and_match_pandas(client, mixed):
    assert len(client.scheduler_info()["workers"]) == 2
    ddf = to_dask(mixed, npartitions=3)
    scanned = cinb.scan(ddf)
    analyzed = scanned.ci.analyze("phash", "dark", "duplicates", "near_duplicates")  # the accessor on Dask
    assert isinstance(analyzed, dd.DataFrame) and analyzed.npartitions == 3
    result = compute(analyzed, progress=False).reset_index(drop=True)
    # meta promised the real columns and dtypes
    assert list(result.columns) == list(analyzed.columns)
    assert dict(result.dtypes) == dict(analyzed.dtypes)
    local = cinb.analyze(cinb.scan(mixed, progress=False), "phash", "dark", "duplicates", "near_duplicates",
                         workers=1, progress=False)
    for col in ("name", "width", "height", "format", "phash", "dark", "pixel_hash", "duplicate_group", "near_group"):
        pd.testing.assert_series_equal(result[col], local[col], check_dtype=False, check_names=False)
    by = result.set_index("name")
    assert by.loc[BAD, "error"].notna().all() and by.loc[GOOD, "error"].isna().all()
    # group analyses saw every partition: the chelsea family spans several of them
    assert by.loc[["chelsea.jpg", "chelsea-small.jpg", "not-really.jpg"], "near_group"].nunique() == 1


def test_apply_on_the_cluster_writes_and_resumes(client, mixed, tmp_path):
    ddf = to_dask(cinb.scan(mixed, progress=False), npartitions=2)
    lazy = cinb.apply(ddf, "imageMogr2/thumbnail/48x/format/webp", tmp_path / "out", name="{stem}-{suffix}.{ext}")
    assert isinstance(lazy, dd.DataFrame)
    assert not (tmp_path / "out" / "coffee-jpg.webp").exists()  # nothing ran yet
    first = compute(lazy, progress=False).set_index("name")
    assert (first.loc[GOOD, "status"] == "done").all() and (first.loc[BAD, "status"] == "error").all()
    assert os.path.getsize(tmp_path / "out" / "coffee-jpg.webp") == first.loc["coffee.jpg", "out_bytes"]
    again = cinb.apply(ddf, "imageMogr2/thumbnail/48x/format/webp", tmp_path / "out", name="{stem}-{suffix}.{ext}")
    assert (compute(again, progress=False).set_index("name").loc[GOOD, "status"] == "skipped").all()
