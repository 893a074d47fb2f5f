"""Finding the watermark tile again after resizing, rotation and cropping (synchronisation).

1. ``residual``: a whitened, locally normalised high-pass of the luminance, where the mark stands out
   against the photo.
2. ``lattice_candidates``: the autocorrelation of the residual peaks on the lattice of tile repeats;
   its two shortest basis vectors give the tile's scale, rotation (and any aspect change).
3. ``fold``: warp the residual back to the normalised frame and sum all tiles into one.
4. ``find_shift``: FFT cross-correlation of the folded tile with the keyed pilot pattern gives the
   cyclic shift left by a crop, and its peak height is the detection statistic.
"""

from __future__ import annotations

import cv2
import numpy as np

from .pattern import TILE

#: Scales (received / embedded) that the lattice search covers.
MIN_SCALE, MAX_SCALE = 0.4, 2.0
#: Largest side of the central region used for the autocorrelation (bounds extraction time).
ACF_REGION = 1024


def residual(y: np.ndarray) -> np.ndarray:
    """Whitened luminance: high-pass, then divided by the local noise level.

    Dividing by the local level makes every region vote about equally, so strong textures (which the
    embedder marks more strongly, but which also hide more) do not drown flat areas.
    """
    r = y - cv2.GaussianBlur(y, (0, 0), 3.0)
    level = np.sqrt(cv2.GaussianBlur(r * r, (0, 0), 6.0))
    return r / (level + 1.0)


def _acf(r: np.ndarray, max_lag: int) -> np.ndarray:
    """Spectrally whitened autocorrelation for lags in [-max_lag, max_lag]^2, lag 0 at the centre."""
    h, w = r.shape
    ph = cv2.getOptimalDFTSize(h + max_lag)
    pw = cv2.getOptimalDFTSize(w + max_lag)
    pad = np.zeros((ph, pw), np.float32)
    pad[:h, :w] = r - r.mean()
    spec = cv2.dft(pad, flags=cv2.DFT_COMPLEX_OUTPUT)
    power = spec[..., 0] ** 2 + spec[..., 1] ** 2
    # Whiten against both directions separately: a periodic tile makes isolated spectral peaks,
    # while straight edges, image borders and JPEG's 8x8 block grid make lines; dividing by the
    # larger of the horizontal and vertical neighbourhood means keeps peaks and flattens lines.
    n = 9
    horiz = (cv2.blur(power, (n, 1)) * n - power) / (n - 1)
    vert = (cv2.blur(power, (1, n)) * n - power) / (n - 1)
    white = power / (np.maximum(horiz, vert) + 1e-9 * float(power.mean()) + 1e-20)
    white = np.minimum(white, 100.0) - 1.0
    white = cv2.merge([white, np.zeros_like(white)])  # a 1-channel input would mean CCS packing
    acf = cv2.idft(white, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)
    acf = np.roll(acf, (max_lag, max_lag), axis=(0, 1))[: 2 * max_lag + 1, : 2 * max_lag + 1]
    return acf


def _subpixel(acf: np.ndarray, y: int, x: int) -> tuple[float, float, float]:
    h, w = acf.shape
    if not (1 <= y < h - 1 and 1 <= x < w - 1):
        return float(y), float(x), float(acf[y, x])
    c = acf[y, x]

    def off(m, p):
        d = m - 2 * c + p
        return 0.0 if d >= 0 else 0.5 * (m - p) / d

    return y + off(acf[y - 1, x], acf[y + 1, x]), x + off(acf[y, x - 1], acf[y, x + 1]), float(c)


def _refine(acf: np.ndarray, basis: np.ndarray, max_lag: int) -> np.ndarray:
    """Least-squares lattice basis from all lattice peaks within reach (sub-pixel)."""
    rows, targets = [], []
    for k in range(-3, 4):
        for l in range(-3, 4):
            if (k, l) == (0, 0) or (k < 0) or (k == 0 and l < 0):
                continue
            p = basis @ np.array([k, l], float)
            if np.hypot(*p) > max_lag - 3:
                continue
            cx, cy = int(round(p[0])) + max_lag, int(round(p[1])) + max_lag
            win = acf[cy - 2 : cy + 3, cx - 2 : cx + 3]
            dy, dx = np.unravel_index(int(np.argmax(win)), win.shape)
            sy, sx, _ = _subpixel(acf, cy - 2 + dy, cx - 2 + dx)
            rows.append((k, l))
            targets.append((sx - max_lag, sy - max_lag))
    if len(rows) < 2:
        return basis
    kl = np.array(rows, float)
    sol, *_ = np.linalg.lstsq(kl, np.array(targets, float), rcond=None)
    return sol.T  # columns are the basis vectors (x, y)


#: Rotations (degrees) that the lattice search covers.
MAX_ANGLE = 10.0


def _comb_points(max_lag: int) -> np.ndarray:
    pts = [(k, l) for k in range(0, 5) for l in range(-4, 5) if (k > 0 or l > 0)]
    return np.array(pts, float)


def lattice_candidates(r: np.ndarray, *, n: int = 3) -> list[np.ndarray]:
    """Likely tile lattices: 2x2 matrices whose columns are the image displacement of one tile
    step along the tile's x and y axes (``TILE * scale * rotation`` when the mark is there).

    A comb search over scale and rotation sums the autocorrelation over all lattice points in reach
    (far more robust than picking single peaks), then the best combs are refined to sub-pixel
    precision by least squares over the individual peaks.
    """
    h, w = r.shape
    if max(h, w) > ACF_REGION:  # a central region holds plenty of tiles
        y0, x0 = max(0, (h - ACF_REGION) // 2), max(0, (w - ACF_REGION) // 2)
        r = r[y0 : y0 + ACF_REGION, x0 : x0 + ACF_REGION]
        h, w = r.shape
    max_lag = int(min(TILE * MAX_SCALE * 1.6, min(h, w) * 0.8))
    acf = _acf(r, max_lag)
    yy, xx = np.mgrid[-max_lag : max_lag + 1, -max_lag : max_lag + 1]
    ring = np.hypot(xx, yy) > 8
    acf = (acf - acf[ring].mean()) / (acf[ring].std() + 1e-12)
    loose = cv2.dilate(acf, np.ones((3, 3), np.uint8))  # tolerate the search grid's coarseness
    kl = _comb_points(max_lag)
    reach = max_lag - 2
    best = []
    scales = np.exp(np.arange(np.log(MIN_SCALE), np.log(MAX_SCALE), 0.004))
    for s in scales:
        period = TILE * s
        step = np.degrees(1.2 / (3 * period))
        angles = np.radians(np.arange(-MAX_ANGLE, MAX_ANGLE + step, step))
        c, sn = np.cos(angles), np.sin(angles)
        # lattice point (k, l) -> period * (k c - l s, k s + l c)
        px = period * (kl[None, :, 0] * c[:, None] - kl[None, :, 1] * sn[:, None])
        py = period * (kl[None, :, 0] * sn[:, None] + kl[None, :, 1] * c[:, None])
        inside = (np.abs(px) < reach) & (np.abs(py) < reach) & (np.hypot(px, py) < reach)
        vals = loose[np.clip(np.rint(py).astype(int) + max_lag, 0, 2 * max_lag),
                     np.clip(np.rint(px).astype(int) + max_lag, 0, 2 * max_lag)]
        cnt = inside.sum(axis=1)
        score = (vals * inside).sum(axis=1) / np.sqrt(np.maximum(cnt, 1))
        score[cnt < 2] = -np.inf
        i = int(np.argmax(score))
        best.append((float(score[i]), float(period), float(angles[i])))
    best.sort(reverse=True)
    out: list[np.ndarray] = []
    for score, period, ang in best:
        if len(out) >= n:
            break
        basis = period * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
        if any(np.abs(basis - o).max() < 3 for o in out):
            continue
        out.append(_refine(acf, basis, max_lag))
    lattice_candidates.last_scores = best[: 2 * n]  # for diagnostics
    return out


def fold(r: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Warp ``r`` to the normalised frame given a lattice ``basis`` and sum all tiles into one.

    Returns the ``TILE x TILE`` sum, up to an unknown cyclic shift.
    """
    h, w = r.shape
    m = basis / TILE  # image (x, y) = m @ frame (u, v)
    inv = np.linalg.inv(m)
    corners = inv @ np.array([[0, w, 0, w], [0, 0, h, h]], float)
    umin, vmin = np.floor(corners.min(axis=1))
    umax, vmax = np.ceil(corners.max(axis=1))
    ow, oh = int(umax - umin), int(vmax - vmin)
    ow, oh = -(-ow // TILE) * TILE, -(-oh // TILE) * TILE
    origin = m @ np.array([umin, vmin])
    warp = np.hstack([m, origin[:, None]]).astype(np.float64)
    frame = cv2.warpAffine(r, warp, (ow, oh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return frame.reshape(oh // TILE, TILE, ow // TILE, TILE).sum(axis=(0, 2))


def find_shift(folded: np.ndarray, pilot: np.ndarray) -> tuple[int, int, float]:
    """Cyclic shift (dy, dx) such that ``folded`` ~ ``roll(pilot, (dy, dx))``, and the peak z-score."""
    fa = cv2.dft(folded.astype(np.float32), flags=cv2.DFT_COMPLEX_OUTPUT)
    fb = cv2.dft(pilot.astype(np.float32), flags=cv2.DFT_COMPLEX_OUTPUT)
    corr = cv2.idft(cv2.mulSpectrums(fa, fb, 0, conjB=True), flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    z = (float(corr[dy, dx]) - float(corr.mean())) / (float(corr.std()) + 1e-12)
    return int(dy), int(dx), z
