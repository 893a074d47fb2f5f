"""``cinb.apply`` with a thumbnail rule over 12 Mpx photos: scaling, pyvips, Dask, memory.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.bench_apply                 # 200 photos, all parts
    .venv/bin/python -m benchmarks.bench_apply --n 50 --parts workers,pyvips

Parts (``--parts``, comma separated; default all):

- ``workers``: ``apply`` with 1 and with 2 worker processes (goal: 2 workers >= 1.7x faster).
- ``pyvips``: the same thumbnails made by ``pyvips.Image.thumbnail`` + ``write_to_file`` in the same
  process pool (``cinb.collection.map_values``, 2 workers, one libvips thread each); goal: cinb's
  time <= 1.1x pyvips's.
- ``dask``: ``apply`` on a Dask DataFrame run by a ``dask.distributed.LocalCluster`` (2 worker
  processes, 1 thread each); goal: <= 15 % slower than the local 2-worker pool. Cluster start-up is
  reported apart and not counted.
- ``memory``: peak resident memory (parent + workers, summed maxima) of ``apply`` over 100 and over
  1000 rows, each run in a fresh interpreter; rows cycle through the photos. Goal: flat within 10 %.

Photos: ``benchmarks.photos.ensure_photos(n, min_megapixels=12)`` (real-photo mosaics at camera
sizes, baseline JPEG q85-95, see that module). Rule: ``imageMogr2/thumbnail/400x400/quality/85``
(fit in 400x400, JPEG q85), the same for pyvips.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VIPS_CONCURRENCY", "1")  # one libvips thread per worker process: a fair pool

import cinb  # noqa: E402
from benchmarks.photos import ensure_photos  # noqa: E402
from cinb.collection import map_values  # noqa: E402

RULE = "imageMogr2/thumbnail/400x400/quality/85"


def _vips_row(row: dict, *, out_dir: str) -> dict:
    import pyvips

    image = pyvips.Image.thumbnail(row["path"], 400, height=400)
    target = os.path.join(out_dir, Path(row["path"]).stem + ".jpg")
    image.write_to_file(target + "[Q=85]")
    return {"bytes": os.path.getsize(target)}


def timed_apply(df, out_dir: Path, workers: int | None) -> float:
    shutil.rmtree(out_dir, ignore_errors=True)
    t = time.perf_counter()
    res = cinb.apply(df, RULE, out_dir, workers=workers, progress=False)
    seconds = time.perf_counter() - t
    assert (res["status"] == "done").all(), res["error"].dropna().head()
    return seconds


def part_workers(df, tmp: Path) -> dict:
    one = timed_apply(df, tmp / "w1", 1)
    two = timed_apply(df, tmp / "w2", 2)
    return {"apply_1_worker_s": one, "apply_2_workers_s": two, "speedup": one / two}


def part_pyvips(df, tmp: Path) -> dict:
    out = tmp / "vips"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rows = [{"path": p} for p in df["path"]]
    t = time.perf_counter()
    res = map_values(rows, _vips_row, fn_kwargs={"out_dir": str(out)}, workers=2, chunksize=1, progress=False)
    vips = time.perf_counter() - t
    assert all(r["error"] is None for r in res), [r["error"] for r in res if r["error"]][:3]
    cinb_s = timed_apply(df, tmp / "w2b", 2)
    return {"pyvips_2_workers_s": vips, "cinb_2_workers_s": cinb_s, "cinb_over_pyvips": cinb_s / vips}


def part_dask(df, tmp: Path) -> dict:
    from distributed import Client, LocalCluster

    from cinb.collection import compute, to_dask

    t = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    client.run(lambda: __import__("cinb"))  # imports happen once per worker, like a warm cluster
    startup = time.perf_counter() - t
    try:
        ddf = to_dask(df, npartitions=len(df) // 4)  # 4 photos per task: enough tasks to balance
        out = tmp / "dask"
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        res = compute(cinb.apply(ddf, RULE, out), progress=False)
        dask_s = time.perf_counter() - t
        assert (res["status"] == "done").all(), res["error"].dropna().head()
    finally:
        client.close()
        cluster.close()
    pool = timed_apply(df, tmp / "w2c", 2)
    return {"dask_cluster_startup_s": startup, "dask_s": dask_s, "pool_2_workers_s": pool,
            "dask_overhead": dask_s / pool - 1}


def memory_child(n_rows: int, photos: list[str], out_dir: str) -> None:
    """Run in a fresh interpreter: apply over ``n_rows`` rows, print peak RSS (KiB) as JSON."""
    import pandas as pd

    paths = [photos[i % len(photos)] for i in range(n_rows)]
    df = pd.DataFrame({"path": paths})
    res = cinb.apply(df, RULE, out_dir, name="{index}.{ext}", workers=2, progress=False)
    assert (res["status"] == "done").all(), res["error"].dropna().head()
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"parent_kib": parent, "largest_worker_kib": children}))


def part_memory(photos: list[str], tmp: Path) -> dict:
    out = {}
    for n_rows in (100, 1000):
        target = tmp / f"mem{n_rows}"
        shutil.rmtree(target, ignore_errors=True)
        cmd = [sys.executable, "-m", "benchmarks.bench_apply", "--memory-child", str(n_rows), "--out", str(target),
               "--n", str(len(photos))]
        t = time.perf_counter()
        line = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        got = json.loads(line)
        # peak of the whole job: the parent plus two workers at their largest
        out[n_rows] = {"seconds": time.perf_counter() - t, "parent_MiB": got["parent_kib"] / 1024,
                       "worker_MiB": got["largest_worker_kib"] / 1024,
                       "total_MiB": (got["parent_kib"] + 2 * got["largest_worker_kib"]) / 1024}
    out["growth"] = out[1000]["total_MiB"] / out[100]["total_MiB"] - 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of 12 Mpx photos (default 200)")
    parser.add_argument("--parts", default="workers,pyvips,dask,memory")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    photos = [str(p) for p in ensure_photos(args.n, min_megapixels=12)]
    if args.memory_child:
        memory_child(args.memory_child, photos, args.out)
        return 0
    df = cinb.scan(photos, progress=False)
    for p in photos:  # warm the page cache: every method reads the same bytes from memory
        with open(p, "rb") as fh:
            fh.read()
    mpx = (df["width"] * df["height"]).min() / 1e6
    print(f"{len(df)} photos, >= {mpx:.1f} Mpx, {df['bytes'].sum() / 1e9:.2f} GB; rule {RULE}")
    tmp = Path(tempfile.mkdtemp(prefix="cinb-bench-apply-"))
    try:
        for part in args.parts.split(","):
            t = time.perf_counter()
            if part == "workers":
                result = part_workers(df, tmp)
            elif part == "pyvips":
                result = part_pyvips(df, tmp)
            elif part == "dask":
                result = part_dask(df, tmp)
            elif part == "memory":
                result = part_memory(photos, tmp)
            else:
                raise SystemExit(f"unknown part {part!r}")
            print(f"[{part}] ({time.perf_counter() - t:.0f} s) {json.dumps(_rounded(result))}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _rounded(value):
    if isinstance(value, dict):
        return {str(k): _rounded(v) for k, v in value.items()}
    return round(value, 3) if isinstance(value, float) else value


if __name__ == "__main__":
    raise SystemExit(main())
