"""Map a per-row function over a DataFrame: a local process pool + tqdm, or Dask.

This is the one place where cinb runs work in parallel. ``scan``, ``apply`` and ``analyze`` are
thin wrappers around :func:`map_rows`, and other features (compression sweeps, AI analyses) reuse it
to get the same guarantees:

- one failing row never stops the batch: the exception becomes the row's ``error`` value;
- a tqdm progress bar (the widget form in Jupyter) on every long run;
- Ctrl-C cancels the rows not yet started, lets the running ones finish (their outputs are written
  atomically), then raises ``KeyboardInterrupt``; a second Ctrl-C kills the workers at once;
- a ``dask.dataframe.DataFrame`` goes through ``map_partitions`` with a typed ``meta`` and stays lazy.

Pools (``pool=``): ``"inline"`` runs every row in this process; ``"fork"`` (the default on Linux)
starts workers in milliseconds and they inherit everything defined so far, notebook functions
included; ``"spawn"`` starts fresh interpreters, for libraries that do not survive a fork (torch,
an ONNX Runtime session): the row function and its options must then be importable and picklable
(not defined in a notebook), and a script needs the usual ``if __name__ == "__main__":`` guard.

Worker processes are set up by hooks, which libraries register when they are imported:

- :func:`register_thread_limiter`: ``fn(n_threads)`` caps a library's thread pool so that N workers
  use the machine's cores once (``n_threads = cores // workers``). OpenCV, the BLAS/OpenMP pools
  that ``threadpoolctl`` finds, and the usual ``*_NUM_THREADS`` variables (for libraries a worker
  loads later) are built in; model runtimes register theirs in their own module.
- :func:`register_worker_init`: ``fn()`` runs once in each new worker, e.g. to forget a model the
  worker inherited from the parent through fork (a model must load after the fork, in the worker).
- :func:`register_fork_check`: ``fn()`` says why this process must not be forked now (a native
  runtime whose threads have run); the default pool is then spawn.

The parent's :class:`cinb.settings.Settings` (including :func:`cinb.settings.using` blocks around
the call) travel with every chunk of rows, so fork and spawn workers see the same settings.
"""

from __future__ import annotations

import contextlib
import io
import math
import multiprocessing
import os
import pickle
import signal
import sys
import traceback
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np
import pandas as pd

from cinb.errors import BAD_PARAMETER, CIError
from cinb.settings import get_settings, using

#: Row function: receives the selected input columns of one row as a dict, returns output values.
RowFn = Callable[..., Mapping[str, Any]]
#: Batch function: receives a list of rows, returns one output dict (or an exception) per row.
BatchFn = Callable[..., Sequence[Any]]

#: The pool kinds ``map_rows(pool=...)`` accepts.
POOLS = ("inline", "fork", "spawn")

_THREAD_LIMITERS: list[Callable[[int], None]] = []
_WORKER_INITS: list[Callable[[], None]] = []
_FORK_CHECKS: list[Callable[[], str | None]] = []
_worker_threads: int | None = None  # set by _worker_init in a pool worker
_blas_limits: Any = None  # threadpoolctl's controller, kept alive in a worker


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


def default_pool() -> str:
    """The pool kind used when none is asked for: ``"fork"`` on Linux, else ``"spawn"``.

    Examples
    --------
    >>> from cinb.parallel import POOLS, default_pool
    >>> default_pool() in POOLS
    True
    """
    return "fork" if sys.platform.startswith("linux") else "spawn"


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Threads each of ``workers`` processes may use so that together they use ``cores`` once.

    Examples
    --------
    >>> from cinb.parallel import threads_per_worker
    >>> threads_per_worker(2, cores=8), threads_per_worker(3, cores=2)
    (4, 1)
    """
    cores = default_workers() if cores is None else cores
    return max(1, cores // max(1, workers))


def worker_threads() -> int | None:
    """In a pool worker, the threads it may use (what the thread limiters were given); None elsewhere.

    A model loaded lazily inside a worker reads this for its own thread setting (e.g. ONNX Runtime's
    ``intra_op_num_threads``); in the parent (inline runs), None means "keep the user's setting".

    Examples
    --------
    >>> from cinb.parallel import worker_threads
    >>> worker_threads() is None
    True
    """
    return _worker_threads


def _add_hook(hooks: list, fn: Callable, registrar: str) -> Callable:
    """Append ``fn`` to one of the hook lists (once); the ``register_*`` functions below share it."""
    if not callable(fn):
        raise TypeError(f"{registrar} takes a function, not {type(fn).__name__}")
    if fn not in hooks:
        hooks.append(fn)
    return fn


def _remove_hook(hooks: list, fn: Callable) -> None:
    with contextlib.suppress(ValueError):
        hooks.remove(fn)


def register_thread_limiter(fn: Callable[[int], None]) -> Callable[[int], None]:
    """Call ``fn(n_threads)`` at the start of every pool worker (not in the parent: an inline run keeps
    the user's own thread settings).

    Under ``pool="spawn"`` the limiter is sent to the worker by reference, so it must be a
    module-level function of an importable module. An exception in a limiter is printed and ignored
    (thread limits are an optimisation). Registering the same function twice keeps one entry.

    Parameters
    ----------
    fn : callable
        ``fn(n_threads: int) -> None``; ``n_threads`` is :func:`threads_per_worker` of the pool.

    Returns
    -------
    callable
        ``fn`` (usable as a decorator).

    Examples
    --------
    >>> from cinb.parallel import register_thread_limiter, unregister_thread_limiter
    >>> def limit_mylib(n_threads):
    ...     pass  # e.g. mylib.set_num_threads(n_threads)
    >>> register_thread_limiter(limit_mylib) is limit_mylib
    True
    >>> unregister_thread_limiter(limit_mylib)
    """
    return _add_hook(_THREAD_LIMITERS, fn, "register_thread_limiter")


def unregister_thread_limiter(fn: Callable[[int], None]) -> None:
    """Remove a limiter added by :func:`register_thread_limiter` (no error if absent)."""
    _remove_hook(_THREAD_LIMITERS, fn)


def register_worker_init(fn: Callable[[], None]) -> Callable[[], None]:
    """Call ``fn()`` once at the start of every pool worker, after the thread limiters.

    The model layer uses it to forget models a forked worker inherited from the parent, so each
    worker loads its own (ONNX Runtime sessions and torch thread pools do not survive a fork). Same
    rules as :func:`register_thread_limiter`: module-level for spawn; an exception is printed and the
    worker goes on.

    Forget, do not free: keep a reference to what the worker inherited (a module-level list) instead of
    letting it be destroyed. Destroying an ONNX Runtime session in a forked worker waits on its thread
    pool's condition variable, whose threads stayed in the parent: the worker hangs (seen with the OCR
    model, about one run in seven). A forked worker ends with ``os._exit``, so nothing kept is freed.

    Returns
    -------
    callable
        ``fn`` (usable as a decorator).

    Examples
    --------
    >>> from cinb.parallel import register_worker_init, unregister_worker_init
    >>> _CACHE = {}
    >>> forget = register_worker_init(_CACHE.clear)
    >>> unregister_worker_init(forget)
    """
    return _add_hook(_WORKER_INITS, fn, "register_worker_init")


def unregister_worker_init(fn: Callable[[], None]) -> None:
    """Remove a hook added by :func:`register_worker_init` (no error if absent)."""
    _remove_hook(_WORKER_INITS, fn)


def register_fork_check(fn: Callable[[], str | None]) -> Callable[[], str | None]:
    """Let ``fn()`` veto the fork pool when none was asked for: it runs in the parent before each
    pooled run and returns a reason (e.g. "an ONNX Runtime session is loaded here") or None.

    With a reason, the default pool is spawn instead of fork: a process whose native thread pools
    have run must not be forked (a lock one of their threads held is copied locked, and the worker
    that touches it hangs). An explicit ``pool="fork"`` is still obeyed.

    Returns
    -------
    callable
        ``fn`` (usable as a decorator).

    Examples
    --------
    >>> from cinb.parallel import register_fork_check, unregister_fork_check
    >>> def sessions_loaded():
    ...     return None  # or "an ONNX Runtime session is loaded in this process"
    >>> register_fork_check(sessions_loaded) is sessions_loaded
    True
    >>> unregister_fork_check(sessions_loaded)
    """
    return _add_hook(_FORK_CHECKS, fn, "register_fork_check")


def unregister_fork_check(fn: Callable[[], str | None]) -> None:
    """Remove a check added by :func:`register_fork_check` (no error if absent)."""
    _remove_hook(_FORK_CHECKS, fn)


# -- built-in thread limiters -----------------------------------------------------------------------

#: Variables read when a library loads: they cover what a worker imports after it started (scipy's
#: own OpenBLAS, an OpenMP runtime, OpenCV in a spawned worker).
_THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "OPENCV_FOR_THREADS_NUM")


def _limit_env(n_threads: int) -> None:
    # Runs only in pool workers, processes cinb owns: the user's environment is left alone. A smaller
    # value the user set is kept.
    for name in _THREAD_ENV_VARS:
        current = os.environ.get(name, "")
        if not (current.isdigit() and 0 < int(current) <= n_threads):
            os.environ[name] = str(n_threads)


def _limit_opencv(n_threads: int) -> None:
    # Safe in a forked worker only because the parent's pool had no threads at the fork: see
    # _fork_parent. Not imported here if the worker has not loaded it (OPENCV_FOR_THREADS_NUM then).
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and cv2.getNumThreads() != n_threads:
        cv2.setNumThreads(n_threads)


def _limit_blas(n_threads: int) -> None:
    # numpy's (and scipy's) OpenBLAS start one thread per core at import; two workers on two cores
    # would run four. threadpoolctl finds every BLAS/OpenMP pool loaded in this process.
    global _blas_limits
    if _blas_inherited == n_threads:  # a fork worker: the parent set it before forking (_fork_parent)
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it only libraries loaded later are limited (_limit_env)
        return
    _blas_limits = threadpool_limits(limits=n_threads)


#: The BLAS limit the parent holds while a fork pool runs: its workers inherit it. OpenBLAS stops its
#: threads at fork() and any thread-count call after it starts one that spins ~0.1 s: limiting in
#: each forked worker cost 60-120 ms CPU per worker (plus ~90 ms to find the libraries), limiting in
#: the parent costs one ~25 ms spin when the parent restores its own setting after the pool.
_blas_inherited: int | None = None
_blas_controller: list = [None, -1]  # (threadpoolctl controller, len(sys.modules) when it was made)


def _parent_blas_controller() -> Any:
    if _blas_controller[1] != len(sys.modules):  # something was imported: maybe another BLAS
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # optional: workers are then limited by _limit_env only
            _blas_controller[:] = [None, len(sys.modules)]
            return None
        _blas_controller[:] = [ThreadpoolController(), len(sys.modules)]
    return _blas_controller[0]


for _builtin in (_limit_env, _limit_opencv, _limit_blas):
    register_thread_limiter(_builtin)


@contextlib.contextmanager
def _fork_parent(n_threads: int):
    """The parent's side of a fork pool: what its workers should inherit, restored afterwards.

    OpenCV goes to one thread: its pool does not survive fork(), and a child forked from a parent
    whose pool had threads deadlocks when it touches the pool (even to resize it). At one thread the
    parent's pool has none, so a forked worker starts from an empty pool and may size its own
    (``_limit_opencv``). BLAS pools go to ``n_threads``, inherited as they are (see _blas_inherited).
    """
    global _blas_inherited
    cv2 = sys.modules.get("cv2")
    cv2_before = cv2.getNumThreads() if cv2 is not None else None
    controller = _parent_blas_controller()
    blas = controller.limit(limits=n_threads) if controller is not None else None
    if cv2 is not None:
        cv2.setNumThreads(1)
    _blas_inherited = n_threads if blas is not None else None
    try:
        yield
    finally:
        _blas_inherited = None
        if blas is not None:
            blas.restore_original_limits()
        if cv2 is not None:
            cv2.setNumThreads(cv2_before)


# -- tables ----------------------------------------------------------------------------------------


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


# -- rows ------------------------------------------------------------------------------------------


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
    except Exception as exc:  # noqa: BLE001 - the batch guarantee: one bad row never stops the others
        out = {"error": format_error(exc)}
        if get_settings().debug:
            traceback.print_exc()
    out.setdefault("error", None)
    return out


def run_batch(fn: RowFn, batch_fn: BatchFn, rows: Sequence[Mapping[str, Any]],
              fn_kwargs: Mapping[str, Any]) -> list[dict]:
    """Call ``batch_fn(rows, **fn_kwargs)`` once for the whole batch; never raises.

    ``batch_fn`` returns one item per row: an output dict, or an exception instance that becomes
    that row's ``error``. If it raises (or returns the wrong number of items), every row of the
    batch is run again alone through ``fn``, so only the rows that fail alone get an error.

    Examples
    --------
    >>> from cinb.parallel import run_batch
    >>> def inverse(row):
    ...     return {"y": 1 / row["x"]}
    >>> def inverses(rows):
    ...     return [{"y": 1 / r["x"]} for r in rows]  # one zero fails the whole batch...
    >>> [r["error"] for r in run_batch(inverse, inverses, [{"x": 2}, {"x": 0}], {})]  # ...not the other row
    [None, 'ZeroDivisionError: division by zero']
    """
    try:
        outs = list(batch_fn(list(rows), **fn_kwargs))
        if len(outs) != len(rows):
            raise ValueError(f"batch function returned {len(outs)} results for {len(rows)} rows")
        results = []
        for out in outs:
            if isinstance(out, BaseException):
                out = {"error": format_error(out)}
            out = dict(out)
            out.setdefault("error", None)
            results.append(out)
        return results
    except Exception:  # noqa: BLE001 - one bad row must not cost the others their values: retry one by one
        if get_settings().debug:
            traceback.print_exc()
        return [run_row(fn, row, fn_kwargs) for row in rows]


def _run_rows(fn: RowFn, fn_kwargs: Mapping[str, Any], rows: list[dict], batch_fn: BatchFn | None,
              batch_size: int) -> list[dict]:
    if batch_fn is None:
        return [run_row(fn, row, fn_kwargs) for row in rows]
    out: list[dict] = []
    for i in range(0, len(rows), batch_size):
        out.extend(run_batch(fn, batch_fn, rows[i:i + batch_size], fn_kwargs))
    return out


def _run_chunk(task: tuple, rows: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    # Runs in a worker, under the settings of the call that sent the chunk.
    fn, fn_kwargs, batch_fn, batch_size, settings = task
    with using(settings):
        outs = _run_rows(fn, fn_kwargs, [row for _, row in rows], batch_fn, batch_size)
    return [(pos, out) for (pos, _), out in zip(rows, outs, strict=True)]


def _worker_init(n_threads: int, limiters: Sequence[Callable[[int], None]],
                 inits: Sequence[Callable[[], None]]) -> None:
    global _worker_threads
    # Workers leave Ctrl-C to the parent, which stops handing out work and lets running rows
    # finish: a worker killed mid-write could leave a partial file.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_threads = n_threads
    for limiter in limiters:
        _call_hook(limiter, n_threads)
    for init in inits:
        _call_hook(init)


def _call_hook(fn: Callable, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - a failing hook must not break the pool (every row would "crash")
        print(f"cinb: worker hook {getattr(fn, '__qualname__', fn)!r} failed:", file=sys.stderr)
        traceback.print_exc()


# -- map -------------------------------------------------------------------------------------------


def _progress(total: int, desc: str | None, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=True, dynamic_ncols=True)


def resolve_workers(workers: int | None = None, max_workers: int | None = None) -> int | None:
    """``max_workers`` and its alias ``workers`` as one value (None: all CPUs).

    Raises
    ------
    CIError
        -103 when both are given and differ, or the value is below 1.

    Examples
    --------
    >>> from cinb.parallel import resolve_workers
    >>> resolve_workers(workers=2), resolve_workers(max_workers=3), resolve_workers()
    (2, 3, None)
    >>> resolve_workers(workers=2, max_workers=3)
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: workers=2 and max_workers=3 disagree: ... give one (X-ErrNo -103)
    """
    if workers is not None and max_workers is not None and workers != max_workers:
        raise CIError(f"workers={workers} and max_workers={max_workers} disagree: workers is an alias of "
                      "max_workers, give one", code=BAD_PARAMETER, token="workers")
    value = max_workers if max_workers is not None else workers
    if value is None:
        return None
    # An integral float (os.cpu_count() / 2) is accepted as it always was; text and bools are not.
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value != int(value) or value < 1:
        raise CIError(f"workers must be an integer >= 1, got {value!r}", code=BAD_PARAMETER, token=str(value))
    return int(value)


def map_rows(df: Any, fn: RowFn, *, columns: Mapping[str, Any], inputs: Sequence[str] | None = None,
             fn_kwargs: Mapping[str, Any] | None = None, max_workers: int | None = None,
             pool: str | None = None, fork_safe: bool = True, batch_fn: BatchFn | None = None,
             batch_size: int = 16, desc: str | None = None, progress: bool = True,
             chunksize: int | None = None, on_interrupt: Callable[[], None] | None = None,
             workers: int | None = None) -> Any:
    """Run ``fn`` on every row of ``df`` in parallel and add its outputs as columns.

    Parameters
    ----------
    df : pandas.DataFrame or dask.dataframe.DataFrame
        The collection; returned with the output columns added (replacing any of the same name).
    fn : callable
        ``fn(row: dict, **fn_kwargs) -> dict``. Must be picklable by reference (a module-level
        function; functions defined in a notebook work with the fork pool, not with spawn). An
        exception becomes the row's ``error`` value.
    columns : mapping
        ``{output column: dtype}``; ``int``/``bool`` become nullable ``Int64``/``boolean``, ``str``
        becomes ``object``. An ``error`` column is always added.
    inputs : sequence of str, optional
        Columns passed to ``fn`` (default: all). Fewer columns mean less pickling.
    fn_kwargs : mapping, optional
        Extra keyword arguments for ``fn`` (sent once per chunk of rows).
    max_workers : int, optional
        Worker processes (default: CPUs available; 1 runs in this process unless ``pool`` asks for a
        pool). Ignored for Dask, where the cluster decides.
    pool : {"inline", "fork", "spawn"}, optional
        Where rows run (see the module docstring). Default: inline for one worker or one row, else
        :func:`default_pool`, or spawn when ``fork_safe`` is false or a :func:`register_fork_check`
        check gives a reason.
    fork_safe : bool
        False when ``fn`` uses a library that does not survive fork (torch...): the default pool is
        then spawn, and ``pool="fork"`` is refused.
    batch_fn : callable, optional
        ``batch_fn(rows: list[dict], **fn_kwargs) -> list`` called once per ``batch_size`` rows instead
        of ``fn`` per row (model throughput); see :func:`run_batch` for errors. ``fn`` stays the
        per-row fallback.
    batch_size : int
        Rows per ``batch_fn`` call.
    desc : str, optional
        Progress-bar label.
    progress : bool
        Show a tqdm progress bar (the notebook widget in Jupyter).
    chunksize : int, optional
        Rows per task sent to a worker (default: small chunks for load balance; use 1 for heavy rows;
        with ``batch_fn``, one batch).
    on_interrupt : callable, optional
        Called after a Ctrl-C once workers are stopped (e.g. to remove temporary files).
    workers : int, optional
        Alias of ``max_workers`` (the older name, still accepted).

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        A copy of ``df`` with the output columns; a Dask input gives a lazy Dask DataFrame.

    Raises
    ------
    CIError
        -103 for a bad ``pool``, ``max_workers`` or ``batch_size``, ``pool="fork"`` with
        ``fork_safe=False``, or a spawn pool with a function a worker cannot import.

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.parallel import map_rows
    >>> def double(row):
    ...     return {"twice": row["x"] * 2}
    >>> out = map_rows(pd.DataFrame({"x": [1, 2, 3]}), double, columns={"twice": int},
    ...                pool="inline", progress=False)
    >>> out["twice"].tolist(), out["error"].tolist()
    ([2, 4, 6], [None, None, None])
    """
    columns = dict(columns)
    columns.setdefault("error", object)
    fn_kwargs = dict(fn_kwargs or {})
    max_workers = resolve_workers(workers, max_workers)
    _check_pool(pool, fork_safe)
    batch_size = _check_batch_size(batch_size)
    if is_dask(df):
        meta = _with_columns(df._meta, empty_frame(columns, index=df._meta.index))
        task = (fn, fn_kwargs, batch_fn, batch_size, get_settings())
        return df.map_partitions(_map_partition, task, columns, list(inputs) if inputs else None, meta=meta)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"map_rows expects a pandas or dask DataFrame, not {type(df).__name__}")
    rows = _rows(df, inputs)
    records = _map_local(fn, rows, fn_kwargs, workers=max_workers, pool=pool, fork_safe=fork_safe,
                         batch_fn=batch_fn, batch_size=batch_size, desc=desc, progress=progress,
                         chunksize=chunksize, on_interrupt=on_interrupt)
    return _with_columns(df, frame_from_records(records, columns, df.index))


def map_values(items: Sequence[Mapping[str, Any]], fn: RowFn, *, fn_kwargs: Mapping[str, Any] | None = None,
               max_workers: int | None = None, pool: str | None = None, fork_safe: bool = True,
               batch_fn: BatchFn | None = None, batch_size: int = 16, desc: str | None = None,
               progress: bool = True, chunksize: int | None = None,
               on_interrupt: Callable[[], None] | None = None, workers: int | None = None) -> list[dict]:
    """Like :func:`map_rows` for a plain list of row dicts; returns the list of output dicts.

    Examples
    --------
    >>> from cinb.parallel import map_values
    >>> def inc(row):
    ...     return {"y": row["x"] + 1}
    >>> [r["y"] for r in map_values([{"x": 1}, {"x": 2}], inc, max_workers=1, progress=False)]
    [2, 3]
    """
    _check_pool(pool, fork_safe)
    rows = [dict(item) for item in items]
    return _map_local(fn, rows, dict(fn_kwargs or {}), workers=resolve_workers(workers, max_workers),
                      pool=pool, fork_safe=fork_safe, batch_fn=batch_fn, batch_size=_check_batch_size(batch_size),
                      desc=desc, progress=progress, chunksize=chunksize, on_interrupt=on_interrupt)


def _check_pool(pool: str | None, fork_safe: bool) -> None:
    if pool is not None and pool not in POOLS:
        raise CIError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}", code=BAD_PARAMETER, token=str(pool))
    if pool == "fork" and not fork_safe:
        raise CIError("pool='fork' refused: this work uses a library that does not survive fork "
                      "(use pool='spawn' or 'inline')", code=BAD_PARAMETER, token="fork")


def _check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise CIError(f"batch_size must be an integer >= 1, got {batch_size!r}", code=BAD_PARAMETER,
                      token=str(batch_size))
    return int(batch_size)


def _rows(df: pd.DataFrame, inputs: Sequence[str] | None) -> list[dict]:
    sub = df if inputs is None else df[list(inputs)]
    # to_dict("records") would turn missing ints into floats; itertuples keeps the objects.
    names = list(sub.columns)
    return [dict(zip(names, values, strict=True)) for values in sub.itertuples(index=False, name=None)]


def _with_columns(df: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    keep = df.drop(columns=[c for c in new.columns if c in df.columns])
    return pd.concat([keep, new], axis=1)


def _map_partition(part: pd.DataFrame, task: tuple, columns: Mapping[str, Any],
                   inputs: Sequence[str] | None) -> pd.DataFrame:
    # Runs on a Dask worker: rows of one partition in sequence (the cluster parallelises partitions).
    numbered = list(enumerate(_rows(part, inputs)))
    records = [out for _, out in _run_chunk(task, numbered)]
    return _with_columns(part, frame_from_records(records, columns, part.index))


def _auto_chunksize(n: int, workers: int) -> int:
    # ~8 chunks per worker balances load without paying pickling per row on cheap rows.
    return max(1, min(64, n // (workers * 8)))


def _choose_pool(pool: str | None, fork_safe: bool, workers: int, n: int) -> str:
    if pool is not None:
        return pool
    if workers == 1 or n <= 1:
        return "inline"
    if not fork_safe:
        return "spawn"
    kind = default_pool()
    if kind == "fork" and any(_fork_unsafe_reasons()):
        return "spawn"
    return kind


def _fork_unsafe_reasons() -> list[str]:
    reasons = []
    for check in list(_FORK_CHECKS):
        try:
            reason = check()
        except Exception:  # noqa: BLE001 - a broken check must not stop the run; forking is then unsafe
            reason = f"fork check {getattr(check, '__qualname__', check)!r} failed"
        if reason:
            reasons.append(str(reason))
    return reasons


def _map_local(fn: RowFn, rows: list[dict], fn_kwargs: Mapping[str, Any], *, workers: int | None,
               pool: str | None, fork_safe: bool, batch_fn: BatchFn | None, batch_size: int,
               desc: str | None, progress: bool, chunksize: int | None,
               on_interrupt: Callable[[], None] | None) -> list[dict]:
    n = len(rows)
    workers = default_workers() if workers is None else workers
    kind = _choose_pool(pool, fork_safe, workers, n)
    task = (fn, fn_kwargs, batch_fn, batch_size, get_settings())
    if kind == "spawn" and n:
        _check_spawnable(task)
    results: list[dict | None] = [None] * n
    bar = _progress(n, desc, progress and n > 0)
    try:
        if kind == "inline" or n == 0:
            step = batch_size if batch_fn is not None else 1
            for start in range(0, n, step):
                outs = _run_rows(fn, fn_kwargs, rows[start:start + step], batch_fn, batch_size)
                results[start:start + len(outs)] = outs
                bar.update(len(outs))
        else:
            workers = min(workers, n)
            if chunksize is None:
                chunksize = (min(batch_size, math.ceil(n / workers)) if batch_fn is not None
                             else _auto_chunksize(n, workers))
            pool_args = (kind, workers, threads_per_worker(workers))
            with _fork_parent(pool_args[2]) if kind == "fork" else contextlib.nullcontext():
                _map_pool(task, rows, results, bar, pool_args=pool_args, chunksize=chunksize,
                          on_interrupt=on_interrupt)
    except KeyboardInterrupt:
        if kind == "inline" and on_interrupt is not None:
            on_interrupt()
        raise
    finally:
        bar.close()
    return results  # type: ignore[return-value]


class _SpawnCheck(pickle.Pickler):
    """Pickles a task as spawn will, and refuses what a fresh interpreter could not import."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (types.FunctionType, type)) and getattr(obj, "__module__", None) == "__main__" \
                and not getattr(sys.modules.get("__main__"), "__file__", None):
            raise CIError(f"pool='spawn' cannot send {obj.__qualname__!r}: it is defined in a notebook or "
                          "an interactive session, which a spawned worker cannot import; move it to a module, "
                          "or use pool='inline' (or 'fork' if it survives fork)",
                          code=BAD_PARAMETER, token=obj.__qualname__)
        return NotImplemented


def _check_spawnable(task: tuple) -> None:
    try:
        _SpawnCheck(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL).dump(task)
    except CIError:
        raise
    except Exception as exc:  # noqa: BLE001 - PicklingError, AttributeError (a local function), TypeError...
        raise CIError(f"pool='spawn' needs a module-level row function and picklable options: {exc}",
                      code=BAD_PARAMETER, token="spawn") from None


def _spawnable_hooks(hooks: Sequence[Callable]) -> list[Callable]:
    keep = []
    for fn in hooks:
        try:
            _SpawnCheck(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL).dump(fn)
        except Exception:  # noqa: BLE001 - a hook a fresh interpreter cannot import cannot run there
            print(f"cinb: worker hook {getattr(fn, '__qualname__', fn)!r} is not importable; "
                  "spawned workers run without it", file=sys.stderr)
            continue
        keep.append(fn)
    return keep


def _new_pool(pool_args: tuple) -> ProcessPoolExecutor:
    kind, workers, n_threads = pool_args
    limiters, inits = list(_THREAD_LIMITERS), list(_WORKER_INITS)
    if kind == "spawn":
        limiters, inits = _spawnable_hooks(limiters), _spawnable_hooks(inits)
    context = multiprocessing.get_context(kind)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init,
                               initargs=(n_threads, limiters, inits))


def _map_pool(task: tuple, rows: list[dict], results: list, bar, *, pool_args: tuple, chunksize: int,
              on_interrupt: Callable[[], None] | None) -> None:
    numbered = list(enumerate(rows))
    chunks = [numbered[i:i + chunksize] for i in range(0, len(numbered), chunksize)]
    # Keep only a few chunks queued per worker, so a Ctrl-C has little to cancel and memory stays
    # flat however long the collection is.
    queue = iter(chunks)
    while True:
        crashed = _run_pool_until_done_or_crash(task, queue, results, bar, pool_args=pool_args,
                                                on_interrupt=on_interrupt)
        if not crashed:
            return
        # A worker died (a segfault in a decoder, the OOM killer): the rows it may have been on are
        # re-run one per fresh process, so only the row that kills its process gets an error.
        for chunk in crashed:
            for pos, row in chunk:
                results[pos] = _run_isolated(task, row, pool_args)
                bar.update(1)


def _run_pool_until_done_or_crash(task: tuple, queue, results: list, bar, *, pool_args: tuple,
                                  on_interrupt: Callable[[], None] | None) -> list | None:
    workers = pool_args[1]
    pool = _new_pool(pool_args)
    inflight: dict = {}
    try:
        for chunk in _take(queue, workers * 2):
            inflight[pool.submit(_run_chunk, task, chunk)] = chunk
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
                        inflight[pool.submit(_run_chunk, task, nxt)] = nxt
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


def _run_isolated(task: tuple, row: dict, pool_args: tuple) -> dict:
    kind, _, n_threads = pool_args
    pool = _new_pool((kind, 1, n_threads))
    try:
        return pool.submit(_run_chunk, task, [(0, row)]).result()[0][1]
    except BrokenProcessPool:
        return {"error": "the worker process died on this row (crash or out of memory)"}
    finally:
        pool.shutdown(wait=True)


def _take(it: Iterator, k: int) -> list:
    out = []
    for _ in range(k):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, ValueError):  # already gone, or closed
            proc.kill()


__all__ = ["POOLS", "BatchFn", "RowFn", "default_pool", "default_workers", "empty_frame", "format_error",
           "frame_from_records", "is_dask", "map_rows", "map_values", "register_fork_check",
           "register_thread_limiter", "register_worker_init", "resolve_workers", "run_batch", "run_row",
           "threads_per_worker", "unregister_fork_check", "unregister_thread_limiter", "unregister_worker_init",
           "worker_threads"]
