"""Estimate a JPEG's IJG quality from its quantisation tables (``lquality`` needs the source's)."""

from __future__ import annotations

import numpy as np

# The IJG (libjpeg) base tables, in natural order; Pillow reports tables in the same order.
_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.float64)
_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32, dtype=np.float64)


def _scaled(base: np.ndarray) -> np.ndarray:
    q = np.arange(1, 101, dtype=np.float64)[:, None]
    scale = np.where(q < 50, 5000.0 / q, 200.0 - 2.0 * q)
    return np.clip(np.floor((base[None, :] * scale + 50.0) / 100.0), 1, 255)


_TABLES = (_scaled(_LUMA), _scaled(_CHROMA))


def estimate_jpeg_quality(quantization: dict | None) -> int | None:
    """The IJG quality (1-100) whose standard tables best match ``quantization``.

    Parameters
    ----------
    quantization : dict
        Pillow's ``JpegImageFile.quantization`` (table id -> 64 values).

    Returns
    -------
    int or None
        None when there are no tables.

    Examples
    --------
    >>> from cinb.codecs.jpeg_quality import estimate_jpeg_quality
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (16, 16)).save(buf, "JPEG", quality=80)
    >>> estimate_jpeg_quality(Image.open(buf).quantization)
    80
    """
    if not quantization:
        return None
    err = np.zeros(100)
    for idx, table in sorted(quantization.items())[:2]:
        # a damaged file can carry 0 entries (invalid JPEG); clamp so log() stays finite
        t = np.maximum(np.asarray(list(table), dtype=np.float64), 1.0)
        if t.size != 64:
            continue
        ref = _TABLES[min(idx, 1)]
        err += np.abs(np.log(ref) - np.log(t[None, :])).sum(axis=1)
    return int(np.argmin(err)) + 1
