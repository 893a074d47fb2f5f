"""``sweep``: encode every image of a collection in several formats and qualities, and measure.

One row per (image, format, effort, quality): bytes, bits per pixel, PSNR, SSIM, SSIMULACRA2, encode
and decode time, and the CI rule for the setting. Besides CI's formats, a sweep can show cinb's
variants beyond CI's grammar, so the frontier can be seen on one's own photos: encoder ``efforts`` for
WebP and AVIF, and ``avif10`` / ``heif10`` (10 bits per sample; avif10 needs imagecodecs). ``yjpeg`` is jpegli with
Huffman tables optimised losslessly (:mod:`cinb.codecs.jpegcoef`). Images run in parallel through
``cinb.collection.map_values`` (process pool, progress bar, a failing image becomes an ``error`` row);
each image's reference side of the metrics is computed once for all its encodings.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image

from ..codecs.options import DEFAULT_EFFORT, check_effort
from ..decode import open_canvas
from ..errors import BAD_PARAMETER, CIError
from ..parallel import map_values
from .encoders import EFFORT_FORMATS, LOSSY, TEN_BIT, check_format, rule_for, timed_roundtrip
from .guetzli import GuetzliSlowWarning
from .metrics import Reference, get_metric

DEFAULT_FORMATS = ("jpeg", "webp", "avif")
DEFAULT_QUALITIES = (30, 40, 50, 60, 70, 80, 85, 90)
DEFAULT_METRICS = ("psnr", "ssim", "ssimulacra2")

#: Columns of a sweep table, in order.
SWEEP_COLUMNS = ["path", "name", "format", "variant", "effort", "quality", "bytes", "bpp", "source_bytes",
                 "source_format", "source_quality", "width", "height", "psnr", "ssim", "ssimulacra2", "encode_ms",
                 "decode_ms", "encode_cpu_ms", "rule", "error"]


def load_reference(src: Any, *, max_side: int | None = None) -> tuple[Image.Image, dict]:
    """Decode ``src`` as cinb does (CMYK, 16-bit and palettes normalised), optionally downscaled.

    Returns the first frame and facts about the source (bytes, format, quality).
    """
    canvas = open_canvas(src)
    frame = canvas.frames[0]
    if max_side and max(frame.size) > max_side:
        frame = frame.copy()
        frame.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    facts = {"source_bytes": len(canvas.source_bytes) if canvas.source_bytes is not None else None,
             "source_format": canvas.source_format, "source_quality": canvas.source_quality}
    return frame, facts


def variant_name(fmt: str, effort: int | None) -> str:
    """The label of a (format, effort) setting: the format, plus ``e<k>`` at a non-default effort.

    Examples
    --------
    >>> from cinb.compression.sweep import variant_name
    >>> variant_name("avif", 4), variant_name("avif", 6), variant_name("jpeg", None)
    ('avif', 'avif e6', 'jpeg')
    """
    return fmt if effort is None or effort == DEFAULT_EFFORT else f"{fmt} e{effort}"


def sweep_one(src: Any, *, formats: Sequence[str] = DEFAULT_FORMATS, qualities: Sequence[int] = DEFAULT_QUALITIES,
              metrics: Sequence[str] = DEFAULT_METRICS, max_side: int | None = None,
              efforts: Sequence[int | None] = (None,)) -> list[dict]:
    """The sweep rows of one image (see :func:`sweep`)."""
    frame, facts = load_reference(src, max_side=max_side)
    ref = Reference(frame)
    w, h = frame.size
    name = Path(src).name if isinstance(src, (str, os.PathLike)) else None
    rows = []
    for fmt, effort in _settings(formats, efforts):
        for q in (qualities if fmt in LOSSY else (None,)):
            data, decoded, enc_ms, dec_ms, enc_cpu = timed_roundtrip(frame, fmt, q, effort=effort)
            if decoded.size != (w, h):
                raise CIError(f"{fmt} decoded to {decoded.size}, expected {(w, h)}", code=BAD_PARAMETER)
            scores = ref.score(decoded, metrics)
            force = facts["source_quality"] is not None and q is not None and q > facts["source_quality"]
            rows.append({"name": name, "format": fmt, "variant": variant_name(fmt, effort), "effort": effort,
                         "quality": q, "bytes": len(data),
                         "bpp": 8.0 * len(data) / (w * h), **facts, "width": w, "height": h, **scores,
                         "encode_ms": enc_ms, "decode_ms": dec_ms, "encode_cpu_ms": enc_cpu,
                         "rule": rule_for(fmt, q, force=force)})
    return rows


def _settings(formats: Sequence[str], efforts: Sequence[int | None]) -> list[tuple[str, int | None]]:
    """(format, effort) pairs: each effort for the formats that take one (None = default effort 4)."""
    out: list[tuple[str, int | None]] = []
    for fmt in formats:
        if fmt in EFFORT_FORMATS:
            levels = sorted({DEFAULT_EFFORT if e is None else e for e in efforts})
            out += [(fmt, e) for e in levels]
        else:
            out.append((fmt, None))
    return out


def _sweep_row(row: dict, **kwargs) -> dict:
    return {"rows": sweep_one(row["src"], **kwargs)}


def _sources(data: Any, path_column: str) -> list:
    if isinstance(data, pd.DataFrame):
        if path_column not in data.columns:
            raise CIError(f"sweep needs a {path_column!r} column (got {list(data.columns)})", code=BAD_PARAMETER,
                          token=path_column)
        return list(data[path_column])
    if isinstance(data, (str, os.PathLike, bytes, Image.Image)):
        return [data]
    return list(data)


def sweep(data: Any, formats: Sequence[str] = DEFAULT_FORMATS, qualities: Sequence[int] = DEFAULT_QUALITIES,
          metrics: Sequence[str] = DEFAULT_METRICS, *, max_side: int | None = None, workers: int | None = None,
          progress: bool = True, path_column: str = "path", efforts: Sequence[int | None] = (None,)) -> pd.DataFrame:
    """Measure bytes and quality of every image at every format x quality.

    Parameters
    ----------
    data : DataFrame, path, PIL image, or a list of them
        A collection (``path`` column, e.g. from ``cinb.scan``) or images.
    formats : sequence of str
        From ``cinb.compression.FORMATS``: jpeg (libjpeg, ``format/jpg``), yjpeg (jpegli, optimised
        Huffman tables), webp, avif, avif10 (10-bit AVIF: cinb only, needs imagecodecs), heif, heif10
        (10-bit HEIF: cinb only), png
        (lossless: one row per image), guetzli (very slow).
    qualities : sequence of int
        Qualities 0-100 to try for each lossy format.
    metrics : sequence of str
        Any of ``psnr``, ``ssim``, ``ssimulacra2``.
    max_side : int, optional
        Downscale larger images to this many pixels on the long side first (faster tuning; the
        relative ranking of settings is usually kept, absolute bytes are not).
    workers : int, optional
        Processes (default all CPUs; 1 runs here).
    progress : bool
        Progress bar.
    path_column : str
        The DataFrame column with file paths.
    efforts : sequence of int or None
        Encoder efforts 0-6 for webp, avif and avif10 (:func:`cinb.codecs.options.check_effort`: higher
        is slower and smaller; None is the default, 4). Each is a separate setting (``variant`` column,
        e.g. ``avif e6``). Not part of CI's grammar: the ``rule`` column is CI's rule at CI's own
        effort, so :func:`cinb.compression.recommend` considers only the default effort.

    Returns
    -------
    pandas.DataFrame
        One row per (image, format, effort, quality): ``path``, ``name``, ``format``, ``variant``
        (format and non-default effort), ``effort`` (None for formats without one), ``quality``, ``bytes``,
        ``bpp`` (bits per pixel), ``source_bytes``, ``source_format``, ``source_quality``, ``width``,
        ``height``, one column per metric, ``encode_ms``, ``decode_ms`` (wall time), ``encode_cpu_ms``
        (process CPU time of the encode, all threads), ``rule`` (the CI rule for the setting) and
        ``error`` (an image that fails gives one row with the message).

    Examples
    --------
    >>> from cinb.compression.sweep import sweep
    >>> from PIL import Image
    >>> img = Image.radial_gradient("L").convert("RGB").resize((64, 48))
    >>> t = sweep(img, formats=["jpeg", "webp"], qualities=[50, 90], metrics=["psnr"], workers=1, progress=False)
    >>> t[["format", "quality"]].values.tolist()
    [['jpeg', 50], ['jpeg', 90], ['webp', 50], ['webp', 90]]
    """
    formats = [check_format(f) for f in formats]
    efforts = [check_effort(e) for e in efforts]
    if not efforts:
        raise CIError("efforts must name at least one effort (None: the default)", code=BAD_PARAMETER,
                      token="efforts=[]")
    metrics = [get_metric(m).name for m in metrics]
    qualities = [int(q) for q in qualities]
    bad_q = [q for q in qualities if not 0 <= q <= 100]
    if bad_q:
        raise CIError(f"qualities must be 0-100, got {bad_q}", code=BAD_PARAMETER, token=str(bad_q[0]))
    sources = _sources(data, path_column)
    if "guetzli" in formats:
        warnings.warn(f"Guetzli is slow (about a minute per megapixel per core, per quality): {len(sources)} "
                      f"images x {len(qualities)} qualities", GuetzliSlowWarning, stacklevel=2)
    items = [{"src": str(s) if isinstance(s, os.PathLike) else s} for s in sources]
    outs = map_values(items, _sweep_row, fn_kwargs={"formats": formats, "qualities": qualities, "metrics": metrics,
                                                     "max_side": max_side, "efforts": efforts},
                      workers=workers, desc="sweep", progress=progress, chunksize=1)
    records = []
    for src, out in zip(sources, outs, strict=True):
        path = str(src) if isinstance(src, (str, os.PathLike)) else None
        if out.get("error"):
            records.append({"path": path, "name": Path(path).name if path else None, "error": out["error"]})
            continue
        for r in out["rows"]:
            records.append({"path": path, **r, "error": None})
    table = pd.DataFrame.from_records(records, columns=SWEEP_COLUMNS)
    table = table.drop(columns=[m for m in ("psnr", "ssim", "ssimulacra2") if m not in metrics])
    for col in ("effort", "quality", "bytes", "source_bytes", "source_quality", "width", "height"):
        table[col] = table[col].astype("Int64")
    return table


def summarise(table: pd.DataFrame, metric: str = "ssimulacra2") -> pd.DataFrame:
    """Mean bytes, bpp, metric and times per (format, effort, quality) across the images.

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.compression.sweep import summarise
    >>> t = pd.DataFrame({"format": ["jpeg"] * 2, "quality": [80, 80], "bytes": [10, 30], "bpp": [1.0, 3.0],
    ...                   "ssimulacra2": [80.0, 90.0], "encode_ms": [1.0, 1.0], "decode_ms": [1.0, 1.0],
    ...                   "error": [None, None]})
    >>> summarise(t)[["bytes", "ssimulacra2"]].values.tolist()
    [[40.0, 85.0]]
    """
    ok = table[table["error"].isna()] if "error" in table else table
    keys = ["format", "effort", "quality"] if "effort" in ok else ["format", "quality"]
    g = ok.groupby(keys, dropna=False)
    out = g.agg(bytes=("bytes", "sum"), bpp=("bpp", "mean"), encode_ms=("encode_ms", "mean"),
                decode_ms=("decode_ms", "mean"), images=("bytes", "size"))
    out[metric] = g[metric].mean()
    out[f"{metric}_min"] = g[metric].min()
    out["bytes"] = out["bytes"].astype(float)
    out = out.reset_index()
    if "effort" in out:
        out.insert(1, "variant", [variant_name(f, None if pd.isna(e) else int(e))
                                  for f, e in zip(out["format"], out["effort"], strict=True)])
    return out


def tradeoff(table: pd.DataFrame, level: float = 80.0, *, metric: str = "ssimulacra2") -> pd.DataFrame:
    """Bytes and encode CPU of every variant at an equal score: the frontier of a sweep.

    For each image and variant (format and effort), bytes and encode CPU time are interpolated at
    ``metric == level`` between the two sweep qualities around it (log bytes, linear CPU; the first
    crossing). Variants of one format (its efforts, and avif10 with avif, heif10 with heif) are totalled
    over the images where every one of them reaches ``level``, so they compare the same pictures;
    ``bytes_vs_default`` and ``cpu_vs_default`` compare each variant with its format's default.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`sweep` (several qualities per variant, around ``level``).
    level : float
        The score to compare at (SSIMULACRA2 80: "no visible difference side by side").
    metric : str
        A metric column of the sweep.

    Returns
    -------
    pandas.DataFrame
        One row per variant: ``variant``, ``images`` (compared, per format), ``bytes``, ``encode_cpu_ms``,
        ``bytes_vs_default``, ``cpu_vs_default`` (ratios; NaN without a default row), sorted by format and
        bytes.

    Raises
    ------
    CIError
        -103 when the table has no ``metric`` column or no format's variants reach ``level`` on a common
        image.

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.compression.sweep import tradeoff
    >>> t = pd.DataFrame({"path": ["a"] * 4, "format": ["webp"] * 4, "variant": ["webp"] * 2 + ["webp e6"] * 2,
    ...                   "effort": [4, 4, 6, 6], "quality": [70, 90] * 2, "bytes": [100, 400, 90, 360],
    ...                   "ssimulacra2": [70.0, 90.0] * 2, "encode_cpu_ms": [1.0, 3.0, 2.0, 6.0],
    ...                   "error": [None] * 4})
    >>> cols = ["variant", "bytes", "encode_cpu_ms", "bytes_vs_default", "cpu_vs_default"]
    >>> tradeoff(t, 80).round(2)[cols].values.tolist()
    [['webp e6', 180.0, 4.0, 0.9, 2.0], ['webp', 200.0, 2.0, 1.0, 1.0]]
    """
    metric = get_metric(metric).name
    if metric not in table:
        raise CIError(f"the sweep has no {metric!r} column: sweep with metrics=[{metric!r}, ...]",
                      code=BAD_PARAMETER, token=metric)
    ok = table[table["error"].isna()] if "error" in table else table
    if "variant" not in ok:
        ok = ok.assign(variant=ok["format"])
    cpu_col = "encode_cpu_ms" if "encode_cpu_ms" in ok else "encode_ms"
    points: dict[str, dict[Any, tuple[float, float]]] = {}
    formats: dict[str, str] = {}
    for (variant, path), part in ok.groupby(["variant", "path"], dropna=False):
        part = part.dropna(subset=["quality"]).sort_values("quality")
        formats[variant] = part["format"].iloc[0] if len(part) else variant
        hit = _interpolate(part[metric].to_numpy(float), part["bytes"].to_numpy(float),
                           part[cpu_col].to_numpy(float), float(level))
        if hit is not None:
            points.setdefault(variant, {})[path] = hit
    family = {v: TEN_BIT.get(formats[v], formats[v]) for v in points}
    common = {f: set.intersection(*(set(points[v]) for v in points if family[v] == f)) for f in set(family.values())}
    rows = []
    for variant, per in points.items():
        images = common[family[variant]]
        if images:
            rows.append({"variant": variant, "format": formats[variant], "images": len(images),
                         "bytes": float(sum(per[p][0] for p in images)),
                         "encode_cpu_ms": float(sum(per[p][1] for p in images))})
    if not rows:
        raise CIError(f"no image reaches {metric} {level:g} with every variant of a format: sweep higher qualities",
                      code=BAD_PARAMETER, token=str(level))
    out = pd.DataFrame(rows)
    out["_family"] = [TEN_BIT.get(f, f) for f in out["format"]]
    default = out[out["variant"] == out["format"]].set_index("format")  # one row per format at most
    for column, ratio in (("bytes", "bytes_vs_default"), ("encode_cpu_ms", "cpu_vs_default")):
        out[ratio] = out[column] / out["_family"].map(default[column])  # NaN where the family has no default
    return out.sort_values(["_family", "bytes"]).drop(columns=["format", "_family"]).reset_index(drop=True)


def _interpolate(score, size, cpu, level: float) -> tuple[float, float] | None:
    """(bytes, cpu) where ``score`` first reaches ``level`` along the quality axis, or None."""
    import numpy as np

    for i in range(len(score)):
        if score[i] >= level:
            if i == 0:
                return (float(size[0]), float(cpu[0])) if score[0] == level else None
            t = (level - score[i - 1]) / (score[i] - score[i - 1])
            return (float(np.exp(np.log(size[i - 1]) + t * (np.log(size[i]) - np.log(size[i - 1])))),
                    float(cpu[i - 1] + t * (cpu[i] - cpu[i - 1])))
    return None
