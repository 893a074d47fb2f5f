"""AssessQuality (issue 11): do the scores fall with distortion on photos calibration never saw, and how fast.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.bench_quality                 # monotonic (both sets) and speed
    .venv/bin/python -m benchmarks.bench_quality --part speed
    .venv/bin/python -m benchmarks.bench_quality --part monotonic --sets heldout
    .venv/bin/python -m benchmarks.bench_quality --part calibrate   # the edge-width constants
    .venv/bin/python -m benchmarks.bench_quality --part sizes       # the same photo at nearby sizes

- ``monotonic``, per photo set (``--sets``): ``heldout`` (:mod:`benchmarks.heldout_photos`, 32 real
  photos from tuxpaint-data and opencv-doc that no calibration or design step ever looked at: the
  goals are judged here), ``natural-odd`` (the odd-numbered photos of :mod:`benchmarks.natural`:
  never fitted on, but their failures were looked at while the measures were designed) and
  ``calibration`` (the even-numbered ones, what :data:`cinb.ai.quality.CALIBRATION` was fitted on,
  with four photos of ``datasets/sources``). Each photo (long side <= 1024 px) is distorted at five
  levels of Gaussian blur (sigma 0.5, 1, 2, 3, 5 px), JPEG compression (quality 75, 50, 30, 15, 5)
  and additive Gaussian noise (sigma 5, 10, 20, 30, 45 levels). Per photo and distortion: the
  Spearman correlation of each score with the level. Goal: ClarityScore and AestheticScore <= -0.9
  and LowQualityScore >= +0.9 (it rises: higher is worse) for >= 90 % of the photo/distortion
  pairs; ClarityScore > 50 for >= 90 % of the originals and < 50 for >= 90 % of their sigma-3 copies.
- ``calibrate``: the edge widths (:func:`cinb.ai.quality.edge_width`) of the calibration photos and
  of their sigma-3 copies, and the ``width_mid`` / ``width_width`` they give (geometric mean of the
  widest original and the narrowest sigma-3 copy; a twelfth of the log gap between the medians).
- ``sizes``: the same photo at nearby sizes (the first ``--photos`` natural photos whose 4000 px
  build is at least 2050 px long, resized with Lanczos to every long side of 1000-1100 step 2, 1023
  and 2040-2050, JPEG q95 4:4:4, or ``--quality`` with Pillow's default 4:2:0, e.g. 50 or 20 where
  blocking shows): per photo, ClarityScore's band (min, max) over the sweep, and the
  CPU milliseconds of one ``AssessQuality`` at long sides 800, 1023, 1024, 1600, 2047, 3000 and 4000
  (JPEG q92 4:2:0; sides over the photo's own are skipped).
- ``speed``: ``cinb.analyze(folder, "assess_quality")`` over the 37 natural photos (1024 px JPEGs),
  images/s with 1 and 2 workers (best of ``--repeat``), and the CPU time per image of one process
  (``cpu_ms_per_image_1024px``: 2 idle cores run 2 x 1000 / that many images/s). The load average
  is recorded before and after (wall-clock figures are only comparable on an idle machine).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cinb  # noqa: E402
from benchmarks.heldout_photos import ensure_heldout  # noqa: E402
from benchmarks.natural import ensure_natural  # noqa: E402

LEVELS = {"blur": (0.5, 1, 2, 3, 5), "jpeg": (75, 50, 30, 15, 5), "noise": (5, 10, 20, 30, 45)}
SCORES = ("ClarityScore", "AestheticScore", "LowQualityScore")


def _load() -> dict:
    return dict(zip(("load1", "load5", "load15"), (round(v, 2) for v in os.getloadavg()), strict=True))


def distort(img: Image.Image, kind: str, level: float, seed: int = 0) -> bytes:
    """One distorted copy, encoded (PNG for blur and noise, so no compression adds to them; zlib level 1:
    the same pixels, 5x faster to write)."""
    buf = io.BytesIO()
    if kind == "blur":
        img.filter(ImageFilter.GaussianBlur(level)).save(buf, "PNG", compress_level=1)
    elif kind == "jpeg":
        img.save(buf, "JPEG", quality=int(level))
    else:
        noise = np.random.default_rng(seed).normal(0, level, (img.height, img.width, 3))
        a = np.asarray(img).astype(np.float32) + noise
        Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def spearman(levels, values) -> float:
    """Spearman's rho with average ranks for ties (nan when the values are all equal)."""
    def ranks(v):
        v = np.asarray(v, dtype=float)
        order = v.argsort(kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=float)
        for x in np.unique(v):
            r[v == x] = r[v == x].mean()
        return r
    a, b = ranks(levels), ranks(values)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


#: The photo sets: ``heldout`` (never used by the project before this benchmark: the goals are
#: judged here), ``natural-odd`` (held out from calibration, but looked at while the measures were
#: designed) and ``calibration`` (what the constants were fitted on).
SETS = {"heldout": lambda: ensure_heldout(),
        "natural-odd": lambda: ensure_natural(37)[1::2],
        "calibration": lambda: ensure_natural(37)[0::2]}


def bench_monotonic(args, photos: list[Path]) -> dict:
    pairs = []
    originals, blurred3 = [], []
    for path in photos:
        img = Image.open(path).convert("RGB")
        originals.append(cinb.ci_process(path, "AssessQuality").json["ClarityScore"])
        for kind, levels in LEVELS.items():
            answers = [cinb.ci_process(distort(img, kind, lv), "AssessQuality").json for lv in levels]
            if kind == "blur":
                blurred3.append(answers[levels.index(3)]["ClarityScore"])
            row = {"photo": path.name, "kind": kind}
            for s in SCORES:
                row[s] = [a[s] for a in answers]
                row[s + "_rho"] = round(spearman(range(len(levels)), row[s]), 3)
            pairs.append(row)

    def rate(score, sign):
        ok = [(sign * p[score + "_rho"]) >= 0.9 - 1e-9 for p in pairs]
        return round(sum(ok) / len(ok), 3)

    out = {
        "photos": len(photos), "pairs": len(pairs),
        "pass_rate": {"ClarityScore": rate("ClarityScore", -1), "AestheticScore": rate("AestheticScore", -1),
                      "LowQualityScore (rising)": rate("LowQualityScore", 1)},
        "clarity_originals_over_50": round(float(np.mean(np.array(originals) > 50)), 3),
        "clarity_sigma3_under_50": round(float(np.mean(np.array(blurred3) < 50)), 3),
        "originals_not_over_50": {p.name: c for p, c in zip(photos, originals, strict=True) if c <= 50},
        "sigma3_not_under_50": {p.name: c for p, c in zip(photos, blurred3, strict=True) if c >= 50},
        "failing_pairs": [p for p in pairs if p["ClarityScore_rho"] > -0.9 + 1e-9
                          or p["AestheticScore_rho"] > -0.9 + 1e-9 or p["LowQualityScore_rho"] < 0.9 - 1e-9],
    }
    if args.verbose:
        out["pairs_detail"] = pairs
    return out


def calibration_photos() -> list[Path]:
    sources = ROOT / "datasets" / "sources"
    return SETS["calibration"]() + [sources / n for n in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg")]


def bench_calibrate(args) -> dict:
    """Edge widths of the calibration photos and their sigma-3 copies, and the constants they give."""
    from cinb.ai.quality import measure
    from cinb.imageinput import ImageInput

    sharp, soft = [], []
    for path in calibration_photos():
        img = Image.open(path).convert("RGB")
        sharp.append(measure(ImageInput(path), with_brisque=False)["edge_width"])
        soft.append(measure(ImageInput(distort(img, "blur", 3)), with_brisque=False)["edge_width"])
    gap = float(np.log(np.median(soft)) - np.log(np.median(sharp)))
    return {"photos": len(sharp), "original_widths": [round(v, 2) for v in sorted(sharp)],
            "sigma3_widths": [round(v, 2) for v in sorted(soft)],
            "width_mid": round(float(np.sqrt(max(sharp) * min(soft))), 2), "width_width": round(gap / 12, 4)}


def _rate(folder: Path, workers: int, repeat: int) -> float:
    best = 0.0
    n = len(list(folder.iterdir()))
    for _ in range(repeat):
        cinb.clear_caches()
        t = time.perf_counter()
        df = cinb.analyze(folder, "assess_quality", workers=workers, progress=False)
        took = time.perf_counter() - t
        assert df["error"].isna().all() if "error" in df else True, df["error"].dropna().head()
        best = max(best, n / took)
    return round(best, 1)


def _cpu_ms(paths: list[Path]) -> float:
    """CPU milliseconds per image of ``ci_process`` in this process (model loaded): what a busy
    machine cannot inflate, unlike wall-clock images/s."""
    cinb.ci_process(paths[0], "AssessQuality")
    t = time.process_time()
    for p in paths:
        cinb.ci_process(p, "AssessQuality")
    return round((time.process_time() - t) / len(paths) * 1000, 1)


def bench_speed(args) -> dict:
    out = {"cpu_ms_per_image_1024px": _cpu_ms(ensure_natural(37))}
    with tempfile.TemporaryDirectory() as tmp:
        natural = Path(tmp) / "natural"
        natural.mkdir()
        for p in ensure_natural(37):
            (natural / p.name).symlink_to(p)
        out["natural_1024px"] = {"images": 37, **{f"workers_{w}": _rate(natural, w, args.repeat) for w in (1, 2)}}
    return out


SWEEP = (*range(1000, 1101, 2), 1023, *range(2040, 2051))
CPU_SIDES = (800, 1023, 1024, 1600, 2047, 3000, 4000)


def _at(img: Image.Image, side: int, **save) -> bytes:
    scale = side / max(img.size)
    out = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    out.save(buf, "JPEG", **(save or {"quality": 95, "subsampling": 0}))
    return buf.getvalue()


def bench_sizes(args) -> dict:
    """ClarityScore over a sweep of long sides per photo, and CPU ms per AssessQuality by long side."""
    photos = [Image.open(p).convert("RGB") for p in ensure_natural(37, max_side=4000)]
    photos = [(f"natural-{i:02d}", img) for i, img in enumerate(photos) if max(img.size) >= 2050][:args.photos]
    bands, cpu, counts = {}, dict.fromkeys(CPU_SIDES, 0.0), dict.fromkeys(CPU_SIDES, 0)
    for name, img in photos:
        save = {} if args.quality == 95 else {"quality": args.quality}
        clarity = {side: cinb.ci_process(_at(img, side, **save), "AssessQuality").json["ClarityScore"]
                   for side in SWEEP}
        bands[name] = {"min": min(clarity.values()), "max": max(clarity.values()),
                       "at 1022/1024/1026/2046/2048": [clarity[s] for s in (1022, 1024, 1026, 2046, 2048)]}
        for side in CPU_SIDES:
            if side > max(img.size):
                continue
            data = _at(img, side, quality=92)  # 4:2:0: a 4000 px q95 4:4:4 file is over CI's 4 MB of Base64
            t = time.process_time()
            cinb.ci_process(data, "AssessQuality")
            cpu[side] += time.process_time() - t
            counts[side] += 1
    widest = max(b["max"] - b["min"] for b in bands.values())
    return {"photos": len(photos), "widest_band": widest, "bands": bands,
            "cpu_ms_by_long_side": {side: round(v / counts[side] * 1000, 1) for side, v in cpu.items() if counts[side]}}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("monotonic", "speed", "calibrate", "sizes", "all"), default="all")
    ap.add_argument("--photos", type=int, default=10, help="--part sizes: how many photos")
    ap.add_argument("--quality", type=int, default=95, help="--part sizes: the sweep's JPEG quality (95: 4:4:4)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--sets", default="heldout,natural-odd", help="comma-separated: " + ", ".join(SETS))
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    result = {"load_before": _load()}
    if args.part in ("monotonic", "all"):
        for name in args.sets.split(","):
            result[f"monotonic[{name}]"] = bench_monotonic(args, SETS[name]())
    if args.part == "calibrate":
        result["calibrate"] = bench_calibrate(args)
    if args.part == "sizes":
        result["sizes"] = bench_sizes(args)
    if args.part in ("speed", "all"):
        result["speed"] = bench_speed(args)
    result["load_after"] = _load()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
