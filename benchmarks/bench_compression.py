"""Compression benchmark: imageSlim vs Pillow JPEG q85 vs Guetzli vs AVIF vs WebP, and sweep time.

Run from the repository root::

    .venv/bin/python benchmarks/bench_compression.py [--corpus natural|mosaic|both] [--n 24]
        [--guetzli 2] [--workers 2] [--sweep-max-side none,512]

Corpora (``--corpus``, default ``natural``):

- ``natural``: ``benchmarks.natural.ensure_natural(n)``: real, whole photographs from Debian wallpaper
  packages, downscaled to 1024 px on the long side, stored as JPEG q95 4:4:4 (high-quality camera
  originals; see that module);
- ``mosaic``: ``benchmarks.photos.ensure_photos_small(n, sizes)``: collages of real-photo tiles with
  synthetic sensor noise, JPEG q70-95 (see that module), plus five colour JPEGs of ``datasets/sample``.

Measured per photo, against the decoded source pixels, with SSIMULACRA2 (cinb.compression.metrics):

- ``pillow-q85``: Pillow/libjpeg JPEG quality 85, 4:2:0, optimised Huffman off (``format/jpg/quality/85!``);
- ``imageSlim``: ``cinb.compression.slim`` (threshold SSIMULACRA2 >= 80, "no visible loss");
- ``webp``, ``avif``, ``yjpeg``: the lowest quality whose score reaches pillow-q85's score on that
  photo (bisection), i.e. bytes *at equal perceptual quality*;
- ``pillow-80``: the lowest Pillow JPEG quality whose score reaches imageSlim's threshold (80), i.e. what
  a Pillow user would need per photo for the same "no visible loss" promise;
- ``guetzli``: quality 84 (its minimum) on the ``--guetzli`` smallest photos only (minutes per photo);
- rate-distortion curves of Pillow JPEG, yjpeg, WebP and AVIF over qualities 10-98, from which the bytes
  at SSIMULACRA2 60, 70, 80, 85 and 90 are interpolated (log bytes, linear in score) and compared with
  Pillow JPEG at the same score: the saving *across the quality range*, not only at q85's level.

``--slim-thresholds 85,80,75,70`` instead compares only imageSlim at those thresholds with Pillow q85.

Then ``cinb.compression.sweep`` of the photos x 4 formats (jpeg, yjpeg, webp, avif) x 8 qualities x 3
metrics, timed (``--sweep-max-side`` lists the ``max_side`` values to time; ``none`` = native size).
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
from cinb.compression.slim import DEFAULT_THRESHOLD as slim_threshold  # noqa: E402
from cinb.compression.sweep import load_reference  # noqa: E402

CURVE_FORMATS = ("jpeg", "yjpeg", "webp", "avif")
CURVE_QUALITIES = (10, 20, 30, 40, 50, 60, 70, 78, 85, 90, 94, 98)
SCORE_LEVELS = (60, 70, 80, 85, 90)


def _score(ref, data):
    return ref.ssimulacra2(encoders.decode_image(data))


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t) * 1000.0


def equal_quality(ref, frame, fmt, target):
    """Smallest encoding of ``fmt`` whose score reaches ``target`` (bisection over quality 1-100)."""
    lo, hi, best = 1, 100, None
    while lo <= hi:
        mid = (lo + hi) // 2
        data, ms = _timed(encoders.encode_image, frame, fmt, mid)
        s = _score(ref, data)
        if s >= target:
            best, hi = (data, mid, s, ms), mid - 1
        else:
            lo = mid + 1
    if best is None:
        return {"bytes": np.nan, "quality": None, "score": np.nan, "ms": np.nan}
    data, q, s, ms = best
    return {"bytes": len(data), "quality": q, "score": s, "ms": ms}


def bytes_at(points, level):
    """Bytes at score ``level`` on a rate-distortion curve [(bytes, score)], interpolated; nan outside it."""
    pts = sorted(points, key=lambda p: p[1])
    scores = np.array([p[1] for p in pts])
    if not len(pts) or level < scores[0] or level > scores[-1]:
        return np.nan
    # keep the curve monotonic in score (an encoder can score lower at a higher quality on rare photos)
    logb = np.maximum.accumulate(np.log([p[0] for p in pts]))
    return float(np.exp(np.interp(level, scores, logb)))


def bench_photo(row: dict, *, guetzli: bool) -> dict:
    path = row["path"]
    frame, facts = load_reference(path)
    ref = metrics.Reference(frame)
    out = {"path": path, "pixels": frame.width * frame.height, "source_bytes": facts["source_bytes"]}
    data, ms = _timed(encoders.encode_image, frame, "jpeg", 85)
    target = _score(ref, data)
    out["pillow-q85"] = {"bytes": len(data), "quality": 85, "score": target, "ms": ms}
    res, ms = _timed(slim, path)
    out["imageSlim"] = {"bytes": len(res.data), "quality": res.info.get("quality"),
                        "flag": res.response.get("X-Slimflag"), "score": _score(ref, res.data), "ms": ms}
    for fmt in ("yjpeg", "webp", "avif"):
        out[fmt] = equal_quality(ref, frame, fmt, target)
    # What a Pillow user needs for the same promise as imageSlim: the lowest quality scoring >= 80.
    out["pillow-80"] = equal_quality(ref, frame, "jpeg", slim_threshold)
    if guetzli:
        data, ms = _timed(guetzli_pixels, frame, 84)
        out["guetzli"] = {"bytes": len(data), "quality": 84, "score": _score(ref, data), "ms": ms}
    curves = {}
    for fmt in CURVE_FORMATS:
        pts, total_ms = [], 0.0
        for q in CURVE_QUALITIES:
            data, ms = _timed(encoders.encode_image, frame, fmt, q)
            total_ms += ms
            pts.append((len(data), _score(ref, data)))
        curves[fmt] = {"points": pts, "ms": total_ms / len(CURVE_QUALITIES)}
    out["curves"] = curves
    return out


def _paths(corpus: str, n: int, sizes):
    if corpus == "natural":
        from benchmarks.natural import ensure_natural

        return [str(p) for p in ensure_natural(n=n)], []
    from benchmarks.photos import ensure_photos_small

    photos = [str(p) for p in ensure_photos_small(n=n, sizes=sizes)]
    samples = [p for p in sorted(glob.glob(str(REPO / "datasets/sample/*.jpg")))
               if Path(p).name in ("astronaut.jpg", "coffee.jpg", "rocket.jpg", "grace-hopper.jpg", "chelsea.jpg")]
    return photos, samples


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", choices=["natural", "mosaic", "both"], default="natural")
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--guetzli", type=int, default=2, help="photos to Guetzli (slow)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sizes", default="500x500,640x480,800x600,1024x768",
                    help="mosaic photo sizes (cycled); 'default' = photos.py's 500x500..1920x1080")
    ap.add_argument("--sweep-max-side", default="none", help="comma list of max_side values for the sweep timing")
    ap.add_argument("--no-bench", action="store_true", help="only time the sweep")
    ap.add_argument("--slim-thresholds", default=None,
                    help="comma list: only compare imageSlim at these SSIMULACRA2 thresholds with Pillow q85")
    args = ap.parse_args()

    from cinb.collection import map_values

    sizes = None if args.sizes == "default" else [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    for corpus in (["natural", "mosaic"] if args.corpus == "both" else [args.corpus]):
        photos, samples = _paths(corpus, args.n, sizes)
        paths = photos + samples
        print(f"\n## corpus {corpus}: {len(photos)} photos + {len(samples)} sample photos")
        if args.slim_thresholds:
            slim_thresholds([{"path": p} for p in paths], [float(v) for v in args.slim_thresholds.split(",")],
                            args.workers)
            continue
        if not args.no_bench:
            # Guetzli only on the smallest photos: it needs minutes per megapixel.
            by_size = sorted(photos, key=lambda p: np.prod(load_reference(p)[0].size))
            g_set = set(by_size[:args.guetzli])
            rows = [{"path": p} for p in paths]
            t0 = time.perf_counter()
            outs = []
            for g in (True, False):  # the slow Guetzli photos first, so they overlap the rest
                part = [r for r in rows if (r["path"] in g_set) == g]
                outs += map_values(part, bench_photo, fn_kwargs={"guetzli": g}, workers=args.workers, desc="bench",
                                   chunksize=1)
            bench_s = time.perf_counter() - t0
            errors = [o["error"] for o in outs if o.get("error")]
            outs = [o for o in outs if not o.get("error")]
            report(outs, photos, samples, bench_s, errors)
            report_curves(outs)

        qualities = [30, 40, 50, 60, 70, 80, 85, 90]
        for max_side in [None if v == "none" else int(v) for v in args.sweep_max_side.split(",")]:
            t = time.perf_counter()
            table = sweep(photos, formats=["jpeg", "yjpeg", "webp", "avif"], qualities=qualities,
                          workers=args.workers, max_side=max_side)
            secs = time.perf_counter() - t
            mpx = (table.groupby("path")["width"].first() * table.groupby("path")["height"].first()).sum() / 1e6
            print(f"\nsweep {len(photos)} photos ({mpx:.1f} Mpx) x 4 formats x 8 qualities x 3 metrics, "
                  f"max_side={max_side}, workers={args.workers}: {secs:.0f} s ({len(table)} rows, "
                  f"{table['error'].notna().sum()} errors)")


def slim_row(row: dict, *, thresholds) -> dict:
    frame, _ = load_reference(row["path"])
    ref = metrics.Reference(frame)
    data = encoders.encode_image(frame, "jpeg", 85)
    out = {"q85": len(data), "q85_score": _score(ref, data)}
    for t in thresholds:
        out[t] = len(slim(row["path"], threshold=t).data)
    return out


def slim_thresholds(rows, thresholds, workers):
    """imageSlim at several thresholds vs Pillow q85: total and median saving."""
    from cinb.collection import map_values

    outs = [o for o in map_values(rows, slim_row, fn_kwargs={"thresholds": thresholds}, workers=workers,
                                  desc="slim", chunksize=1) if not o.get("error")]
    base = np.array([o["q85"] for o in outs], float)
    print(f"| imageSlim threshold (SSIMULACRA2) | vs Pillow q85, total | median | ({len(outs)} images; "
          f"q85 scores median {np.median([o['q85_score'] for o in outs]):.1f}) |")
    print("|---|---|---|---|")
    for t in thresholds:
        b = np.array([o[t] for o in outs], float)
        print(f"| {t:g} | {100 * (1 - b.sum() / base.sum()):.1f} % smaller | {100 * np.median(1 - b / base):.1f} % | |")


def report(outs, photos, samples, bench_s, errors):
    names = ["pillow-q85", "imageSlim", "pillow-80", "yjpeg", "webp", "avif", "guetzli"]
    subsets = [("all photos", outs)]
    if samples:
        subsets.append(("photos only", [o for o in outs if o["path"] in photos]))
    for label, subset in subsets:
        print(f"\n### {label}: {len(subset)} images")
        print("| encoder | images | total bytes | vs Pillow q85 (same images) | median saving | mean SSIMULACRA2 | "
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
            print(f"| {n} | {len(rows)} | {b.sum():,.0f} | {100 * (1 - b.sum() / base.sum()):.1f} % smaller | "
                  f"{100 * np.median(1 - b / base):.1f} % | {sc.mean():.1f} | {sc.min():.1f} | {ms_mpx.mean():,.0f} |")
        slim_b = np.array([o["imageSlim"]["bytes"] for o in subset], float)
        p80 = np.array([o["pillow-80"]["bytes"] for o in subset], float)
        ok = ~np.isnan(p80)
        print(f"imageSlim vs pillow-80 (equal promise, {ok.sum()} images): "
              f"{100 * (1 - slim_b[ok].sum() / p80[ok].sum()):.1f} % "
              f"smaller in total, median {100 * np.median(1 - slim_b[ok] / p80[ok]):.1f} %")
        q85_ok = np.array([o["pillow-q85"]["score"] >= slim_threshold for o in subset])
        q85_b = np.array([o["pillow-q85"]["bytes"] for o in subset], float)
        for label_, m in (("q85 scores >= 80", q85_ok), ("q85 scores < 80", ~q85_ok)):
            if m.any():
                print(f"imageSlim vs pillow-q85 where {label_} ({m.sum()} images): "
                      f"{100 * (1 - slim_b[m].sum() / q85_b[m].sum()):.1f} % smaller in total")
        flags = [o["imageSlim"]["flag"] for o in subset]
        print(f"imageSlim X-Slimflag: {flags.count(1)} slimmed, {flags.count(2)} original kept")
    print(f"\nbench time {bench_s:.0f} s; errors: {errors}")


def report_curves(outs):
    """Saving vs Pillow JPEG at equal SSIMULACRA2, per score level: total over photos and median."""
    print("\n### bytes vs Pillow JPEG at equal SSIMULACRA2 (rate-distortion curves, interpolated)")
    print("| encoder | " + " | ".join(f"score {lv}" for lv in SCORE_LEVELS) + " | encode ms/Mpx (mean over curve) |")
    print("|---|" + "---|" * (len(SCORE_LEVELS) + 1))
    for fmt in CURVE_FORMATS[1:]:
        cells = []
        for lv in SCORE_LEVELS:
            pairs = [(bytes_at(o["curves"][fmt]["points"], lv), bytes_at(o["curves"]["jpeg"]["points"], lv))
                     for o in outs]
            pairs = np.array([p for p in pairs if not np.isnan(p).any()])
            if not len(pairs):
                cells.append("—")
                continue
            total = 100 * (1 - pairs[:, 0].sum() / pairs[:, 1].sum())
            median = 100 * np.median(1 - pairs[:, 0] / pairs[:, 1])
            cells.append(f"{total:.1f} % (median {median:.1f} %, n={len(pairs)})")
        ms = np.mean([o["curves"][fmt]["ms"] / (o["pixels"] / 1e6) for o in outs])
        print(f"| {fmt} | " + " | ".join(cells) + f" | {ms:,.0f} |")
    q85 = np.array([o["pillow-q85"]["score"] for o in outs])
    print(f"Pillow q85 scores: median {np.median(q85):.1f}, range {q85.min():.1f}-{q85.max():.1f}")


if __name__ == "__main__":
    main()
