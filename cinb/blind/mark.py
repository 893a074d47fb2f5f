"""Embed coded bits into pixels, and read soft coded bits back blindly (no original needed).

Reading works in the canonical frame (:func:`cinb.blind.embed.frame_scale`): the image is area-scaled
so the geometric mean of its sides is ``CANON`` px, where a mark made on the unscaled image has its
nominal tile size whatever the image was resized to. The folded tile is then compared with the pilots
in the 8 orientations of the square (identity, mirrors, quarter turns): a flipped or quarter-turned
copy folds into the same tile, mirrored or turned, so trying them costs 8 small correlations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from ..caches import register_cache
from ..compression.metrics import Reference
from . import screen as _screen
from .embed import CANON, Canvas, frame_mark, frame_scale, luma, prepare, render, to_frame
from .pattern import CHIP, TILE, Layout, cyclic_smooth
from .screen import ENLARGE, screen_kind
from .sync import (
    COHERENT_HARMONICS,
    find_shift,
    fold,
    harmonic_grid,
    lattice_candidates,
    padded_spectrum,
    pilot_scale_search,
    residual,
    whiten_tile,
)

#: Pilot z-score below which no mark is assumed (chance peaks over TILE^2 shifts stay under ~5).
SYNC_Z = 6.0
#: Pilot z-score from which a reading of the joint search that does not decode is refined by folds (a
#: pattern search maximising z lifts chance peaks too: an unmarked stamp after JPEG q75 went from 6.46 to
#: 6.65, near the "suspected" 6.75; weak marks that need the refinement read at 7.5-9).
REFINE_Z = SYNC_Z + 1.0
#: Side of the central region used to refine weak readings.
REFINE_REGION = 640
#: Largest side of the central region whose spectrum the joint search reads for marks of the first layout
#: (a fixed 128 px tile: a 1024 px square holds 64 of them; the whole of a 1080p picture cost 130 ms more,
#: of a 12 Mpx one seconds).
LEGACY_REGION = 1024

#: The 8 orientations of the square, as (mirror, quarter turns) applied to the *folded tile* to undo
#: what was done to the image, and the name of what was done to the image (CI's rotate is clockwise;
#: transpose mirrors about the main diagonal, transverse about the other).
ORIENTATIONS = {
    (False, 0): "none",
    (True, 0): "flip horizontal",
    (False, 2): "rotate 180",
    (True, 2): "flip vertical",
    (False, 1): "rotate 90",
    (False, 3): "rotate 270",
    (True, 1): "transpose",
    (True, 3): "transverse",
}


#: Coherent search (:func:`cinb.blind.sync.pilot_scale_search`): default relative step between upright
#: periods (finer than the ~0.25 % a frame of 6-8 tiles tolerates), and the z-score on all harmonics
#: below which a geometry is not worth folding. The joint search's best chance peak over ~1200 geometries
#: reaches ~6.5 (an unmarked stamp after JPEG q75: folded, 6.46, status 55, near "suspected"); the weakest
#: marks that still decode verify at 7.5-8.5 (natural-03 after the crops, the screenshot chain, a 3 deg
#: straighten).
SCALE_STEP = 0.0025
SCALE_MIN_Z = 7.0


def undo_orientation(folded: np.ndarray, orientation: tuple[bool, int]) -> np.ndarray:
    """Apply the inverse of an image orientation to a folded tile."""
    mirror, turns = orientation
    t = folded[:, ::-1] if mirror else folded
    return np.ascontiguousarray(np.rot90(t, turns))


def redo_orientation(tile: np.ndarray, orientation: tuple[bool, int]) -> np.ndarray:
    """Apply an image orientation to a tile (the inverse of :func:`undo_orientation`)."""
    mirror, turns = orientation
    t = np.rot90(tile, -turns)
    return np.ascontiguousarray(t[:, ::-1] if mirror else t)


@register_cache
@lru_cache(maxsize=8)
def _oriented_pilots(key: str, n_coded: int, h: int = COHERENT_HARMONICS) -> np.ndarray:
    """The pilot's conjugate harmonics (up to ``h``) as the 8 orientations turn it, in ``ORIENTATIONS`` order."""
    pilot = Layout(key, n_coded).pilot_tile()
    return np.stack([harmonic_grid(redo_orientation(pilot, o), h) for o in ORIENTATIONS])


def _periods(shape: tuple[int, int], step: float = SCALE_STEP) -> np.ndarray:
    """Tile periods (working-frame px) the zero-rotation search covers, likeliest first.

    A crop keeping a share ``k`` of each side of a marked image leaves the tile at ``TILE / k`` in the
    working frame when the crop is still larger than the canonical frame, and at ``TILE * G / (768 k)``
    (``G`` the crop's geometric-mean side) when it is smaller; crops down to half of each side, and
    resizes of images already smaller than the frame, stay inside the range. Scanning starts at a
    crop of 80 % of the area and moves outwards.
    """
    c = min(1.0, math.sqrt(shape[0] * shape[1]) / CANON)
    lo, hi = 0.9 * TILE * c, 1.05 * max(TILE, 2 * TILE * c)
    periods = lo * np.exp(np.arange(0.0, math.log(hi / lo), step))
    guess = TILE * c / 0.9
    return periods[np.argsort(np.abs(np.log(periods / guess)), kind="stable")]


#: Rotations the joint search covers (degrees either way).
ANGLE_RANGE = 10.0


#: Joint coherent (period, angle) search, coarse stage: the tile harmonics up to ``COARSE_H`` each way
#: (the residual's high-pass leaves little of the mark below harmonic 16: with 15, the weakest photos'
#: peaks sank to chance; 23 keeps ~99 % of the z-score of all 31) on a grid of ``COARSE_STEP`` (relative
#: period) and ``COARSE_ANGLE`` degrees (a geometry half a step away keeps ~80 % of its z-score).
COARSE_H = 23
COARSE_STEP, COARSE_ANGLE = 0.004, 0.16
#: The scan goes by chunks (upright by likeliest period, then rotations of growing angle, ``CHUNK_ANGLE``
#: degrees each way per chunk); a chunk's peaks over ``VERIFY_Z`` (chance peaks of a chunk stay under
#: ~5.5) are verified at once, so a mark found early ends the search; then the ``COARSE_PEAKS`` best
#: peaks overall.
CHUNK_ANGLE = 1.0
#: Upright periods per chunk (likeliest first: a crop of 80 % of the area is in the first), and the
#: rotations scanned before the other upright chunks (degrees either way).
UPRIGHT_CHUNK = 48
SMALL_ANGLE = 5.0
VERIFY_Z = 6.0
COARSE_PEAKS = 3
#: Fine stage around each coarse peak: (relative period step, angle step in degrees, steps either way,
#: grid of shifts): all harmonics, the last levels with shifts a pixel apart.
FINE_GRIDS = ((0.002, 0.08, 1, 64), (0.001, 0.04, 1, 128), (0.0005, 0.02, 1, 128))


def _tile_periods(marked_gm: float, seen_gm: float) -> list[float]:
    """Tile periods (working-frame px) when the picture seen (geometric-mean side ``seen_gm`` px) shows
    the tile as marked on a picture of geometric-mean side ``marked_gm`` px at the same pixel scale:
    marked at that size, or (when that is under the canonical frame) a thumbnail of a larger marked
    picture, whose tile shrank with it."""
    seen = max(1.0, seen_gm / CANON)
    out = [TILE * max(1.0, marked_gm / CANON) / seen]
    if marked_gm < CANON * 0.97:
        out.append(TILE * marked_gm / CANON / seen)
    return out


def _geometries(shape: tuple[int, int], frame_shape: tuple[int, int], *, fixed: bool = False
                ) -> tuple[np.ndarray, np.ndarray]:
    """The coarse (period, angle) grid of the joint search, likeliest first: upright crops and resizes
    (every period of :func:`_periods`), then rotations by growing angle (up to ``ANGLE_RANGE``) of three
    kinds: the size kept (black corners), the black corners cropped away by the largest centred box of
    the picture's aspect ratio (a photo editor's straighten tool; also boxes up to 0.8 % tighter), and
    the canvas enlarged to hold the whole turned picture (CI's ``imageMogr2/rotate``).

    ``shape`` is the picture's (height, width) in pixels, ``frame_shape`` its working frame's. ``fixed``: the
    tile is a fixed number of pixels whatever the picture's size (the first layout, read unscaled), so a
    rotation of any kind leaves it at ``TILE``.
    """
    h, w = shape
    g = math.sqrt(h * w)
    ar = max(h, w) / min(h, w)
    upright = _periods(frame_shape, COARSE_STEP)
    periods, angles = [upright], [np.zeros(len(upright))]
    for a in np.arange(COARSE_ANGLE, ANGLE_RANGE + COARSE_ANGLE / 2, COARSE_ANGLE):
        t = math.radians(a)
        if fixed:
            for sign in (1.0, -1.0):
                periods.append(np.array([float(TILE)]))
                angles.append(np.array([sign * t]))
            continue
        c, s = math.cos(t), math.sin(t)
        cands = _tile_periods(g, g)
        k = 1.0 / (c + ar * s)  # the straighten box keeps this share of each side
        cands += [p * f for p in _tile_periods(g / k, g) for f in (1.0, 1.0 + COARSE_STEP, 1.0 + 2 * COARSE_STEP)]
        ow, oh = (w * c - h * s) / (c * c - s * s), (h * c - w * s) / (c * c - s * s)
        if ow > 0 and oh > 0:
            cands += _tile_periods(math.sqrt(ow * oh), g)
        uniq: list[float] = []
        for p in cands:
            if all(abs(math.log(p / q)) > COARSE_STEP / 2 for q in uniq):
                uniq.append(p)
        for sign in (1.0, -1.0):
            periods.append(np.array(uniq))
            angles.append(np.full(len(uniq), sign * t))
    return np.concatenate(periods), np.concatenate(angles)


#: A coarse peak whose first fine level (``FINE_GRIDS[0]``) stays under this is not refined further: the
#: finer levels raise a mark's z-score by at most ~14 % (natural photos after the goal crops, 3 deg straighten
#: and screenshot chain: 7.2 -> 7.6, 7.8 -> 8.9, 13.5 -> 15.3), so it could not reach ``SCALE_MIN_Z``; chance
#: peaks of unmarked photos stop there (first level 4.9-6.3).
FINE_EXIT_Z = 6.0


def _verify(spec: np.ndarray, pilots: np.ndarray, p: float, a: float, stats: dict | None = None
            ) -> tuple[float, float, float, tuple[bool, int]] | None:
    """(z, period, angle, orientation) of the best geometry near ``(p, a)`` on all harmonics (``FINE_GRIDS``,
    finer and finer), or None when it stays under ``SCALE_MIN_Z``."""
    best = (-np.inf, p, a, 0)
    for level, (step, astep, n, m) in enumerate(FINE_GRIDS):
        d = np.arange(-n, n + 1)
        gp, ga = np.meshgrid(best[1] * (1 + step * d), best[2] + math.radians(astep) * d, indexing="ij")
        zz = pilot_scale_search(spec, pilots, gp.ravel(), angles=ga.ravel(), batch=32, shifts=m)
        if stats is not None:
            stats["fine"] = stats.get("fine", 0) + zz.shape[0]
        i, o = np.unravel_index(int(np.argmax(zz)), zz.shape)
        if zz[i, o] > best[0]:
            best = (float(zz[i, o]), float(gp.ravel()[i]), float(ga.ravel()[i]), int(o))
        if level == 0 and best[0] < FINE_EXIT_Z:
            return None
    return (best[0], best[1], best[2], list(ORIENTATIONS)[best[3]]) if best[0] >= SCALE_MIN_Z else None


def _joint_candidates(spec: np.ndarray, shape: tuple[int, int], frame_shape: tuple[int, int], layout: Layout,
                      stats: dict | None = None, *, fixed: bool = False
                      ) -> Iterator[tuple[float, float, float, tuple[bool, int]]]:
    """(z, period, angle, orientation) of likely tile geometries, likeliest first, lazily: a coherent
    pilot search (:func:`cinb.blind.sync.pilot_scale_search`) over :func:`_geometries` on the harmonics up
    to ``COARSE_H``, chunk by chunk, each peak verified on all harmonics around it (``FINE_GRIDS``).
    A caller that stops at the first geometry it can read saves the rest of the scan.

    ``stats``, if given, counts the geometries tried (``"coarse"``, ``"fine"``); ``fixed`` as :func:`_geometries`.
    """
    periods, angles = _geometries(shape, frame_shape, fixed=fixed)
    coarse_pilots = _oriented_pilots(layout.key, layout.n_coded, COARSE_H)
    pilots = _oriented_pilots(layout.key, layout.n_coded)
    z = np.full(len(periods), -np.inf, np.float32)
    verified: list[tuple[float, float]] = []

    def distinct(p: float, a: float, seen: list[tuple[float, float]]) -> bool:
        return all(abs(math.log(p / q)) > 0.01 or abs(a - b) > math.radians(0.5) for q, b in seen)

    def verify(p: float, a: float) -> tuple[float, float, float, tuple[bool, int]] | None:
        verified.append((p, a))
        return _verify(spec, pilots, p, a, stats)

    def peaks(sel: np.ndarray, floor: float, most: int) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for k in sel[np.argsort(z[sel])[::-1]]:
            if z[k] < floor or len(out) >= most:
                break
            p, a = float(periods[k]), float(angles[k])
            if distinct(p, a, out) and distinct(p, a, verified):
                out.append((p, a))
        return out

    upright = np.nonzero(angles == 0)[0]  # likeliest period first (:func:`_periods`)
    still = [upright[i : i + UPRIGHT_CHUNK] for i in range(0, len(upright), UPRIGHT_CHUNK)]
    turn = np.abs(np.degrees(angles))
    turned = [np.nonzero((turn > lo + 1e-9) & (turn <= lo + CHUNK_ANGLE + 1e-9))[0]
              for lo in np.arange(0.0, ANGLE_RANGE, CHUNK_ANGLE)]
    # The likeliest crops, then small rotations, then the other crops and resizes, then larger rotations.
    small = int(round(SMALL_ANGLE / CHUNK_ANGLE))
    chunks = still[:1] + turned[:small] + still[1:] + turned[small:]
    for sel in chunks:
        if not len(sel):
            continue
        if angles[sel[0]] == 0:
            z[sel] = pilot_scale_search(spec, coarse_pilots, periods[sel], h=COARSE_H, batch=64).max(axis=1)
        else:
            z[sel] = pilot_scale_search(spec, coarse_pilots, periods[sel], angles=angles[sel], h=COARSE_H,
                                        batch=64).max(axis=1)
        if stats is not None:
            stats["coarse"] = stats.get("coarse", 0) + len(sel)
        for p, a in peaks(sel, VERIFY_Z, 2):
            if (found := verify(p, a)) is not None:
                yield found
    for p, a in peaks(np.arange(len(z)), -np.inf, COARSE_PEAKS):
        if (found := verify(p, a)) is not None:
            yield found


#: Informed embedding (issue 15, round 4): share of the photo's own projection on each coded bit that
#: the embedder cancels (0 = plain spread spectrum), and the largest weight a coded bit may get. The
#: reader folds every tile of the picture into one and sums each coded bit's chips; the picture itself
#: adds to that sum a value the embedder can compute (it has the picture), and on small pictures,
#: which hold few tiles, that value is as large as the mark's. Improved spread spectrum (Malvar and
#: Florencio, 2003) weights each coded bit by ``1 - lambda * host / mark`` (then the weights are scaled
#: back to the same energy): bits the picture pushes the wrong way get more of the mark, bits it
#: already pushes the right way less. Measured on 51 small pictures (256-768 px) after JPEG q85/q75:
#: soft-bit SNR +5-48 % (mean +27 % at 0.8, +21 % at 0.5) at the same SSIMULACRA2. 0.8 lost a 3° rotation
#: of one natural photo (the spectral comb no longer proposed its lattice: the cancelling part of the mark
#: is anti-correlated with the picture); 0.5 keeps it.
INFORMED_LAMBDA = 0.5
INFORMED_WMAX = 3.0
#: Small pictures (frames holding fewer tiles than the canonical one's 36): soft-bit SNR the mark should
#: keep after JPEG q75 (plain Viterbi fails under ~0.75), and the largest multiplier of the visibility
#: budget spent to reach it (at most the canonical frame's tile count over the picture's).
SMALL_TARGET_SNR = 1.2
SMALL_BOOST_MAX = 2.0
#: ... as long as SSIMULACRA2 of the marked picture against the original stays at least this (issue 15:
#: >= 70 on every picture, >= 80 on average; pictures already under it are not boosted).
SMALL_MIN_SSIMULACRA2 = 76.0
#: ... and a small picture whose mark at the level's budget scores under this SSIMULACRA2 gets less of it
#: (issue 15's floor is 70 on every picture; the rocket sample scored 69.6, a fog photo at 885x553 69.1).
SMALL_FLOOR_SSIMULACRA2 = 70.5
#: JPEG quality the small-picture check simulates (CI writes JPEG at 85 by default; 75 leaves a margin).
SMALL_CHECK_QUALITY = 75


def _chip_sums(folded: np.ndarray) -> np.ndarray:
    """Each chip's sum in an aligned folded tile (what the payload chips are read from)."""
    g = TILE // CHIP
    return cyclic_smooth(folded).reshape(g, CHIP, g, CHIP).sum(axis=(1, 3)).ravel()


def _bit_votes(y: np.ndarray, layout: Layout) -> np.ndarray:
    """Per coded bit, the signed sum of its chips read at the untouched geometry from the working-frame
    luminance ``y`` (positive ~ bit 0): the reader's soft value before normalisation."""
    chips = _chip_sums(fold(y, np.eye(2) * TILE))
    votes = layout.data_sign * chips[layout.data_index]
    return np.bincount(layout.data_bit, weights=votes, minlength=layout.n_coded)


def _informed_weights(host: np.ndarray, mark: np.ndarray, per_bit: np.ndarray) -> np.ndarray:
    """Per coded bit weights from the picture's own vote ``host`` (signed so > 0 helps) and the mark's
    vote at weight 1 ``mark``; same mean energy per chip as unit weights."""
    w = np.clip(1.0 - INFORMED_LAMBDA * host / mark, 0.0, INFORMED_WMAX)
    return w / math.sqrt(max(float(np.sum(per_bit * w * w) / np.sum(per_bit)), 1e-12))


def _margin(votes: np.ndarray, signs: np.ndarray, per_bit: np.ndarray) -> float:
    """Soft-bit SNR (mean over spread of the signed, normalised votes) the decoder would see."""
    r = signs * votes / np.sqrt(per_bit)
    return float(r.mean() / (r.std() + 1e-12))


def _jpeg_luma(pixels: np.ndarray, quality: int) -> np.ndarray:
    y = pixels if pixels.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2GRAY)
    ok, buf = cv2.imencode(".jpg", y, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else None
    if decoded is None:  # OpenCV could not round-trip it: no simulated loss rather than a crash
        return y.astype(np.float32)
    return decoded.astype(np.float32)


def _boosted(canvas: Canvas, layout: Layout, coded: np.ndarray, out: np.ndarray, host: np.ndarray, mark: np.ndarray,
             per_bit: np.ndarray, boost: float, ref: Reference, base: float) -> np.ndarray:
    """``out`` (SSIMULACRA2 ``base`` against ``ref``) re-rendered with the visibility budget multiplied by
    up to ``boost``, as far as SSIMULACRA2 stays at :data:`SMALL_MIN_SSIMULACRA2` (``out`` itself when
    even a little more would not)."""
    if base <= SMALL_MIN_SSIMULACRA2:
        return out
    for _ in range(3):
        tile = layout.tile(coded, _informed_weights(host, mark * math.sqrt(boost), per_bit))
        candidate = render(canvas, tile, boost=boost)
        score = ref.ssimulacra2(candidate)
        if score >= SMALL_MIN_SSIMULACRA2:
            return candidate
        # SSIMULACRA2's loss grows about linearly with the mark's amplitude (sqrt of the boost).
        step = (base - SMALL_MIN_SSIMULACRA2 - 0.3) / max(base - score, 1e-6) * (math.sqrt(boost) - 1.0)
        boost = (1.0 + max(step, 0.0)) ** 2
        if boost < 1.05:
            break
    return out


def _dimmed(canvas: Canvas, layout: Layout, coded: np.ndarray, out: np.ndarray, host: np.ndarray, mark: np.ndarray,
            per_bit: np.ndarray, ref: Reference, score: float) -> np.ndarray:
    """``out`` (SSIMULACRA2 ``score`` < :data:`SMALL_FLOOR_SSIMULACRA2`) re-rendered with less of the mark,
    so SSIMULACRA2 reaches the floor (two tries; the fainter one is kept)."""
    boost = 1.0
    for _ in range(2):
        # The loss (100 - score) grows about linearly with the mark's amplitude.
        boost *= ((100.0 - SMALL_FLOOR_SSIMULACRA2 - 0.3) / max(100.0 - score, 1e-6)) ** 2
        tile = layout.tile(coded, _informed_weights(host, mark * math.sqrt(boost), per_bit))
        out = render(canvas, tile, boost=boost)
        score = ref.ssimulacra2(out)
        if score >= SMALL_FLOOR_SSIMULACRA2:
            break
    return out


#: Enlarged searches for fine tiles (:func:`_small_scale_candidates`): the bands of tile periods
#: (working-frame px) searched, each on the picture enlarged so the band's middle lands on the nominal
#: tile, and how far (a ratio) from the nominal tile the enlarged periods may go.
SMALL_PERIODS = ((24.0, 40.0), (40.0, 64.0))
SMALL_SPAN = 1.28
#: z-score on the enlarged picture that ends the enlarged searches, and the least worth folding (the
#: enlarged search scores a mark lower than its fold does: 6.3-7 for folds of 10.9-13 on three small
#: pictures resized to 0.3x; 300 unmarked readings with this bar stayed at status <= 52).
SMALL_STOP = 9.0
SMALL_MIN_Z = 6.3


def _small_scale_candidates(y: np.ndarray, layout: Layout, stats: dict | None = None
                            ) -> list[tuple[float, float, tuple[bool, int]]]:
    """(z, period, orientation) of the best upright period under 64 px, from coherent searches on the
    luminance enlarged so each band of periods lands near the nominal tile, where the residual's filter
    fits the chips (on the picture as it is, a 38 px tile's chips are 1.2 px and the 5 px high-pass
    keeps the photo's texture at the tile's harmonics: heldout-17 after a 0.3 resize, z 4.5 there, 9 on
    the enlarged picture). Pictures under the canonical frame only; at most one candidate."""
    h, w = y.shape
    gm = math.sqrt(h * w)
    if gm >= CANON:
        return []
    best: tuple[float, float, tuple[bool, int]] | None = None
    pilots = _oriented_pilots(layout.key, layout.n_coded)
    for lo, hi in SMALL_PERIODS:
        lo = max(lo, 0.9 * TILE * gm / CANON)  # the smallest a mark's tile can be (see _periods)
        if lo >= hi:
            continue
        up = TILE / math.sqrt(lo * hi)
        big = cv2.resize(y, (0, 0), fx=up, fy=up, interpolation=cv2.INTER_LINEAR)
        spec = padded_spectrum(residual(big, weighted=True))
        lo_b, hi_b = max(lo * up, TILE / SMALL_SPAN), min(hi * up, TILE * SMALL_SPAN)
        periods = lo_b * np.exp(np.arange(0.0, math.log(hi_b / lo_b), SCALE_STEP))
        z = pilot_scale_search(spec, pilots, periods, stop=SMALL_STOP)
        if stats is not None:
            stats["small"] = stats.get("small", 0) + len(periods)
        k = int(np.argmax(z.max(axis=1)))
        zk = float(z[k].max())
        if zk >= SMALL_MIN_Z and (best is None or zk > best[0]):
            best = (zk, float(periods[k]) / up, list(ORIENTATIONS)[int(np.argmax(z[k]))])
        if best is not None and best[0] > SMALL_STOP:
            break
    return [best] if best is not None else []


#: Tiny pictures (:func:`_tiny_folds`): the largest geometric-mean side (px) folded at every fine period, the
#: band of periods (px; each fold costs ~5 ms, so only the band around a 0.3x resize), the period step
#: (relative) times the number of tiles across the longer side, and the fold z-score a reading needs to be
#: considered at all (chance folds of a tiny picture over the band stay under ~5.5; the marks the searches
#: miss fold at 6.8-13 at their period).
TINY_SIDE = 256.0
TINY_PERIODS = (30.0, 52.0)
TINY_STEP = 0.03
TINY_MIN_Z = 7.0


def _tiny_folds(y: np.ndarray, layout: Layout, stats: dict | None = None) -> Iterator[Reading]:
    """Readings of a tiny picture folded at every upright period of ``TINY_PERIODS`` (at least 1.5 tiles across;
    a tile of 128-170 px resized to 0.23-0.4x), those from ``TINY_MIN_Z``, nearest a 0.3x resize first. On a
    picture of 2-6 tiles the coherent searches, even on the enlarged picture, score the mark at chance
    (chelsea 451x300 marked, resized to 0.3x, 135x90: fold z 10.4 at its 38.4 px period, the enlarged search
    under 6.3), while a fold reads it within ~0.6 % of the period."""
    h, w = y.shape
    if math.sqrt(h * w) >= TINY_SIDE:
        return
    lo, hi = TINY_PERIODS[0], min(TINY_PERIODS[1], max(h, w) / 1.5)
    if hi <= lo:
        return
    step = TINY_STEP * hi / max(h, w)  # the tolerance narrows as more tiles fit across
    periods = lo * np.exp(np.arange(0.0, math.log(hi / lo), step))
    # A picture marked at its own size (up to the frame) and resized to 0.3x first, then outwards.
    for period in periods[np.argsort(np.abs(np.log(periods / (0.3 * TILE))), kind="stable")]:
        basis = np.eye(2) * period
        soft, z, shift, o = read_tile(fold(y, basis), layout, None)
        if stats is not None:
            stats["tiny"] = stats.get("tiny", 0) + 1
        if z >= TINY_MIN_Z:
            yield Reading(soft, z, basis, shift, o)


def embed_coded(pixels: np.ndarray, coded: np.ndarray, *, key: str, level: int, budget: float = 1.0) -> np.ndarray:
    """Add the tile carrying ``coded`` (0/1 array) to a uint8 image array.

    The mark is informed by the picture (see :data:`INFORMED_LAMBDA`): the mark at unit weights, added
    to the picture in the reader's frame, measures how much each coded bit's chips read from the mark
    and from the picture, and the tile is weighted per coded bit. A small picture
    (:data:`SMALL_TARGET_SNR`) whose mark would read too weakly after JPEG gets a larger visibility
    budget, up to :data:`SMALL_BOOST_MAX`. A screen (:func:`cinb.blind.screen.is_screen`: mostly exactly
    flat UI) gets the same tile :data:`cinb.blind.screen.ENLARGE` times larger, spread evenly.
    """
    layout = Layout(key, int(coded.size))
    kind = screen_kind(pixels)
    screen = kind == "screen"
    if screen:  # flat UI: the enlarged, even layout (:mod:`cinb.blind.screen`)
        h, w = pixels.shape[:2]
        canvas = prepare(pixels, level=level, scale=ENLARGE * frame_scale(h, w), budget=budget * _screen.SCREEN_BOOST,
                         texture_power=_screen.SCREEN_TEXTURE_POWER)
    elif kind == "grid":  # a spreadsheet's grid: the fine layout, spread evenly
        canvas = prepare(pixels, level=level, budget=budget, texture_power=_screen.SCREEN_TEXTURE_POWER)
    else:
        canvas = prepare(pixels, level=level, budget=budget)
    signs = 1.0 - 2.0 * np.asarray(coded, np.float64)
    per_bit = np.bincount(layout.data_bit, minlength=layout.n_coded).astype(np.float64)
    host = signs * _bit_votes(canvas.y_frame, layout)
    mark = signs * _bit_votes(canvas.y_frame + frame_mark(canvas, layout.tile(coded)), layout) - host
    # A bit whose chips sit where the JND map allows almost nothing reads little of the mark: do not
    # let it ask for the whole budget.
    mark = np.maximum(mark, 0.2 * max(float(np.median(mark)), 1e-6))
    out = render(canvas, layout.tile(coded, _informed_weights(host, mark, per_bit)))
    canon_tiles = (CANON / TILE) ** 2
    if canvas.tiles < canon_tiles and not screen:
        ref = Reference(canvas.pixels)
        score = ref.ssimulacra2(out)
        if score < SMALL_FLOOR_SSIMULACRA2:
            return _dimmed(canvas, layout, coded, out, host, mark, per_bit, ref, score)
        y = to_frame(_jpeg_luma(out, SMALL_CHECK_QUALITY), canvas.scale)
        margin = _margin(_bit_votes(y, layout), signs, per_bit)
        if margin < SMALL_TARGET_SNR:
            boost = min(SMALL_BOOST_MAX, canon_tiles / canvas.tiles, (SMALL_TARGET_SNR / max(margin, 0.1)) ** 2)
            out = _boosted(canvas, layout, coded, out, host, mark, per_bit, boost, ref, score)
    return out


@dataclass
class Reading:
    """What the extractor saw: soft coded bits and how well the tile was found."""

    soft: np.ndarray  # positive ~ bit 0, unit noise variance
    z: float  # pilot correlation z-score (sync strength)
    basis: np.ndarray | None  # lattice found (2x2), in the working frame
    shift: tuple[int, int]
    orientation: tuple[bool, int] = (False, 0)
    #: Found in the enlarged layout of screens (:mod:`cinb.blind.screen`; ``basis`` in the reduced frame).
    enlarged: bool = False
    #: Other geometries read, best first (a payload check may prefer one of them).
    alternatives: list = field(default_factory=list)

    def all(self) -> list[Reading]:
        """This reading and its alternatives, best sync first."""
        return [self] + list(self.alternatives)

    @property
    def orientation_name(self) -> str:
        return ORIENTATIONS[self.orientation]


def _orient(folded: np.ndarray, layout: Layout) -> tuple[tuple[bool, int], tuple[int, int, float]]:
    pilot = layout.pilot_tile()
    white = whiten_tile(folded)
    best: tuple[tuple[bool, int], tuple[int, int, float]] | None = None
    for o in ORIENTATIONS:
        dy, dx, z = find_shift(undo_orientation(white, o), pilot, whiten=False)
        if best is None or z > best[1][2]:
            best = (o, (dy, dx, z))
    assert best is not None  # ORIENTATIONS is not empty
    return best


#: Neighbourhoods of a chip whose sums are features of the pilot-fitted chip filter (``chip_features``):
#: rings at distances 1, sqrt 2, 2, sqrt 5 and sqrt 8 chips.
RINGS = (
    ((1, 0), (-1, 0), (0, 1), (0, -1)),
    ((1, 1), (1, -1), (-1, 1), (-1, -1)),
    ((2, 0), (-2, 0), (0, 2), (0, -2)),
    ((1, 2), (2, 1), (-1, 2), (-2, 1), (1, -2), (2, -1), (-1, -2), (-2, -1)),
    ((2, 2), (2, -2), (-2, 2), (-2, -2)),
)
#: Ridge of the pilot fit, relative to the features' mean variance (keeps a weak reading near the plain sum).
CHIP_RIDGE = 0.02


def chip_features(aligned: np.ndarray) -> np.ndarray:
    """(chips, k) features of each chip of an aligned folded tile: its plain sum, its sum after the
    tile's own smoothing, and the sums of the rings of :data:`RINGS` around it (column 1 alone is the
    classic matched filter)."""
    g = TILE // CHIP
    raw = aligned.reshape(g, CHIP, g, CHIP).sum(axis=(1, 3))
    smooth = cyclic_smooth(aligned).reshape(g, CHIP, g, CHIP).sum(axis=(1, 3))
    cols = [raw, smooth]
    pad = np.pad(raw, 2, mode="wrap")  # the tile repeats: neighbours wrap around
    for ring in RINGS:
        cols.append(sum(pad[2 + dy : 2 + dy + g, 2 + dx : 2 + dx + g] for dy, dx in ring))
    return np.stack([c.ravel() for c in cols], axis=1)


def combine_chips(features: np.ndarray, pilots: np.ndarray, pidx: np.ndarray) -> np.ndarray:
    """One value per chip: the linear combination of ``features`` that reads the pilots best.

    What an attack leaves of the mark, and the photo's own content that folds into the tile, vary from
    picture to picture: after WebP q50 a flat sky keeps only the low frequencies of a 4 px chip, while
    the folded photo adds noise that is correlated between neighbouring chips (chips are keyed at random,
    so the mark is not). The pilots (known signs) measure both: the weights that maximise their
    signal-to-noise ratio, ``w = C^-1 mu`` (``mu`` the mean and ``C`` the covariance of the pilots'
    sign-corrected features; maximal-ratio combining), filter and whiten the chips for this picture.
    Measured at the untouched geometry on 43 pictures: decoding margin x1.51 after WebP q50, x1.24 after
    JPEG q50 and unattacked, never below the plain sum by more than 3 %.
    """
    p = features[pidx] * pilots[pidx, None]
    mu = p.mean(axis=0)
    d = p - mu
    cov = d.T @ d / max(len(pidx) - 1, 1)
    k = cov.shape[0]
    cov += CHIP_RIDGE * max(float(np.trace(cov)) / k, 1e-12) * np.eye(k)
    try:
        w = np.linalg.solve(cov, mu)
    except np.linalg.LinAlgError:
        w = None
    if w is None or not np.all(np.isfinite(w)) or not np.any(w):
        return features[:, 1]
    return features @ w


class SoftBits(np.ndarray):
    """Soft coded bits read with the pilot-fitted chip filter (:func:`combine_chips`), carrying ``plain``:
    the same tile read with the plain chip sum. Near the decoding limit the two filters fail on different
    pictures, so the reader decodes ``plain`` when the first does not pass the CRC. Derived arrays
    (slices, arithmetic) carry no ``plain``."""

    plain: np.ndarray | None

    def __new__(cls, soft: np.ndarray, plain: np.ndarray | None = None) -> SoftBits:
        obj = np.asarray(soft, dtype=np.float64).view(cls)
        obj.plain = plain
        return obj

    def __array_finalize__(self, obj) -> None:
        self.plain = None


def _soft_bits(chips: np.ndarray, layout: Layout, pil: np.ndarray, pidx: np.ndarray) -> np.ndarray:
    """Per coded bit, the sum of its chips' signed votes, in units of the noise the pilots show."""
    pv = chips[pidx] * pil[pidx]
    amp = max(float(pv.mean()), 1e-9)
    noise = float(np.std(pv - amp)) + 1e-9
    votes = layout.data_sign * chips[layout.data_index]
    soft = np.bincount(layout.data_bit, weights=votes, minlength=layout.n_coded)
    per_bit = np.bincount(layout.data_bit, minlength=layout.n_coded)
    return soft / (noise * np.sqrt(per_bit))


def read_tile(folded: np.ndarray, layout: Layout, orientation: tuple[bool, int] | None = (False, 0)
              ) -> tuple[np.ndarray, float, tuple[int, int], tuple[bool, int]]:
    """Soft coded bits from a folded tile (unknown cyclic shift; unknown orientation when
    ``orientation`` is None)."""
    if orientation is None:
        orientation, (dy, dx, z) = _orient(folded, layout)
        folded = undo_orientation(folded, orientation)
    else:
        folded = undo_orientation(folded, orientation)
        dy, dx, z = find_shift(folded, layout.pilot_tile())
    aligned = np.roll(folded, (-dy, -dx), axis=(0, 1))
    pil = layout.pilot_chips.ravel()
    pidx = np.nonzero(pil)[0]
    feats = chip_features(aligned)
    # Noise level from the pilots: their chips should equal pilot sign * amplitude.
    soft = SoftBits(_soft_bits(combine_chips(feats, pil, pidx), layout, pil, pidx),
                    plain=_soft_bits(feats[:, 1], layout, pil, pidx))
    return soft, z, (dy, dx), orientation


def _basis(period: float, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return period * np.array([[c, -s], [s, c]])


def _refine(r: np.ndarray, layout: Layout, period: float, angle: float, z: float,
            orientation: tuple[bool, int], budget: int = 14) -> tuple[float, float, float]:
    """Pattern search on (period, angle) maximising the pilot z-score: the spectral/ACF estimates
    are good to ~0.5%, but folding hundreds of pixels needs ~0.1%."""
    step_p, step_a = 0.004, 0.004
    evals = 0
    while evals < budget and step_p > 0.0004:
        moved = False
        for dp, da in ((step_p, 0), (-step_p, 0), (0, step_a), (0, -step_a)):
            p2, a2 = period * (1 + dp), angle + da
            _, z2, _, _ = read_tile(fold(r, _basis(p2, a2), filtered=True), layout, orientation)
            evals += 1
            if z2 > z:
                period, angle, z, moved = p2, a2, z2, True
                break
        if not moved:
            step_p, step_a = step_p / 2, step_a / 2
    return period, angle, z


def working_frame(pixels: np.ndarray, *, legacy: bool = False) -> np.ndarray:
    """The luminance in the canonical frame (or unscaled, for marks of the first layout)."""
    y = luma(pixels)
    return y if legacy else to_frame(y, frame_scale(*y.shape))


def _first_guesses(shape: tuple[int, int]) -> list[np.ndarray]:
    """Lattices worth trying before any search: the untouched frame, and a thumbnail of a larger
    marked image (smaller than the canonical frame, so the tile shrank with it)."""
    h, w = shape
    out = [np.eye(2) * TILE]
    shrink = math.sqrt(h * w) / CANON
    if shrink < 0.97:
        out.append(np.eye(2) * TILE * shrink)
    return out


#: The comb's lattices (:func:`_comb_candidates`): a coarse coherent grid of ``COMB_SPAN`` steps either way
#: (``COARSE_STEP``, ``COARSE_ANGLE``) around each; its best geometry is verified from ``VERIFY_Z``.
COMB_SPAN = 2


def _comb_candidates(spec: np.ndarray, y: np.ndarray, layout: Layout, n: int, stats: dict | None = None
                     ) -> Iterator[tuple[float, float, float, tuple[bool, int]]]:
    """(z, period, angle, orientation) of the lattices the spectral comb, then the autocorrelation comb propose
    (:func:`cinb.blind.sync.lattice_candidates`: any period of 0.4-2 tiles, any rotation up to 10 degrees),
    each searched coherently on a small grid around it (``COMB_SPAN``) and verified (:func:`_verify`) on the
    spectrum the joint search read. The combs are incoherent (they need a strong mark: a picture rotated by 3
    degrees and cropped to a corner, pilot z 12.7 at its geometry, was missed by both); their lattices used
    to be screened and refined by folds of a central region (~0.4 s at 1080p, now ~30 ms)."""
    if stats is not None:
        stats["combs"] = stats.get("combs", 0) + 1
    coarse_pilots = _oriented_pilots(layout.key, layout.n_coded, COARSE_H)
    pilots = _oriented_pilots(layout.key, layout.n_coded)
    d = np.arange(-COMB_SPAN, COMB_SPAN + 1)
    r = residual(y)
    tried: list[np.ndarray] = []
    # The comb often peaks at half the tile's period (every other harmonic), whose double it also offers.
    for method in ("spectral", "acf"):
        for basis in lattice_candidates(r, n=n, method=method):
            if any(np.abs(basis - t).max() < 1.0 for t in tried):
                continue
            tried.append(basis)
            period = float(np.hypot(*basis[:, 0]))
            angle = float(np.arctan2(basis[1, 0], basis[0, 0]))
            gp, ga = np.meshgrid(period * (1 + COARSE_STEP * d), angle + math.radians(COARSE_ANGLE) * d,
                                 indexing="ij")
            z = pilot_scale_search(spec, coarse_pilots, gp.ravel(), angles=ga.ravel(), h=COARSE_H,
                                   batch=64).max(axis=1)
            if stats is not None:
                stats["coarse"] = stats.get("coarse", 0) + z.size
            k = int(np.argmax(z))
            if z[k] >= VERIFY_Z and (found := _verify(spec, pilots, float(gp.ravel()[k]), float(ga.ravel()[k]),
                                                      stats)) is not None:
                yield found


def read_coded(pixels: np.ndarray, n_coded: int, *, key: str, candidates: int = 3,
               legacy: bool = False, enlarged: bool = False, screen: bool = False,
               accept: Callable[[Reading], bool] | None = None, stats: dict | None = None) -> Reading:
    """Blind reading: find the tile lattice and orientation, fold, find the shift, return soft bits.

    ``legacy=True`` reads marks of the first layout (tile at 128 image px whatever the image size).
    ``enlarged=True`` searches for the enlarged layout of screens (:mod:`cinb.blind.screen`) in the working
    frame reduced ``ENLARGE`` times; ``screen=True`` (a picture that may be a screen) has the fine layout's
    search also try the enlarged one at its first guesses (the untouched geometry and a plain thumbnail:
    what WebP and JPEG leave).
    ``accept`` (e.g. "the payload decodes and its CRC verifies") is asked about every geometry as soon
    as it is read; the first it accepts ends the search (a found mark costs no further searching).
    ``stats``, if given, counts the work done: ``"guesses"`` (folds of the untouched geometry and of a
    plain thumbnail), ``"coarse"`` and ``"fine"`` (geometries of the coherent searches, :func:`_joint_candidates`
    and :func:`_comb_candidates`), ``"folds"`` (their candidates read) and ``"combs"`` (1 when the combs ran).
    """
    layout = Layout(key, n_coded)
    y = working_frame(pixels, legacy=legacy)
    frame_shape = y.shape
    if enlarged:  # the enlarged tile has its nominal size in the reduced frame
        y = to_frame(y, ENLARGE)
    readings: list[Reading] = []

    def done(reading: Reading) -> Reading | None:
        readings.append(reading)
        if reading.z > 2 * SYNC_Z or (accept is not None and accept(reading)):
            reading.alternatives = [r for r in sorted(readings, key=lambda r: r.z, reverse=True) if r is not reading]
            return reading
        return None

    guesses = _first_guesses(frame_shape) if not legacy else [np.eye(2) * TILE]
    white = residual(y, weighted=True)  # the untouched geometry's fold and the spectrum share it
    for basis in guesses:
        plain = basis is guesses[0]
        soft, z, shift, o = read_tile(fold(white if plain else y, basis, filtered=plain), layout, None)
        if stats is not None:
            stats["guesses"] = stats.get("guesses", 0) + 1
        if found := done(Reading(soft, z, basis, shift, o, enlarged)):  # untouched geometry, a plain thumbnail
            return found
    if screen and not legacy and not enlarged:  # a screen's enlarged mark at the same guesses (after WebP, JPEG)
        reduced = to_frame(y, ENLARGE)
        for basis in guesses:
            soft, z, shift, o = read_tile(fold(reduced, basis), layout, None)
            if stats is not None:
                stats["guesses"] = stats.get("guesses", 0) + 1
            if found := done(Reading(soft, z, basis, shift, o, True)):
                return found
    # One coherent search over (period, angle) proposes the geometry of crops, resizes, screenshots and
    # rotations (size kept, straightened or on an enlarged canvas); the comb below covers the rest.
    if legacy and max(white.shape) > LEGACY_REGION:  # the fixed tile: a central region holds plenty of them
        ry, rx = max(0, (white.shape[0] - LEGACY_REGION) // 2), max(0, (white.shape[1] - LEGACY_REGION) // 2)
        spec = padded_spectrum(white[ry : ry + LEGACY_REGION, rx : rx + LEGACY_REGION])
    else:
        spec = padded_spectrum(white)
    # Candidates are refined on a central region (fast); the result reads everything.
    h, w = y.shape
    y0, x0 = max(0, (h - REFINE_REGION) // 2), max(0, (w - REFINE_REGION) // 2)
    region: np.ndarray | None = None

    def read_at(period: float, angle: float) -> Reading | None:
        nonlocal region
        basis = _basis(period, angle)
        soft, z, shift, o = read_tile(fold(y, basis), layout, None)
        if stats is not None:
            stats["folds"] = stats.get("folds", 0) + 1
        if found := done(Reading(soft, z, basis, shift, o, enlarged)):
            return found
        if z < REFINE_Z:
            return None
        # A weak mark: the spectral estimate is good to ~0.3 %, the payload may need ~0.1 %; the pilot
        # z-score of folds (a pattern search) sharpens it.
        if region is None:
            region = residual(y[y0 : y0 + REFINE_REGION, x0 : x0 + REFINE_REGION])
        _, z0, _, _ = read_tile(fold(region, basis, filtered=True), layout, o)
        period, angle, _ = _refine(region, layout, period, angle, z0, o)
        basis = _basis(period, angle)
        soft, z, shift, o = read_tile(fold(y, basis), layout, None)
        if stats is not None:
            stats["refined"] = stats.get("refined", 0) + 1
        return done(Reading(soft, z, basis, shift, o, enlarged))

    for _, period, angle, _o in _joint_candidates(spec, pixels.shape[:2] if not legacy else y.shape, frame_shape,
                                                  layout, stats, fixed=legacy):
        if found := read_at(period, angle):
            return found
    if legacy or enlarged:  # marks of the first layout, screens' enlarged one: the joint search covers their
        # crops, rotations and flips
        return _best(readings)
    # A small marked picture resized down (0.3x of 604x453: a 38 px tile of 1.2 px chips) is too fine for
    # the residual's filter: search again on the picture enlarged so the tile is near its nominal size.
    for _, period, o in _small_scale_candidates(y, layout, stats):
        basis = _basis(period, 0.0)
        soft, z, shift, o = read_tile(fold(y, basis), layout, None)
        if found := done(Reading(soft, z, basis, shift, o)):
            return found
    # A tiny picture (a small marked picture resized to 0.3x: 90-240 px, 2-6 tiles of 24-64 px): fold it at
    # every fine period; a fold is a few milliseconds there, and it reads tiles the searches above miss.
    for reading in _tiny_folds(y, layout, stats):
        if found := done(reading):
            return found
    # Any other geometry (a rotation and an arbitrary crop or resize): the combs' lattices, each searched
    # coherently around on the same spectrum.
    for _, period, angle, _o in _comb_candidates(spec, y, layout, candidates, stats):
        if found := read_at(period, angle):
            return found
    return _best(readings)


def _best(readings: list[Reading]) -> Reading:
    """Best sync first; a near-identity lattice that only edges out the untouched geometry is kept as
    an alternative, so a payload check can still pick the exact one (crops keep the scale)."""
    readings.sort(key=lambda r: r.z, reverse=True)
    best = readings[0]
    best.alternatives = readings[1:]
    return best
