"""Finding the watermark tile again after resizing, rotation and cropping (synchronisation).

1. ``residual``: a whitened, locally normalised high-pass of the luminance, where the mark stands out
   against the photo.
2. ``lattice_candidates``: the repeated tile puts the residual's spectral energy on a lattice of
   harmonics and its autocorrelation peaks on the lattice of repeats; combs over both, searched over
   scale (0.4-2x) and rotation (+-10 degrees), propose the tile's geometry.
3. ``fold``: warp the luminance back to the normalised frame (residual computed there) and sum all
   tiles into one.
4. ``find_shift``: FFT cross-correlation of the folded tile with the keyed pilot pattern gives the
   cyclic shift left by a crop, and its peak height is the detection statistic.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from ..caches import register_cache
from .embed import TEXTURE_POWER
from .pattern import CHIP, TILE, cyclic_smooth

#: Box size of the high-pass that makes the residual, and of the window of its local level. Measured
#: on 12 natural photos (issue 15, round 3): 5 and 9 leave more of the mark after WebP, JPEG q50 and
#: a 0.3x resize than round 2's 3 and 5 (decoding margin +5-15 %, the weakest photo included).
HIGHPASS = 5
LEVEL_WINDOW = 9
#: Fold with the matched-filter weighting (see ``residual``).
WEIGHTED = True
#: Noise floor (grey levels squared) of the matched-filter weighting.
WEIGHT_EPS = 1.0

#: Scales (received / embedded) that the lattice search covers.
MIN_SCALE, MAX_SCALE = 0.4, 2.0
#: Largest side of the central region used for the autocorrelation (bounds extraction time).
ACF_REGION = 768


def _smooth(a: np.ndarray, size: int) -> np.ndarray:
    # Two box passes approximate a Gaussian at a fraction of its cost on large frames.
    return cv2.blur(cv2.blur(a, (size, size)), (size, size))


def residual(y: np.ndarray, *, weighted: bool = False) -> np.ndarray:
    """Whitened luminance: high-pass, then divided by the local noise level.

    Dividing by the local level makes every region vote about equally, so strong textures (which the
    embedder marks more strongly, but which also hide more) do not drown flat areas.
    """
    # Sizes measured on the benchmark photos: a sharp high-pass and a small normalising window read
    # best (pilot z-score +15 % over 7/15, +19 % on the weakest photo).
    r = y - _smooth(y, HIGHPASS)
    level = np.sqrt(np.maximum(_smooth(r * r, LEVEL_WINDOW), 0))
    if not weighted:
        return r / (level + 1.0)
    # The matched filter: weight each pixel by the mark's expected amplitude over the local noise
    # power. The embedder's JND map grows as (local std) ** TEXTURE_POWER; the high-pass level here
    # stands in for that std (computing the map itself costs 4x more for the same weights within a
    # few per cent).
    return r * cv2.pow(level + 0.5, TEXTURE_POWER) / (level * level + WEIGHT_EPS)


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
    n = 25
    horiz = (cv2.blur(power, (n, 1)) * n - power) / (n - 1)
    vert = (cv2.blur(power, (1, n)) * n - power) / (n - 1)
    white = power / (np.maximum(horiz, vert) + 1e-9 * float(power.mean()) + 1e-20)
    white = np.minimum(white, 100.0) - 1.0
    packed = cv2.merge([white, np.zeros_like(white)])  # a 1-channel input would mean CCS packing
    acf = cv2.idft(packed, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)
    acf = np.roll(acf, (max_lag, max_lag), axis=(0, 1))[: 2 * max_lag + 1, : 2 * max_lag + 1]
    return acf


#: Rotations (degrees) that the lattice search covers.
MAX_ANGLE = 10.0
#: Highest tile harmonic used by the spectral comb (the tile's chips put little energy beyond).
HARMONICS = 24


def _white_spectrum(r: np.ndarray) -> np.ndarray:
    """Power spectrum of ``r`` whitened to ~unit mean, with lines (edges, borders, JPEG grid) flattened.

    A periodic tile puts its energy on isolated points (the reciprocal lattice); straight edges,
    image borders and JPEG's 8x8 block grid make lines. Dividing each bin by the larger of its
    horizontal and vertical neighbourhood means keeps points and flattens lines.
    """
    h, w = r.shape
    ph, pw = cv2.getOptimalDFTSize(h), cv2.getOptimalDFTSize(w)
    pad = np.zeros((ph, pw), np.float32)
    pad[:h, :w] = r - r.mean()
    spec = cv2.dft(pad, flags=cv2.DFT_COMPLEX_OUTPUT)
    power = spec[..., 0] ** 2 + spec[..., 1] ** 2
    n = 25
    horiz = (cv2.blur(power, (n, 1), borderType=cv2.BORDER_REFLECT) * n - power) / (n - 1)
    vert = (cv2.blur(power, (1, n), borderType=cv2.BORDER_REFLECT) * n - power) / (n - 1)
    white = power / (np.maximum(horiz, vert) + 1e-9 * float(power.mean()) + 1e-20)
    return np.minimum(white, 30.0)


@register_cache
@lru_cache(maxsize=1)
def _harmonics() -> tuple[np.ndarray, np.ndarray]:
    """Tile harmonics (i, j) of a half plane and their expected power (the chip's spectrum)."""
    chip = np.zeros((TILE, TILE), np.float32)
    chip[:CHIP, :CHIP] = 1
    env = np.abs(np.fft.fft2(cyclic_smooth(chip))) ** 2
    ij = np.array([(i, j) for i in range(HARMONICS + 1) for j in range(-HARMONICS, HARMONICS + 1)
                   if (i > 0 or j > 0) and i * i + j * j <= HARMONICS * HARMONICS], float)
    weight = env[ij[:, 1].astype(int) % TILE, ij[:, 0].astype(int) % TILE]
    return ij, weight / weight.max()


def _comb(white: np.ndarray, ij: np.ndarray, weight: np.ndarray, period: np.ndarray,
          angle: np.ndarray, *, interpolate: bool) -> np.ndarray:
    """Weighted sum of ``white`` over the reciprocal lattice of each (period, angle) pair."""
    ph, pw = white.shape
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    fx = (ij[None, :, 0] * c - ij[None, :, 1] * s) / period[:, None]
    fy = (ij[None, :, 0] * s + ij[None, :, 1] * c) / period[:, None]
    usable = (np.abs(fx) < 0.45) & (np.abs(fy) < 0.45)
    bx, by = fx * pw, fy * ph
    if interpolate:
        x0, y0 = np.floor(bx), np.floor(by)
        ax, ay = (bx - x0).astype(np.float32), (by - y0).astype(np.float32)
        x0, y0 = x0.astype(int) % pw, y0.astype(int) % ph
        x1, y1 = (x0 + 1) % pw, (y0 + 1) % ph
        vals = ((1 - ay) * ((1 - ax) * white[y0, x0] + ax * white[y0, x1])
                + ay * ((1 - ax) * white[y1, x0] + ax * white[y1, x1]))
    else:
        vals = white[np.rint(by).astype(int) % ph, np.rint(bx).astype(int) % pw]
    wts = weight[None, :] * usable
    return (vals * wts).sum(axis=1) / np.sqrt((wts * wts).sum(axis=1) + 1e-12)


def _spectral_candidates(r: np.ndarray, *, n: int = 3) -> list[tuple[float, float, float]]:
    """Likely tile lattices: 2x2 matrices whose columns are the image displacement of one tile
    step along the tile's x and y axes (``TILE * scale * rotation`` when the mark is there).

    A comb over the whitened power spectrum sums the tile's harmonics (hundreds of reciprocal
    lattice points) for each scale and rotation: far more robust than picking autocorrelation peaks.
    A coarse search on a max-filtered spectrum is refined on the interpolated one.
    """
    white = _white_spectrum(r)
    ph, pw = white.shape
    loose = cv2.dilate(white, np.ones((3, 3), np.uint8))
    loose = (loose - loose.mean()) / (loose.std() + 1e-9)
    fine = (white - white.mean()) / (white.std() + 1e-9)
    ij, weight = _harmonics()
    coarse = np.hypot(ij[:, 0], ij[:, 1]) <= HARMONICS // 2
    cij, cweight = ij[coarse], weight[coarse]
    n_bins = min(ph, pw)
    period_list: list[float] = []
    angle_list: list[float] = []
    period = TILE * MIN_SCALE
    while period <= TILE * MAX_SCALE:
        radius = min(HARMONICS // 2, 0.45 * period) * n_bins / period  # outermost harmonic, in bins
        a_step = 1.0 / radius
        for a in np.arange(-np.radians(MAX_ANGLE), np.radians(MAX_ANGLE) + a_step / 2, a_step):
            period_list.append(period)
            angle_list.append(float(a))
        period *= 1 + 1.0 / radius
    periods, angles = np.array(period_list), np.array(angle_list)
    score = np.concatenate([_comb(fine, cij, cweight, periods[i : i + 512], angles[i : i + 512],
                                  interpolate=False) for i in range(0, len(periods), 512)])
    order = np.argsort(score)[::-1]
    found: list[tuple[float, float, float]] = []
    for idx in order[: 40]:
        p, a = periods[idx], angles[idx]
        if any(abs(np.log(p / q)) < 0.02 and abs(a - b) < 0.02 for q, b, _ in found):
            continue
        radius = min(HARMONICS, 0.45 * p) * n_bins / p
        dp = np.exp(np.linspace(-2.0, 2.0, 17) / radius)
        da = np.linspace(-2.0, 2.0, 17) / radius
        gp, ga = np.meshgrid(p * dp, a + da)
        sc = _comb(fine, ij, weight, gp.ravel(), ga.ravel(), interpolate=True)
        k = int(np.argmax(sc))
        found.append((gp.ravel()[k], ga.ravel()[k], float(sc[k])))
        if len(found) >= n:
            break
    return [(s_, p_, a_) for p_, a_, s_ in found]


def _acf_candidates(r: np.ndarray, *, n: int = 3) -> list[tuple[float, float, float]]:
    """Comb over the autocorrelation: sums the lattice points within reach for each scale and
    rotation. Stronger than the spectral comb when the mark's strength varies a lot over the image
    (its harmonics then smear, while autocorrelation peaks stay sharp)."""
    h, w = r.shape
    max_lag = int(min(TILE * MAX_SCALE * 1.6, min(h, w) * 0.8))
    acf = _acf(r, max_lag)
    yy, xx = np.mgrid[-max_lag : max_lag + 1, -max_lag : max_lag + 1]
    ring = np.hypot(xx, yy) > 8
    acf = (acf - acf[ring].mean()) / (acf[ring].std() + 1e-12)
    loose = cv2.dilate(acf, np.ones((3, 3), np.uint8))
    kl = np.array([(k, m) for k in range(5) for m in range(-4, 5) if (k > 0 or m > 0)], float)
    reach = max_lag - 2
    best = []
    period = TILE * MIN_SCALE
    while period <= TILE * MAX_SCALE:
        step = 1.5 / (3 * period)
        angles = np.arange(-np.radians(MAX_ANGLE), np.radians(MAX_ANGLE) + step, step)
        c, sn = np.cos(angles), np.sin(angles)
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
        period *= 1.006
    best.sort(reverse=True)
    out: list[tuple[float, float, float]] = []
    for sc, p, a in best:
        if any(abs(np.log(p / q)) < 0.02 and abs(a - b) < 0.02 for _, q, b in out):
            continue
        out.append((sc, p, a))
        if len(out) >= n:
            break
    return out


def lattice_candidates(r: np.ndarray, *, n: int = 3, method: str = "both") -> list[np.ndarray]:
    """Likely tile lattices: 2x2 matrices whose columns are the image displacement of one tile
    step along the tile's x and y axes (``TILE * scale * rotation`` when the mark is there).

    Two searches over scale and rotation propose candidates: a comb over the whitened power
    spectrum (hundreds of tile harmonics, ``method="spectral"``) and a comb over the autocorrelation
    (sharp even when the mark's strength varies, ``method="acf"``); the caller verifies them with the
    pilot correlation.
    """
    h, w = r.shape
    if max(h, w) > ACF_REGION:  # a central region holds plenty of tiles
        y0, x0 = max(0, (h - ACF_REGION) // 2), max(0, (w - ACF_REGION) // 2)
        r = r[y0 : y0 + ACF_REGION, x0 : x0 + ACF_REGION]
    found: list[tuple[float, float, float]] = []
    if method in ("both", "spectral"):
        found += _spectral_candidates(r, n=n)
    if method in ("both", "acf"):
        found += _acf_candidates(r, n=n)
    out: list[np.ndarray] = []
    # A comb at half the true period also hits every other true harmonic: offer the double too.
    for p, a in [(p, a) for _, p, a in found] + [(2 * p, a) for _, p, a in found if 2 * p <= TILE * MAX_SCALE]:
        basis = p * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        if any(np.abs(basis - o).max() < 1.0 for o in out):
            continue
        out.append(basis)
    return out


def fold(y: np.ndarray, basis: np.ndarray, *, filtered: bool = False) -> np.ndarray:
    """Warp the luminance ``y`` to the normalised frame given a lattice ``basis`` and sum all tiles.

    The residual is computed *in the frame*, so its filter always matches the tile's scale (after a
    0.5 resize this alone lifts the detection statistic by about a third). With ``filtered=True``,
    ``y`` is taken as already filtered (e.g. a difference to the original) and only warped.

    Returns the ``TILE x TILE`` sum, up to an unknown cyclic shift.
    """
    h, w = y.shape
    m = basis / TILE  # image (x, y) = m @ frame (u, v)
    inv = np.linalg.inv(m)
    corners = inv @ np.array([[0, w, 0, w], [0, 0, h, h]], float)
    umin, vmin = np.floor(corners.min(axis=1))
    umax, vmax = np.ceil(corners.max(axis=1))
    ow, oh = int(umax - umin), int(vmax - vmin)
    ow, oh = -(-ow // TILE) * TILE, -(-oh // TILE) * TILE
    origin = m @ np.array([umin, vmin])
    warp = np.hstack([m, origin[:, None]]).astype(np.float64)
    flags = cv2.WARP_INVERSE_MAP
    if filtered:
        frame = cv2.warpAffine(y, warp, (ow, oh), flags=flags | cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    else:
        identity = np.allclose(m, np.eye(2)) and umin == 0 and vmin == 0
        if identity:  # untouched geometry: no resampling
            frame = np.zeros((oh, ow), np.float32)
            frame[:h, :w] = residual(y, weighted=WEIGHTED)
        else:
            frame = cv2.warpAffine(y, warp, (ow, oh), flags=flags | cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT)
            valid = cv2.warpAffine(np.ones((h, w), np.uint8), warp, (ow, oh),
                                   flags=flags | cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
            frame = residual(frame, weighted=WEIGHTED)
            frame[valid == 0] = 0
    return frame.reshape(oh // TILE, TILE, ow // TILE, TILE).sum(axis=(0, 2))


#: Spectral whitening of the folded tile before the pilot correlation (:func:`find_shift`): each bin is
#: divided by the local mean power (over SHIFT_WHITEN_BINS^2 bins) raised to SHIFT_WHITEN.
SHIFT_WHITEN = 0.5
SHIFT_WHITEN_BINS = 5


def whiten_tile_spectrum(fa: np.ndarray) -> np.ndarray:
    """Divide a folded tile's DFT (OpenCV 2-channel layout) by its smoothed magnitude, ``S ** SHIFT_WHITEN``.

    The photo's content that folds into the tile is far from white (most of it at low frequencies, and
    after WebP or JPEG q50 the mark keeps only its lower harmonics); weighting each harmonic by the
    inverse of the local noise level is the matched filter for coloured noise. Measured at the untouched
    geometry on 43 pictures: after WebP q50 the pilot z-score of the weakest natural photo rises from 4.2
    to 7.9, of the screenshots from 2.7-7.1 to 4.0-10.5; after JPEG q50 the lowest rises from 4.7 to 9.2;
    on unmarked pictures (as is, WebP and JPEG q50) the mean z goes from 3.46 to 3.70 and the highest
    from 4.58 to 4.61.
    """
    k = SHIFT_WHITEN_BINS
    power = fa[..., 0] ** 2 + fa[..., 1] ** 2
    level = cv2.blur(np.pad(power, k // 2, mode="wrap"), (k, k))[k // 2 : -(k // 2), k // 2 : -(k // 2)]
    weight = cv2.pow(level + (1e-6 * float(level.mean()) + 1e-20), -SHIFT_WHITEN)
    return fa * weight[..., None]


#: DFTs of the last pilot tiles seen by :func:`find_shift` (the layouts' cached, never modified arrays),
#: by identity: each entry holds its array, so an id is never reused while cached.
_PILOT_DFTS: dict[int, tuple[np.ndarray, np.ndarray]] = {}
register_cache(_PILOT_DFTS.clear, name="cinb.blind.sync pilot DFTs")


def _pilot_dft(pilot: np.ndarray) -> np.ndarray:
    hit = _PILOT_DFTS.get(id(pilot))
    if hit is not None and hit[0] is pilot:
        return hit[1]
    fb = cv2.dft(pilot.astype(np.float32), flags=cv2.DFT_COMPLEX_OUTPUT)
    if len(_PILOT_DFTS) >= 16:
        _PILOT_DFTS.clear()
    _PILOT_DFTS[id(pilot)] = (pilot, fb)  # the entry keeps the array alive, so its id is not reused
    return fb


def whiten_tile(folded: np.ndarray) -> np.ndarray:
    """A folded tile after :func:`whiten_tile_spectrum` (the smoothing is symmetric, so whitening commutes
    with the 8 orientations of the square: whiten once, then try them all)."""
    fa = whiten_tile_spectrum(cv2.dft(folded.astype(np.float32), flags=cv2.DFT_COMPLEX_OUTPUT))
    return cv2.idft(fa, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)


def find_shift(folded: np.ndarray, pilot: np.ndarray, *, whiten: bool = True) -> tuple[int, int, float]:
    """Cyclic shift (dy, dx) such that ``folded`` ~ ``roll(pilot, (dy, dx))``, and the peak z-score
    (of the correlation after :func:`whiten_tile_spectrum`; ``whiten=False`` for a tile already whitened)."""
    fa = cv2.dft(folded.astype(np.float32), flags=cv2.DFT_COMPLEX_OUTPUT)
    if whiten:
        fa = whiten_tile_spectrum(fa)
    fb = _pilot_dft(pilot)
    corr = cv2.idft(cv2.mulSpectrums(fa, fb, 0, conjB=True), flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    z = (float(corr[dy, dx]) - float(corr.mean())) / (float(corr.std()) + 1e-12)
    return int(dy), int(dx), z


#: Highest tile harmonic (each axis) used by the coherent scale search (:func:`pilot_scale_search`).
COHERENT_HARMONICS = 31


def padded_spectrum(r: np.ndarray) -> np.ndarray:
    """The complex spectrum of ``r`` zero-padded to about twice its size (so bilinear interpolation
    between bins loses little), as complex64 (PH, PW)."""
    h, w = r.shape
    ph, pw = cv2.getOptimalDFTSize(2 * h), cv2.getOptimalDFTSize(2 * w)
    pad = np.zeros((ph, pw), np.float32)
    pad[:h, :w] = r - r.mean()
    # Only the first h rows hold data (OpenCV skips the others' row transforms); the (re, im) pairs
    # are viewed as complex64 in place.
    spec = cv2.dft(pad, flags=cv2.DFT_COMPLEX_OUTPUT, nonzeroRows=h)
    return spec.view(np.complex64)[..., 0]


def harmonic_grid(pilot: np.ndarray, h: int = COHERENT_HARMONICS) -> np.ndarray:
    """The conjugate DFT of a ``TILE x TILE`` pilot at harmonics (j, i) in [-h, h]^2, rows j (vertical)."""
    k = np.arange(-h, h + 1) % TILE
    return np.conj(np.fft.fft2(pilot.astype(np.float64))[np.ix_(k, k)]).astype(np.complex64)


def _irfft2(a: np.ndarray, m: int) -> np.ndarray:
    """Real inverse 2-D DFTs of the last two axes (one thread: the reader's CPU time is per core)."""
    import scipy.fft

    return scipy.fft.irfft2(a, s=(m, m), workers=1)


def pilot_scale_search(spec: np.ndarray, pilots: np.ndarray, periods: np.ndarray, *,
                       h: int = COHERENT_HARMONICS, stop: float = np.inf, batch: int = 16,
                       angles: np.ndarray | None = None, shifts: int = 0, nearest: bool = False) -> np.ndarray:
    """Coherent search over the tile period (and rotation): for each geometry, the pilot correlation
    over every cyclic shift, computed from the image spectrum sampled on the tile's harmonics.

    Folding an image at period ``p`` and taking the folded tile's DFT gives the image spectrum at
    frequencies ``(i / p, j / p)``; multiplying by the pilot's conjugate DFT and transforming back gives
    the correlation over all shifts. Reading those few thousand spectrum values from one padded FFT costs
    far less than resampling and folding the image for every period, and, unlike the spectral and
    autocorrelation combs (incoherent power sums), it uses the pilots' phases, so it finds marks too
    faint for the combs (the weakest photos after a crop).

    Parameters
    ----------
    spec : complex ndarray
        :func:`padded_spectrum` of the residual.
    pilots : complex ndarray
        (K, 2h+1, 2h+1) :func:`harmonic_grid` of the pilots to try (e.g. one per orientation).
    periods : ndarray
        Tile periods (pixels of the residual) to try, in the order given.
    angles : ndarray, optional
        A rotation (radians) for each period (default: upright).
    stop : float
        Stop after the first batch of ``batch`` periods whose best z-score exceeds this (the rest stay 0).
    shifts : int
        Side of the grid of shifts (default: the smallest power of 2 holding the harmonics: 64 for
        ``h=31``, shifts 2 tile pixels apart; 128 finds the peak to a pixel).
    nearest : bool
        Take the nearest bin of the (twice padded) spectrum instead of interpolating: 4x fewer reads
        for ~5 % of the z-score (a coarse search).

    Returns
    -------
    ndarray
        (len(periods), K) correlation peak z-scores.
    """
    ph, pw = spec.shape
    flat = spec.ravel()
    m = shifts if shifts >= 2 * h + 1 else 1 << int(np.ceil(np.log2(2 * h + 1)))
    jdx = np.arange(-h, h + 1)  # vertical harmonics (rows)
    idx = np.arange(0, h + 1)  # horizontal ones: the real correlation needs only half the plane
    half = pilots[:, :, h:]
    k = len(pilots)
    # Parseval: the correlation's mean and variance over all shifts come from the harmonics (the
    # half plane counts twice, but for its first column); only the peak needs the transform.
    count = np.full(h + 1, 2.0, np.float32)
    count[0] = 1.0
    n_shift = float(m * m)
    out = np.zeros((len(periods), k), np.float32)
    buf = None
    # The correlation's variance (Parseval): sum over harmonics of |g|^2 |pilot|^2, one product per orientation.
    pilot_power = ((np.abs(half) ** 2) * count).reshape(k, -1).T.astype(np.float32)
    for start in range(0, len(periods), batch):
        p = np.asarray(periods[start : start + batch], float)[:, None]
        if angles is None:  # separable: one row of x bins and one column of y bins per period
            bx = np.broadcast_to((idx[None, :] * (pw / p))[:, None, :], (len(p), 2 * h + 1, h + 1))
            by = np.broadcast_to((jdx[None, :] * (ph / p))[:, :, None], (len(p), 2 * h + 1, h + 1))
        else:  # rotated lattice: every harmonic has its own bin
            a = np.asarray(angles[start : start + batch], float)[:, None, None]
            c, sn = np.cos(a), np.sin(a)
            ii, jj = idx[None, None, :], jdx[None, :, None]
            bx = (ii * c - jj * sn) * (pw / p[:, :, None])
            by = (ii * sn + jj * c) * (ph / p[:, :, None])
        if nearest:
            g = flat[(np.rint(by).astype(np.intp) % ph) * pw + np.rint(bx).astype(np.intp) % pw]
        else:
            x0, y0 = np.floor(bx), np.floor(by)
            ax, ay = (bx - x0).astype(np.float32), (by - y0).astype(np.float32)
            c0, r0 = x0.astype(np.intp) % pw, (y0.astype(np.intp) % ph) * pw
            c1, r1 = (c0 + 1) % pw, ((y0.astype(np.intp) + 1) % ph) * pw
            top = flat[r0 + c0] + (flat[r0 + c1] - flat[r0 + c0]) * ax
            bot = flat[r1 + c0] + (flat[r1 + c1] - flat[r1 + c0]) * ax
            g = top + (bot - top) * ay  # (B, 2h+1, h+1)
        nb = len(p)
        if buf is None or len(buf) < nb:
            buf = np.zeros((nb, k, m, m // 2 + 1), np.complex64)  # the same bins are overwritten
        # The products go straight into the transform's input (rows 0..h, then the negative rows m-h..m-1).
        np.multiply(g[:, None, h:], half[None, :, h:], out=buf[:nb, :, : h + 1, : h + 1])
        np.multiply(g[:, None, :h], half[None, :, :h], out=buf[:nb, :, m - h :, : h + 1])
        peak = _irfft2(buf[:nb], m).reshape(nb, k, -1).max(axis=2)
        g2 = g.real * g.real + g.imag * g.imag
        power = g2.reshape(nb, -1) @ pilot_power
        mean = (g[:, h, 0][:, None] * half[None, :, h, 0]).real / n_shift
        var = np.maximum(power / (n_shift * n_shift) - mean * mean, 0.0)
        z = (peak - mean) / (np.sqrt(var) + 1e-12)
        out[start : start + len(p)] = z
        if z.max() > stop:
            break
    return out
