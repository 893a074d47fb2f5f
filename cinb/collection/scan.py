"""``cinb.scan``: a folder, glob or list of images -> one DataFrame row per file, from headers only."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import datetime
from typing import Any

import pandas as pd

from cinb.collection.sources import list_paths
from cinb.errors import BAD_PARAMETER, UNSUPPORTED_TYPE, CIError, as_cierror
from cinb.header import check_header, read_header
from cinb.parallel import is_dask, map_rows, resolve_workers

#: Columns ``scan`` adds, with their dtypes (also the Dask ``meta``).
SCAN_COLUMNS: dict[str, Any] = {
    "name": object, "format": object, "width": "Int64", "height": "Int64", "mode": object,
    "frames": "Int64", "bytes": "Int64", "mtime": "datetime64[ns]", "orientation": "Int64",
    "has_icc": "boolean", "has_exif": "boolean", "captured": "datetime64[ns]", "camera": object,
}

# A header read costs about as much as shipping its row between processes, so a pool only pays
# off on big folders (and many cores); benchmarks/bench_scan.py measures both.
_POOL_MIN_FILES = 20000


def scan(source: Any, *, recursive: bool = True, md5: bool = False, max_workers: int | None = None,
         pool: str | None = None, progress: bool = True, workers: int | None = None) -> Any:
    """One row per image file, read from headers only (no pixel decoding).

    Parameters
    ----------
    source : folder, glob, path, list of paths, DataFrame or dask.dataframe.DataFrame
        What to scan. A folder gives its files with image extensions (hidden names skipped); a
        DataFrame (pandas or Dask) is re-scanned from its ``path`` column, keeping its other columns.
    recursive : bool
        Walk sub-folders / let ``**`` in a glob cross folders.
    md5 : bool
        Also hash every file (reads whole files: much slower than the header scan).
    max_workers : int, optional
        Processes for the header reads. Default: one process below 20,000 files (a header read is
        cheaper than shipping its row between processes), all CPUs above. Ignored for Dask.
    pool : {"inline", "fork", "spawn"}, optional
        Where the header reads run (``cinb.parallel``): default inline for one worker, else fork on
        Linux. ``spawn`` suits a process that holds threads or models that do not survive a fork.
    progress : bool
        Show a tqdm progress bar.
    workers : int, optional
        Alias of ``max_workers``.

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        Columns ``path``, ``name``, ``format`` (CI names: jpeg png gif webp bmp tiff avif heif),
        ``width``, ``height``, ``mode`` (Pillow mode: RGB, L, CMYK, P, RGBA...), ``frames``,
        ``bytes``, ``mtime``, ``orientation`` (EXIF value, missing without EXIF), ``has_icc``,
        ``has_exif``, ``captured`` (EXIF DateTimeOriginal, else DateTime), ``camera`` (EXIF
        make and model), ``md5`` (only with ``md5=True``) and ``error``: a file that is missing,
        not an image, corrupt or over CI's limits gets a message there instead of stopping the scan.
        Over-limit files keep their header facts.

    Examples
    --------
    >>> from cinb.collection.scan import scan
    >>> import tempfile, os
    >>> from PIL import Image
    >>> folder = tempfile.mkdtemp()
    >>> Image.new("RGB", (64, 48)).save(os.path.join(folder, "a.jpg"))
    >>> open(os.path.join(folder, "empty.png"), "wb").close()
    >>> df = scan(folder, progress=False)
    >>> df[["name", "format", "width", "height"]].values.tolist()
    [['a.jpg', 'jpeg', 64, 48], ['empty.png', None, <NA>, <NA>]]
    >>> df["error"].iloc[1].startswith("empty file")
    True
    """
    columns = dict(SCAN_COLUMNS)
    if md5:
        columns["md5"] = object
    if is_dask(source):
        if "path" not in source.columns:
            raise CIError("the Dask DataFrame has no 'path' column", code=BAD_PARAMETER, token="path")
        return map_rows(source, scan_row, columns=columns, inputs=["path"], fn_kwargs={"md5": md5})
    paths = list_paths(source, recursive=recursive)
    if isinstance(source, pd.DataFrame):  # keep the table's own columns (labels...), refresh the rest
        frame = source.assign(path=pd.Series(paths, index=source.index, dtype=object))
    else:
        frame = pd.DataFrame({"path": pd.Series(paths, dtype=object)})
    max_workers = resolve_workers(workers, max_workers)
    if max_workers is None and pool is None:
        max_workers = 1 if len(paths) < _POOL_MIN_FILES else None
    return map_rows(frame, scan_row, columns=columns, inputs=["path"], fn_kwargs={"md5": md5},
                    max_workers=max_workers, pool=pool, desc="scan", progress=progress, chunksize=256)


def scan_row(row: dict, *, md5: bool = False) -> dict:
    """Scan one file (the per-row worker of :func:`scan`); errors are returned, never raised.

    Examples
    --------
    >>> from cinb.collection.scan import scan_row
    >>> scan_row({"path": "/no/such/file.jpg"})["error"]
    'no such file: /no/such/file.jpg (X-ErrNo -113)'
    """
    path = os.fspath(row["path"])
    out: dict[str, Any] = {"name": os.path.basename(path)}
    try:
        st = os.stat(path)
    except OSError as exc:
        return {**out, "error": str(as_cierror(exc, path))}
    if stat.S_ISDIR(st.st_mode):
        return {**out, "error": _error(f"is a directory, not an image: {path}", path)}
    out["bytes"] = st.st_size
    out["mtime"] = datetime.fromtimestamp(st.st_mtime)
    if not stat.S_ISREG(st.st_mode):
        return {**out, "error": _error(f"not a regular file: {path}", path)}
    try:
        header = read_header(path, check=False)
    except CIError as exc:
        return {**out, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - vanished between stat and open, unreadable...: a CI code all the same
        return {**out, "error": str(as_cierror(exc, path))}
    out.update(format=header.format, width=header.width, height=header.height, mode=header.mode,
               frames=header.frames, orientation=header.exif_orientation, has_icc=header.has_icc,
               has_exif=header.has_exif, captured=header.captured, camera=header.camera)
    if md5:
        out["md5"] = file_md5(path)
    try:
        check_header(header, path, token=path)
    except CIError as exc:
        out["error"] = str(exc)
    return out


def _error(message: str, path: str) -> str:
    return str(CIError(message, code=UNSUPPORTED_TYPE, token=path))


def file_md5(path: str) -> str:
    """Lower-case hex MD5 of a file's bytes (what CI's imageInfo reports).

    Examples
    --------
    >>> from cinb.collection.scan import file_md5
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "abc.bin"
    >>> p.write_bytes(b"abc")
    3
    >>> file_md5(p)
    '900150983cd24fb0d6963f7d28e17f72'
    """
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
