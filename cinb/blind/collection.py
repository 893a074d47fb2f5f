"""DataFrame entry points: mark a whole collection, check a whole collection.

Both map over the rows of a DataFrame with a ``path`` column (as made by ``cinb.scan``) through
``cinb.collection.map_rows``: a process pool with a progress bar, or Dask. A failing row gets its
message in the ``error`` column instead of stopping the batch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..decode import open_canvas
from ..engine import process
from ..errors import CIError
from ..parallel import map_rows
from ..rules.model import Rule
from .api import DEFAULT_LEVEL, extract
from .stages import BlindEmbed, rule_key


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else round(10 * np.log10(255.0**2 / mse), 2)


def _embed_row(row: dict, *, out_dir: str, text: str | None, text_column: str | None, level: int,
               key: str, overwrite: bool) -> dict:
    src = Path(str(row["path"]))
    value = row[text_column] if text_column else text
    stage = BlindEmbed(type=3, text=str(value), level=level, key=key)
    result = process(str(src), Rule((stage,)))
    out = Path(out_dir) / f"{src.stem}.{result.extension}"
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists (pass overwrite=True)")
    result.save(out)
    before = np.asarray(open_canvas(str(src)).frames[0].convert("RGB"))
    after = np.asarray(result.image.convert("RGB"))
    return {"blind_path": str(out), "blind_text": str(value), "blind_psnr": _psnr(before, after)}


def embed_collection(df: Any, out_dir: str | os.PathLike, *, text: str | None = None,
                     text_column: str | None = None, level: int = DEFAULT_LEVEL, key: str | None = None,
                     overwrite: bool = False, workers: int | None = None, progress: bool = True) -> Any:
    """Mark every image of a collection with a type-3 (text) blind watermark.

    Parameters
    ----------
    df : pandas.DataFrame or dask.dataframe.DataFrame
        A ``path`` column of images.
    out_dir : path
        Where the marked images go (``<stem>.<ext>``, in the source format and quality).
    text : str, optional
        The same text for every image (at most 8 UTF-8 bytes).
    text_column : str, optional
        Instead of ``text``: a column with each image's own text (e.g. an ID).
    level : {0, 1, 2, 3}
        Strength (see :func:`cinb.blind.embed`).
    key : str, optional
        Secret key (extraction needs the same); default the ``blind_key`` setting, as ``watermark/3``
        rules use, else ``"cinb"``.
    overwrite : bool
        Replace existing output files (otherwise the row reports an error).
    workers : int, optional
        Worker processes (default: all CPUs).

    Returns
    -------
    DataFrame
        ``df`` plus ``blind_path``, ``blind_text``, ``blind_psnr`` (dB) and ``error``.

    Examples
    --------
    >>> from cinb.blind.collection import embed_collection
    >>> import pandas as pd, tempfile, numpy as np
    >>> from PIL import Image
    >>> d = tempfile.mkdtemp()
    >>> y, x = np.mgrid[0:256, 0:256]
    >>> Image.fromarray(((x + y) // 2).astype(np.uint8)).convert("RGB").save(f"{d}/a.png")
    >>> out = embed_collection(pd.DataFrame({"path": [f"{d}/a.png", f"{d}/missing.png"]}),
    ...                        f"{d}/out", text="id1", workers=1, progress=False)
    >>> out["blind_text"].tolist()[0], out["error"].isna().tolist()
    ('id1', [True, False])
    """
    if (text is None) == (text_column is None):
        raise CIError("embed_collection needs exactly one of text= or text_column=", token="text")
    key = rule_key() if key is None else key
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    inputs = ["path"] + ([text_column] if text_column else [])
    return map_rows(df, _embed_row, columns={"blind_path": str, "blind_text": str, "blind_psnr": float},
                    inputs=inputs, fn_kwargs={"out_dir": str(out_dir), "text": text, "text_column": text_column,
                                              "level": level, "key": key, "overwrite": overwrite},
                    workers=workers, desc="blind watermark", progress=progress, chunksize=1)


def _check_row(row: dict, *, type: int, image: Any, key: str) -> dict:
    found = extract(str(row["path"]), type=type, image=image, key=key)
    return {"blind_status": found.status, "blind_present": found.present,
            "blind_text": found.text if type == 3 else None, "blind_sync": round(found.sync, 2)}


def check_collection(df: Any, *, type: int = 3, image: Any = None, key: str | None = None,
                     workers: int | None = None, progress: bool = True) -> Any:
    """Look for blind watermarks in every image of a collection (no originals needed).

    Parameters
    ----------
    df : pandas.DataFrame or dask.dataframe.DataFrame
        A ``path`` column of images.
    type : {2, 3}
        Type 3: text marks; type 2: image marks (give ``image``, the watermark that was embedded).
    image : path or PIL.Image.Image, optional
        Type 2: the watermark image.
    key : str, optional
        The key used to embed; default the ``blind_key`` setting (as ``watermark/4`` rules), else ``"cinb"``.

    Returns
    -------
    DataFrame
        ``df`` plus ``blind_status`` (CI's WatermarkStatus 0-100), ``blind_present`` (status > 75),
        ``blind_text`` (type 3), ``blind_sync`` (detection z-score) and ``error``.

    Examples
    --------
    >>> from cinb.blind.collection import check_collection
    >>> import pandas as pd
    >>> out = check_collection(pd.DataFrame({"path": ["/no/such.jpg"]}), workers=1, progress=False)
    >>> out["error"].notna().tolist()
    [True]
    """
    key = rule_key() if key is None else key
    return map_rows(df, _check_row, columns={"blind_status": int, "blind_present": bool, "blind_text": str,
                                             "blind_sync": float},
                    inputs=["path"], fn_kwargs={"type": type, "image": image, "key": key},
                    workers=workers, desc="blind watermark check", progress=progress, chunksize=1)
