"""Embed coded bits into pixels, and read soft coded bits back blindly (no original needed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .embed import LEVEL_PSNR, add_pattern, luma
from .pattern import CHIP, TILE, Layout, cyclic_smooth
from .sync import find_shift, fold, lattice_candidates, residual

#: Pilot z-score below which no mark is assumed (chance peaks over TILE^2 shifts stay under ~5).
SYNC_Z = 5.5


def embed_coded(pixels: np.ndarray, coded: np.ndarray, *, key: str, level: int) -> np.ndarray:
    """Add the tile carrying ``coded`` (0/1 array) to a uint8 image array."""
    tile = Layout(key, int(coded.size)).tile(coded)
    return add_pattern(pixels, tile, psnr=LEVEL_PSNR[level])


@dataclass
class Reading:
    """What the extractor saw: soft coded bits and how well the tile was found."""

    soft: np.ndarray  # positive ~ bit 0, unit noise variance
    z: float  # pilot correlation z-score (sync strength)
    basis: np.ndarray | None  # lattice found (2x2)
    shift: tuple[int, int]


def read_tile(folded: np.ndarray, layout: Layout) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Soft coded bits from a folded tile (unknown cyclic shift)."""
    dy, dx, z = find_shift(folded, layout.pilot_tile())
    aligned = np.roll(folded, (-dy, -dx), axis=(0, 1))
    g = TILE // CHIP
    chips = cyclic_smooth(aligned).reshape(g, CHIP, g, CHIP).sum(axis=(1, 3)).ravel()
    # Noise level from the pilots: their chips should equal pilot sign * amplitude.
    pil = layout.pilot_chips.ravel()
    pidx = np.nonzero(pil)[0]
    pv = chips[pidx] * pil[pidx]
    amp = max(float(pv.mean()), 1e-9)
    noise = float(np.std(pv - amp)) + 1e-9
    votes = layout.data_sign * chips[layout.data_index]
    soft = np.bincount(layout.data_bit, weights=votes, minlength=layout.n_coded)
    per_bit = np.bincount(layout.data_bit, minlength=layout.n_coded)
    soft = soft / (noise * np.sqrt(per_bit))
    return soft, z, (dy, dx)


def read_coded(pixels: np.ndarray, n_coded: int, *, key: str, candidates: int = 3) -> Reading:
    """Blind reading: find the tile lattice, fold, find the shift, return soft coded bits."""
    layout = Layout(key, n_coded)
    r = residual(luma(pixels))
    best = Reading(np.zeros(n_coded), 0.0, None, (0, 0))
    bases = [np.eye(2) * TILE]  # the untouched geometry first
    bases += lattice_candidates(r, n=candidates)
    for basis in bases:
        folded = fold(r, basis)
        soft, z, shift = read_tile(folded, layout)
        if z > best.z:
            best = Reading(soft, z, basis, shift)
        if z > 3 * SYNC_Z:
            break
    return best
