"""Adding the periodic tile to an image's luminance with texture-adaptive strength."""

from __future__ import annotations

import cv2
import numpy as np

#: Target PSNR (dB) of the mark for each CI ``level`` 0-3 (higher level = stronger, more robust).
LEVEL_PSNR = {0: 45.0, 1: 43.0, 2: 41.0, 3: 38.0}


def luma(pixels: np.ndarray) -> np.ndarray:
    """BT.601 luminance of an RGB (H, W, 3) or grey (H, W) uint8 array, as float32."""
    if pixels.ndim == 2:
        return pixels.astype(np.float32)
    return cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)


def activity_mask(y: np.ndarray) -> np.ndarray:
    """Per-pixel strength weights: larger in texture (where noise hides), smaller in flat areas.

    The weight follows the local standard deviation of the high-pass image, clipped so flat areas still
    carry a useful mark (the extractor reads them best) and edges do not get halos. It varies slowly,
    so it is computed at half resolution (4x less work) and scaled back.
    """
    h, w = y.shape
    small = cv2.resize(y, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
    hp = small - cv2.blur(small, (3, 3))
    act = cv2.blur(hp * hp, (5, 5))
    np.clip(act, 4.0, 64.0, out=act)
    mask = np.sqrt(np.sqrt(act))  # (local std) ** 0.5, std clipped to [2, 8]
    return cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)


def add_pattern(pixels: np.ndarray, tile: np.ndarray, *, psnr: float) -> np.ndarray:
    """Add the repeated ``tile`` to the luminance of ``pixels`` at a target PSNR.

    Parameters
    ----------
    pixels : ndarray of uint8
        (H, W), (H, W, 3) or (H, W, 4) image; an alpha channel is left alone.
    tile : ndarray of float32
        The periodic pattern (repeated from the top-left corner).
    psnr : float
        Target PSNR in dB of the luminance change before rounding.

    Returns
    -------
    ndarray of uint8
        The marked image, same shape.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.embed import add_pattern
    >>> img = np.full((64, 64, 3), 128, np.uint8)
    >>> out = add_pattern(img, np.ones((8, 8), np.float32), psnr=40)
    >>> out.shape, out.dtype
    ((64, 64, 3), dtype('uint8'))
    """
    h, w = pixels.shape[:2]
    y = luma(pixels)
    mask = activity_mask(y)
    th, tw = tile.shape
    pattern = np.tile(tile, (-(-h // th), -(-w // tw)))[:h, :w]
    delta = cv2.multiply(mask, pattern)
    mse = 255.0**2 / 10 ** (psnr / 10)
    gain = np.sqrt(mse / max(float(cv2.mean(cv2.multiply(delta, delta))[0]), 1e-12))
    # Pixels are integers, so round(p + d) == p + round(d): round once, add in 16-bit, saturate.
    d16 = np.empty((h, w), np.int16)
    np.rint(delta * np.float32(gain), out=d16, casting="unsafe")
    if pixels.ndim == 2:
        return cv2.add(pixels, d16, dtype=cv2.CV_8U)
    planes = [d16, d16, d16] + ([np.zeros_like(d16)] if pixels.shape[2] == 4 else [])
    return cv2.add(np.ascontiguousarray(pixels), cv2.merge(planes), dtype=cv2.CV_8U)
