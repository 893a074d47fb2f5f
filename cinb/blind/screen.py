"""Screens: an enlarged layout for pictures of flat UI (issue 15, round 5).

A screenshot is mostly exactly flat (window backgrounds, white pages, dark editors). WebP's VP8 codes a
flat area with the means of its 4x4 blocks and little else, so at q50 it keeps nothing of a mark whose
chips are 4-8 px, and the JND map built for photos puts the mark on the text (texture masking), where
the folded text is the noise. Measured at equal SSIMULACRA2 (80) on flat grey 240, WebP q50 keeps 1 % of
a mark with 4.6 px chips, 23 % with 9.2 px, 72 % with 18.5 px; SSIMULACRA2 charges about the same
amplitude for every chip size (see benchmarks/RESULTS.md, "Round 5: flat areas").

So a picture that is mostly exactly flat (:func:`is_screen`) is marked with the same keyed tile
rendered :data:`ENLARGE` times larger (8 canonical px chips, a 256 px tile in the canonical frame) and
spread evenly (texture power 0: no texture masking), at :data:`SCREEN_BOOST` of the level's visibility
budget. The reader looks for it in the working frame reduced :data:`ENLARGE` times, where it has the
nominal tile size, so every geometry the reader handles for the fine layout it handles for this one.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .embed import CANON

#: How many times larger than the fine layout's the enlarged tile is (chips 4 -> 8 canonical px).
ENLARGE = 2.0
#: Share of a picture's pixels whose 5x5 neighbourhood is exactly flat (one luma value) from which it is
#: marked as a screen. Measured: 5 rendered screenshots 0.74-0.89; 43 photos at most 0.22. Spreadsheets keep
#: the fine layout: enlarged, their grid of cells hides the tile (the corpus one, 0.55: an 80 % crop read at
#: pilot z 4.2, not found; tests/test_blind_clip.py's white sheet, 0.62: lost after JPEG q50, WebP q50 and
#: q75, where the fine layout reads JPEG q50 and WebP q75).
SCREEN_SHARE = 0.7
#: Multiplier of the level's visibility budget for the even, enlarged mark (the visibility predictor,
#: fitted on photos, asks for 0.8-1.25x of what reaches SSIMULACRA2 81 on the screenshots).
SCREEN_BOOST = 0.85
#: Texture masking of the screens' mark (:data:`cinb.blind.embed.TEXTURE_POWER` for photos): 0 spreads it
#: evenly. Measured on 5 screenshots at SSIMULACRA2 78, tile enlarged 2x: decoding margin after WebP q50
#: 0.88-2.05 at 0 (every one read), 0.52-1.23 at the photos' 0.3 (2 of 5 read).
SCREEN_TEXTURE_POWER = 0.0
#: The reader searches for the enlarged layout (after the fine one) when a share of at least ``READ_SHARE``
#: of the picture's 5x5 neighbourhoods span at most one luma level (the mark and codecs have touched the
#: exactly flat areas), and before the fine one when ``FIRST_SHARE`` of them span at most two. Measured on
#: 6 marked screens (5 of the corpus and a synthetic page): at most two levels, 0.64-0.89 as marked,
#: cropped or turned (0.31-0.75 after the screenshot chain); 43 marked photos at most 0.37 (0.49 after
#: the screenshot chain: natural-21, a sky). At most one level: the screens 0.13 or more after the
#: screenshot chain (resized, they are read at the first guesses).
READ_SHARE = 0.12
FIRST_SHARE = 0.55


def _span(pixels: np.ndarray) -> np.ndarray:
    """Each pixel's 5x5 neighbourhood's luma span (max - min, uint8)."""
    y = pixels if pixels.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2GRAY)
    k = np.ones((5, 5), np.uint8)
    return cv2.subtract(cv2.dilate(y, k), cv2.erode(y, k))


def flat_share(pixels: np.ndarray, tolerance: int = 0) -> float:
    """Share of pixels whose 5x5 neighbourhood spans at most ``tolerance`` luma levels.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.screen import flat_share
    >>> img = np.full((64, 64), 200, np.uint8)
    >>> img[:, 32:] = np.random.default_rng(0).integers(0, 255, (64, 32))
    >>> round(flat_share(img), 2)
    0.47
    """
    span = _span(pixels)
    return float(np.count_nonzero(span <= tolerance)) / span.size


def is_screen(pixels: np.ndarray) -> bool:
    """Whether ``pixels`` get the enlarged layout: mostly exactly flat, and at least the canonical frame's
    size (so the enlarged tile still repeats 9 times).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.blind.screen import is_screen
    >>> page = np.full((800, 1280, 3), 250, np.uint8)
    >>> page[100:700:40, 100:1100] = 30  # lines of "text"
    >>> is_screen(page), is_screen(page[:400, :600])
    (True, False)
    """
    h, w = pixels.shape[:2]
    return math.sqrt(h * w) >= CANON and flat_share(pixels) >= SCREEN_SHARE


def screen_odds(pixels: np.ndarray) -> int:
    """Whether the reader should search for the enlarged layout: 0 no, 1 after the fine layout, 2 before
    it (see :data:`READ_SHARE`)."""
    span = _span(pixels)
    if np.count_nonzero(span <= 2) >= FIRST_SHARE * span.size:
        return 2
    return 1 if np.count_nonzero(span <= 1) >= READ_SHARE * span.size else 0
