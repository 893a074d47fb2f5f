"""cinb.parallel: pool kinds, worker hooks (thread limits, worker init), batches, settings in workers."""

from __future__ import annotations

import os
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

import cinb
from cinb import parallel
from cinb.collection.analyses import register_analysis, unregister_analysis
from cinb.errors import CIError
from cinb.parallel import (
    map_rows,
    map_values,
    register_thread_limiter,
    register_worker_init,
    unregister_thread_limiter,
    unregister_worker_init,
    worker_threads,
)
from cinb.settings import get_settings, using
from collection_data import SAMPLE

#: Filled in the parent by the tests: a forked worker sees it, a spawned one re-imports this module.
PARENT_MARK: list = []
_SEEN_LIMIT: list = []
_MODELS: dict = {}


def _where(row: dict) -> dict:
    return {"pid": os.getpid(), "inherits": bool(PARENT_MARK), "x2": row["x"] * 2,
            "blind_key": get_settings().blind_key}


def _record_limit(n_threads: int) -> None:
    _SEEN_LIMIT.append(n_threads)


def _limits(row: dict) -> dict:
    from threadpoolctl import threadpool_info

    blas = sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})
    return {"budget": worker_threads(), "seen": list(_SEEN_LIMIT), "cv2": cv2.getNumThreads(),
            "omp": os.environ.get("OMP_NUM_THREADS"), "blas": blas}


def _forget_models() -> None:
    _MODELS.clear()


def _model_owner(row: dict) -> dict:
    owner, _ = _MODELS.setdefault("model", (os.getpid(), object()))
    return {"loaded_here": owner == os.getpid()}


@pytest.fixture
def clean_thread_env(monkeypatch):
    """No ``*_NUM_THREADS`` from the outside (a smaller value there is kept by design)."""
    for name in parallel._THREAD_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mark_parent():
    PARENT_MARK.append(True)
    yield
    PARENT_MARK.clear()


ROWS = [{"x": i} for i in range(6)]


@pytest.mark.parametrize("pool", ["inline", "fork", "spawn"])
def test_every_pool_gives_the_same_rows_and_runs_where_it_says(pool, mark_parent):
    with using(blind_key="from-the-parent"):
        out = map_values(ROWS, _where, pool=pool, max_workers=2, progress=False)
    assert [r["x2"] for r in out] == [0, 2, 4, 6, 8, 10]
    assert all(r["error"] is None for r in out)
    assert all(r["blind_key"] == "from-the-parent" for r in out)  # settings travel to every pool kind
    pids = {r["pid"] for r in out}
    if pool == "inline":
        assert pids == {os.getpid()}
    else:
        assert os.getpid() not in pids
    assert {r["inherits"] for r in out} == {pool != "spawn"}


def test_fork_unsafe_work_spawns_by_default_and_refuses_fork(mark_parent):
    out = map_values(ROWS, _where, max_workers=2, fork_safe=False, progress=False)
    assert {r["inherits"] for r in out} == {False} and os.getpid() not in {r["pid"] for r in out}
    with pytest.raises(CIError, match="pool='fork' refused"):
        map_values(ROWS, _where, max_workers=2, fork_safe=False, pool="fork", progress=False)
    one = map_values(ROWS, _where, max_workers=1, fork_safe=False, progress=False)  # one worker: inline
    assert {r["pid"] for r in one} == {os.getpid()}


def _session_loaded() -> str:
    return "a native session is loaded in this process"


def _broken_check() -> str:
    raise RuntimeError("check bug")


@pytest.mark.parametrize("check", [_session_loaded, _broken_check])
def test_a_fork_check_makes_the_default_pool_spawn(check, mark_parent, monkeypatch):
    # only this test's check: a model run earlier in this process (ncnn) may have registered its own
    monkeypatch.setattr(parallel, "_FORK_CHECKS", [])
    parallel.register_fork_check(check)
    try:
        default = map_values(ROWS, _where, max_workers=2, progress=False)
        forced = map_values(ROWS, _where, max_workers=2, pool="fork", progress=False)
        single = map_values(ROWS, _where, max_workers=1, progress=False)
    finally:
        parallel.unregister_fork_check(check)
    assert {r["inherits"] for r in default} == {False}  # spawned
    assert {r["inherits"] for r in forced} == {True}  # an explicit fork is obeyed
    assert {r["pid"] for r in single} == {os.getpid()}  # one worker: inline, no pool at all
    again = map_values(ROWS, _where, max_workers=2, progress=False)
    assert {r["inherits"] for r in again} == {True}  # the check removed: fork again


def test_spawn_refuses_functions_a_fresh_interpreter_cannot_import():
    def local(row):
        return {"y": 1}

    with pytest.raises(CIError, match="module-level row function"):
        map_values(ROWS, local, pool="spawn", max_workers=2, progress=False)
    with pytest.raises(CIError, match="module-level row function"):
        map_values(ROWS, _where, fn_kwargs={"f": lambda: 1}, pool="spawn", max_workers=2, progress=False)


def test_spawn_refuses_a_function_defined_in_a_notebook(monkeypatch):
    import sys
    import types

    def cell_function(ctx):
        return {"x": 1}

    cell_function.__module__ = "__main__"
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))  # a kernel: no __file__
    with pytest.raises(CIError, match="defined in a notebook"):
        map_values(ROWS, cell_function, pool="spawn", max_workers=2, progress=False)
    register_analysis("cell_test", cell_function, columns={"x": int}, fork_safe=False)
    try:
        with pytest.raises(CIError, match="cell_function': it is defined in a notebook.*pool='inline'"):
            cinb.analyze([str(SAMPLE / "coffee.jpg"), str(SAMPLE / "chelsea.jpg")], "cell_test",
                         max_workers=2, progress=False)
        inline = cinb.analyze([str(SAMPLE / "coffee.jpg")], "cell_test", pool="inline", progress=False)
        assert inline["x"].tolist() == [1]
    finally:
        unregister_analysis("cell_test")


@pytest.mark.parametrize("kwargs, message", [
    ({"pool": "thread"}, "pool must be one of inline, fork, spawn"),
    ({"workers": 2, "max_workers": 3}, "workers is an alias of max_workers"),
    ({"max_workers": 0}, "workers must be an integer >= 1"),
    ({"workers": "2"}, "workers must be an integer >= 1"),
    ({"workers": 1.5}, "workers must be an integer >= 1"),
    ({"max_workers": float("nan")}, "workers must be an integer >= 1"),
    ({"batch_size": 0, "batch_fn": len}, "batch_size must be an integer >= 1"),
])
def test_bad_pool_options_are_refused(kwargs, message):
    with pytest.raises(CIError, match=message):
        map_values(ROWS, _where, progress=False, **kwargs)


def test_workers_is_an_alias_of_max_workers():
    df = pd.DataFrame({"x": range(4)})
    a = map_rows(df, _where, columns={"pid": int}, workers=1, progress=False)
    b = map_rows(df, _where, columns={"pid": int}, max_workers=1, workers=1, progress=False)
    assert set(a["pid"]) == set(b["pid"]) == {os.getpid()}


@pytest.mark.parametrize("pool", ["fork", "spawn"])
def test_each_worker_gets_its_share_of_the_cores(pool, monkeypatch, clean_thread_env):
    monkeypatch.setattr(parallel, "default_workers", lambda: 8)  # 8 cores, 2 workers: 4 threads each
    from threadpoolctl import threadpool_info

    register_thread_limiter(_record_limit)
    before = cv2.getNumThreads(), [lib["num_threads"] for lib in threadpool_info()]
    try:
        out = map_values(ROWS, _limits, pool=pool, max_workers=2, chunksize=1, progress=False)
    finally:
        unregister_thread_limiter(_record_limit)
    assert all(r["error"] is None for r in out), out[0]["error"]
    assert {r["budget"] for r in out} == {4}
    assert {tuple(r["seen"]) for r in out} == {(4,)}  # the registered limiter ran once per worker
    assert {r["cv2"] for r in out} == {4}
    assert {r["omp"] for r in out} == {"4"}
    assert {tuple(r["blas"]) for r in out} == {(4,)}
    after = cv2.getNumThreads(), [lib["num_threads"] for lib in threadpool_info()]
    assert after == before and _SEEN_LIMIT == [] and worker_threads() is None  # the parent is as it was


def _omp(row: dict) -> dict:
    return {"omp": os.environ.get("OMP_NUM_THREADS"), "budget": worker_threads()}


def test_pools_run_without_threadpoolctl(monkeypatch, clean_thread_env):
    import sys

    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import threadpoolctl -> ImportError
    monkeypatch.setattr(parallel, "_blas_controller", [None, -1])
    monkeypatch.setattr(parallel, "default_workers", lambda: 4)
    out = map_values(ROWS, _omp, pool="fork", max_workers=2, progress=False)
    assert {(r["omp"], r["budget"], r["error"]) for r in out} == {("2", 2, None)}


def test_a_smaller_thread_count_the_user_set_is_kept(monkeypatch, clean_thread_env):
    monkeypatch.setattr(parallel, "default_workers", lambda: 8)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = map_values(ROWS, _omp, pool="fork", max_workers=2, progress=False)
    assert {(r["omp"], r["budget"]) for r in out} == {("1", 4)}
    monkeypatch.setenv("OMP_NUM_THREADS", "16")  # more than the worker's share: capped
    out = map_values(ROWS, _omp, pool="fork", max_workers=2, progress=False)
    assert {(r["omp"], r["budget"]) for r in out} == {("4", 4)}


def test_inline_runs_keep_the_users_thread_settings():
    register_thread_limiter(_record_limit)
    try:
        out = map_values(ROWS[:2], _limits, pool="inline", progress=False)
    finally:
        unregister_thread_limiter(_record_limit)
    assert out[0]["budget"] is None and out[0]["seen"] == []


def test_threads_per_worker_never_drops_below_one():
    assert parallel.threads_per_worker(4, cores=2) == 1
    assert parallel.threads_per_worker(3, cores=8) == 2


def test_a_model_made_before_the_fork_is_not_reused_by_workers_that_drop_it():
    _MODELS["model"] = (os.getpid(), object())  # e.g. a session the notebook made before the pool
    try:
        inherited = map_values(ROWS, _model_owner, pool="fork", max_workers=2, progress=False)
        assert not any(r["loaded_here"] for r in inherited)  # without the hook: the parent's object
        register_worker_init(_forget_models)
        try:
            fresh = map_values(ROWS, _model_owner, pool="fork", max_workers=2, progress=False)
        finally:
            unregister_worker_init(_forget_models)
        assert all(r["loaded_here"] for r in fresh)
        assert _MODELS["model"][0] == os.getpid()  # the parent keeps its own
    finally:
        _MODELS.clear()


def _crashing_hook() -> None:
    raise RuntimeError("hook bug")


def test_a_failing_worker_hook_does_not_break_the_rows(capfd):
    register_worker_init(_crashing_hook)
    try:
        out = map_values(ROWS, _where, pool="fork", max_workers=2, progress=False)
    finally:
        unregister_worker_init(_crashing_hook)
    assert [r["x2"] for r in out] == [0, 2, 4, 6, 8, 10] and all(r["error"] is None for r in out)
    assert "hook bug" in capfd.readouterr().err


# -- batches ---------------------------------------------------------------------------------------

def mean_gray(ctx) -> dict:
    return {"mean_gray": float(ctx.gray(32).mean()), "batch_len": 1}


def mean_gray_batch(contexts) -> list[dict]:
    # A real vectorised batch: every image fitted in 32x32, one numpy reduction for the whole batch.
    stack = np.full((len(contexts), 32, 32), np.nan, dtype=np.float32)
    for i, ctx in enumerate(contexts):
        gray = ctx.gray(32)  # an unreadable image raises here and fails the whole batch
        stack[i, :gray.shape[0], :gray.shape[1]] = gray
    return [{"mean_gray": float(m), "batch_len": len(contexts)} for m in np.nanmean(stack, axis=(1, 2))]


@pytest.fixture
def batch_analysis():
    register_analysis("mean_gray_test", mean_gray, batch_fn=mean_gray_batch,
                      columns={"mean_gray": float, "batch_len": int})
    yield "mean_gray_test"
    unregister_analysis("mean_gray_test")


@pytest.fixture(scope="module")
def five_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    for name in ("astronaut.jpg", "coffee.jpg", "chelsea.jpg", "rocket.jpg", "camera.png"):
        shutil.copyfile(SAMPLE / name, folder / name)
    return sorted(str(p) for p in folder.iterdir())


@pytest.mark.parametrize("pool", ["inline", "fork"])
def test_batch_analysis_is_called_once_per_batch(batch_analysis, five_images, pool):
    out = cinb.analyze(five_images, batch_analysis, pool=pool, max_workers=2, batch_size=3, progress=False)
    one_by_one = cinb.analyze(five_images, batch_analysis, max_workers=1, batch_size=1, progress=False)
    assert out["error"].isna().all()
    assert np.allclose(out["mean_gray"], one_by_one["mean_gray"])
    assert out["batch_len"].tolist() == [3, 3, 3, 2, 2]  # fork: 2 workers get chunks of min(3, ceil(5/2))
    assert one_by_one["batch_len"].tolist() == [1] * 5


def test_a_bad_image_in_a_batch_costs_only_its_own_row(batch_analysis, five_images, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not a jpeg")
    paths = five_images[:2] + [str(broken)] + five_images[2:]
    out = cinb.analyze(paths, batch_analysis, "brightness", pool="inline", batch_size=6,
                       progress=False).set_index("name")
    assert out.loc["broken.jpg", "error"] and pd.isna(out.loc["broken.jpg", "mean_gray"])
    good = out.drop(index="broken.jpg")
    assert good["error"].isna().all() and good["mean_gray"].notna().all() and good["brightness"].notna().all()
    assert set(good["batch_len"]) == {1}  # the failed batch was retried image by image


def only_batch(contexts) -> list:
    return [ValueError("odd one out") if "coffee" in ctx.path else {"w32": ctx.rgb(32).shape[1]}
            for ctx in contexts]


def test_a_batch_only_analysis_can_fail_single_rows():
    register_analysis("w32_test", None, batch_fn=only_batch, columns={"w32": int})
    try:
        paths = [str(SAMPLE / n) for n in ("astronaut.jpg", "coffee.jpg", "chelsea.jpg")]
        for size in (3, 1):
            out = cinb.analyze(paths, "w32_test", pool="inline", batch_size=size, progress=False).set_index("name")
            assert "ValueError: odd one out" in out.loc["coffee.jpg", "error"]
            assert out.loc["astronaut.jpg", "w32"] == 32 and out.loc["chelsea.jpg", "error"] is None
    finally:
        unregister_analysis("w32_test")


def test_register_analysis_refuses_a_batch_without_a_function():
    with pytest.raises(CIError, match="needs fn or batch_fn"):
        register_analysis("nothing_test", None, columns={"x": int})
    with pytest.raises(CIError, match="group analysis"):
        register_analysis("group_test", None, batch_fn=only_batch, kind="group", columns={"x": int})


# -- analyze and apply across pools -----------------------------------------------------------------

ANALYSES = ("phash", "dhash", "brightness", "sharpness", "entropy", "colorfulness", "grayscale", "aspect")


def test_analyze_gives_the_same_table_inline_fork_and_spawn():
    paths = [str(SAMPLE / n) for n in ("astronaut.jpg", "camera.png", "chelsea.jpg")]
    tables = {pool: cinb.analyze(paths, *ANALYSES, pool=pool, max_workers=2, progress=False)
              for pool in ("inline", "fork", "spawn")}
    assert tables["inline"]["error"].isna().all()
    pd.testing.assert_frame_equal(tables["fork"], tables["inline"])
    pd.testing.assert_frame_equal(tables["spawn"], tables["inline"])


def where_analysis(ctx) -> dict:
    return {"inherits_parent": bool(PARENT_MARK), "worker_pid": os.getpid()}


def test_an_analysis_that_is_not_fork_safe_runs_in_spawned_workers(mark_parent):
    register_analysis("where_test", where_analysis, columns={"inherits_parent": bool, "worker_pid": int},
                      fork_safe=False)
    try:
        paths = [str(SAMPLE / n) for n in ("astronaut.jpg", "camera.png", "chelsea.jpg")]
        out = cinb.analyze(paths, "where_test", "phash", max_workers=2, progress=False)
        assert out["error"].isna().all() and not out["inherits_parent"].any()
        assert os.getpid() not in set(out["worker_pid"])
        with pytest.raises(CIError, match="'where_test' does not survive fork"):
            cinb.analyze(paths, "where_test", pool="fork", max_workers=2, progress=False)
    finally:
        unregister_analysis("where_test")


def test_apply_runs_in_a_spawn_pool(tmp_path):
    paths = [str(SAMPLE / n) for n in ("astronaut.jpg", "chelsea.jpg")]
    out = cinb.apply(paths, "imageMogr2/thumbnail/64x/format/png", tmp_path, pool="spawn", max_workers=2,
                     progress=False)
    assert out["status"].tolist() == ["done", "done"] and out["out_width"].tolist() == [64, 64]


def test_cli_takes_a_pool(tmp_path, capsys):
    from cinb.cli import main

    src = tmp_path / "src"
    src.mkdir()
    for name in ("astronaut.jpg", "chelsea.jpg"):
        shutil.copyfile(SAMPLE / name, src / name)
    table = tmp_path / "t.csv"
    assert main(["analyze", str(src), "phash", "--pool", "inline", "-o", str(table)]) == 0
    assert pd.read_csv(table)["phash"].notna().all()
    assert main(["apply", str(src), "imageMogr2/thumbnail/30x", "-o", str(tmp_path / "o"), "--pool", "fork",
                 "--workers", "2"]) == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir() if not p.name.startswith(".")) == \
        ["astronaut.jpg", "chelsea.jpg"]
    with pytest.raises(SystemExit):
        main(["analyze", str(src), "phash", "--pool", "threads"])
