"""``cinb.apply``: run one CI rule (or style) over every row, writing outputs atomically, resumably."""

from __future__ import annotations

import os
import string
import time
import uuid
from typing import Any

import pandas as pd

from cinb.collection import journal
from cinb.collection.scan import scan
from cinb.engine import process
from cinb.errors import BAD_PARAMETER, CIError
from cinb.fileio import atomic_path
from cinb.formats import file_extension
from cinb.parallel import format_error, is_dask, map_rows
from cinb.rules import parse_rule
from cinb.styles import expand_styles

#: Columns ``apply`` adds, with their dtypes (also the Dask ``meta``).
APPLY_COLUMNS: dict[str, Any] = {
    "out_path": object, "out_format": object, "out_width": "Int64", "out_height": "Int64",
    "out_bytes": "Int64", "size_ratio": "float64", "seconds": "float64", "status": object,
}

_BUILTIN_FIELDS = {"stem", "ext", "name", "suffix", "parent", "format", "index"}


def apply(df: Any, rule: Any, out_dir: str | os.PathLike, *, name: str = "{stem}.{ext}",
          max_workers: int | None = None, pool: str | None = None, overwrite: bool = False,
          styles: Any = None, progress: bool = True, workers: int | None = None) -> Any:
    """Process every image of a collection with one rule, in parallel, resumably.

    Parameters
    ----------
    df : pandas.DataFrame, dask.dataframe.DataFrame, folder, glob or list of paths
        The collection (a ``path`` column); anything else is scanned first.
    rule : str or cinb.Rule
        A CI processing rule (``imageMogr2/thumbnail/!50p|...``), or with ``styles`` a style:
        ``style/<name>`` or just ``<name>``.
    out_dir : path
        Output folder (created if needed). It also holds the resume journal ``.cinb-apply.jsonl``.
    name : str
        Output file name template, relative to ``out_dir``. Fields: ``{stem}`` (source name without
        extension), ``{ext}`` (output extension: jpg png webp gif bmp avif heic), ``{format}``,
        ``{name}`` (source file name), ``{suffix}`` (source extension), ``{parent}`` (source folder
        name), ``{index}`` (row label), and any column of ``df`` (e.g. ``{camera}``). Sub-folders
        are allowed (``{parent}/{stem}.{ext}``) but must stay inside ``out_dir``.
    max_workers : int, optional
        Worker processes (default: all CPUs). Ignored for Dask.
    pool : {"inline", "fork", "spawn"}, optional
        Where rows run (``cinb.parallel``): default inline for one worker or one row, else fork on
        Linux. Spawn starts fresh interpreters (slower to start; for libraries that do not survive
        fork).
    overwrite : bool
        Re-process every row and replace outputs that a previous ``apply`` wrote. Files cinb did not
        write are never replaced, and an input is never written over, whatever this says.
    styles : cinb.Styles, optional
        Styles for ``style/<name>`` rules.
    progress : bool
        Show a tqdm progress bar.
    workers : int, optional
        Alias of ``max_workers``.

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        ``df`` plus ``out_path``, ``out_format``, ``out_width``, ``out_height``, ``out_bytes``,
        ``size_ratio`` (output / input bytes), ``seconds``, ``status`` (``done``, ``skipped`` when an
        earlier run already wrote this output with the same rule and name, or ``error``) and
        ``error`` (the message, else None). A failing row never stops the others.

    Notes
    -----
    Each output is written to a hidden temporary file and renamed into place, so readers never see
    a partial file. Ctrl-C stops handing out rows, lets the running ones finish, then raises
    ``KeyboardInterrupt``; run ``apply`` again to resume (finished rows are skipped).

    Examples
    --------
    >>> from cinb.collection.apply import apply
    >>> import tempfile, os
    >>> from PIL import Image
    >>> src = tempfile.mkdtemp(); out = tempfile.mkdtemp()
    >>> Image.new("RGB", (400, 300), "teal").save(os.path.join(src, "a.png"))
    >>> res = apply(src, "imageMogr2/thumbnail/100x/format/jpg", out, progress=False)
    >>> res[["out_format", "out_width", "out_height", "status"]].values.tolist()
    [['jpeg', 100, 75, 'done']]
    >>> apply(src, "imageMogr2/thumbnail/100x/format/jpg", out, progress=False)["status"].tolist()
    ['skipped']
    """
    if not isinstance(df, pd.DataFrame) and not is_dask(df):
        df = scan(df, progress=progress)
    if "path" not in df.columns:
        raise CIError("apply needs a table with a 'path' column (see cinb.scan)", code=BAD_PARAMETER, token="path")
    if styles is not None and isinstance(rule, str) and rule in styles:
        rule = f"style/{rule}"  # a bare style name
    parsed = expand_styles(parse_rule(rule), styles)  # a bad rule fails the call, not every row
    fields = _template_fields(name, df.columns)
    out_dir = os.path.abspath(os.fspath(out_dir))
    os.makedirs(out_dir, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    inputs = ["path"] + sorted(f for f in fields if f in df.columns and f != "path")
    if "index" in fields and "index" not in df.columns:
        if is_dask(df):
            df = df.map_partitions(_with_index_column, meta=_with_index_column(df._meta))
        else:
            df = _with_index_column(df)
        inputs.append("__index")
    kwargs = {"rule": parsed, "rule_key": str(parsed), "styles": styles, "out_dir": out_dir, "name": name,
              "overwrite": bool(overwrite), "token": token, "protected": None}
    if not is_dask(df):
        kwargs["protected"] = _inputs_inside(df["path"], out_dir)

    def remove_own_partials() -> None:
        remove_partials(out_dir, token)

    result = map_rows(df, apply_row, columns=APPLY_COLUMNS, inputs=inputs, fn_kwargs=kwargs,
                      max_workers=max_workers, workers=workers, pool=pool, desc="apply", progress=progress,
                      chunksize=1, on_interrupt=remove_own_partials)
    if "__index" in inputs:
        result = result.drop(columns="__index")
    return result


def _with_index_column(df: pd.DataFrame) -> pd.DataFrame:
    # {index} in a name template: the row label, as text.
    return df.assign(__index=pd.Series(df.index.astype(str), index=df.index, dtype=object))


def _template_fields(name: str, columns) -> set[str]:
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(name) if f}
    except ValueError as exc:
        raise CIError(f"bad output name template {name!r}: {exc}", code=BAD_PARAMETER, token=name) from None
    unknown = {f.split(".")[0].split("[")[0] for f in fields} - _BUILTIN_FIELDS - set(columns)
    if unknown:
        raise CIError(f"output name template {name!r} uses unknown field(s) {sorted(unknown)}; "
                      f"known: {sorted(_BUILTIN_FIELDS)} and the table's columns",
                      code=BAD_PARAMETER, token=name)
    if os.path.isabs(name):
        raise CIError(f"output name template {name!r} must be relative to out_dir", code=BAD_PARAMETER, token=name)
    return fields


def _inputs_inside(paths: pd.Series, out_dir: str) -> frozenset[str]:
    # Inputs that live under out_dir: the only ones an output could land on.
    prefix = os.path.realpath(out_dir) + os.sep
    real = (os.path.realpath(str(p)) for p in paths)
    return frozenset(p for p in real if p.startswith(prefix))


def remove_partials(out_dir: str, token: str) -> int:
    """Delete the temporary files of run ``token`` (after workers were killed); returns how many.

    Examples
    --------
    >>> from cinb.collection.apply import remove_partials
    >>> remove_partials("/nonexistent", "abc")
    0
    """
    removed = 0
    suffix = f".{token}.part"
    for folder, _, files in os.walk(out_dir):
        for f in files:
            if f.endswith(suffix):
                try:
                    os.unlink(os.path.join(folder, f))
                    removed += 1
                except OSError:
                    pass
    return removed


def output_name(template: str, row: dict, fmt: str) -> str:
    """Fill the name template for one row and output format.

    Examples
    --------
    >>> from cinb.collection.apply import output_name
    >>> output_name("{parent}/{stem}_small.{ext}", {"path": "/photos/trip/IMG_1.JPG"}, "jpeg")
    'trip/IMG_1_small.jpg'
    """
    path = str(row["path"])
    base = os.path.basename(path)
    stem, suffix = os.path.splitext(base)
    values = {k: v for k, v in row.items() if k not in ("path", "__index")}
    values.update(stem=stem, ext=file_extension(fmt), format=fmt, name=base, suffix=suffix.lstrip("."),
                  parent=os.path.basename(os.path.dirname(path)), index=row.get("__index", ""))
    return template.format(**values)


def apply_row(row: dict, **kwargs) -> dict:
    """Process one row and write its output (the per-row worker of :func:`apply`).

    A failure is returned as ``{"status": "error", "error": message}``, never raised.
    """
    try:
        return _apply_row(row, **kwargs)
    except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
        return {"status": "error", "error": format_error(exc)}


def _apply_row(row: dict, *, rule, rule_key: str, styles, out_dir: str, name: str, overwrite: bool,
               token: str, protected: frozenset[str] | None) -> dict:
    src = os.path.abspath(str(row["path"]))
    st = os.stat(src)  # FileNotFoundError -> "no such file" (it vanished after the scan)
    entries, written = journal.snapshot(out_dir, token)
    key = journal.entry_key(src, rule_key, name)
    done = entries.get(key)
    if done is not None and not overwrite and _still_valid(done, st):
        return _outputs(done, st, status="skipped", seconds=0.0)
    t0 = time.perf_counter()
    result = process(src, rule, styles=styles)
    target = os.path.abspath(os.path.join(out_dir, output_name(name, row, result.format)))
    if not target.startswith(out_dir + os.sep):
        raise CIError(f"output name {target!r} is outside {out_dir}", code=BAD_PARAMETER, token=name)
    _refuse_inputs(src, target, protected)
    _write(target, result.data, token=token, overwrite=overwrite, written=written)
    seconds = time.perf_counter() - t0
    entry = {"src": src, "rule": rule_key, "name": name, "out": target, "bytes": len(result.data),
             "format": result.format, "width": result.width, "height": result.height,
             "src_size": st.st_size, "src_mtime_ns": st.st_mtime_ns, "seconds": round(seconds, 4)}
    journal.append(out_dir, entry)
    return _outputs(entry, st, status="done", seconds=seconds)


def _still_valid(entry: dict, st: os.stat_result) -> bool:
    # Skip only when the source is unchanged and the output is still the file we wrote.
    if entry.get("src_size") != st.st_size or entry.get("src_mtime_ns") != st.st_mtime_ns:
        return False
    try:
        return os.path.getsize(entry["out"]) == entry["bytes"]
    except OSError:
        return False


def _outputs(entry: dict, st: os.stat_result, *, status: str, seconds: float) -> dict:
    return {"out_path": entry["out"], "out_format": entry["format"], "out_width": entry["width"],
            "out_height": entry["height"], "out_bytes": entry["bytes"],
            "size_ratio": entry["bytes"] / st.st_size if st.st_size else None,
            "seconds": seconds, "status": status}


def _refuse_inputs(src: str, target: str, protected: frozenset[str] | None) -> None:
    real = os.path.realpath(target)
    if real == os.path.realpath(src) or (protected and real in protected):
        raise CIError(f"refusing to write over an input: {target}", code=BAD_PARAMETER, token=target)


def _write(target: str, data: bytes, *, token: str, overwrite: bool, written: set[str]) -> None:
    """Write through a temp file tagged with the run (see remove_partials); never clobber a file cinb
    did not write: without ``overwrite`` the file is linked into place, so a concurrent writer loses
    cleanly."""
    try:
        with atomic_path(target, replace=overwrite, tag=token) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(data)
            if os.path.lexists(target) and not (overwrite and target in written):
                raise CIError(_exists_message(target, overwrite), code=BAD_PARAMETER, token=target)
    except FileExistsError:  # the target appeared meanwhile, or two rows of this run share its name
        raise CIError(_exists_message(target, overwrite), code=BAD_PARAMETER, token=target) from None


def _exists_message(target: str, overwrite: bool) -> str:
    if overwrite:
        return (f"output exists and was not written by cinb.apply (or two rows share this name): {target}; "
                "cinb never replaces such files: delete it or change name=")
    return (f"output exists: {target} (another rule, an earlier name template, or two rows with the same "
            "name: pass overwrite=True to redo cinb's outputs, or use {parent}/{index} in name=)")
