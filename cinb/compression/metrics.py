"""Image quality metrics for choosing compression settings: PSNR, SSIM and SSIMULACRA2.

SSIMULACRA2 is the perceptual metric (Cloudinary/libjxl; 100 = identical, 90 = visually lossless in a
flip test, 80 = indistinguishable side by side at 1:1, 70 = high quality, 50 = medium). The reference
is the ``ssimulacra2`` PyPI package (a float64 NumPy/SciPy port, ~1 s per 0.25 Mpx); this module computes
the same formula in float32 with OpenCV's separable filters, and a :class:`Reference` caches the source
image's side (its XYB pyramid and blurred statistics) so a sweep of many encodings of one image pays
for the source once. ``tests/test_compression_metrics.py`` checks it agrees with the package.

All functions take PIL images (any mode; alpha is composited onto white, as cinb does for formats
without alpha) or ``uint8`` arrays of shape (H, W, 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
from PIL import Image

from ..errors import BAD_PARAMETER, CIError

# SSIMULACRA2 constants (libjxl tools/ssimulacra2.cc, as in the ssimulacra2 package).
_OPSIN = np.array([[0.30, 1.0 - 0.078 - 0.30, 0.078],
                   [0.23, 1.0 - 0.078 - 0.23, 0.078],
                   [0.24342268924547819, 0.20476744424496821, 1.0 - 0.24342268924547819 - 0.20476744424496821]],
                  dtype=np.float32)
_BIAS = np.float32(0.0037930732552754493)
_CBRT_BIAS = np.float32(np.cbrt(0.0037930732552754493))
_C2 = np.float32(0.0009)
_SCALES = 6
# Gaussian sigma 1.5 truncated at radius 5 (scipy's truncate=3.33), normalised.
_KERNEL = cv2.getGaussianKernel(11, 1.5, cv2.CV_32F)
_ONE = np.ones((1, 1), np.float32)


@cache
def _weights() -> np.ndarray:
    try:  # the maintained package carries the fitted weights; use them when present
        from ssimulacra2.ssimulacra2 import weights
        return np.asarray(weights, dtype=np.float64)
    except ImportError:  # pragma: no cover - ssimulacra2 is a dependency
        raise ImportError("SSIMULACRA2 needs the 'ssimulacra2' package (pip install ssimulacra2)") from None



def as_rgb_array(image) -> np.ndarray:
    """A ``uint8`` (H, W, 3) array; alpha is composited onto white, greyscale is expanded.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.compression.metrics import as_rgb_array
    >>> as_rgb_array(Image.new("LA", (4, 2), (0, 0))).shape, int(as_rgb_array(Image.new("LA", (4, 2), (0, 0)))[0, 0, 0])
    ((2, 4, 3), 255)
    """
    if isinstance(image, np.ndarray):
        arr = image
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        return np.ascontiguousarray(arr[:, :, :3], dtype=np.uint8)
    img = image
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        base = Image.new("RGB", img.size, (255, 255, 255))
        base.paste(rgba, mask=rgba.getchannel("A"))
        img = base
    elif img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)


def _same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise CIError(f"cannot compare images of different sizes {a.shape[1]}x{a.shape[0]} and "
                      f"{b.shape[1]}x{b.shape[0]}", code=BAD_PARAMETER)


def psnr(reference, distorted) -> float:
    """Peak signal-to-noise ratio over R, G and B, in dB (inf for identical images).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.compression.metrics import psnr
    >>> a = np.zeros((8, 8, 3), np.uint8); b = a.copy(); b[0, 0, 0] = 255
    >>> round(psnr(a, b), 2)
    22.83
    """
    a, b = as_rgb_array(reference), as_rgb_array(distorted)
    _same_shape(a, b)
    mse = cv2.norm(a, b, cv2.NORM_L2SQR) / a.size
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def _luma(arr: np.ndarray) -> np.ndarray:
    return (arr.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))


def ssim(reference, distorted) -> float:
    """Structural similarity (Wang et al. 2004) of the luma, Gaussian window sigma 1.5 (1 = identical).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.compression.metrics import ssim
    >>> a = (np.arange(64 * 64 * 3) % 251).astype(np.uint8).reshape(64, 64, 3)
    >>> ssim(a, a)
    1.0
    """
    a, b = as_rgb_array(reference), as_rgb_array(distorted)
    _same_shape(a, b)
    return _ssim_against(_ssim_side(a), b)


_SSIM_C1, _SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def _gauss(z: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)


def _ssim_side(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference's part of SSIM: luma, its local mean and local variance."""
    x = _luma(rgb)
    mx = _gauss(x)
    return x, mx, _gauss(x * x) - mx * mx


def _ssim_against(side: tuple[np.ndarray, np.ndarray, np.ndarray], b: np.ndarray) -> float:
    x, mx, sxx = side
    y = _luma(b)
    my = _gauss(y)
    syy, sxy = _gauss(y * y) - my * my, _gauss(x * y) - mx * my
    smap = ((2 * mx * my + _SSIM_C1) * (2 * sxy + _SSIM_C2)) / ((mx * mx + my * my + _SSIM_C1) * (sxx + syy + _SSIM_C2))
    return float(min(1.0, np.mean(smap, dtype=np.float64)))


# --- SSIMULACRA2 ---------------------------------------------------------------------------------

def _srgb_to_linear_lut() -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


_LINEAR_LUT = _srgb_to_linear_lut()
# Opsin absorbance with its bias as one affine transform (cv2.transform takes a 3x4 matrix).
_OPSIN_AFFINE = np.hstack([_OPSIN, np.full((3, 1), _BIAS, np.float32)])
# From the cube roots c of the biased opsin values to cinb's positive XYB, in one affine transform:
# x = c0 - cbrt(bias), y = c1 - cbrt(bias), b = c2 - cbrt(bias), then make_positive_xyb:
# X = (x - y) * 7 + 0.42, Y = (x + y) / 2 + 0.01, B = b - (x + y) / 2 + 0.55 (the biases cancel in X and B).
_XYB_AFFINE = np.array([[7.0, -7.0, 0.0, 0.42],
                        [0.5, 0.5, 0.0, 0.01 - float(_CBRT_BIAS)],
                        [-0.5, -0.5, 1.0, 0.55]], dtype=np.float32)


def _linear(arr: np.ndarray) -> np.ndarray:
    return cv2.LUT(arr, _LINEAR_LUT)


def _xyb(linear: np.ndarray) -> np.ndarray:
    mixed = cv2.transform(linear, _OPSIN_AFFINE)
    cv2.max(mixed, 0.0, dst=mixed)  # type: ignore[call-overload]  # cv2's stubs take no scalar operand
    cv2.pow(mixed, 1.0 / 3.0, dst=mixed)  # non-negative here, so pow is the cube root
    return cv2.transform(mixed, _XYB_AFFINE)


def _blur(img: np.ndarray) -> np.ndarray:
    # The reference blurs with zero padding beyond the left/right edges and mirror padding beyond
    # the top/bottom (its planes are transposed); OpenCV needs one pass per border rule.
    tmp = cv2.sepFilter2D(img, cv2.CV_32F, _KERNEL, _ONE, borderType=cv2.BORDER_CONSTANT)
    return cv2.sepFilter2D(tmp, cv2.CV_32F, _ONE, _KERNEL, borderType=cv2.BORDER_REFLECT)


def _downsample(linear: np.ndarray) -> np.ndarray:
    h, w = linear.shape[:2]
    if h % 2 or w % 2:  # edge replication = the mean of the pixels that exist (the package's rule)
        linear = np.pad(linear, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    h2, w2 = linear.shape[0] // 2, linear.shape[1] // 2
    # INTER_AREA at exactly half size is the 2x2 box mean
    return cv2.resize(linear, (w2, h2), interpolation=cv2.INTER_AREA)


def _pool(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and 4-norm of a (H, W, 3) float32 map (cv2.mean accumulates in double)."""
    mean = np.array(cv2.mean(d)[:3])
    sq = cv2.multiply(d, d)
    cv2.multiply(sq, sq, dst=sq)
    return mean, np.array(cv2.mean(sq)[:3]) ** 0.25


@dataclass
class _Level:
    xyb: np.ndarray
    mu: np.ndarray
    var: np.ndarray  # blur(x*x) - mu*mu
    dev: np.ndarray  # 1 + |x - mu|


class Reference:
    """A source image prepared once for many SSIMULACRA2 / SSIM / PSNR comparisons.

    Parameters
    ----------
    image : PIL.Image.Image or numpy.ndarray
        The source (the "original" in every comparison).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.compression.metrics import Reference
    >>> a = (np.arange(96 * 64 * 3) % 253).astype(np.uint8).reshape(64, 96, 3)
    >>> ref = Reference(a)
    >>> ref.ssimulacra2(a)
    100.0
    """

    def __init__(self, image):
        self.rgb = as_rgb_array(image)
        self._levels: list[_Level] | None = None
        self._ssim_side: tuple | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]

    def _pyramid(self) -> list[_Level]:
        if self._levels is None:
            self._levels = []
            for lin in _linear_pyramid(self.rgb):
                xyb = _xyb(lin)
                mu = _blur(xyb)
                self._levels.append(_Level(xyb, mu, _blur(xyb * xyb) - mu * mu, 1.0 + cv2.absdiff(xyb, mu)))
        return self._levels

    def ssimulacra2(self, distorted) -> float:
        """SSIMULACRA2 score of ``distorted`` against this reference (100 = identical)."""
        weights = _weights()
        b = as_rgb_array(distorted)
        _same_shape(self.rgb, b)
        if np.array_equal(self.rgb, b):
            return 100.0
        terms = []
        for ref, lin in zip(self._pyramid(), _linear_pyramid(b), strict=True):
            x2 = _xyb(lin)
            mu2 = _blur(x2)
            mu1 = ref.mu
            mu12 = cv2.multiply(mu1, mu2)
            # d = max(0, 1 - (1 - (mu1 - mu2)^2) * (2 (s12 - mu1 mu2) + C2) / (var1 + var2 + C2))
            num_m = cv2.subtract(mu1, mu2)
            num_m = 1.0 - cv2.multiply(num_m, num_m)
            num_s = cv2.subtract(_blur(cv2.multiply(ref.xyb, x2)), mu12) * 2.0 + _C2
            den_s = ref.var + (_blur(cv2.multiply(x2, x2)) - cv2.multiply(mu2, mu2)) + _C2
            d = cv2.max(1.0 - cv2.divide(cv2.multiply(num_m, num_s), den_s), 0.0)  # type: ignore[call-overload]
            ssim_mean, ssim_l4 = _pool(d)
            # ratio = (1 + |x2 - mu2|) / (1 + |x1 - mu1|) - 1: ringing where > 0, blurring where < 0
            ratio: np.ndarray = cv2.absdiff(x2, mu2)
            ratio += 1.0
            cv2.divide(ratio, ref.dev, dst=ratio)
            ratio -= 1.0
            art_mean, art_l4 = _pool(cv2.max(ratio, 0.0))  # type: ignore[call-overload]  # (a scalar, as above)
            det_mean, det_l4 = _pool(cv2.min(ratio, 0.0))  # type: ignore[call-overload]
            terms.append((ssim_mean, ssim_l4, art_mean, art_l4, -det_mean, det_l4))
        return _score(terms, weights)

    def ssim(self, distorted) -> float:
        """SSIM of ``distorted`` against this reference."""
        b = as_rgb_array(distorted)
        _same_shape(self.rgb, b)
        if self._ssim_side is None:
            self._ssim_side = _ssim_side(self.rgb)
        return _ssim_against(self._ssim_side, b)

    def psnr(self, distorted) -> float:
        """PSNR of ``distorted`` against this reference, in dB."""
        return psnr(self.rgb, distorted)

    def score(self, distorted, metrics=("psnr", "ssim", "ssimulacra2")) -> dict[str, float]:
        """Several metrics at once: ``{name: value}``."""
        b = as_rgb_array(distorted)
        return {m: float(getattr(self, _METHOD[m])(b)) for m in metrics}


def _linear_pyramid(rgb: np.ndarray):
    lin = _linear(rgb)
    for scale in range(_SCALES):
        if lin.shape[0] < 8 or lin.shape[1] < 8:
            return
        yield lin
        if scale < _SCALES - 1:
            lin = _downsample(lin)


def _score(terms, weights: np.ndarray) -> float:
    # Weight order of the reference: channel, scale, norm, then (ssim, ringing, blurring). Images
    # too small for all six scales use the first weights in order, as libjxl and the package do.
    total, i = 0.0, 0
    for c in range(3):
        for t in terms:
            ssim_mean, ssim_l4, art_mean, art_l4, det_mean, det_l4 = t
            for s, a, dl in ((ssim_mean, art_mean, det_mean), (ssim_l4, art_l4, det_l4)):
                total += weights[i] * abs(s[c]) + weights[i + 1] * abs(a[c]) + weights[i + 2] * abs(dl[c])
                i += 3
    s = total * 0.9562382616834844
    s = 2.326765642916932 * s - 0.020884521182843837 * s * s + 6.248496625763138e-05 * s * s * s
    return float(100.0 - 10.0 * s ** 0.6276336467831387) if s > 0 else 100.0


def ssimulacra2(reference, distorted) -> float:
    """SSIMULACRA2 perceptual score (100 identical; >= 90 visually lossless; >= 80 very high quality).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.compression.metrics import ssimulacra2
    >>> a = (np.arange(64 * 64 * 3) % 251).astype(np.uint8).reshape(64, 64, 3)
    >>> b = a.copy(); b[::4, ::4] ^= 16
    >>> 0 < ssimulacra2(a, b) < 100
    True
    """
    return Reference(reference).ssimulacra2(distorted)


@dataclass(frozen=True)
class Metric:
    """A quality metric: its function, direction, and the threshold cinb calls "no visible loss"."""

    name: str
    fn: Callable
    higher_is_better: bool
    visually_lossless: float
    unit: str


#: The metrics ``sweep`` and ``imageSlim`` know. Thresholds: SSIMULACRA2 80 is the authors'
#: "very high quality: indistinguishable side by side at 1:1"; SSIM 0.98 and PSNR 40 dB are the usual
#: rule-of-thumb equivalents for photos.
METRICS: dict[str, Metric] = {
    "ssimulacra2": Metric("ssimulacra2", ssimulacra2, True, 80.0, "score"),
    "ssim": Metric("ssim", ssim, True, 0.98, ""),
    "psnr": Metric("psnr", psnr, True, 40.0, "dB"),
}
_METHOD = {"ssimulacra2": "ssimulacra2", "ssim": "ssim", "psnr": "psnr"}


def get_metric(name: str) -> Metric:
    """The :class:`Metric` called ``name`` (CIError -103 naming it when unknown).

    Examples
    --------
    >>> from cinb.compression.metrics import get_metric
    >>> get_metric("ssimulacra2").visually_lossless
    80.0
    """
    if name not in METRICS:
        raise CIError(f"unknown metric {name!r} (known: {', '.join(METRICS)})", code=BAD_PARAMETER, token=name)
    return METRICS[name]


__all__ = ["METRICS", "Metric", "Reference", "as_rgb_array", "get_metric", "psnr", "ssim", "ssimulacra2"]
