"""Neutral references for judging thumbnails: what a resampler that no contestant uses makes of the
fully decoded photo.

``area_reference`` is the exact area average in linear light: every output pixel is the mean of the
source area it covers (fractional source pixels weighted by the part covered), computed on linear
sRGB values and encoded back to 8-bit sRGB. It is the physically right "what a smaller sensor would
have recorded" and no thumbnailer here computes it (cinb and libvips resample gamma-encoded values
with Lanczos after a DCT-scaled decode, Pillow with Lanczos). ``lanczos_reference`` is a second,
sharper yardstick: Lanczos-3 on linear light from the full decode, so that a resampler is not
rewarded merely for blurring like the area average.

Both take a PIL image (any mode; converted to RGB) and the output size, and return ``uint8`` arrays
of shape (height, width, 3) for :mod:`cinb.compression.metrics`.

Example
-------
>>> import numpy as np
>>> from PIL import Image
>>> from benchmarks.thumbnail_reference import area_reference
>>> img = Image.fromarray(np.tile(np.array([[0, 255]], np.uint8), (4, 2)))  # 4x4 columns 0, 255, 0, 255
>>> area_reference(img, (2, 2))[0, 0].tolist()  # half black, half white in linear light
[188, 188, 188]
"""

from __future__ import annotations

import numpy as np
from PIL import Image

_LUT = None


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """``uint8`` sRGB -> ``float32`` linear light in [0, 1] (the sRGB transfer function)."""
    global _LUT
    if _LUT is None:
        c = np.arange(256, dtype=np.float64) / 255
        _LUT = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)
    return _LUT[rgb]


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light -> ``uint8`` sRGB, rounded to nearest."""
    x = np.clip(linear, 0.0, 1.0)
    s = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.clip(np.rint(s * 255), 0, 255).astype(np.uint8)


def area_average(a: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Exact area average of ``a`` along ``axis`` to ``n`` samples (pixels are constant squares).

    Through the running sum: the integral of a piecewise-constant row is piecewise linear, so the
    mean over any interval is exact, whatever the ratio.

    >>> import numpy as np
    >>> from benchmarks.thumbnail_reference import area_average
    >>> area_average(np.arange(12.0).reshape(1, 12), 5, 1).round(3).tolist()
    [[0.75, 3.083, 5.5, 7.917, 10.25]]
    """
    a = np.moveaxis(a, axis, 0).astype(np.float64)
    N = a.shape[0]
    run = np.concatenate([np.zeros((1,) + a.shape[1:]), np.cumsum(a, axis=0)], axis=0)
    edges = np.arange(n + 1) * (N / n)
    i = np.minimum(np.floor(edges).astype(np.int64), N - 1)
    frac = (edges - i).reshape((-1,) + (1,) * (a.ndim - 1))
    integral = run[i] + frac * a[i]
    return np.moveaxis((integral[1:] - integral[:-1]) / (N / n), 0, axis)


def area_reference(img: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """The exact area-average downscale of ``img`` to ``size`` (width, height), in linear light."""
    lin = srgb_to_linear(np.asarray(img.convert("RGB")))
    return linear_to_srgb(area_average(area_average(lin, size[1], 0), size[0], 1))


def lanczos_reference(img: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Lanczos-3 from the full image to ``size``, in linear light (Pillow's float resampler, no
    box pre-reduction)."""
    lin = srgb_to_linear(np.asarray(img.convert("RGB")))
    planes = [np.asarray(Image.fromarray(np.ascontiguousarray(lin[:, :, c]), "F")
                         .resize(size, Image.Resampling.LANCZOS)) for c in range(3)]
    return linear_to_srgb(np.stack(planes, axis=2))
