"""Map a per-row function over a DataFrame: local process pool + tqdm, or Dask.

This is the one place where cinb runs work in parallel. ``scan``, ``apply`` and ``analyze`` are
thin wrappers around :func:`map_rows`, and other features (compression sweeps, AI analyses) reuse it
to get the same guarantees:

- one failing row never stops the batch: the exception becomes the row's ``error`` value;
- a tqdm progress bar (the widget form in Jupyter) on every long run;
- Ctrl-C cancels the rows not yet started, lets the running ones finish (their outputs are written
  atomically), then raises ``KeyboardInterrupt``; a second Ctrl-C kills the workers at once;
- a ``dask.dataframe.DataFrame`` goes through ``map_partitions`` with a typed ``meta`` and stays lazy.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from cinb.errors import CIError

#: Row function: receives the selected input columns of one row as a dict, returns output values.
RowFn = Callable[..., Mapping[str, Any]]


def default_workers() -> int:
    """Number of CPUs this process may use (respects taskset / cgroup affinity).

    Examples
    --------
    >>> from cinb.parallel import default_workers
    >>> default_workers() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def is_dask(obj: Any) -> bool:
    """True for a ``dask.dataframe.DataFrame`` (checked without importing dask).

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.parallel import is_dask
    >>> is_dask(pd.DataFrame())
    False
    """
    return type(obj).__module__.split(".")[0] in ("dask", "dask_expr") and hasattr(obj, "map_partitions")


def empty_frame(columns: Mapping[str, Any], index: pd.Index | None = None) -> pd.DataFrame:
    """An all-missing DataFrame with the given ``{column: dtype}`` (also used as Dask ``meta``).

    Examples
    --------
    >>> from cinb.parallel import empty_frame
    >>> empty_frame({"width": "Int64", "error": object}).dtypes.astype(str).tolist()
    ['Int64', 'object']
    """
    index = pd.RangeIndex(0) if index is None else index
    return pd.DataFrame({name: pd.Series([None] * len(index), index=index, dtype=_dtype(dt))
                         for name, dt in columns.items()}, index=index)


def _dtype(dt: Any) -> Any:
    # Missing values must survive: plain int/bool become pandas' nullable types.
    if dt is int or dt == "int":
        return "Int64"
    if dt is bool or dt == "bool":
        return "boolean"
    if dt is float or dt == "float":
        return "float64"
    if dt is str or dt == "str":
        return object
    return dt


def frame_from_records(records: Sequence[Mapping[str, Any]], columns: Mapping[str, Any],
                       index: pd.Index) -> pd.DataFrame:
    """Build a typed DataFrame from per-row output dicts (missing keys become missing values).

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.parallel import frame_from_records
    >>> f = frame_from_records([{"w": 3}, {"error": "bad"}], {"w": int, "error": str}, pd.RangeIndex(2))
    >>> f["w"].tolist(), f["error"].tolist()
    ([3, <NA>], [None, 'bad'])
    """
    data = {}
    for name, dt in columns.items():
        values = [r.get(name) for r in records]
        dtype = _dtype(dt)
        if dtype is object:
            data[name] = pd.Series(values, index=index, dtype=object)
        else:
            values = [None if _is_missing(v) else v for v in values]
            data[name] = pd.Series(values, index=index, dtype=dtype) if values else \
                pd.Series([], index=index, dtype=dtype)
    return pd.DataFrame(data, index=index)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value))


def format_error(exc: BaseException) -> str:
    """The text stored in a row's ``error`` column for an exception.

    CIError keeps its CI wording (``... (X-ErrNo -443)``); OS errors name the file; anything else is
    prefixed with its type so a bug is not mistaken for a bad image.

    Examples
    --------
    >>> from cinb.errors import CIError
    >>> from cinb.parallel import format_error
    >>> format_error(CIError("not an image: a.txt", code=-113))
    'not an image: a.txt (X-ErrNo -113)'
    >>> format_error(FileNotFoundError(2, "No such file or directory", "gone.jpg"))
    'no such file: gone.jpg'
    """
    if isinstance(exc, CIError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"no such file: {exc.filename}"
    if isinstance(exc, IsADirectoryError):
        return f"is a directory: {exc.filename}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def run_row(fn: RowFn, row: Mapping[str, Any], fn_kwargs: Mapping[str, Any]) -> dict:
    """Call ``fn(row, **fn_kwargs)``; an exception becomes ``{"error": ...}``. Never raises
    (except KeyboardInterrupt / SystemExit).

    Examples
    --------
    >>> from cinb.parallel import run_row
    >>> run_row(lambda row: {"x": 1 / row["d"]}, {"d": 0}, {})["error"]
    'ZeroDivisionError: division by zero'
    """
    try:
        out = dict(fn(row, **fn_kwargs))
    except Exception as exc:  # the batch guarantee: one bad row never stops the others
        out = {"error": format_error(exc)}
        if os.environ.get("CINB_DEBUG"):
            traceback.print_exc()
    out.setdefault("error", None)
    return out


def _run_chunk(fn: RowFn, fn_kwargs: Mapping[str, Any], rows: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    return [(pos, run_row(fn, row, fn_kwargs)) for pos, row in rows]


def _worker_init() -> None:
    # Workers leave Ctrl-C to the parent, which stops handing out work and lets running rows
    # finish: a worker killed mid-write could leave a partial file.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # OpenCV stays single-threaded in workers: see _opencv_single_threaded.


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork: workers inherit everything defined so far, including functions and analyses a notebook
    # defined in __main__, and start in milliseconds. Elsewhere, the platform default.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _progress(total: int, desc: str | None, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=True, dynamic_ncols=True)


def map_rows(df: Any, fn: RowFn, *, columns: Mapping[str, Any], inputs: Sequence[str] | None = None,
             fn_kwargs: Mapping[str, Any] | None = None, workers: int | None = None,
             desc: str | None = None, progress: bool = True, chunksize: int | None = None,
             on_interrupt: Callable[[], None] | None = None) -> Any:
    """Run ``fn`` on every row of ``df`` in parallel and add its outputs as columns.

    Parameters
    ----------
    df : pandas.DataFrame or dask.dataframe.DataFrame
        The collection; returned with the output columns added (replacing any of the same name).
    fn : callable
        ``fn(row: dict, **fn_kwargs) -> dict``. Must be picklable by reference (a module-level
        function; functions defined in a notebook work because workers are forked). An exception
        becomes the row's ``error`` value.
    columns : mapping
        ``{output column: dtype}``; ``int``/``bool`` become nullable ``Int64``/``boolean``, ``str``
        becomes ``object``. An ``error`` column is always added.
    inputs : sequence of str, optional
        Columns passed to ``fn`` (default: all). Fewer columns mean less pickling.
    fn_kwargs : mapping, optional
        Extra keyword arguments for ``fn`` (sent once per chunk of rows).
    workers : int, optional
        Worker processes (default: CPUs available; 1 runs in this process). Ignored for Dask, where
        the cluster decides.
    desc : str, optional
        Progress-bar label.
    progress : bool
        Show a tqdm progress bar (the notebook widget in Jupyter).
    chunksize : int, optional
        Rows per task sent to a worker (default: small chunks for load balance; use 1 for heavy rows).
    on_interrupt : callable, optional
        Called after a Ctrl-C once workers are stopped (e.g. to remove temporary files).

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        A copy of ``df`` with the output columns; a Dask input gives a lazy Dask DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.parallel import map_rows
    >>> def double(row):
    ...     return {"twice": row["x"] * 2}
    >>> out = map_rows(pd.DataFrame({"x": [1, 2, 3]}), double, columns={"twice": int},
    ...                workers=1, progress=False)
    >>> out["twice"].tolist(), out["error"].tolist()
    ([2, 4, 6], [None, None, None])
    """
    columns = dict(columns)
    columns.setdefault("error", object)
    fn_kwargs = dict(fn_kwargs or {})
    if is_dask(df):
        meta = _with_columns(df._meta, empty_frame(columns, index=df._meta.index))
        return df.map_partitions(_map_partition, fn, columns, list(inputs) if inputs else None, fn_kwargs,
                                 meta=meta)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"map_rows expects a pandas or dask DataFrame, not {type(df).__name__}")
    rows = _rows(df, inputs)
    records = _map_local(fn, rows, fn_kwargs, workers=workers, desc=desc, progress=progress,
                         chunksize=chunksize, on_interrupt=on_interrupt)
    return _with_columns(df, frame_from_records(records, columns, df.index))


def map_values(items: Sequence[Mapping[str, Any]], fn: RowFn, *, fn_kwargs: Mapping[str, Any] | None = None,
               workers: int | None = None, desc: str | None = None, progress: bool = True,
               chunksize: int | None = None, on_interrupt: Callable[[], None] | None = None) -> list[dict]:
    """Like :func:`map_rows` for a plain list of row dicts; returns the list of output dicts.

    Examples
    --------
    >>> from cinb.parallel import map_values
    >>> def inc(row):
    ...     return {"y": row["x"] + 1}
    >>> [r["y"] for r in map_values([{"x": 1}, {"x": 2}], inc, workers=1, progress=False)]
    [2, 3]
    """
    return _map_local(fn, list(items), dict(fn_kwargs or {}), workers=workers, desc=desc, progress=progress,
                      chunksize=chunksize, on_interrupt=on_interrupt)


def _rows(df: pd.DataFrame, inputs: Sequence[str] | None) -> list[dict]:
    sub = df if inputs is None else df[list(inputs)]
    # to_dict("records") would turn missing ints into floats; itertuples keeps the objects.
    names = list(sub.columns)
    return [dict(zip(names, values)) for values in sub.itertuples(index=False, name=None)]


def _with_columns(df: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    keep = df.drop(columns=[c for c in new.columns if c in df.columns])
    return pd.concat([keep, new], axis=1)


def _map_partition(part: pd.DataFrame, fn: RowFn, columns: Mapping[str, Any], inputs: Sequence[str] | None,
                   fn_kwargs: Mapping[str, Any]) -> pd.DataFrame:
    # Runs on a Dask worker: rows of one partition in sequence (the cluster parallelises partitions).
    records = [run_row(fn, row, fn_kwargs) for row in _rows(part, inputs)]
    return _with_columns(part, frame_from_records(records, columns, part.index))


def _auto_chunksize(n: int, workers: int) -> int:
    # ~8 chunks per worker balances load without paying pickling per row on cheap rows.
    return max(1, min(64, n // (workers * 8)))


def _map_local(fn: RowFn, rows: list[dict], fn_kwargs: Mapping[str, Any], *, workers: int | None,
               desc: str | None, progress: bool, chunksize: int | None,
               on_interrupt: Callable[[], None] | None) -> list[dict]:
    n = len(rows)
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise CIError(f"workers must be >= 1, got {workers}", code=-103, token=str(workers))
    results: list[dict | None] = [None] * n
    bar = _progress(n, desc, progress and n > 0)
    try:
        if workers == 1 or n <= 1:
            for pos, row in enumerate(rows):
                results[pos] = run_row(fn, row, fn_kwargs)
                bar.update(1)
        else:
            with _opencv_single_threaded():
                _map_pool(fn, rows, fn_kwargs, results, bar, workers=min(workers, n),
                          chunksize=chunksize or _auto_chunksize(n, min(workers, n)), on_interrupt=on_interrupt)
    except KeyboardInterrupt:
        if workers == 1 and on_interrupt is not None:
            on_interrupt()
        raise
    finally:
        bar.close()
    return results  # type: ignore[return-value]


def _new_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(), initializer=_worker_init)


@contextlib.contextmanager
def _opencv_single_threaded():
    """Keep OpenCV at one thread in the parent while worker pools fork.

    One row at a time per process: a library thread pool inside each worker would only
    oversubscribe the cores. And OpenCV's pool does not survive fork(): a child forked from a
    parent whose pool had threads deadlocks when it touches the pool (even to resize it). Workers
    forked while the parent is single-threaded inherit that setting and never start threads.
    """
    cv2 = sys.modules.get("cv2")
    if cv2 is None:
        yield
        return
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def _map_pool(fn: RowFn, rows: list[dict], fn_kwargs: Mapping[str, Any], results: list, bar, *,
              workers: int, chunksize: int, on_interrupt: Callable[[], None] | None) -> None:
    numbered = list(enumerate(rows))
    chunks = [numbered[i:i + chunksize] for i in range(0, len(numbered), chunksize)]
    # Keep only a few chunks queued per worker, so a Ctrl-C has little to cancel and memory stays
    # flat however long the collection is.
    queue = iter(chunks)
    while True:
        crashed = _run_pool_until_done_or_crash(fn, fn_kwargs, queue, results, bar, workers=workers,
                                                on_interrupt=on_interrupt)
        if not crashed:
            return
        # A worker died (a segfault in a decoder, the OOM killer): the rows it may have been on are
        # re-run one per fresh process, so only the row that kills its process gets an error.
        for chunk in crashed:
            for pos, row in chunk:
                results[pos] = _run_isolated(fn, fn_kwargs, row)
                bar.update(1)


def _run_pool_until_done_or_crash(fn: RowFn, fn_kwargs: Mapping[str, Any], queue, results: list, bar, *,
                                  workers: int, on_interrupt: Callable[[], None] | None) -> list | None:
    pool = _new_pool(workers)
    inflight: dict = {}
    try:
        for chunk in _take(queue, workers * 2):
            inflight[pool.submit(_run_chunk, fn, fn_kwargs, chunk)] = chunk
        while inflight:
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                chunk = inflight.pop(fut)
                try:
                    outs = fut.result()
                except BrokenProcessPool:
                    inflight[fut] = chunk  # keep it with the others to re-run
                    broken = True
                    continue
                for pos, out in outs:
                    results[pos] = out
                bar.update(len(outs))
                if not broken:
                    for nxt in _take(queue, 1):
                        inflight[pool.submit(_run_chunk, fn, fn_kwargs, nxt)] = nxt
            if broken:
                _kill_workers(pool)
                pool.shutdown(wait=False, cancel_futures=True)
                return list(inflight.values())
    except KeyboardInterrupt:
        for fut in inflight:
            fut.cancel()
        try:
            if not bar.disable:
                bar.set_description(f"{getattr(bar, 'desc', '') or ''} (stopping: finishing running rows)")
            wait(list(inflight))  # running rows end cleanly; a second Ctrl-C lands below
        except KeyboardInterrupt:
            _kill_workers(pool)
        pool.shutdown(wait=False, cancel_futures=True)
        if on_interrupt is not None:
            on_interrupt()
        raise
    except BaseException:
        _kill_workers(pool)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return None


def _run_isolated(fn: RowFn, fn_kwargs: Mapping[str, Any], row: dict) -> dict:
    pool = _new_pool(1)
    try:
        return pool.submit(_run_chunk, fn, fn_kwargs, [(0, row)]).result()[0][1]
    except BrokenProcessPool:
        return {"error": "the worker process died on this row (crash or out of memory)"}
    finally:
        pool.shutdown(wait=True)


def _take(it: Iterable, k: int) -> list:
    out = []
    for _ in range(k):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            proc.kill()
        except Exception:
            pass
