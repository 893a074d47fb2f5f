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
    carry some mark (the extractor needs it there too) and edges do not get halos.
    """
    hp = y - cv2.blur(y, (3, 3))
    act = np.sqrt(cv2.blur(hp * hp, (9, 9)))
    return np.clip(act, 2.0, 8.0) ** 0.5


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
    delta = mask * pattern
    mse = 255.0**2 / 10 ** (psnr / 10)
    delta *= np.float32(np.sqrt(mse / max(float(np.mean(delta * delta)), 1e-12)))
    if pixels.ndim == 2:
        return np.clip(y + delta + 0.5, 0, 255).astype(np.uint8)
    out = pixels.copy()
    rgb = pixels[..., :3].astype(np.float32)
    rgb += delta[..., None]
    np.clip(rgb + 0.5, 0, 255, out=rgb)
    out[..., :3] = rgb.astype(np.uint8)
    return out
