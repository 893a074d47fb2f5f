"""Search by image (``cinb.Library``, ``ci-process=ImageSearch``): recall, throughput, latency, size.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.bench_search                      # everything
    .venv/bin/python -m benchmarks.bench_search --part recall --distractors 5000
    .venv/bin/python -m benchmarks.bench_search --part latency --vectors 100000

Parts (figures printed as JSON; the machine's load average before and after):

- ``recall``: a library of target photos (the 24 first natural photos of :mod:`benchmarks.natural`
  and 5 sample photos) plus ``--distractors`` distractor pictures, built cheaply from the *other* 13
  natural photos only (the mosaics of :mod:`benchmarks.photos` are made of tiles of the sample
  photos, so they would hold copies of targets): random crops (30-100 % of each side), mirrored or
  not, colour/brightness shifts, 240-400 px, JPEG. Each target is queried with 8 edited copies (crop
  70 %, resize 0.3, JPEG q40, brightness x1.3, rotation 5°, text watermark through cinb's
  ``watermark/2`` rule, grayscale, horizontal flip): recall@1 per edit and overall, and the
  score of the right answer. ``throughput``: pictures/s of ``Library.add_many`` with 2 workers while
  building the distractors in.
- ``semantic``: a library of the 222 labelled real photos of :mod:`benchmarks.labelled` (cats,
  dogs, birds, food, vehicles and other subjects) plus the sample photos; each photo of a group is
  queried: how many of its top 10 (itself left out) are of its group, against the most it could
  find; with the library's features and, for comparison, the pooled features alone (exact cosine).
- ``latency``: ``--vectors`` synthetic rows (2000 sparse non-negative unit "centres", like pooled
  ReLU features, plus small Gaussian noise: clustered like real data, where uniform random vectors
  would be unrealistically hard for a graph index) inserted in a Library: its exact search and HNSW
  search (vector part of ``Library.search``, features precomputed) p50/p99 ms, recall@10 of HNSW vs
  exact, and the size on disk per 100k pictures (SQLite + index file).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


#: cinb's text watermark rule used for the "watermark" edit.
WATERMARK = (f"watermark/2/text/{b64('© cinb 2026')}/fontsize/40/fill/{b64('#FFFFFF')}/dissolve/80"
             f"/gravity/SouthEast/dx/10/dy/10")


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _watermark(img: Image.Image) -> Image.Image:
    import cinb  # noqa: PLC0415

    buf = io.BytesIO()
    img.save(buf, "PNG")
    return Image.open(io.BytesIO(cinb.process(buf.getvalue(), WATERMARK).data)).convert("RGB")


def _crop(img: Image.Image, keep: float) -> Image.Image:
    m = (1 - keep) / 2
    return img.crop((round(img.width * m), round(img.height * m), round(img.width * (1 - m)),
                     round(img.height * (1 - m))))


#: The edits a query copy goes through (the issue's list).
EDITS = {
    "crop70": lambda im: _crop(im, 0.7),
    "resize0.3": lambda im: im.resize((max(1, round(im.width * 0.3)), max(1, round(im.height * 0.3))),
                                      Image.Resampling.LANCZOS),
    "jpeg40": lambda im: _jpeg(im, 40),
    "brightness1.3": lambda im: ImageEnhance.Brightness(im).enhance(1.3),
    "rotate5": lambda im: im.rotate(5, Image.Resampling.BILINEAR, expand=True),
    "watermark": _watermark,
    "grayscale": lambda im: ImageOps.grayscale(im).convert("RGB"),
    "flip": ImageOps.mirror,
}

SAMPLES = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "grace-hopper.jpg", "rocket.jpg")


def _targets() -> tuple[list[Path], list[Path]]:
    from benchmarks.natural import ensure_natural  # noqa: PLC0415

    natural = ensure_natural(n=37)
    return natural[:24] + [Path("datasets/sample") / n for n in SAMPLES], natural[24:]


def make_distractors(sources: list[Path], n: int, folder: Path, seed: int = 0) -> list[Path]:
    """``n`` JPEG distractors from ``sources``: random crops, mirror, colour and brightness shifts."""
    rng = random.Random(seed)
    images = []
    for p in sources:
        im = Image.open(p).convert("RGB")
        im.thumbnail((800, 800))
        images.append(im)
    out = []
    for i in range(n):
        im = images[i % len(images)]
        w, h = im.size
        fw, fh = rng.uniform(0.3, 1.0), rng.uniform(0.3, 1.0)
        x, y = rng.uniform(0, 1 - fw), rng.uniform(0, 1 - fh)
        part = im.crop((round(x * w), round(y * h), round((x + fw) * w), round((y + fh) * h)))
        if rng.random() < 0.5:
            part = ImageOps.mirror(part)
        part = ImageEnhance.Color(part).enhance(rng.uniform(0.5, 1.5))
        part = ImageEnhance.Brightness(part).enhance(rng.uniform(0.7, 1.3))
        side = rng.randint(240, 400)
        part.thumbnail((side, side))
        if min(part.size) < 40:
            part = part.resize((max(40, part.width), max(40, part.height)))
        path = folder / f"distractor-{i:05d}.jpg"
        part.save(path, "JPEG", quality=85)
        out.append(path)
    return out


def bench_recall(args) -> dict:
    import pandas as pd  # noqa: PLC0415

    from cinb.ai.search import Library  # noqa: PLC0415

    targets, others = _targets()
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        lib = Library(work / "lib")
        lib.add_many(pd.DataFrame({"path": [str(p) for p in targets],
                                   "entity_id": [f"target-{i}" for i in range(len(targets))]}),
                     max_workers=args.workers, progress=False)
        dfolder = work / "distractors"
        dfolder.mkdir()
        t = time.perf_counter()
        paths = make_distractors(list(others), args.distractors, dfolder)
        make_s = time.perf_counter() - t
        t = time.perf_counter()
        report = lib.add_many(pd.DataFrame({"path": [str(p) for p in paths]}), max_workers=args.workers,
                              progress=False, commit_every=500)
        add_s = time.perf_counter() - t
        added = int((report["status"] == "added").sum())
        per_edit: dict[str, list] = {e: [] for e in EDITS}
        scores: dict[str, list] = {e: [] for e in EDITS}
        misses = []
        t = time.perf_counter()
        for i, path in enumerate(targets):
            original = Image.open(path)
            original = ImageOps.exif_transpose(original).convert("RGB")
            for edit, fn in EDITS.items():
                res = lib.search(fn(original), limit=10)
                hit = res["ImageInfos"][0]["EntityId"] if res["Count"] else None
                per_edit[edit].append(hit == f"target-{i}")
                right = [x["Score"] for x in res["ImageInfos"] if x["EntityId"] == f"target-{i}"]
                scores[edit].append(right[0] if right else None)
                if hit != f"target-{i}":
                    misses.append({"target": path.name, "edit": edit, "got": hit,
                                   "right_rank": next((k for k, x in enumerate(res["ImageInfos"])
                                                       if x["EntityId"] == f"target-{i}"), None)})
        queries = len(targets) * len(EDITS)
        query_s = time.perf_counter() - t
        all_hits = [h for v in per_edit.values() for h in v]
        size = sum(f.stat().st_size for f in (work / "lib").iterdir())
        return {
            "targets": len(targets), "distractors": added, "library": len(lib), "queries": queries,
            "recall@1": round(float(np.mean(all_hits)), 4),
            "recall@1_per_edit": {e: round(float(np.mean(v)), 3) for e, v in per_edit.items()},
            "score_of_right_answer_median": {e: (int(np.median([s for s in v if s is not None]))
                                                 if any(s is not None for s in v) else None)
                                             for e, v in scores.items()},
            "misses": misses,
            "add_many_images_per_s": round(added / add_s, 1), "workers": args.workers,
            "distractor_generation_s": round(make_s, 1),
            "search_ms_per_query_incl_features": round(1000 * query_s / queries, 1),
            "library_bytes": size,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_semantic(args) -> dict:
    import pandas as pd  # noqa: PLC0415

    from benchmarks.labelled import ensure_labelled  # noqa: PLC0415
    from cinb.ai import search  # noqa: PLC0415
    from cinb.ai.search import Library  # noqa: PLC0415

    photos = [(str(p.path), p.group, p.subject) for p in ensure_labelled()]
    photos += [(str(Path("datasets/sample") / n), "cats" if n == "chelsea.jpg" else "other", n) for n in SAMPLES]
    groups = {f"p{i}": g for i, (_, g, _) in enumerate(photos)}
    work = Path(tempfile.mkdtemp(prefix="bench-search-sem-"))
    try:
        lib = Library(work / "lib")
        t = time.perf_counter()
        lib.add_many(pd.DataFrame({"path": [p for p, _, _ in photos], "entity_id": list(groups)}),
                     max_workers=args.workers, progress=False)
        add_s = time.perf_counter() - t
        out: dict = {"photos": len(photos), "features": lib.feature_kind, "add_s": round(add_s, 1)}
        pooled = np.stack([search.features(p, kind=search.FEATURES_POOLED)["vector"] for p, _, _ in photos])
        sims = pooled @ pooled.T
        keys = list(groups)
        for group in ("cats", "dogs", "birds", "vehicles", "food"):
            members = [k for k in keys if groups[k] == group]
            lib_hits, pooled_hits, misses = [], [], []
            for k in members:
                infos = lib.search(photos[keys.index(k)][0], limit=11)["ImageInfos"]
                others = [x["EntityId"] for x in infos if x["EntityId"] != k][:10]
                lib_hits.append(sum(groups[o] == group for o in others))
                row = sims[keys.index(k)]
                order = [j for j in np.argsort(-row) if keys[j] != k][:10]
                pooled_hits.append(sum(groups[keys[j]] == group for j in order))
                if group == "cats":
                    misses.append({"query": photos[keys.index(k)][2],
                                   "top10": [photos[keys.index(o)][2] for o in others]})
            out[group] = {"queries": len(members), "possible_in_top10": min(10, len(members) - 1),
                          "same_group_in_top10_mean": round(float(np.mean(lib_hits)), 2),
                          "pooled_only_mean": round(float(np.mean(pooled_hits)), 2)}
            if group == "cats":
                out[group]["neighbours"] = misses
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_latency(args) -> dict:
    from cinb.ai import search  # noqa: PLC0415
    from cinb.ai.search import DIM, Library  # noqa: PLC0415 (DIM: the current features' size)

    rng = np.random.default_rng(0)
    # Centres: real embeddings of generated pictures would need the model; the recall part's
    # distribution is approximated by sparse non-negative vectors (pooled ReLU features are), then
    # rows = centre + noise, normalised.
    n_centres = 2000
    centres = np.abs(rng.standard_normal((n_centres, DIM)).astype(np.float32)) * (rng.random((n_centres, DIM)) < 0.3)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    n = args.vectors
    rows = centres[rng.integers(0, n_centres, n)] + rng.standard_normal((n, DIM)).astype(np.float32) * 0.02
    rows = np.abs(rows)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    hashes = rng.integers(-(1 << 63), (1 << 63) - 1, n, dtype=np.int64)
    work = Path(tempfile.mkdtemp(prefix="bench-search-lat-"))
    try:
        lib = Library(work / "lib")
        t = time.perf_counter()
        for start in range(0, n, 10_000):
            lib._insert([(f"e{i}", f"p{i}.jpg", None, json.dumps({"group": str(i % 10)}), int(hashes[i]),
                          rows[i].astype(np.float16).tobytes(), 0.0) for i in range(start, min(n, start + 10_000))],
                        replace=False)
        insert_s = time.perf_counter() - t
        t = time.perf_counter()
        lib.refresh_index(force=True)
        index_s = time.perf_counter() - t
        size = sum(f.stat().st_size for f in (work / "lib").iterdir())
        noise = rng.standard_normal((args.queries, DIM)).astype(np.float32) * 0.02
        queries = rows[rng.integers(0, n, args.queries)] + noise
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        lib._search_features({"vector": queries[0], "phash": 0, "mirror_phash": 0})  # load state
        idx = lib._index

        def timed(exact: bool) -> tuple[list[float], list[set]]:
            times, found = [], []
            for q in queries:
                t0 = time.perf_counter()
                hits = idx.search(q, 10, exact=exact)
                times.append(1000 * (time.perf_counter() - t0))
                found.append(set(np.asarray(hits.keys).tolist()))
            return times, found

        exact_t, exact_f = timed(True)
        hnsw_t, hnsw_f = timed(False)
        recall = float(np.mean([len(a & b) / 10 for a, b in zip(exact_f, hnsw_f, strict=True)]))
        # The whole vector part of Library.search (HNSW above EXACT_ROWS, the phash scan, SQLite lookups).
        full_t = []
        for q in queries:
            t0 = time.perf_counter()
            lib._search_features({"vector": q, "phash": int(rng.integers(0, 1 << 62)), "mirror_phash": 0})
            full_t.append(1000 * (time.perf_counter() - t0))
        filt = search.parse_filter('group = "3"')
        filt_t = []
        for q in queries[:20]:
            t0 = time.perf_counter()
            lib._search_features({"vector": q, "phash": 0, "mirror_phash": 0}, predicate=filt)
            filt_t.append(1000 * (time.perf_counter() - t0))

        def pct(v, p):
            return round(float(np.percentile(v, p)), 2)

        return {
            "vectors": n, "queries": args.queries, "insert_s": round(insert_s, 1), "index_build_s": round(index_s, 1),
            "exact_ms_p50": pct(exact_t, 50), "exact_ms_p99": pct(exact_t, 99),
            "hnsw_ms_p50": pct(hnsw_t, 50), "hnsw_ms_p99": pct(hnsw_t, 99), "hnsw_recall@10_vs_exact": round(recall, 4),
            "expansion_search": search.EXPANSION,
            "library_search_ms_p50": pct(full_t, 50), "library_search_ms_p99": pct(full_t, 99),
            "filtered_search_10pct_ms_p50": pct(filt_t, 50),
            "bytes_on_disk": size, "mb_per_100k": round(size / n * 100_000 / 1e6, 1),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("recall", "semantic", "latency", "all"), default="all")
    ap.add_argument("--distractors", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--vectors", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args(argv)
    out = {"load_before": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}
    if args.part in ("recall", "all"):
        out["recall"] = bench_recall(args)
        print(json.dumps(out["recall"]), flush=True)
    if args.part in ("semantic", "all"):
        out["semantic"] = bench_semantic(args)
        print(json.dumps(out["semantic"]), flush=True)
    if args.part in ("latency", "all"):
        out["latency"] = bench_latency(args)
        print(json.dumps(out["latency"]), flush=True)
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
