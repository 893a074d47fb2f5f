"""Adding the periodic tile to an image's luminance, laid out relative to the image's size and spent
where the eye does not see it.

Layout. The tile is defined in a *canonical frame*: the image scaled so the geometric mean of its sides
is :data:`CANON` px (never enlarged). A 1920x1080 photo carries the tile at 1.9x its canonical size, so
after CI's ``thumbnail/800x`` of a 12 Mpx photo, or a 0.3x resize, the tile still spans the same share
of the picture and the reader only has to scale the image back to the canonical frame.

Perceptual budget (issue 15). A mark at PSNR 41 dB spread evenly is visible in skies (SSIMULACRA2
18-19 on flat skies). The strength per pixel follows a just-noticeable-difference (JND) model in the
spirit of Chou & Li (1995) and Watson (1993):

- *texture masking*: the local standard deviation of the band-pass image at the mark's own scale
  (masking is strongest from content at the masker's frequency), raised to a small power: textured
  regions carry more, flat regions less (a map that left flat regions unmarked measured worse on
  both SSIMULACRA2 and robustness, see :data:`TEXTURE_POWER`);
- *edge handling*: strong isolated edges mask less than texture of the same variance (a halo along a
  horizon shows), so the activity is taken as a low percentile-like minimum over a small window
  (a grey-scale erosion), which keeps the mark off the thin band around an edge;
- *luminance adaptation*: a factor from the local mean luminance raises the strength in highlights and
  lowers it in dark tones, where SSIMULACRA2's XYB transfer is most sensitive (a dark sky showed the
  mark when round 2 raised it there, following Chou-Li).

Per image, a gain scales this map to a visibility budget for the CI ``level`` (:func:`visibility`,
fitted to SSIMULACRA2), at most :data:`GAIN_MAX`; the PSNR of :data:`LEVEL_PSNR` stays a floor.
Rounding to integer pixels is dithered so faint parts of the mark survive it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ..caches import register_cache
from .pattern import TILE

#: PSNR floor (dB) of the mark for each CI ``level`` 0-3 (higher level = stronger, more robust).
LEVEL_PSNR = {0: 45.0, 1: 43.0, 2: 41.0, 3: 38.0}
#: Visibility budget per level (:func:`visibility`, fitted to SSIMULACRA2 on the natural-photo corpus:
#: SSIMULACRA2 ~ 100 - 138 sqrt(v), so 0.021 is about 80).
LEVEL_VISIBILITY = {0: 0.008, 1: 0.014, 2: 0.021, 3: 0.035}
#: Largest gain over the JND map (a photo with almost no texture would otherwise pile the mark up
#: on its few textured spots).
GAIN_MAX = 2.5
#: Geometric-mean side (px) of the canonical frame the tile is defined in (see the module docstring).
CANON = 768
#: Texture masking: amplitude = TEXTURE_SLOPE * (local std) ** TEXTURE_POWER, at most MAX_AMPLITUDE
#: (grey levels, before the gain). Measured on 16 corpus photos at equal SSIMULACRA2: power 0.3 reads
#: better than 0.5 (+7 % decoding margin) and far better than 1.0 or than leaving flat regions unmarked
#: (+40 %): SSIMULACRA2 charges little for a faint mark spread evenly, much for one piled on texture.
TEXTURE_SLOPE = 0.55
TEXTURE_POWER = 0.3
MAX_AMPLITUDE = 7.0
#: Constant (grey levels squared) of the visibility predictor (fitted: C = 64 tracks SSIMULACRA2 best,
#: correlation 0.91 over 32 marked photos).
VIS_C = 64.0
#: How much less mark dark tones get (share at black, see ``_luminance_factor``; issue 15 round 3).
DARK_DIM = 0.3
#: Seed of the rounding dither.
DITHER_SEED = 20261202
#: Clipping-aware visibility budget (round 5): charge the budget only with the share of the mark's energy
#: that clipping to 0-255 lets through (:func:`_kept_energy`); False charges the whole mark (rounds 2-4).
CLIP_AWARE = True


def luma(pixels: np.ndarray) -> np.ndarray:
    """BT.601 luminance of an RGB (H, W, 3) or grey (H, W) uint8 array, as float32."""
    if pixels.ndim == 2:
        return pixels.astype(np.float32)
    return cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)


def frame_scale(height: int, width: int) -> float:
    """How many image pixels one canonical-frame pixel spans (>= 1: small images are not enlarged).

    Examples
    --------
    >>> from cinb.blind.embed import frame_scale
    >>> round(frame_scale(1080, 1920), 3), frame_scale(400, 600)
    (1.875, 1.0)
    """
    return max(1.0, math.sqrt(float(height) * float(width)) / CANON)


def to_frame(y: np.ndarray, scale: float) -> np.ndarray:
    """Area-downscale ``y`` by ``scale`` keeping the exact ratio (``fx``/``fy``, not a rounded size)."""
    if scale <= 1.0:
        return y
    return cv2.resize(y, (0, 0), fx=1.0 / scale, fy=1.0 / scale, interpolation=cv2.INTER_AREA)


def _luminance_factor(mean: np.ndarray) -> np.ndarray:
    # Chou-Li's visibility threshold falls from black to mid grey and rises slowly above it; scaled to
    # 1 at mid grey. In XYB (SSIMULACRA2) dark tones are *more* sensitive, not less: round 2 raised the
    # mark there (up to 2.2x at black) and the rocket photo (a dark blue sky) scored 69. Round 3 lowers it
    # instead, by DARK_DIM at black (the per-image gain moves the energy to mid tones and texture):
    # rocket 70.5, natural photos unchanged (mean 82.7, min 76.8). Lowering more (0.6: rocket 74) costs
    # the darkest natural photo (a forest stream) its crops; keeping the rise in dark *texture* only
    # did not help the rocket (67-68).
    dark = 1.0 - DARK_DIM * np.clip(1.0 - mean / 90.0, 0.0, 1.0)
    bright = 1.0 + 0.6 * np.clip((mean - 170.0) / 85.0, 0.0, 1.0)
    return (dark * bright).astype(np.float32)


def jnd_mask(y: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Per-pixel mark amplitude (grey levels) the eye tolerates, from texture, edges and luminance.

    Computed in the canonical frame (``scale`` image pixels per frame pixel), where the mark's chips are
    4 px, then resized back: the masking that matters comes from content at the mark's own scale.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.embed import jnd_mask
    >>> flat = np.full((64, 64), 120, np.float32)
    >>> rng = np.random.default_rng(0)
    >>> busy = (120 + 25 * rng.standard_normal((64, 64))).astype(np.float32)
    >>> float(jnd_mask(flat).max()) < 0.5 < float(jnd_mask(busy).mean())
    True
    """
    h, w = y.shape
    amp = _frame_maps(y, scale, TEXTURE_POWER)[0]
    if amp.shape != (h, w):
        amp = cv2.resize(amp, (w, h), interpolation=cv2.INTER_LINEAR)
    return amp


def _frame_maps(y: np.ndarray, scale: float,
                texture_power: float = TEXTURE_POWER) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The JND amplitude (texture masking with ``texture_power``), the local activity (std, grey levels) and
    the luminance, all in the canonical frame."""
    small = to_frame(y, scale)
    band = small - cv2.GaussianBlur(small, (0, 0), 2.0)
    act = np.sqrt(cv2.GaussianBlur(band * band, (0, 0), 3.0))
    # Erode: near an isolated edge the activity is high only in a thin band; texture stays high.
    eroded = cv2.erode(act, np.ones((5, 5), np.uint8))
    mean = cv2.GaussianBlur(small, (0, 0), 4.0)
    amp = np.minimum(np.power(eroded, texture_power) * TEXTURE_SLOPE, MAX_AMPLITUDE)
    amp = cv2.GaussianBlur(amp * _luminance_factor(mean), (0, 0), 2.0)
    return amp, act, small


def visibility(amp: np.ndarray, act: np.ndarray, kept: np.ndarray | None = None) -> float:
    """A cheap predictor of how visible a mark of amplitude ``amp`` is over content of activity ``act``
    (both in the frame): the mean squared amplitude relative to the local content, the quantity
    SSIM-type metrics (SSIMULACRA2 included) charge for added structure. ``kept`` (same shape, optional)
    is the share of the mark's energy the pixel range lets through (:func:`_kept_energy`)."""
    v = amp * amp / (act * act + VIS_C)
    return float(np.mean(v if kept is None else v * kept))


def _kept_energy(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
    """Per pixel of the canonical frame (of ``shape``), the share of a small mark's energy that survives
    clipping to 0-255.

    The mark is added to every channel alike; a channel at 255 drops the positive half of it, one at 0
    the negative half (weighted by the channel's share of the luminance). White UI at 255 keeps only the
    negative half of the mark: half its energy (and half its visibility), so a visibility budget charged on
    the whole mark gave white pictures half the mark they could carry (round 5). None when no channel
    of the picture is at 0 or 255 (everything is kept).
    """
    lo, hi, _, _ = cv2.minMaxLoc(pixels.reshape(pixels.shape[0], -1))
    if lo > 0 and hi < 255:  # nothing clips (the alpha channel of RGBA counts too: a cheap, safe test)
        return None
    # A share of area: every other pixel each way tells it as well when the frame is at most 2/3 of the
    # picture's side (a quarter of the work at 1080p).
    step = 2 if pixels.shape[0] >= 1.5 * shape[0] else 1
    pixels = pixels[::step, ::step]
    if pixels.ndim == 2:
        pixels = np.ascontiguousarray(pixels)
        code = cv2.add((pixels == 255).view(np.uint8), (pixels == 0).view(np.uint8) * np.uint8(8))
        lut = _KEPT_LUT_GREY
    else:
        rgb = np.ascontiguousarray(pixels[..., :3])  # also makes the every-other-pixel view contiguous
        # Which channels sit at 255 (bits 0-2) and at 0 (bits 3-5): 64 cases, a table gives each one's share.
        bits = np.array([[1.0, 2.0, 4.0]], np.float32)
        code = cv2.add(cv2.transform((rgb == 255).view(np.uint8), bits),
                       cv2.transform((rgb == 0).view(np.uint8), bits * 8))
        lut = _KEPT_LUT_RGB
    kept = cv2.LUT(code, lut)
    if kept.shape != shape:
        small = kept.shape[0] > shape[0]
        kept = cv2.resize(kept, shape[::-1], interpolation=cv2.INTER_AREA if small else cv2.INTER_LINEAR)
    return kept.astype(np.float32) / np.float32(255.0)


def _kept_lut(weights: tuple[float, ...]) -> np.ndarray:
    """The kept-energy share (x255, uint8) of each code of :func:`_kept_energy` (bit c: channel c at 255,
    bit 3 + c: at 0)."""
    lut = np.full(256, 255, np.uint8)
    for code in range(64):
        top = sum(w for c, w in enumerate(weights) if code >> c & 1)
        bottom = sum(w for c, w in enumerate(weights) if code >> (3 + c) & 1)
        lut[code] = round(255 * 0.5 * ((1.0 - top) ** 2 + (1.0 - bottom) ** 2))
    return lut


_KEPT_LUT_RGB = _kept_lut((0.299, 0.587, 0.114))
_KEPT_LUT_GREY = _kept_lut((1.0,))


def pattern_for(tile: np.ndarray, height: int, width: int, scale: float) -> np.ndarray:
    """The periodic ``tile`` laid over an image of ``height x width``, each tile pixel spanning ``scale``
    image pixels (pixel centres aligned: frame ``u = (x + 0.5) / scale - 0.5``)."""
    th, tw = tile.shape
    if scale == 1.0:
        return np.tile(tile, (-(-height // th), -(-width // tw)))[:height, :width]
    fh, fw = int(height / scale) + 3, int(width / scale) + 3
    canvas = np.tile(tile, (-(-fh // th), -(-fw // tw)))
    off = 0.5 / scale - 0.5
    warp = np.array([[1.0 / scale, 0.0, off], [0.0, 1.0 / scale, off]])
    return cv2.warpAffine(canvas, warp, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_WRAP)


@dataclass
class Canvas:
    """An image ready to be marked: its JND amplitude map and the gain the visibility budget allows,
    computed once (:func:`prepare`), so several tiles can be tried on it (:func:`render`)."""

    pixels: np.ndarray
    level: int
    scale: float
    #: Per-pixel JND amplitude (image resolution, grey levels, before the gain).
    amp: np.ndarray
    #: The gain over ``amp`` the level's visibility budget asks for (before :data:`GAIN_MAX`).
    gain: float
    #: The JND amplitude and the luminance in the canonical frame (what the reader sees).
    amp_frame: np.ndarray
    y_frame: np.ndarray

    @property
    def tiles(self) -> float:
        """How many tiles the canonical frame of this image holds (36 for a frame of ``CANON`` px)."""
        h, w = self.pixels.shape[:2]
        return h * w / (self.scale * self.scale) / float(TILE * TILE)


def prepare(pixels: np.ndarray, *, level: int, scale: float | None = None, budget: float = 1.0,
            texture_power: float = TEXTURE_POWER) -> Canvas:
    """The JND map and gain of ``pixels`` for CI ``level`` (see :func:`add_pattern`), computed once so
    :func:`render` can try several tiles on them. ``texture_power`` 0 spreads the mark evenly (screens,
    :mod:`cinb.blind.screen`).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.embed import prepare, render
    >>> rng = np.random.default_rng(0)
    >>> img = (128 + 6 * rng.standard_normal((256, 256))).clip(0, 255).astype(np.uint8)
    >>> canvas = prepare(img, level=2)
    >>> canvas.tiles, canvas.y_frame.shape
    (4.0, (256, 256))
    >>> tile = np.where(rng.random((128, 128)) < 0.5, -1.0, 1.0).astype(np.float32)
    >>> a, b = render(canvas, tile), render(canvas, tile, boost=2.0)
    >>> bool(np.abs(b.astype(int) - img).mean() > np.abs(a.astype(int) - img).mean())
    True
    """
    h, w = pixels.shape[:2]
    if scale is None:
        scale = frame_scale(h, w)
    amp, act, small = _frame_maps(luma(pixels), scale, texture_power)
    # One visibility budget per level for every image: a busy photo gets less than its JND map allows,
    # a smooth one more (up to GAIN_MAX), so the least visible marks are not wasted on easy photos.
    kept = _kept_energy(pixels, small.shape) if CLIP_AWARE else None
    gain = math.sqrt(budget * LEVEL_VISIBILITY[level] / max(visibility(amp, act, kept), 1e-9))
    frame_amp = amp
    if amp.shape != (h, w):
        amp = cv2.resize(amp, (w, h), interpolation=cv2.INTER_LINEAR)
    return Canvas(pixels, level, scale, amp, gain, frame_amp, small)


def frame_mark(canvas: Canvas, tile: np.ndarray) -> np.ndarray:
    """The mark :func:`render` would add, as the reader sees it in the canonical frame (float32, before
    rounding; the PSNR floor applied): cheap on large pictures, whose frame is smaller."""
    fh, fw = canvas.y_frame.shape
    delta = cv2.multiply(canvas.amp_frame, pattern_for(tile, fh, fw, 1.0))
    return delta * np.float32(_gain(canvas, delta, 1.0))


def _gain(canvas: Canvas, delta: np.ndarray, boost: float) -> float:
    root = math.sqrt(boost)
    gain = min(GAIN_MAX * root, canvas.gain * root)
    mse = 255.0**2 / 10 ** (LEVEL_PSNR[canvas.level] / 10)
    power = float(cv2.mean(cv2.multiply(delta, delta))[0]) * gain * gain
    if power > mse:
        gain *= math.sqrt(mse / power)
    return gain


def render(canvas: Canvas, tile: np.ndarray, *, boost: float = 1.0) -> np.ndarray:
    """``canvas.pixels`` with the repeated ``tile`` added to the luminance, shaped by the JND map, at the
    canvas's gain times ``sqrt(boost)`` (``boost`` multiplies the visibility budget, and
    :data:`GAIN_MAX` with it), the level's PSNR floor still holding."""
    pixels = canvas.pixels
    h, w = pixels.shape[:2]
    delta = cv2.multiply(canvas.amp, pattern_for(tile, h, w, canvas.scale))
    gain = _gain(canvas, delta, boost)
    # Pixels are integers, so round(p + d) == p + round(d): round once, add in 16-bit, saturate.
    # Rounding is dithered (floor(d + u), u uniform in [0, 1)): a plain round would erase every change
    # under half a grey level, which is most of the mark in lightly textured regions, while the dither
    # keeps its mean (measured: +40 % decoding margin on the weakest photos at the same SSIMULACRA2).
    # The dither is seeded: the same image and text give the same pixels.
    u = _dither(h, w)
    d16 = np.empty((h, w), np.int16)
    np.floor(cv2.scaleAdd(delta, float(gain), u), out=d16, casting="unsafe")
    if pixels.ndim == 2:
        return cv2.add(pixels, d16, dtype=cv2.CV_8U)
    planes = [d16, d16, d16] + ([np.zeros_like(d16)] if pixels.shape[2] == 4 else [])
    return cv2.add(np.ascontiguousarray(pixels), cv2.merge(planes), dtype=cv2.CV_8U)


@register_cache
@lru_cache(maxsize=1)
def _dither(h: int, w: int) -> np.ndarray:
    # One draw per picture size (a small picture may be rendered up to five times).
    u = np.random.default_rng(DITHER_SEED).random((h, w), dtype=np.float32)
    u.flags.writeable = False
    return u


def add_pattern(pixels: np.ndarray, tile: np.ndarray, *, level: int, scale: float | None = None,
                budget: float = 1.0) -> np.ndarray:
    """Add the repeated ``tile`` to the luminance of ``pixels``, shaped by the JND map.

    Parameters
    ----------
    pixels : ndarray of uint8
        (H, W), (H, W, 3) or (H, W, 4) image; an alpha channel is left alone.
    tile : ndarray of float32
        The periodic pattern (repeated from the top-left corner), unit RMS.
    level : int
        CI level 0-3: the visibility budget (:data:`LEVEL_VISIBILITY`) sets the gain over the JND map,
        with a PSNR floor (:data:`LEVEL_PSNR`).
    scale : float, optional
        Image pixels per tile pixel; default :func:`frame_scale` of the image.
    budget : float
        Multiplier of the level's visibility budget (payloads without error correction need more).

    Returns
    -------
    ndarray of uint8
        The marked image, same shape.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.embed import add_pattern
    >>> img = np.full((64, 64, 3), 128, np.uint8)
    >>> out = add_pattern(img, np.ones((8, 8), np.float32), level=2)
    >>> out.shape, out.dtype
    ((64, 64, 3), dtype('uint8'))
    """
    return render(prepare(pixels, level=level, scale=scale, budget=budget), tile)
