"""Peak memory of every information and analysis path on images at CI's resolution limit (250 Mpx).

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.bench_memory                 # every path on every input
    .venv/bin/python -m benchmarks.bench_memory --only image_ave --inputs png250

Each path runs in a fresh Python process (so one path's peak cannot hide another's) that imports
cinb, records its resident set size, runs the path once and reports the peak RSS of the process
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which counts Pillow's and libvips' C allocations too;
tracemalloc sees only Python's). The inputs are made once with pyvips (streamed: the generator
never holds the pixels) in ``$TMPDIR/cinb-bench-memory``:

- ``png250``: 15811 x 15811 RGB PNG of one colour (250.0 Mpx, about 0.8 MB on disk);
- ``jpeg250``: the same as a JPEG (shrink-on-load applies: the cheap case);
- ``avif200``: 16000 x 12500 AVIF (200 Mpx). A 200 Mpx HEIC cannot be made here: x265 stops at
  142 Mpx per image (HEVC level 7.2), so real ones are grid images, which neither pillow-heif nor
  libvips can write; AVIF is the same HEIF container read through Pillow's own plugin.

Goal (issue 12): every path <= 2 GB peak on a 250 Mpx input (the machine's per-process budget is
8 GB; ``image_ave`` needed 13.4 GB at 200 Mpx before).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MB = 2048

#: name -> Python statement run with ``cinb`` imported and ``path`` the input file.
PATHS = {
    "image_info": "cinb.image_info(path)",
    "exif": "cinb.exif(path)",
    "image_ave": "cinb.image_ave(path)",
    "process ?imageInfo": "cinb.process(path, 'imageInfo')",
    "process ?imageAve": "cinb.process(path, 'imageAve')",
    "scan": "cinb.scan([path], progress=False)",
    "ImageInput.image(512)": "__import__('cinb.imageinput').imageinput.ImageInput(path).image(512)",
    "analyze image_info,exif,image_ave": "_analyze('image_info', 'exif', 'image_ave')",
    "analyze dims,aspect": "_analyze('dims', 'aspect')",
    "analyze phash,dhash": "_analyze('phash', 'dhash')",
    "analyze pixel_hash": "_analyze('pixel_hash')",
    "analyze sharpness,brightness,entropy,colorfulness,grayscale":
        "_analyze('sharpness', 'brightness', 'entropy', 'colorfulness', 'grayscale')",
    "process thumbnail/1000x (for scale)": "cinb.process(path, 'imageMogr2/thumbnail/1000x')",
}

CHILD = r"""
import json, resource, sys, time
import cinb
import pandas as pd
path = sys.argv[1]

def _analyze(*names):
    df = cinb.analyze(pd.DataFrame({"path": [path]}), *names, pool="inline", progress=False)
    if df["error"].notna().any():
        raise RuntimeError(df["error"].iloc[0])
    return df

cinb.image_info  # resolve the lazy names before the baseline
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
error = None
try:
    exec(sys.argv[2])
except Exception as exc:  # noqa: BLE001 - reported, not raised: the table shows it
    error = f"{type(exc).__name__}: {exc}"[:160]
print(json.dumps({"seconds": time.perf_counter() - t, "base_kb": before,
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "error": error}))
"""


def make_inputs(folder: Path, names: list[str]) -> dict[str, Path]:
    """The benchmark inputs, made once with pyvips (streamed, a few MB of memory)."""
    import pyvips

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in names:
        side = {"png250": (15811, 15811), "jpeg250": (15811, 15811), "avif200": (16000, 12500)}[name]
        path = folder / (name + {"png250": ".png", "jpeg250": ".jpg", "avif200": ".avif"}[name])
        if not path.exists():
            image = (pyvips.Image.black(*side, bands=3) + [40, 90, 160]).cast("uchar")
            tmp = path.with_suffix(".tmp" + path.suffix)
            if name == "png250":
                image.pngsave(str(tmp), compression=6)
            elif name == "jpeg250":
                image.jpegsave(str(tmp), Q=85)
            else:
                image.heifsave(str(tmp), Q=10, compression="av1", effort=0)
            os.replace(tmp, path)
        out[name] = path
    return out


def run(path: Path, statement: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), statement], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    if proc.returncode != 0:
        return {"seconds": float("nan"), "base_kb": 0, "peak_kb": 0, "error": (proc.stderr.strip().splitlines()
                                                                               or ["killed"])[-1][:160]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", nargs="*", default=["png250", "jpeg250", "avif200"])
    parser.add_argument("--only", nargs="*", help="paths to run (default: all)")
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "cinb-bench-memory"))
    args = parser.parse_args(argv)
    inputs = make_inputs(Path(args.folder), args.inputs)
    print(f"load average {os.getloadavg()[0]:.2f}; goal <= {GOAL_MB} MB peak RSS per path\n")
    print("| input | path | peak RSS MB | above import MB | s | goal |")
    print("|---|---|---:|---:|---:|---|")
    worst = 0
    for name, path in inputs.items():
        for label, statement in PATHS.items():
            if args.only and label.split()[0] not in args.only and label not in args.only:
                continue
            r = run(path, statement)
            peak, above = r["peak_kb"] / 1024, (r["peak_kb"] - r["base_kb"]) / 1024
            ok = "error: " + r["error"] if r["error"] else ("ok" if peak <= GOAL_MB else "OVER")
            worst = max(worst, peak)
            print(f"| {name} | {label} | {peak:.0f} | {above:.0f} | {r['seconds']:.1f} | {ok} |", flush=True)
    print(f"\nworst peak {worst:.0f} MB ({time.strftime('%Y-%m-%d %H:%M')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
