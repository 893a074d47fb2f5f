"""Benchmark photo corpora, built once from the repository's real photos and cached.

How the photos are made (state this with benchmark results)
-----------------------------------------------------------
No camera photo larger than 1411 px is available offline, and upscaling a 512 px
photo to 12 Mpx gives unnaturally smooth pictures that JPEG compresses far better
than real ones. So every benchmark photo is a **mosaic of real-photo tiles at
near-native resolution**:

1. Sources: the 12 openly licensed photos in ``datasets/sources/`` (CC0 or public
   domain; see ``datasets/sources/SOURCES.json``): 7 colour photos (astronaut,
   coffee, chelsea the cat, rocket launch, Grace Hopper, retina fundus, Hubble deep
   field) and 5 greyscale ones (camera man, coins, grass, gravel, brick), weighted
   towards the everyday colour photos.
2. Layout: the canvas is cut into rows of random height and, per row, cells of
   random width: 250-600 px for the 12 Mpx set, 300-720 px for the moderate
   sizes, 240-640 px for the 640x480 files (so one or two photo crops).
3. Each cell gets a random crop of a random source, scaled by 0.75-1.35 (more only
   when a small source cannot fill the cell), flipped left-right half of the time,
   colour-jittered (per-channel gain 0.88-1.12, gamma 0.8-1.25, saturation
   0.75-1.3; greyscale sources get a random warm/cool tint), and blended into its
   neighbours over a 24-40 px feathered overlap, so there are no hard seams.
4. Camera-like finish: a mild lens vignette (about 12-25 % darker in the corners),
   then signal-dependent sensor noise in 8-bit units, sigma = sqrt(0.35 * v + 1.0)
   on luminance plus a weaker (40 %) independent chroma noise drawn per 2x2 block
   (demosaiced colour noise is blotchy), rounded to 8 bits.
5. Encoding: baseline JPEG, 4:2:0, quality drawn from camera-like values
   (85, 90, 92, 95 for the big set; 70-95 for the others), no Huffman optimisation
   (as in-camera encoders), with a synthetic EXIF block (Make, Model,
   DateTimeOriginal, exposure, sometimes GPS; in ``ensure_many`` also a few
   Orientation 6/8/3 files, stored turned so that applying the orientation shows
   them upright, and about 10 % without EXIF).

So the corpora have real-photo texture, noise and JPEG statistics, but their
*content* is a collage; results that depend on scene content (face or object
detection, quality metrics on whole scenes) should not be judged with them.

Every picture is a pure function of ``(seed, set, index)``: the same arguments give
the same files. They are written once under ``cache_dir`` (git-ignored
``benchmarks/.cache/photos`` by default; a relative path is taken from the
repository root) and reused; the folder name carries a recipe version, so a
changed recipe builds new files (old folders can simply be deleted). Files are
written to a temporary name and renamed, so an interrupted or concurrent run never
leaves a half-written photo. Generation uses 2 worker processes.

Example
-------
Run from the repository root (the first call builds the files, later calls reuse them):

>>> from benchmarks.photos import ensure_photos_small
>>> paths = ensure_photos_small(n=4)
>>> [p.name for p in paths]
['photo-0000.jpg', 'photo-0001.jpg', 'photo-0002.jpg', 'photo-0003.jpg']
"""

from __future__ import annotations

import math
import multiprocessing
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, TiffImagePlugin

REPO = Path(__file__).resolve().parents[1]
SOURCES = REPO / "datasets" / "sources"
# Bump a corpus' version when its recipe changes: its cached files are then rebuilt.
RECIPE_VERSIONS = {"large": 3, "small": 3, "many": 4}

# (file, weight, is_colour)
_SOURCES = [
    ("astronaut.png", 3.0), ("coffee.png", 3.0), ("chelsea.png", 2.0), ("rocket.jpg", 3.0),
    ("grace_hopper.jpg", 2.0), ("retina.jpg", 1.0), ("hubble_deep_field.jpg", 0.7),
    ("camera.png", 1.5), ("coins.png", 0.5), ("grass.png", 1.0), ("gravel.png", 1.0), ("brick.png", 1.0),
]

# 12+ Mpx camera formats: 4:3 landscape and portrait, 16:9, 5:4, 1:1
LARGE_SIZES = [(4032, 3024), (4000, 3000), (3024, 4032), (4640, 2610), (5000, 4000), (4000, 4000)]
SMALL_SIZES = [(500, 500), (640, 480), (800, 600), (1024, 768), (1280, 720), (1200, 1600), (1600, 1200),
               (1920, 1080), (1080, 1920), (1080, 1350)]
MANY_SIZES = [(640, 480), (640, 480), (480, 640), (640, 427), (600, 600)]

# Cell (tile) side range per corpus: small pictures get few, large tiles (a 640x480 file is
# one or two photo crops), the 12 Mpx set many tiles at near-native scale.
_CELLS = {"large": (250, 600), "small": (300, 720), "many": (240, 640)}

_CAMERAS = [
    ("Apple", "iPhone 13"), ("Apple", "iPhone 15 Pro"), ("samsung", "SM-S911B"), ("Google", "Pixel 7"),
    ("Canon", "Canon EOS R6"), ("NIKON CORPORATION", "NIKON Z 6_2"), ("SONY", "ILCE-7M4"),
    ("FUJIFILM", "X-T4"), ("OLYMPUS CORPORATION", "E-M10MarkIII"), ("HUAWEI", "ELS-NX9"),
]


# --------------------------------------------------------------------------- public API


def ensure_photos(
    n: int = 24,
    min_megapixels: float = 12,
    cache_dir: str | os.PathLike = "benchmarks/.cache/photos",
    seed: int = 0,
) -> list[Path]:
    """At least ``n`` natural-looking camera-sized JPEGs of >= ``min_megapixels``.

    Sizes cycle through 4032x3024, 4000x3000, 3024x4032, 4640x2610, 5000x4000 and
    4000x4000 (each scaled up if below ``min_megapixels``). See the module
    docstring for how the pictures are made.

    Parameters
    ----------
    n : int
        Number of photos.
    min_megapixels : float
        Lower bound on width * height / 1e6.
    cache_dir : str or PathLike
        Cache root; relative paths are resolved from the repository root.
    seed : int
        Corpus seed; each photo depends only on (seed, index).

    Returns
    -------
    list of Path
        ``n`` JPEG paths, in a fixed order.

    Examples
    --------
    >>> paths = ensure_photos(n=2)          # doctest: +SKIP
    >>> Image.open(paths[0]).size           # doctest: +SKIP
    (4032, 3024)
    """
    sizes = [_at_least(size, min_megapixels) for size in LARGE_SIZES]
    tag = f"large-mp{min_megapixels:g}-seed{seed}"
    return _ensure(tag, n, sizes, cache_dir, seed, kind="large")


def ensure_photos_small(
    n: int = 24,
    cache_dir: str | os.PathLike = "benchmarks/.cache/photos",
    seed: int = 0,
    sizes: list[tuple[int, int]] | None = None,
) -> list[Path]:
    """``n`` natural-looking JPEGs at moderate sizes (500x500 up to 1920x1080 by default).

    For watermark and compression benchmarks. Sizes cycle through ``sizes``
    (default :data:`SMALL_SIZES`).

    Examples
    --------
    >>> [Image.open(p).size for p in ensure_photos_small(n=2)]
    [(500, 500), (640, 480)]
    """
    sizes = list(sizes or SMALL_SIZES)
    tag = "small-" + "_".join(f"{w}x{h}" for w, h in sizes) if sizes != SMALL_SIZES else "small"
    return _ensure(f"{tag}-seed{seed}", n, sizes, cache_dir, seed, kind="small")


def ensure_many(
    n: int = 2000,
    cache_dir: str | os.PathLike = "benchmarks/.cache/photos",
    seed: int = 0,
) -> list[Path]:
    """``n`` small camera-like JPEGs (mostly 640x480) in sub-folders, for scan benchmarks.

    About 10 % carry no EXIF, a few have Orientation 6, 8 or 3, and about 30 %
    carry GPS; JPEG quality varies from 70 to 95. Files are spread over
    sub-folders of 250 (``batch-00`` ...), like a real photo collection.

    Examples
    --------
    >>> len(ensure_many(n=10))
    10
    """
    return _ensure(f"many-seed{seed}", n, MANY_SIZES, cache_dir, seed, kind="many")


# --------------------------------------------------------------------------- cache


def _at_least(size: tuple[int, int], megapixels: float) -> tuple[int, int]:
    w, h = size
    if w * h >= megapixels * 1e6:
        return size
    f = math.sqrt(megapixels * 1e6 / (w * h))
    w2, h2 = math.ceil(w * f), math.ceil(h * f)
    return (w2 + w2 % 2, h2 + h2 % 2)


def _resolve(cache_dir: str | os.PathLike) -> Path:
    p = Path(cache_dir)
    return p if p.is_absolute() else REPO / p


def _name(kind: str, index: int) -> str:
    if kind == "many":
        return f"batch-{index // 250:02d}/IMG_{index:05d}.jpg"
    return f"photo-{index:04d}.jpg"


def _ensure(tag: str, n: int, sizes: list, cache_dir, seed: int, kind: str) -> list[Path]:
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    # The recipe version is part of the folder name, so a changed recipe never reuses old
    # files and nothing is deleted under a process that may still be reading them.
    folder = _resolve(cache_dir) / f"{tag}-r{RECIPE_VERSIONS[kind]}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / _name(kind, i) for i in range(n)]
    todo = [(kind, seed, i, sizes[i % len(sizes)], str(p)) for i, p in enumerate(paths) if not p.exists()]
    if todo:
        workers = min(2, os.cpu_count() or 1, len(todo))
        if workers > 1:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(workers) as pool:
                for _ in pool.imap_unordered(_make_one, todo, chunksize=max(1, len(todo) // 64)):
                    pass
        else:
            for job in todo:
                _make_one(job)
    return paths


def _make_one(job: tuple) -> None:
    kind, seed, index, (w, h), path = job
    rng = np.random.default_rng([seed, {"large": 1, "small": 2, "many": 3}[kind], index])
    orientation, with_exif = 1, True
    if kind == "many":
        orientation = int(rng.choice([1, 6, 8, 3], p=[0.9, 0.05, 0.03, 0.02]))
        with_exif = rng.random() > 0.1
        orientation = orientation if with_exif else 1  # without EXIF a file must be stored upright
    pixels = photo_pixels(w, h, rng, cell=_CELLS[kind])
    # Store the upright picture turned the way a camera writes it, so that applying the
    # EXIF orientation shows it upright again (6: stored turned 90° anticlockwise, ...).
    pixels = np.ascontiguousarray(np.rot90(pixels, k={1: 0, 6: 1, 8: -1, 3: 2}[orientation]))
    quality = int(rng.choice([85, 90, 92, 95])) if kind == "large" else int(rng.integers(70, 96))
    params = {"quality": quality, "subsampling": "4:2:0", "optimize": False}
    if with_exif:
        params["exif"] = _exif(rng, orientation, gps=rng.random() < 0.3)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    Image.fromarray(pixels, "RGB").save(tmp, "JPEG", **params)
    os.replace(tmp, out)  # a file that exists is complete


# --------------------------------------------------------------------------- pixels


@lru_cache(maxsize=1)
def _load_sources() -> tuple[list[np.ndarray], np.ndarray, list[bool]]:
    images, weights, colour = [], [], []
    for name, weight in _SOURCES:
        with Image.open(SOURCES / name) as im:
            colour.append(im.mode not in ("L", "I;16", "LA"))
            images.append(np.asarray(im.convert("RGB")))
        weights.append(weight)
    w = np.asarray(weights)
    return images, w / w.sum(), colour


def _split(total: int, lo: int, hi: int, rng: np.random.Generator) -> list[int]:
    """Cut ``total`` into random lengths in [lo, hi] (the last one absorbs the rest)."""
    out, left = [], total
    while left > hi:
        step = int(rng.integers(lo, hi + 1))
        if left - step < lo:
            step = left - lo
        out.append(step)
        left -= step
    out.append(left)
    return out


def _tile(rng: np.random.Generator, tw: int, th: int) -> np.ndarray:
    """One jittered real-photo tile of exactly tw x th pixels, float32 0..255."""
    images, weights, colour = _load_sources()
    k = int(rng.choice(len(images), p=weights))
    src = images[k]
    sh, sw = src.shape[:2]
    scale = max(float(rng.uniform(0.75, 1.35)), tw / sw, th / sh)
    cw, ch = tw / scale, th / scale
    x0 = float(rng.uniform(0, sw - cw)) if sw > cw else 0.0
    y0 = float(rng.uniform(0, sh - ch)) if sh > ch else 0.0
    tile = Image.fromarray(src).resize((tw, th), Image.Resampling.LANCZOS, box=(x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        tile = tile.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if colour[k]:
        gain = rng.uniform(0.88, 1.12, size=3)
    else:  # tint greyscale sources warm or cool
        t = float(rng.uniform(-0.12, 0.12))
        gain = np.array([1 + t, 1 + t * 0.3, 1 - t])
    gamma = float(rng.uniform(0.8, 1.25))
    # gain and gamma as one 3 x 256 lookup table (Pillow applies it in C)
    levels = np.arange(256) / 255.0
    lut = np.concatenate([np.clip(levels * g, 0, 1) ** gamma for g in gain]) * 255
    tile = tile.point(np.rint(lut).astype(int).tolist())
    tile = ImageEnhance.Color(tile).enhance(float(rng.uniform(0.75, 1.3)))  # saturation
    return np.asarray(tile, dtype=np.float32)


def _feather(n: int, overlap: int) -> np.ndarray:
    ramp = np.ones(n, dtype=np.float32)
    r = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    ramp[:overlap] = r
    ramp[n - overlap:] = np.minimum(ramp[n - overlap:], r[::-1])
    return ramp


def photo_pixels(width: int, height: int, rng: np.random.Generator, cell: tuple[int, int] = (250, 600)) -> np.ndarray:
    """A width x height RGB uint8 photo-like mosaic (steps 2-4 of the module docstring).

    Examples
    --------
    >>> photo_pixels(64, 48, np.random.default_rng(0), cell=(30, 40)).shape
    (48, 64, 3)
    """
    lo, hi = min(cell[0], width, height), min(cell[1], width, height)
    lo = max(1, min(lo, hi))
    # channel-planar (3, H, W) float32: every whole-frame operation below is contiguous
    acc = np.zeros((3, height, width), dtype=np.float32)
    wsum = np.zeros((height, width), dtype=np.float32)
    y = 0
    for rh in _split(height, lo, hi, rng):
        x = 0
        for cw in _split(width, lo, hi, rng):
            ov = int(rng.integers(24, 41)) if min(rh, cw) > 120 else max(2, min(rh, cw) // 6)
            x0, y0 = max(0, x - ov), max(0, y - ov)
            x1, y1 = min(width, x + cw + ov), min(height, y + rh + ov)
            tile = _tile(rng, x1 - x0, y1 - y0).transpose(2, 0, 1)
            wgt = np.outer(_feather(y1 - y0, min(2 * ov, (y1 - y0) // 2)),
                           _feather(x1 - x0, min(2 * ov, (x1 - x0) // 2)))
            acc[:, y0:y1, x0:x1] += tile * wgt
            wsum[y0:y1, x0:x1] += wgt
            x += cw
        y += rh
    # lens vignette: darker towards the corners (quartic fall-off, cheap to compute)
    yy = np.linspace(-1, 1, height, dtype=np.float32)[:, None] ** 2
    xx = np.linspace(-1, 1, width, dtype=np.float32)[None, :] ** 2
    r2 = (xx + yy) * np.float32(0.5)
    wsum /= 1 - np.float32(rng.uniform(0.12, 0.25)) * r2 * r2
    img = np.divide(acc, wsum, out=acc)
    # signal-dependent sensor noise: luminance plus weaker chroma
    sigma = (img[0] + img[1] + img[2]) * np.float32(0.35 / 3) + np.float32(1.0)
    np.sqrt(sigma, out=sigma)
    img += sigma * rng.standard_normal((height, width), dtype=np.float32)
    sigma *= np.float32(0.4)
    if height % 2 == 0 and width % 2 == 0:
        # demosaiced chroma noise is blotchy: one draw per 2x2 block (and 4x fewer draws)
        chroma = rng.standard_normal((3, height // 2, 1, width // 2, 1), dtype=np.float32)
        img.reshape(3, height // 2, 2, width // 2, 2)[...] += sigma.reshape(height // 2, 2, width // 2, 2) * chroma
    else:
        img += sigma * rng.standard_normal((3, height, width), dtype=np.float32)
    np.clip(np.rint(img, out=img), 0, 255, out=img)
    return np.ascontiguousarray(img.astype(np.uint8).transpose(1, 2, 0))


# --------------------------------------------------------------------------- EXIF


def _exif(rng: np.random.Generator, orientation: int, gps: bool) -> bytes:
    make, model = _CAMERAS[int(rng.integers(len(_CAMERAS)))]
    # dates spread over 2015-2024, deterministic per photo
    day = int(rng.integers(0, 3650))
    year, rest = 2015 + day // 365, day % 365
    when = f"{year}:{rest // 31 + 1:02d}:{rest % 28 + 1:02d} {int(rng.integers(6, 22)):02d}:" \
           f"{int(rng.integers(60)):02d}:{int(rng.integers(60)):02d}"
    R = TiffImagePlugin.IFDRational
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    exif[0x0112] = orientation
    exif[0x0132] = when
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = R(1, int(rng.choice([30, 60, 125, 250, 500, 1000])))
    sub[0x829D] = R(int(rng.choice([18, 28, 40, 56, 80])), 10)
    sub[0x8827] = int(rng.choice([50, 100, 200, 400, 800, 1600]))
    sub[0x9003] = when
    sub[0x920A] = R(int(rng.integers(24, 200)), 1)
    if gps:
        g = exif.get_ifd(0x8825)
        lat, lon = float(rng.uniform(-60, 70)), float(rng.uniform(-180, 180))
        g[0x0001], g[0x0003] = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
        g[0x0002] = (R(int(abs(lat)), 1), R(int(abs(lat) % 1 * 60), 1), R(0, 1))
        g[0x0004] = (R(int(abs(lon)), 1), R(int(abs(lon) % 1 * 60), 1), R(0, 1))
    return exif.tobytes()


if __name__ == "__main__":  # build the default corpora: python benchmarks/photos.py
    import time

    for fn in (ensure_photos, ensure_photos_small, ensure_many):
        t = time.perf_counter()
        got = fn()
        total = sum(p.stat().st_size for p in got)
        print(f"{fn.__name__}: {len(got)} files, {total / 1e6:.1f} MB, {time.perf_counter() - t:.1f} s")
