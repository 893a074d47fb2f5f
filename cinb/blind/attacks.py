"""What happens to a marked image after it leaves CI: re-encoding, resizing, cropping, tone changes.

The attacks used by the blind-watermark benchmark (``benchmarks/bench_blind_watermark.py``), its
notebook (``notebooks/21-blind-watermark.ipynb``), the tests and ``WatermarkTuner``'s "attack and
extract" check, written once. Each takes an RGB ``uint8`` array (H, W, 3) or a PIL image and
returns an RGB ``uint8`` array; geometric attacks are *not* undone, as a re-uploaded copy would not be.

:data:`ATTACKS` maps the benchmark's attack names to functions of one image; the numbers in
``benchmarks/blind_watermark_results.json`` were measured with exactly these.

Examples
--------
>>> import numpy as np
>>> from cinb.blind import attacks
>>> a = np.full((100, 200, 3), 128, np.uint8)
>>> attacks.resize(a, 0.5).shape, attacks.crop(a, 0.8).shape
((50, 100, 3), (80, 160, 3))
>>> sorted(attacks.ATTACKS)[:3]
['brightness x0.8', 'brightness x1.2', 'contrast x1.3']
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

__all__ = ["ATTACKS", "as_rgb", "jpeg", "webp", "resize", "crop", "crop_corner", "crop_area", "brightness", "contrast",
           "noise", "rotate", "rotate_crop", "flip", "screenshot", "screenshot_chain", "ci_thumbnail"]


def as_rgb(image: np.ndarray | Image.Image) -> np.ndarray:
    """An RGB ``uint8`` array from a PIL image (any mode) or an array (grey arrays become RGB).

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.blind.attacks import as_rgb
    >>> as_rgb(Image.new("L", (4, 3))).shape
    (3, 4, 3)
    """
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise TypeError(f"attacks take uint8 pixels, not {a.dtype}")
    if a.ndim == 2:
        return np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"attacks take (H, W, 3) RGB pixels, not shape {a.shape}")
    return a[..., :3]


def jpeg(image, quality: int) -> np.ndarray:
    """Re-encode as JPEG (OpenCV's libjpeg, 4:2:0) at ``quality`` 1-100 and decode.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.attacks import jpeg
    >>> jpeg(np.zeros((16, 16, 3), np.uint8), 50).shape
    (16, 16, 3)
    """
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality is 1-100, not {quality}")
    a = as_rgb(image)
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(a[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        raise ValueError(f"OpenCV could not JPEG-encode a {a.shape} image")
    return decoded[..., ::-1].copy()


def webp(image, quality: int) -> np.ndarray:
    """Re-encode as lossy WebP (Pillow's libwebp) at ``quality`` 0-100 and decode."""
    if not 0 <= int(quality) <= 100:
        raise ValueError(f"WebP quality is 0-100, not {quality}")
    buf = io.BytesIO()
    Image.fromarray(as_rgb(image)).save(buf, "WEBP", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def resize(image, scale: float) -> np.ndarray:
    """Scale both sides by ``scale`` (area averaging, as a thumbnailer does), rounding each side.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.attacks import resize
    >>> resize(np.zeros((30, 41, 3), np.uint8), 0.75).shape
    (22, 31, 3)
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, not {scale}")
    a = as_rgb(image)
    h, w = a.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(a, size, interpolation=cv2.INTER_AREA)


def crop(image, keep: float) -> np.ndarray:
    """Keep the centre ``keep`` share (0-1] of each side.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.attacks import crop
    >>> crop(np.zeros((100, 50, 3), np.uint8), 0.5).shape
    (50, 25, 3)
    """
    if not 0 < keep <= 1:
        raise ValueError(f"keep is a share in (0, 1], not {keep}")
    a = as_rgb(image)
    h, w = a.shape[:2]
    ch, cw = max(1, round(h * keep)), max(1, round(w * keep))
    y, x = (h - ch) // 2, (w - cw) // 2
    return a[y : y + ch, x : x + cw].copy()


def crop_area(image, area: float) -> np.ndarray:
    """Keep the centre ``area`` share (0-1] of the pixels, each side by ``sqrt(area)``.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.attacks import crop_area
    >>> crop_area(np.zeros((100, 200, 3), np.uint8), 0.81).shape
    (90, 180, 3)
    """
    if not 0 < area <= 1:
        raise ValueError(f"area is a share in (0, 1], not {area}")
    return crop(image, math.sqrt(area))


def crop_corner(image, area: float) -> np.ndarray:
    """Keep the top-left ``area`` share (0-1] of the pixels, each side by ``sqrt(area)``.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.attacks import crop_corner
    >>> a = np.arange(100 * 200 * 3, dtype=np.uint32).reshape(100, 200, 3).astype(np.uint8)
    >>> np.array_equal(crop_corner(a, 0.81), a[:90, :180])
    True
    """
    if not 0 < area <= 1:
        raise ValueError(f"area is a share in (0, 1], not {area}")
    a = as_rgb(image)
    h, w = a.shape[:2]
    k = math.sqrt(area)
    return a[: max(1, round(h * k)), : max(1, round(w * k))].copy()


def flip(image, *, horizontal: bool = True) -> np.ndarray:
    """Mirror left-right (``horizontal``) or top-bottom."""
    a = as_rgb(image)
    return np.ascontiguousarray(a[:, ::-1] if horizontal else a[::-1])


def brightness(image, gain: float) -> np.ndarray:
    """Multiply every channel by ``gain`` (clipped, rounded)."""
    return np.clip(as_rgb(image).astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)


def contrast(image, gain: float) -> np.ndarray:
    """Stretch around the image's mean by ``gain`` (clipped, rounded)."""
    a = as_rgb(image).astype(np.float32)
    m = float(a.mean())
    return np.clip((a - m) * gain + m + 0.5, 0, 255).astype(np.uint8)


def noise(image, sigma: float, *, seed: int = 12345) -> np.ndarray:
    """Add Gaussian noise of standard deviation ``sigma`` (seeded: the same call gives the same pixels)."""
    a = as_rgb(image)
    rng = np.random.default_rng(seed)
    return np.clip(a + rng.normal(0, sigma, a.shape) + 0.5, 0, 255).astype(np.uint8)


def rotate(image, degrees: float) -> np.ndarray:
    """Rotate counter-clockwise by ``degrees`` about the centre, same canvas size, black corners."""
    a = as_rgb(image)
    h, w = a.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def rotate_crop(image, degrees: float) -> np.ndarray:
    """Rotate as :func:`rotate`, then crop the black corners away: the largest centred box of the
    image's aspect ratio inside the rotated picture (what a photo editor's straighten tool does).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.attacks import rotate_crop
    >>> out = rotate_crop(np.full((300, 400, 3), 200, np.uint8), 3)
    >>> out.shape, int(out.min())
    ((279, 372, 3), 200)
    """
    a = rotate(image, degrees)
    h, w = a.shape[:2]
    t = math.radians(abs(degrees))
    keep = 1.0 / (math.cos(t) + max(w / h, h / w) * math.sin(t))
    keep = math.floor(keep * 100) / 100  # a whole percent inside, so no interpolated black edge remains
    return crop(a, keep)


def screenshot(image) -> np.ndarray:
    """A screenshot shared in a chat: resized to 80 %, then JPEG quality 80."""
    return jpeg(resize(image, 0.8), 80)


def screenshot_chain(image) -> np.ndarray:
    """A screenshot of a screenshot's life (issue 15): resized to 75 %, JPEG quality 80, cropped to 90 %
    of each side (centre)."""
    return crop(jpeg(resize(image, 0.75), 80), 0.9)


def ci_thumbnail(image, width: int = 800) -> np.ndarray:
    """CI's ``imageMogr2/thumbnail/<width>x`` (through cinb's own engine), decoded to RGB."""
    from ..engine import process  # the engine imports the rule families, this package among them

    a = as_rgb(image)
    return np.asarray(process(Image.fromarray(a), f"imageMogr2/thumbnail/{int(width)}x").image.convert("RGB"))


#: The benchmark's attacks by name (the keys of ``blind_watermark_results.json``), each image -> array.
ATTACKS: dict[str, Callable[[np.ndarray | Image.Image], np.ndarray]] = {
    "none": as_rgb,
    "jpeg q90": lambda a: jpeg(a, 90),
    "jpeg q75": lambda a: jpeg(a, 75),
    "jpeg q50": lambda a: jpeg(a, 50),
    "webp q75": lambda a: webp(a, 75),
    "resize 0.5": lambda a: resize(a, 0.5),
    "resize 0.75": lambda a: resize(a, 0.75),
    "crop 80%": lambda a: crop(a, 0.8),
    "brightness x0.8": lambda a: brightness(a, 0.8),
    "brightness x1.2": lambda a: brightness(a, 1.2),
    "contrast x1.3": lambda a: contrast(a, 1.3),
    "noise sigma 5": lambda a: noise(a, 5),
    "rotate 2deg": lambda a: rotate(a, 2),
    "screenshot": screenshot,
    # issue 15
    "webp q50": lambda a: webp(a, 50),
    "resize 0.3": lambda a: resize(a, 0.3),
    "crop 80% area": lambda a: crop_area(a, 0.8),
    "crop 80% area corner": lambda a: crop_corner(a, 0.8),
    "flip horizontal": flip,
    "rotate 90": lambda a: np.ascontiguousarray(np.rot90(as_rgb(a), -1)),
    "rotate 3deg crop": lambda a: rotate_crop(a, 3),
    "screenshot chain": screenshot_chain,
    # issue 15 round 5: a rotation combined with a crop or a resize (outside the reader's rotation families)
    "rotate 3deg crop + crop 80% area corner": lambda a: crop_corner(rotate_crop(a, 3), 0.8),
    "rotate 5deg + resize 0.6": lambda a: resize(rotate(a, 5), 0.6),
    "rotate 2deg crop + screenshot chain": lambda a: screenshot_chain(rotate_crop(a, 2)),
}
