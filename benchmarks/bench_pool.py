"""The process pool itself (``cinb.parallel``): start-up and per-row overhead of each pool kind.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.bench_pool            # all parts
    .venv/bin/python -m benchmarks.bench_pool --rows 4000 --parts trivial

Parts (``--parts``, comma separated; default all):

- ``trivial``: ``map_values`` over ``--rows`` rows that do almost nothing, 2 workers: what the pool
  machinery costs per row (pickling, chunking, the progress bar off), fork pool.
- ``analyze``: ``cinb.analyze(..., "phash", "brightness")`` over the sample images copied ``--copies``
  times, with each pool kind the running cinb offers (``inline``, ``fork``, ``spawn``); spawn pays
  interpreter start-up once per worker.
- ``apply``: ``cinb.apply`` of ``bench_apply``'s thumbnail rule over ``--photos`` 12 Mpx photos with 2
  fork workers.

Besides wall time, every part reports CPU seconds (this process + its finished workers, from
``getrusage``): on a shared, loaded machine wall time mostly measures the neighbours, CPU time much
less so.

Each figure is the median of ``--repeat`` runs. The same script runs on an older checkout (it only
passes ``pool=`` where ``cinb.parallel`` has it), for before/after comparisons.
"""

from __future__ import annotations

import argparse
import inspect
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cinb  # noqa: E402
from cinb.collection import map_values  # noqa: E402


def _trivial(row: dict) -> dict:
    return {"y": row["x"] * 2}


def _cpu() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _median_cpu(fn, repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        c, t = _cpu(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(_cpu() - c)
    return statistics.median(walls), statistics.median(cpus)


def part_trivial(rows: int, repeat: int) -> dict:
    items = [{"x": i} for i in range(rows)]
    seconds, cpu = _median_cpu(lambda: map_values(items, _trivial, workers=2, progress=False), repeat)
    return {"trivial_rows": rows, "trivial_2_workers_s": seconds, "trivial_2_workers_cpu_s": cpu,
            "trivial_us_per_row": seconds / rows * 1e6}


def part_apply(photos: int, repeat: int) -> dict:
    from benchmarks.photos import ensure_photos

    df = cinb.scan(ensure_photos(photos, min_megapixels=12), progress=False)
    out_dir = Path(tempfile.mkdtemp(prefix="cinb-bench-pool-apply-"))

    def run() -> None:
        shutil.rmtree(out_dir, ignore_errors=True)
        res = cinb.apply(df, "imageMogr2/thumbnail/400x400/quality/85", out_dir, workers=2, progress=False)
        assert (res["status"] == "done").all(), res["error"].dropna().head()

    try:
        seconds, cpu = _median_cpu(run, repeat)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return {"apply_photos": photos, "apply_2_workers_s": seconds, "apply_2_workers_cpu_s": cpu}


def part_analyze(copies: int, repeat: int) -> dict:
    sample = sorted(p for p in (ROOT / "datasets" / "sample").iterdir()
                    if p.suffix.lower() in (".jpg", ".png", ".webp"))
    tmp = Path(tempfile.mkdtemp(prefix="cinb-bench-pool-"))
    try:
        paths = []
        for k in range(copies):
            for p in sample:
                target = tmp / f"{k}-{p.name}"
                shutil.copyfile(p, target)
                paths.append(str(target))
        df = cinb.scan(paths, progress=False)
        has_pool = "pool" in inspect.signature(cinb.analyze).parameters
        out = {"analyze_images": len(paths)}
        for kind in (("inline", "fork", "spawn") if has_pool else ("fork",)):
            kwargs = {"pool": kind} if has_pool else {}
            workers = 1 if kind == "inline" else 2
            out[f"analyze_{kind}_s"], out[f"analyze_{kind}_cpu_s"] = _median_cpu(
                lambda w=workers, kw=kwargs: cinb.analyze(df, "phash", "brightness", workers=w, progress=False, **kw),
                repeat)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--copies", type=int, default=4, help="copies of the sample images for analyze")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--photos", type=int, default=40, help="12 Mpx photos for apply")
    parser.add_argument("--parts", default="trivial,analyze,apply")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    result: dict = {}
    if "trivial" in parts:
        result.update(part_trivial(args.rows, args.repeat))
    if "analyze" in parts:
        result.update(part_analyze(args.copies, args.repeat))
    if "apply" in parts:
        result.update(part_apply(args.photos, args.repeat))
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
