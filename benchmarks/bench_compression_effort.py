"""AVIF and WebP at equal SSIMULACRA2: encoder effort, and AVIF at 10 bits (issue 14), on two corpora.

Run from the repository root::

    .venv/bin/python benchmarks/bench_compression_effort.py [--n 12] [--side 512] [--workers 2] [--json out.json]
        [--reverse] [--report a.json,b.json]

Corpora: the first ``n`` photos of :mod:`benchmarks.natural` and ``n`` images of :mod:`benchmarks.graphics`
(screenshots, charts, scanned pages), downscaled to ``side`` px on the long side. For every image, variant
and target score (80, 85): the lowest integer quality whose decoded output scores at least the target
(cinb's SSIMULACRA2 against the image; :func:`cinb.codecs.quality_search.find_boundary`), its bytes, and
the process CPU seconds of the encode at that quality (all encoder threads; CPU, not wall time, because
the machine is shared) and of the whole search. Variants, all through :func:`cinb.compression.encode_image`:

- ``avif e<k>``, k = 0-6: cinb's AVIF codec (Pillow's libavif + libaom, cinb's chroma rule) at effort k
  (speed 10 - k); ``avif e4`` is today's default;
- ``avif10``: the same libavif + libaom at 10 bits per sample through imagecodecs (speed 6, same chroma
  rule), when imagecodecs is installed;
- ``webp e<k>``, k = 0-6: cinb's WebP codec at effort k (libwebp ``method`` k); ``webp e4`` is today's default;
- ``heif`` (cinb's HEIF codec, pillow-heif's x265) and ``heif10`` (the same at 10 bits per sample).

``--variants`` limits the run to some of them (comma list).

Totals are over the images where every variant reaches the target.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGETS = (80.0, 85.0)
VARIANTS = {**{f"avif e{k}": ("avif", k) for k in range(7)}, "avif10": ("avif10", None),
            **{f"webp e{k}": ("webp", k) for k in range(7)}, "heif": ("heif", None), "heif10": ("heif10", None)}
#: Other variants search from the default's answer + BRACKET down (then above it if that misses): the
#: same answer as a search from 100 where the score grows with quality, in fewer slow encodes.
BRACKET = 12
BASES = {"avif": "avif e4", "webp": "webp e4", "heif": "heif"}


def measure(path: str, side: int, names: tuple[str, ...] = tuple(VARIANTS)) -> dict:
    from PIL import Image

    from cinb.codecs.quality_search import find_boundary
    from cinb.compression import encode_image
    from cinb.compression.encoders import decode_image
    from cinb.compression.metrics import Reference

    with Image.open(path) as im:
        img = im.convert("RGB")
    img.thumbnail((side, side), Image.Resampling.LANCZOS)
    ref = Reference(img)
    out: dict = {"path": Path(path).name}
    found: dict[str, int] = {}  # the default variant's answer per family and target: where others start
    for name in sorted(names, key=lambda n: n not in BASES.values()):  # defaults first
        fmt, effort = VARIANTS[name]
        family = fmt.rstrip("10")
        try:
            encode_image(img, fmt, 50, effort=effort)
        except Exception as exc:  # noqa: BLE001 - an encoder not installed: the variant is skipped
            out[name] = {"error": str(exc)}
            continue
        q_low = 1
        for target in TARGETS:
            cpu: dict[int, float] = {}

            def probe(q, fmt=fmt, effort=effort, cpu=cpu):
                t = time.process_time()
                data = encode_image(img, fmt, q, effort=effort)
                cpu[q] = time.process_time() - t
                return float(ref.ssimulacra2(decode_image(data))), data

            t0 = time.process_time()
            hit = None
            start = found.get(f"{family}@{target:g}")
            if start is not None and start < 100:  # near the default's answer first: cheap, same result
                top = max(q_low, min(100, start + BRACKET))
                _, hit = find_boundary(probe, q_high=top, q_low=q_low, target=target, below=lambda s, t=target: s < t)
                if hit is None and top < 100:  # even the bracket's top misses: the rest of the range
                    _, hit = find_boundary(probe, q_high=100, q_low=top + 1, target=target,
                                           below=lambda s, t=target: s < t)
            else:
                _, hit = find_boundary(probe, q_high=100, q_low=q_low, target=target,
                                       below=lambda s, t=target: s < t)
            search = time.process_time() - t0
            if hit is None:
                out[f"{name}@{target:g}"] = None
                continue
            if name in BASES.values():
                found[f"{family}@{target:g}"] = hit.quality
            q_low = hit.quality  # the next, higher target needs at least this quality
            out[f"{name}@{target:g}"] = {"bytes": len(hit.payload), "quality": hit.quality, "score": hit.value,
                                         "cpu": cpu[hit.quality], "search_cpu": search}
    return out


def report(results: dict) -> None:
    for corpus, rows in results.items():
        print(f"\n### {corpus} ({len(rows)} images)\n")
        for family, base in BASES.items():
            names = [n for n in VARIANTS if n.startswith(family) and any(n in r or f"{n}@80" in r for r in rows)]
            if not names:
                continue
            print(f"| {family} variant | " + " | ".join(f"bytes at {t:g} (vs {base})" for t in TARGETS)
                  + " | " + " | ".join(f"CPU s at {t:g} (vs {base})" for t in TARGETS) + " |")
            print("|---" * (1 + 2 * len(TARGETS)) + "|")
            for name in names:
                cells, cpus = [], []
                for t in TARGETS:
                    ok = [r for r in rows if all(r.get(f"{n}@{t:g}") for n in (name, base))]
                    if not ok:
                        cells.append("n/a")
                        cpus.append("n/a")
                        continue
                    b = sum(r[f"{name}@{t:g}"]["bytes"] for r in ok)
                    b0 = sum(r[f"{base}@{t:g}"]["bytes"] for r in ok)
                    c = sum(r[f"{name}@{t:g}"]["cpu"] for r in ok)
                    c0 = sum(r[f"{base}@{t:g}"]["cpu"] for r in ok)
                    cells.append(f"{b:,} ({(b / b0 - 1) * 100:+.1f} %, n={len(ok)})")
                    cpus.append(f"{c:.2f} ({c / c0:.2f}x)")
                print(f"| {name} | " + " | ".join(cells) + " | " + " | ".join(cpus) + " |")
            print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma list of variant names")
    ap.add_argument("--json", default=None)
    ap.add_argument("--reverse", action="store_true",
                    help="images in reverse order (a second run alongside the first covers the rest sooner)")
    ap.add_argument("--report", default=None,
                    help="comma list of saved --json files: merge them (one row per image) and print the tables")
    args = ap.parse_args()
    if args.report:
        merged: dict = {}
        for name in args.report.split(","):
            for corpus, rows in json.loads(Path(name).read_text()).items():
                merged.setdefault(corpus, {}).update({r["path"]: r for r in rows})
        report({corpus: [rows[k] for k in sorted(rows)] for corpus, rows in merged.items()})
        return
    names = tuple(v for v in args.variants.split(",") if v)
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    from benchmarks.graphics import ensure_graphics
    from benchmarks.natural import ensure_natural

    corpora = {"natural": [str(p) for p in ensure_natural(n=args.n)],
               "graphics": [str(p) for p in ensure_graphics(n=args.n)]}
    print(f"load average before: {os.getloadavg()}", flush=True)
    loads: list[float] = []
    done = threading.Event()

    def sample_load() -> None:
        while not done.wait(30):
            loads.append(os.getloadavg()[0])

    threading.Thread(target=sample_load, daemon=True).start()
    results: dict = {corpus: [] for corpus in corpora}
    jobs = [(corpus, p) for pair in zip(*corpora.values(), strict=True)
            for corpus, p in zip(corpora, pair, strict=True)]
    if args.reverse:
        jobs.reverse()
    with ProcessPoolExecutor(args.workers) as pool:  # corpora interleaved; results saved as they come
        futures = {pool.submit(measure, p, args.side, names): corpus for corpus, p in jobs}
        for fut in as_completed(futures):
            results[futures[fut]].append(fut.result())
            print(futures[fut], results[futures[fut]][-1]["path"], flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=1))
    done.set()
    print(f"load average after: {os.getloadavg()}; 1-min load every 30 s during the run: "
          f"min {min(loads, default=0):.1f}, mean {sum(loads) / max(len(loads), 1):.1f}, "
          f"max {max(loads, default=0):.1f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    report(results)


if __name__ == "__main__":
    main()
