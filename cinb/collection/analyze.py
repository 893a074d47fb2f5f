"""``cinb.analyze``: add analysis columns to a collection (one decode per image, in parallel)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from cinb.collection.analyses import Analysis, ImageContext, get_analysis, resolve
from cinb.collection.scan import scan
from cinb.errors import BAD_PARAMETER, CIError, as_cierror
from cinb.parallel import empty_frame, format_error, is_dask, map_rows


def analyze(df: Any, *names: str, max_workers: int | None = None, pool: str | None = None,
            options: Mapping[str, Mapping] | None = None, batch_size: int = 16, progress: bool = True,
            workers: int | None = None) -> Any:
    """Add the columns of the named analyses to a collection.

    Parameters
    ----------
    df : pandas.DataFrame, dask.dataframe.DataFrame, folder, glob or list of paths
        The collection (a ``path`` column); anything else is scanned first.
    *names : str
        Analyses from the registry (``cinb.collection.analyses.list_analyses()``): ``image_info``,
        ``exif``, ``image_ave``, ``phash``, ``dhash``, ``pixel_hash``, ``sharpness`` (``blur``),
        ``brightness`` (``dark``/``light``), ``entropy`` (``low_information``), ``colorfulness``
        (``colourfulness``), ``grayscale``, ``aspect`` (``odd_aspect``), ``dims``, ``odd_size``,
        ``duplicates``, ``near_duplicates``, or the preset ``issues``.
    max_workers : int, optional
        Worker processes for the per-image pass (default: all CPUs). Ignored for Dask.
    pool : {"inline", "fork", "spawn"}, optional
        Where the per-image pass runs (``cinb.parallel``): default inline for one worker or one
        image, else fork on Linux, or spawn when an analysis is not fork-safe (``fork`` is then
        refused). Spawn needs analyses defined in importable modules, not in a notebook.
    options : mapping, optional
        Per-analysis options, e.g. ``{"near_duplicates": {"radius": 8}, "brightness": {"dark_below": 40}}``.
    batch_size : int
        Images per call of an analysis that has a ``batch_fn`` (models); others run image by image.
    progress : bool
        Show a tqdm progress bar.
    workers : int, optional
        Alias of ``max_workers``.

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        ``df`` plus the analyses' columns. A row whose image cannot be read (or where an analysis
        fails) gets missing values and a message in ``error``; the other rows are unaffected.

    Raises
    ------
    CIError
        -103 for an unknown analysis or option, a bad ``pool``/``max_workers``/``batch_size``, or
        ``pool="fork"`` with an analysis that is not fork-safe.

    Notes
    -----
    Each image is decoded once, at 512 px on the long side (JPEG shrink-on-load), and every
    requested per-image analysis reads that one decode; ``pixel_hash`` (for ``duplicates``) adds a
    full decode. Group analyses (``duplicates``, ``near_duplicates``, ``odd_size``) run afterwards
    on the whole table. Requirements already present as columns are reused, not recomputed.

    Examples
    --------
    >>> from cinb.collection.analyze import analyze
    >>> import tempfile, os
    >>> from PIL import Image
    >>> folder = tempfile.mkdtemp()
    >>> Image.new("RGB", (64, 48), (5, 5, 5)).save(os.path.join(folder, "night.png"))
    >>> Image.new("RGB", (64, 48), (5, 5, 5)).save(os.path.join(folder, "copy.png"))
    >>> out = analyze(folder, "dark", "duplicates", progress=False)
    >>> out[["name", "dark", "duplicate_group"]].values.tolist()
    [['copy.png', True, 0], ['night.png', True, 0]]
    """
    if not names:
        raise CIError("analyze needs at least one analysis name (see list_analyses())", code=BAD_PARAMETER)
    if not isinstance(df, pd.DataFrame) and not is_dask(df):
        df = scan(df, progress=progress)
    if "path" not in df.columns:
        raise CIError("analyze needs a table with a 'path' column (see cinb.scan)", code=BAD_PARAMETER, token="path")
    image, group = resolve(names, existing_columns=df.columns)
    options = dict(options or {})
    plan = [(a, _options(a, options)) for a in image]
    _check_unused(options, image + group)
    if plan:
        columns: dict[str, Any] = {}
        for analysis, _ in plan:
            columns.update(analysis.columns)
        unsafe = [a.name for a, _ in plan if not a.fork_safe]
        if pool == "fork" and unsafe:
            raise CIError(f"pool='fork' refused: analysis {unsafe[0]!r} does not survive fork "
                          "(use pool='spawn' or 'inline')", code=BAD_PARAMETER, token=unsafe[0])
        batched = any(a.batch_fn is not None for a, _ in plan)
        df = map_rows(df, analyze_row, columns=columns, inputs=["path"], fn_kwargs={"plan": plan},
                      max_workers=max_workers, workers=workers, pool=pool, fork_safe=not unsafe,
                      batch_fn=analyze_batch if batched else None, batch_size=batch_size,
                      desc="analyze", progress=progress)
    for analysis in group:
        df = _run_group(df, analysis, _options(analysis, options))
    return df


def _options(analysis: Analysis, options: Mapping[str, Mapping]) -> dict:
    given = dict(options.get(analysis.name, {}))
    unknown = set(given) - set(analysis.defaults)
    if unknown:
        raise CIError(f"analysis {analysis.name!r} has no option(s) {sorted(unknown)}; "
                      f"it takes {sorted(analysis.defaults) or 'none'}", code=BAD_PARAMETER, token=analysis.name)
    merged = {**analysis.defaults, **given}
    if given and analysis.check_options is not None:
        analysis.check_options(merged)
    return merged


def _check_unused(options: Mapping[str, Mapping], used: list[Analysis]) -> None:
    names = {a.name for a in used}
    for key in options:
        if get_analysis(key).name not in names:
            raise CIError(f"options given for {key!r}, which this call does not run", code=BAD_PARAMETER, token=key)


def analyze_row(row: dict, *, plan: list[tuple[Analysis, dict]]) -> dict:
    """Run every per-image analysis of ``plan`` on one image, sharing one :class:`ImageContext`.

    Examples
    --------
    >>> from cinb.collection.analyze import analyze_row
    >>> from cinb.collection.analyses import get_analysis
    >>> analyze_row({"path": "/missing.jpg"}, plan=[(get_analysis("phash"), {})])["error"]
    'no such file: /missing.jpg (X-ErrNo -113)'
    """
    ctx = ImageContext(str(row["path"]))
    out: dict = {}
    errors: list[str] = []
    for analysis, opts in plan:
        try:
            out.update(analysis.run(ctx, **opts))
        except Exception as exc:  # noqa: BLE001 - one analysis failing leaves the others' columns
            _add_error(errors, exc, ctx.label)
    out["error"] = "; ".join(errors) or None
    return out


def analyze_batch(rows: list[dict], *, plan: list[tuple[Analysis, dict]]) -> list[dict]:
    """:func:`analyze_row` for a batch of rows: analyses with a ``batch_fn`` see the whole batch at once.

    A ``batch_fn`` that raises (or returns a wrong count) is retried image by image, so only the
    images that fail alone get an error; an exception instance it returns is that image's error.

    Examples
    --------
    >>> from cinb.collection.analyze import analyze_batch
    >>> from cinb.collection.analyses import get_analysis
    >>> [r["error"] for r in analyze_batch([{"path": "/a.jpg"}, {"path": "/b.jpg"}],
    ...                                    plan=[(get_analysis("phash"), {})])]
    ['no such file: /a.jpg (X-ErrNo -113)', 'no such file: /b.jpg (X-ErrNo -113)']
    """
    contexts = [ImageContext(str(row["path"])) for row in rows]
    outs: list[dict] = [{} for _ in rows]
    errors: list[list[str]] = [[] for _ in rows]
    for analysis, opts in plan:
        results = _try_batch(analysis, contexts, opts)
        for i, ctx in enumerate(contexts):
            try:
                value = results[i] if results is not None else analysis.run(ctx, **opts)
                if isinstance(value, BaseException):
                    raise value
                outs[i].update(value)
            except Exception as exc:  # noqa: BLE001 - one analysis failing leaves the others' columns
                _add_error(errors[i], exc, ctx.label)
    for out, errs in zip(outs, errors, strict=True):
        out["error"] = "; ".join(errs) or None
    return outs


def _try_batch(analysis: Analysis, contexts: list[ImageContext], opts: dict) -> list | None:
    if analysis.batch_fn is None or len(contexts) < 2:
        return None
    try:
        results = list(analysis.batch_fn(contexts, **opts))
    except Exception:  # noqa: BLE001 - retried image by image by the caller: only the bad images get the error
        return None
    return results if len(results) == len(contexts) else None


def _add_error(errors: list[str], exc: BaseException, label: str) -> None:
    message = format_error(as_cierror(exc, label))  # every error cell carries a CI code (issue 12)
    if message not in errors:
        errors.append(message)


def _run_group(df: Any, analysis: Analysis, opts: dict) -> Any:
    if not is_dask(df):
        new = analysis.fn(df, **opts)
        keep = df.drop(columns=[c for c in new.columns if c in df.columns])
        return pd.concat([keep, new[list(analysis.columns)]], axis=1)
    return _run_group_dask(df, analysis, opts)


def _group_inputs(df: Any, analysis: Analysis) -> list[str]:
    cols = ["path"]
    for req in analysis.requires:
        cols += [c for c in get_analysis(req).columns if c not in cols]
    return [c for c in cols if c in df.columns]


def _run_group_dask(ddf: Any, analysis: Analysis, opts: dict) -> Any:
    """Group step on Dask, still lazy: one task gathers the (small) input columns of every partition,
    runs the group function, and every partition joins the answer back by path."""
    import dask

    parts = ddf[_group_inputs(ddf, analysis)].to_delayed()
    answer = dask.delayed(_group_by_path)(parts, analysis.fn, opts, list(analysis.columns))
    meta = ddf._meta.drop(columns=[c for c in analysis.columns if c in ddf.columns])
    meta = pd.concat([meta, empty_frame(analysis.columns, index=meta.index)], axis=1)
    return ddf.map_partitions(_join_by_path, answer, list(analysis.columns), meta=meta)


def _group_by_path(parts: list[pd.DataFrame], fn, opts: dict, columns: list[str]) -> pd.DataFrame:
    whole = pd.concat(parts, ignore_index=True)
    result = fn(whole, **opts)[columns]
    result.index = whole["path"].to_numpy()
    return result[~result.index.duplicated()]


def _join_by_path(part: pd.DataFrame, answer: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    looked_up = answer.reindex(part["path"].to_numpy())
    looked_up.index = part.index
    keep = part.drop(columns=[c for c in columns if c in part.columns])
    return pd.concat([keep, looked_up[columns]], axis=1)
