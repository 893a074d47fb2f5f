"""Embed coded bits into pixels, and read soft coded bits back blindly (no original needed)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .embed import LEVEL_PSNR, add_pattern, luma
from .pattern import CHIP, TILE, Layout, cyclic_smooth
from .sync import find_shift, fold, lattice_candidates, residual

#: Pilot z-score below which no mark is assumed (chance peaks over TILE^2 shifts stay under ~5).
SYNC_Z = 6.0
#: Side of the central region used to screen and refine lattice candidates.
REFINE_REGION = 640


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
    #: Other geometries read, best first (a payload check may prefer one of them).
    alternatives: list = field(default_factory=list)

    def all(self) -> list[Reading]:
        """This reading and its alternatives, best sync first."""
        return [self] + list(self.alternatives)


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


def _basis(period: float, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return period * np.array([[c, -s], [s, c]])


def _refine(r: np.ndarray, layout: Layout, period: float, angle: float, z: float,
            budget: int = 14) -> tuple[float, float, float]:
    """Pattern search on (period, angle) maximising the pilot z-score: the spectral/ACF estimates
    are good to ~0.5%, but folding hundreds of pixels needs ~0.1%."""
    step_p, step_a = 0.004, 0.004
    evals = 0
    while evals < budget and step_p > 0.0004:
        moved = False
        for dp, da in ((step_p, 0), (-step_p, 0), (0, step_a), (0, -step_a)):
            p2, a2 = period * (1 + dp), angle + da
            _, z2, _ = read_tile(fold(r, _basis(p2, a2), filtered=True), layout)
            evals += 1
            if z2 > z:
                period, angle, z, moved = p2, a2, z2, True
                break
        if not moved:
            step_p, step_a = step_p / 2, step_a / 2
    return period, angle, z


def read_coded(pixels: np.ndarray, n_coded: int, *, key: str, candidates: int = 3) -> Reading:
    """Blind reading: find the tile lattice, fold, find the shift, return soft coded bits."""
    layout = Layout(key, n_coded)
    y = luma(pixels)
    soft, z, shift = read_tile(fold(y, np.eye(2) * TILE), layout)
    readings = [Reading(soft, z, np.eye(2) * TILE, shift)]
    if z > 2 * SYNC_Z:  # untouched geometry: done
        return readings[0]
    # Candidates are screened and refined on a central region (fast); the winner reads everything.
    h, w = y.shape
    y0, x0 = max(0, (h - REFINE_REGION) // 2), max(0, (w - REFINE_REGION) // 2)
    region = residual(y[y0 : y0 + REFINE_REGION, x0 : x0 + REFINE_REGION])
    trials = []
    for basis in lattice_candidates(residual(y), n=candidates):
        period = float(np.hypot(*basis[:, 0]))
        angle = float(np.arctan2(basis[1, 0], basis[0, 0]))
        _, z, _ = read_tile(fold(region, basis, filtered=True), layout)
        trials.append((z, period, angle))
    trials.sort(reverse=True)
    for z0, period, angle in trials[:2]:
        period, angle, _ = _refine(region, layout, period, angle, z0)
        basis = _basis(period, angle)
        soft, z, shift = read_tile(fold(y, basis), layout)
        readings.append(Reading(soft, z, basis, shift))
        if z > 2 * SYNC_Z:
            break
    # Best sync first; a near-identity lattice that only edges out the untouched geometry is kept as
    # an alternative, so a payload check can still pick the exact one (crops keep the scale).
    readings.sort(key=lambda r: r.z, reverse=True)
    best = readings[0]
    best.alternatives = readings[1:]
    return best
