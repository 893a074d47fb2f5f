"""Guetzli: Google's perceptual JPEG encoder (``pyguetzli``), with CI's constraints.

In CI, Guetzli is a bucket switch (``PUT /?guetzli``), not a rule parameter: every JPEG served
through the CI domain is recompressed in the background (spec §16.1). cinb exposes it as a function
for one image, :func:`guetzli`, and one for a collection, :func:`guetzli_collection`.

CI's constraints (JPEG sources only, estimated source quality above 70, fewer than 16 million pixels;
the console page says 4 million, see spec §20.6: pass ``max_megapixels=4`` to follow it) are not
errors in CI: a picture outside them is served as it is, with ``x-GuetzliState`` below 0 ("cannot be
processed: the conditions are not met", CI 460/46820, 1246/45276). cinb does the same: the original
bytes, ``info["x-GuetzliState"]`` -1 (0 for a source that is no JPEG: Guetzli never considers it) and
the reason in ``info["guetzli_refused"]``. Guetzli is *slow* (about a minute per megapixel per core,
more on a busy machine), so both functions warn with an estimate before long runs, and the collection
form shows a progress bar.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image

from ..codecs.jpeg import splice_metadata
from ..codecs.options import EncodeOptions
from ..codecs.registry import flatten, save_kwargs
from ..decode import open_canvas
from ..errors import BAD_PARAMETER, RESOLUTION_TOO_LARGE, UNSUPPORTED_TYPE, CIError
from ..parallel import default_workers, map_rows
from ..result import Result

#: CI's limits (spec §16.1).
MIN_SOURCE_QUALITY = 70  # the source must be above this
MAX_MEGAPIXELS = 16.0
#: Guetzli refuses to promise anything below 84 (its own documentation and command-line check).
MIN_QUALITY = 84
#: Seconds per megapixel per core used for the time estimate (Guetzli's documentation says about a
#: minute; measured 60-160 s on this project's 2-core VM depending on load).
SECONDS_PER_MEGAPIXEL = 60.0
#: Warn before a run expected to take longer than this many seconds.
WARN_SECONDS = 10.0


class GuetzliSlowWarning(UserWarning):
    """Guetzli will take a while (the message gives the estimate)."""


def estimate_seconds(megapixels: float, *, workers: int = 1) -> float:
    """Expected Guetzli wall time for ``megapixels`` of images spread over ``workers`` cores.

    Examples
    --------
    >>> from cinb.compression.guetzli import estimate_seconds
    >>> estimate_seconds(2.0, workers=2)
    60.0
    """
    return SECONDS_PER_MEGAPIXEL * float(megapixels) / max(1, int(workers))


def guetzli_pixels(image: Image.Image, quality: int = 90) -> bytes:
    """Encode a PIL image with Guetzli (alpha flattened onto white; no metadata).

    Parameters
    ----------
    image : PIL.Image.Image
        Any mode; converted to RGB.
    quality : int
        84-100 (Guetzli's scale, close to libjpeg's).

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.compression.guetzli import guetzli_pixels
    >>> data = guetzli_pixels(Image.new("RGB", (16, 16), "white"), 90)
    >>> data[:2]
    b'\\xff\\xd8'
    """
    try:
        import pyguetzli
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise CIError("Guetzli needs the pyguetzli package (pip install pyguetzli)", code=UNSUPPORTED_TYPE) from exc
    q = _check_quality(quality)
    frame = flatten(image.convert("RGBA") if "A" in image.getbands() else image).convert("RGB")
    return pyguetzli.process_rgb_bytes(frame.tobytes(), frame.width, frame.height, quality=q)


def _check_quality(quality: int) -> int:
    q = int(quality)
    if not MIN_QUALITY <= q <= 100:
        raise CIError(f"Guetzli quality must be {MIN_QUALITY}-100, got {quality!r}", code=BAD_PARAMETER,
                      token=str(quality))
    return q


#: ``x-GuetzliState`` of a JPEG outside CI's conditions ("< 0: cannot be processed") and of a source
#: Guetzli never considers ("0: no Guetzli processing").
STATE_REFUSED = -1
STATE_NOT_PROCESSED = 0


def refusal(canvas, name: str, *, max_megapixels: float = MAX_MEGAPIXELS) -> tuple[int, str] | None:
    """``(x-GuetzliState, reason)`` when CI would not Guetzli this decoded source, else None.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.canvas import Canvas
    >>> from cinb.compression.guetzli import refusal
    >>> refusal(Canvas(frames=[Image.new("RGB", (8, 8))], source_format="png"), "x.png")
    (0, 'Guetzli compresses JPEG sources only; x.png is png')
    """
    try:
        check_source(canvas, name, max_megapixels=max_megapixels)
    except CIError as exc:
        state = STATE_NOT_PROCESSED if exc.code == UNSUPPORTED_TYPE else STATE_REFUSED
        return state, str(exc).removesuffix(f" (X-ErrNo {exc.code})")
    return None


def check_source(canvas, name: str, *, max_megapixels: float = MAX_MEGAPIXELS) -> int:
    """The source's quality; CIError naming the condition CI's Guetzli would not meet (see :func:`refusal`)."""
    if canvas.source_format != "jpeg":
        raise CIError(f"Guetzli compresses JPEG sources only; {name} is {canvas.source_format}",
                      code=UNSUPPORTED_TYPE, token=name)
    if canvas.source_quality is None or canvas.source_quality <= MIN_SOURCE_QUALITY:
        found = "no quantisation tables to estimate it from" if canvas.source_quality is None else \
            f"about {canvas.source_quality}"
        raise CIError(f"Guetzli needs a source quality above {MIN_SOURCE_QUALITY}; {name} has {found}",
                      code=BAD_PARAMETER, token=name)
    mpx = canvas.width * canvas.height / 1e6
    if mpx >= max_megapixels:
        raise CIError(f"Guetzli takes images under {max_megapixels:g} megapixels; {name} has {mpx:.1f}",
                      code=RESOLUTION_TOO_LARGE, token=name)
    return canvas.source_quality


def guetzli(src: Any, quality: int | None = None, *, max_megapixels: float = MAX_MEGAPIXELS,
            strip: bool = False, warn: bool = True):
    """Recompress one JPEG with Guetzli, as CI's bucket-level Guetzli does.

    Parameters
    ----------
    src : path, bytes or PIL.Image.Image
        A JPEG (a PIL image has no source quality, so only a JPEG file or bytes qualify).
    quality : int, optional
        84-100. Default: the source's estimated quality, raised to 84 (Guetzli's minimum).
    max_megapixels : float
        CI's pixel cap (16; the console page says 4).
    strip : bool
        Drop EXIF and XMP (the ICC profile is kept), like ``/strip``.
    warn : bool
        Emit :class:`GuetzliSlowWarning` when the estimate exceeds ``WARN_SECONDS``.

    Returns
    -------
    cinb.Result
        ``info["x-GuetzliState"]`` (CI's header values) is 100 when compressed, 0 when Guetzli's
        output was not smaller and the original is returned, -1 when CI's conditions are not met
        (source quality <= 70, too many pixels) and 0 for a source that is no JPEG: in both the
        original bytes are returned, the reason in ``info["guetzli_refused"]``. ``info["quality"]``
        and ``info["encode_ms"]``.

    Raises
    ------
    CIError
        -103 ``quality`` outside 84-100; an unreadable source as :func:`cinb.process`.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb import data
    >>> from cinb.compression import guetzli
    >>> buf = io.BytesIO(); Image.open(data.coffee()).resize((16, 16)).save(buf, "JPEG", quality=95)
    >>> r = guetzli(buf.getvalue())
    >>> r.info["x-GuetzliState"], r.format
    (100, 'jpeg')
    """
    name = str(src) if isinstance(src, (str, os.PathLike)) else type(src).__name__
    if quality is not None:
        _check_quality(quality)
    canvas = open_canvas(src)
    refused = refusal(canvas, name, max_megapixels=max_megapixels)
    if refused is not None:
        return _original(src, canvas, *refused)
    source_quality = check_source(canvas, name, max_megapixels=max_megapixels)
    q = _check_quality(quality if quality is not None else max(MIN_QUALITY, source_quality))
    mpx = canvas.width * canvas.height / 1e6
    if warn and estimate_seconds(mpx) > WARN_SECONDS:
        warnings.warn(f"Guetzli is slow: about {estimate_seconds(mpx):.0f} s for {name} ({mpx:.1f} Mpx)",
                      GuetzliSlowWarning, stacklevel=2)
    t0 = time.perf_counter()
    data = guetzli_pixels(canvas.frames[0], q)
    ms = (time.perf_counter() - t0) * 1000.0
    data = splice_metadata(data, **save_kwargs(canvas, EncodeOptions(strip=strip)))
    info: dict[str, Any] = {"quality": q, "encode_ms": ms, "x-GuetzliState": 100, "frames": 1}
    if canvas.source_bytes is not None and len(data) >= len(canvas.source_bytes):
        # no smaller: the original is served, so info describes it (its quality, its metadata)
        data, info["x-GuetzliState"], info["quality"] = canvas.source_bytes, 0, canvas.source_quality
    return Result(data, "jpeg", canvas.width, canvas.height, info)


def _original(src: Any, canvas, state: int, reason: str) -> Result:
    """What CI serves when Guetzli does not process a picture: the picture as it is."""
    data = canvas.source_bytes
    if data is None:  # a PIL image: no file to serve, so its pixels as PNG
        from ..engine import process

        data = process(src, "imageMogr2/format/png").data
        fmt = "png"
    else:
        fmt = canvas.source_format
    info = {"quality": canvas.source_quality, "encode_ms": 0.0, "x-GuetzliState": state,
            "guetzli_refused": reason, "frames": len(canvas.frames)}
    return Result(data, fmt, canvas.width, canvas.height, info)


#: Columns :func:`guetzli_collection` adds.
GUETZLI_COLUMNS = {"guetzli_path": object, "guetzli_bytes": "Int64", "guetzli_quality": "Int64",
                   "guetzli_state": "Int64", "guetzli_saving": float, "guetzli_ms": float,
                   "guetzli_refused": object}


def _guetzli_row(row: dict, *, out_dir: str, quality: int | None, max_megapixels: float, strip: bool,
                 path_column: str) -> dict:
    path = Path(row[path_column])
    result = guetzli(path, quality, max_megapixels=max_megapixels, strip=strip, warn=False)
    target = Path(out_dir) / (path.stem + "." + result.extension)
    result.save(target)
    size = path.stat().st_size
    return {"guetzli_path": str(target), "guetzli_bytes": len(result.data), "guetzli_quality": result.info["quality"],
            "guetzli_state": result.info["x-GuetzliState"], "guetzli_saving": 1.0 - len(result.data) / size,
            "guetzli_ms": result.info["encode_ms"], "guetzli_refused": result.info.get("guetzli_refused")}


def guetzli_collection(df: Any, out_dir: str | os.PathLike, *, quality: int | None = None,
                       max_megapixels: float = MAX_MEGAPIXELS, strip: bool = False, workers: int | None = None,
                       progress: bool = True, path_column: str = "path", warn: bool = True) -> Any:
    """Guetzli every JPEG of a collection into ``out_dir``, in parallel, with a progress bar.

    Parameters
    ----------
    df : pandas.DataFrame
        A collection with a ``path`` column (e.g. from ``cinb.collection.scan``), or a list of paths.
    out_dir : path
        Where ``<stem>.jpg`` results are written (atomically).
    quality, max_megapixels, strip
        As :func:`guetzli`.
    workers : int, optional
        Processes (default: all CPUs).
    progress : bool
        Show a progress bar.
    path_column : str
        Column holding the file paths.
    warn : bool
        Warn with the estimated time first (:class:`GuetzliSlowWarning`).

    Returns
    -------
    pandas.DataFrame
        ``df`` plus ``guetzli_path`` (``<stem>.jpg``; a source that is no JPEG keeps its own
        extension), ``guetzli_bytes``, ``guetzli_quality``, ``guetzli_state`` (100 compressed, 0
        original kept or not a JPEG, -1 outside CI's conditions: the original is written),
        ``guetzli_saving`` (fraction of the source's bytes), ``guetzli_ms``, ``guetzli_refused``
        (why CI would not process the row) and ``error`` (unreadable files).

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from PIL import Image
    >>> from cinb import data
    >>> from cinb.compression.guetzli import guetzli_collection
    >>> folder = tempfile.mkdtemp(); src = os.path.join(folder, "small.jpg")
    >>> Image.open(data.coffee()).resize((16, 16)).save(src, quality=95)
    >>> out = guetzli_collection(pd.DataFrame({"path": [src]}), os.path.join(folder, "out"),
    ...                          progress=False, warn=False)
    >>> out["guetzli_state"].tolist()
    [100]
    """
    if not isinstance(df, pd.DataFrame) and not hasattr(df, "map_partitions"):
        df = pd.DataFrame({path_column: [str(p) for p in df]})
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    if warn and isinstance(df, pd.DataFrame) and len(df):
        mpx = _megapixels(df, path_column)
        n = workers or default_workers()
        secs = estimate_seconds(mpx, workers=n)
        if secs > WARN_SECONDS:
            warnings.warn(f"Guetzli is slow: about {secs / 60:.1f} min for {len(df)} images ({mpx:.1f} Mpx) "
                          f"on {n} cores", GuetzliSlowWarning, stacklevel=2)
    return map_rows(df, _guetzli_row, columns=GUETZLI_COLUMNS, inputs=[path_column],
                    fn_kwargs={"out_dir": str(out_dir), "quality": quality, "max_megapixels": max_megapixels,
                               "strip": strip, "path_column": path_column},
                    workers=workers, desc="guetzli", progress=progress, chunksize=1)


def _megapixels(df, path_column: str) -> float:
    if {"width", "height"} <= set(df.columns):
        return float((df["width"].astype("float64") * df["height"].astype("float64")).sum(skipna=True)) / 1e6
    total = 0.0
    for p in df[path_column]:
        try:
            with Image.open(p) as im:
                total += im.width * im.height / 1e6
        except Exception:  # noqa: BLE001 - unreadable files are reported by the run itself
            pass
    return total
