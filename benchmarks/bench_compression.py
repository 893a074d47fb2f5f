"""Compression benchmark: imageSlim vs Pillow JPEG q85 vs Guetzli vs AVIF vs WebP, and sweep time.

Run from the repository root::

    .venv/bin/python benchmarks/bench_compression.py [--n 24] [--guetzli 4] [--workers 2]

Photos: ``benchmarks.photos.ensure_photos_small(n, sizes)`` (real-photo mosaics with camera noise, JPEGs
of quality 70-95; see that module; default sizes 500x500, 640x480, 800x600, 1024x768 so that the run
fits in minutes on 2 cores) plus five colour JPEGs of ``datasets/sample``.

Measured per photo, against the decoded source pixels, with SSIMULACRA2 (cinb.compression.metrics):

- ``pillow-q85``: Pillow/libjpeg JPEG quality 85, 4:2:0, optimised Huffman off (``format/jpg/quality/85!``);
- ``imageSlim``: ``cinb.compression.slim`` (threshold SSIMULACRA2 >= 80, "no visible loss");
- ``webp``, ``avif``, ``yjpeg``: the lowest quality whose score reaches pillow-q85's score on that
  photo (bisection), i.e. bytes *at equal perceptual quality*;
- ``guetzli``: quality 84 (its minimum) on the first ``--guetzli`` photos only (minutes per photo).

Then ``cinb.compression.sweep`` of the photos x 4 formats (jpeg, yjpeg, webp, avif) x 8 qualities x 3
metrics, timed (``--sweep-max-side`` adds runs on reduced copies).
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cinb.compression import encoders, metrics, slim, sweep  # noqa: E402
from cinb.compression.guetzli import guetzli_pixels  # noqa: E402
from cinb.compression.sweep import load_reference  # noqa: E402


def _score(ref, data):
    return ref.ssimulacra2(encoders.decode_image(data))


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t) * 1000.0


def equal_quality(ref, frame, fmt, target):
    """Smallest encoding of ``fmt`` whose score reaches ``target`` (bisection over quality 1-100)."""
    lo, hi, best = 1, 100, None
    total_ms = 0.0
    while lo <= hi:
        mid = (lo + hi) // 2
        data, ms = _timed(lambda: encoders.encode_image(frame, fmt, mid))
        total_ms += ms
        s = _score(ref, data)
        if s >= target:
            best, hi = (data, mid, s, ms), mid - 1
        else:
            lo = mid + 1
    if best is None:
        return {"bytes": np.nan, "quality": None, "score": np.nan, "ms": np.nan}
    data, q, s, ms = best
    return {"bytes": len(data), "quality": q, "score": s, "ms": ms}


def bench_photo(row: dict, *, guetzli: bool) -> dict:
    path = row["path"]
    frame, facts = load_reference(path)
    ref = metrics.Reference(frame)
    out = {"path": path, "pixels": frame.width * frame.height, "source_bytes": facts["source_bytes"]}
    data, ms = _timed(lambda: encoders.encode_image(frame, "jpeg", 85))
    target = _score(ref, data)
    out["pillow-q85"] = {"bytes": len(data), "quality": 85, "score": target, "ms": ms}
    res, ms = _timed(lambda: slim(path))
    out["imageSlim"] = {"bytes": len(res.data), "quality": res.info.get("quality"), "flag": res.info.get("X-Slimflag"),
                        "score": _score(ref, res.data), "ms": ms}
    for fmt in ("yjpeg", "webp", "avif"):
        out[fmt] = equal_quality(ref, frame, fmt, target)
    if guetzli:
        data, ms = _timed(lambda: guetzli_pixels(frame, 84))
        out["guetzli"] = {"bytes": len(data), "quality": 84, "score": _score(ref, data), "ms": ms}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--guetzli", type=int, default=4, help="photos to Guetzli (slow)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sizes", default="500x500,640x480,800x600,1024x768",
                    help="photo sizes (cycled); 'default' = photos.py's 500x500..1920x1080")
    ap.add_argument("--sweep-max-side", default="none", help="comma list of max_side values for the sweep timing")
    args = ap.parse_args()

    from benchmarks.photos import ensure_photos_small
    from cinb.collection import map_values

    sizes = None if args.sizes == "default" else [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    photos = [str(p) for p in ensure_photos_small(n=args.n, sizes=sizes)]
    samples = [p for p in sorted(glob.glob(str(REPO / "datasets/sample/*.jpg")))
               if Path(p).name in ("astronaut.jpg", "coffee.jpg", "rocket.jpg", "grace-hopper.jpg", "chelsea.jpg")]
    paths = photos + samples
    # Guetzli only on the smallest photos: it needs minutes per megapixel.
    by_size = sorted(range(len(photos)), key=lambda i: load_reference(photos[i])[0].size[0])
    g_set = {photos[i] for i in by_size[:args.guetzli]}
    rows = [{"path": p} for p in paths]
    t0 = time.perf_counter()
    outs = []
    for g in (False, True):
        part = [r for r in rows if (r["path"] in g_set) == g]
        outs += map_values(part, bench_photo, fn_kwargs={"guetzli": g}, workers=args.workers, desc="bench",
                           chunksize=1)
    bench_s = time.perf_counter() - t0
    errors = [o["error"] for o in outs if o.get("error")]
    outs = [o for o in outs if not o.get("error")]
    report(outs, photos, samples, g_set, bench_s, errors)

    qualities = [30, 40, 50, 60, 70, 80, 85, 90]
    for max_side in [None if v == "none" else int(v) for v in args.sweep_max_side.split(",")]:
        t = time.perf_counter()
        table = sweep(photos, formats=["jpeg", "yjpeg", "webp", "avif"], qualities=qualities, workers=args.workers,
                      max_side=max_side)
        secs = time.perf_counter() - t
        print(f"\nsweep {len(photos)} photos x 4 formats x 8 qualities x 3 metrics, max_side={max_side}, "
              f"workers={args.workers}: {secs:.0f} s ({len(table)} rows, {table['error'].notna().sum()} errors)")


def report(outs, photos, samples, g_set, bench_s, errors):
    names = ["pillow-q85", "imageSlim", "yjpeg", "webp", "avif", "guetzli"]
    for label, subset in (("all photos", [o for o in outs]), ("photos.py only", [o for o in outs if o["path"] in photos])):
        print(f"\n### {label}: {len(subset)} images")
        print("| encoder | images | total bytes | vs pillow-q85 (same images) | median saving | mean SSIMULACRA2 | "
              "min SSIMULACRA2 | mean encode ms/Mpx |")
        print("|---|---|---|---|---|---|---|---|")
        for n in names:
            rows = [o for o in subset if n in o and not np.isnan(o[n]["bytes"])]
            if not rows:
                continue
            b = np.array([o[n]["bytes"] for o in rows], float)
            base = np.array([o["pillow-q85"]["bytes"] for o in rows], float)
            sc = np.array([o[n]["score"] for o in rows], float)
            ms_mpx = np.array([o[n]["ms"] / (o["pixels"] / 1e6) for o in rows], float)
            print(f"| {n} | {len(rows)} | {b.sum():,.0f} | {100 * (1 - b.sum() / base.sum()):+.1f}% smaller | "
                  f"{100 * np.median(1 - b / base):.1f}% | {sc.mean():.1f} | {sc.min():.1f} | {ms_mpx.mean():,.0f} |")
        flags = [o["imageSlim"]["flag"] for o in subset]
        print(f"imageSlim X-Slimflag: {flags.count(1)} slimmed, {flags.count(2)} original kept")
    print(f"\nbench time {bench_s:.0f} s; errors: {errors}")


if __name__ == "__main__":
    main()
