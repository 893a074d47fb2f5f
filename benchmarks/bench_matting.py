"""Matting and ImageRepair (AI IV): quality against true alpha, latency and 2-worker throughput.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.bench_matting                  # every part
    .venv/bin/python -m benchmarks.bench_matting --part quality   # or speed, repair

- ``quality``: 32 real photographic cut-outs with their true alpha (the photo stamps of Debian's
  ``tuxpaint-stamps-default``, GPL-2: animals, fruit, flowers, hats, vehicles; cut out by hand by
  their authors, soft edges included) composited over crops of the real photos of
  ``benchmarks/natural.py`` at the cut-out's own resolution (it covers 40-70 % of the long side).
  IoU of the subject (alpha >= 0.5) and SAD (sum of absolute alpha errors / 1000, the matting
  literature's unit) and MAE in the edge band (pixels within 6 px of the true edge), for:
  ``raw320`` the model's output at its own 320 x 320 (against the truth reduced to 320 x 320),
  ``rembg`` that output enlarged with Lanczos to the photo (what rembg does), and ``cinb`` the
  endpoint's guided-filter refinement at full resolution.
- ``speed``: per-image latency of ``ci_process(..., "AIPicMatting")`` against calling onnxruntime
  directly (rembg's preparation and Lanczos enlargement, no refinement, Pillow's PNG), the two
  interleaved image by image; then ``cinb.apply(folder, "AIPicMatting", out, workers=2)`` against
  two processes that call onnxruntime directly, in images/s. The load average is recorded: seven
  other sessions share the machine's two cores, so wall-clock figures vary run to run.
- ``repair``: on 24 natural photos (1024 px), a 64 x 64 square and a 40 x 120 bar at fixed
  places are "removed" and filled; the fill is compared with the true pixels there (PSNR and mean
  absolute error in the hole, and the texture ratio: Laplacian energy inside the hole, fill / truth,
  near 1 when grain is kept, near 0 when smeared) for ``ImageRepair`` (PatchMatch on a window), PatchMatch on the
  whole picture (``patchmatch_cython.inpaint_pyramid`` called directly) and OpenCV's Telea, with
  their times. The truth is what the photo had, so a fill that invents other plausible texture
  scores lower than it looks: the figures rank methods, they do not grade realism.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cinb  # noqa: E402
from benchmarks.natural import _deb_field, _download, _find_deb, ensure_natural  # noqa: E402

PACKAGE = "tuxpaint-stamps-default"
STAMPS = "usr/share/tuxpaint/stamps"
#: Photographic stamps (no drawings, nothing see-through), 300 px or more on the long side.
CUTOUTS = (
    "animals/birds/albino_peahen.png", "animals/birds/crowned_crane.png", "animals/birds/helmeted_guineafowl.png",
    "animals/birds/peacock.png", "animals/fish/lobster.png",
    "animals/mammals/bovines/gnu-baby.png", "animals/insects/Brown_slug.png", "animals/insects/Woodlouse.png",
    "animals/mammals/bears/european-bear.png",
    "animals/mammals/bovines/gnu-stand.png", "animals/mammals/bovines/indian_blackbuck.png",
    "animals/mammals/cats/tiger_sumatran.png", "animals/mammals/hedgehog.png", "animals/mammals/rhino_black.png",
    "animals/mammals/rodents/capybara.png", "animals/mammals/aquatic/otter.png", "animals/mammals/pig_golden2.png",
    "clothes/hats/feathered_hat.png", "clothes/hats/sombrero.png", "clothes/hats/tophat.png",
    "food/fruit/Apricot_whole.png", "food/fruit/Cherry_Stella.png", "food/fruit/Strawberry2.png",
    "food/fruit/orange_seville.png", "food/pizza.png", "food/spices/ginger.png", "household/Lightbulb.png",
    "plants/flowers/anemone_red.png", "plants/flowers/daffodil.png", "vehicles/emergency/firetruck.png",
    "vehicles/flight/balloon360.png", "vehicles/wheel_tractor.png",
)
CACHE = ROOT / "benchmarks" / ".cache" / "matting"


def _load() -> dict:
    return dict(zip(("load1", "load5", "load15"), (round(v, 2) for v in os.getloadavg()), strict=True))


def ensure_cutouts(cache_dir: Path = CACHE) -> tuple[list[Path], str]:
    """The cut-outs of :data:`CUTOUTS` (downloaded and extracted once) and the package's version."""
    debs, src = cache_dir / "debs", cache_dir / "src"
    debs.mkdir(parents=True, exist_ok=True)
    deb = _find_deb(debs, PACKAGE) or _download(debs, PACKAGE)
    wanted = [f"{STAMPS}/{c}" for c in CUTOUTS] + [f"usr/share/doc/{PACKAGE}/copyright"]
    if not all((src / w).exists() for w in wanted):
        src.mkdir(parents=True, exist_ok=True)
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        res = subprocess.run(["tar", "-x", "-C", str(src), *(f"./{w}" for w in wanted)], stdin=tar.stdout,
                             capture_output=True, text=True)
        tar.stdout.close()
        tar.wait()
        if res.returncode or tar.returncode:
            raise RuntimeError(f"{deb.name}: cannot extract the cut-outs: {res.stderr.strip()[-500:]}")
    return [src / w for w in wanted[:-1]], _deb_field(deb, "Version")


def evaluation_set(n: int = len(CUTOUTS), seed: int = 7) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, composite RGB uint8, true alpha float32 0-1)``: each cut-out over a real photo crop.

    The cut-out keeps its own pixels; the canvas is 1/0.4-1/0.7 of its long side, a crop of a
    natural photo (the photo enlarged first if the crop would not fit), the cut-out at a random
    place inside it. Deterministic for a given ``seed``.
    """
    cutouts, _ = ensure_cutouts()
    photos = ensure_natural(24)
    rng = np.random.default_rng(seed)
    out = []
    for i, path in enumerate(cutouts[:n]):
        fg = Image.open(path).convert("RGBA")
        f = np.asarray(fg, np.float32) / 255.0
        cover = rng.uniform(0.4, 0.7)
        cw, ch = round(fg.width / cover), round(fg.height / cover)
        cw, ch = max(cw, fg.width + 8), max(ch, fg.height + 8)
        bg = Image.open(photos[(i * 7) % len(photos)]).convert("RGB")
        grow = max(cw / bg.width, ch / bg.height, 1.0)
        if grow > 1.0:
            bg = bg.resize((round(bg.width * grow) + 1, round(bg.height * grow) + 1), Image.Resampling.LANCZOS)
        bx, by = int(rng.integers(0, bg.width - cw + 1)), int(rng.integers(0, bg.height - ch + 1))
        b = np.asarray(bg.crop((bx, by, bx + cw, by + ch)), np.float32) / 255.0
        x, y = int(rng.integers(0, cw - fg.width + 1)), int(rng.integers(0, ch - fg.height + 1))
        alpha = np.zeros((ch, cw), np.float32)
        alpha[y:y + fg.height, x:x + fg.width] = f[..., 3]
        fgc = np.zeros((ch, cw, 3), np.float32)
        fgc[y:y + fg.height, x:x + fg.width] = f[..., :3]
        comp = fgc * alpha[..., None] + b * (1 - alpha[..., None])
        out.append((path.stem, np.round(comp * 255).astype(np.uint8), alpha))
    return out


def scores(pred: np.ndarray, truth: np.ndarray) -> dict:
    """IoU at 0.5, SAD / 1000, MAE over the whole picture and over the 6 px band around the true edge."""
    import cv2

    p, t = pred >= 0.5, truth >= 0.5
    union = np.logical_or(p, t).sum()
    kernel = np.ones((13, 13), np.uint8)
    edge = (cv2.dilate(t.astype(np.uint8), kernel) - cv2.erode(t.astype(np.uint8), kernel)).astype(bool)
    err = np.abs(pred - truth)
    return {"iou": float(np.logical_and(p, t).sum() / union) if union else 1.0, "sad": float(err.sum() / 1000),
            "mae": float(err.mean()), "edge_mae": float(err[edge].mean()) if edge.any() else 0.0}


def part_quality(n: int) -> dict:
    import cv2

    from cinb.ai.matting import predict, refine

    rows = []
    for name, rgb, truth in evaluation_set(n):
        prob = predict(rgb)
        h, w = truth.shape
        small_truth = cv2.resize(truth, (320, 320), interpolation=cv2.INTER_AREA)
        lanczos = np.asarray(Image.fromarray((prob * 255).astype(np.uint8)).resize((w, h), Image.Resampling.LANCZOS),
                             np.float32) / 255.0
        rows.append({"name": name, "size": [w, h], "raw320": scores(prob, small_truth),
                     "rembg": scores(lanczos, truth), "cinb": scores(refine(rgb, prob), truth)})
    summary = {}
    for method in ("raw320", "rembg", "cinb"):
        summary[method] = {k: round(float(np.mean([r[method][k] for r in rows])), 4)
                           for k in ("iou", "sad", "mae", "edge_mae")}
        summary[method]["iou_median"] = round(float(np.median([r[method]["iou"] for r in rows])), 4)
    better = sum(r["cinb"]["sad"] < r["rembg"]["sad"] for r in rows)
    summary["cinb_sad_lower_than_rembg"] = f"{better}/{len(rows)}"
    summary["worst_iou"] = sorted((round(r["cinb"]["iou"], 3), r["name"]) for r in rows)[:4]
    return {"images": len(rows), "summary": summary, "rows": rows}


# --- speed -------------------------------------------------------------------------------------------------


_DIRECT = None


def _direct_matte(path: str) -> tuple[int, int]:
    """What a caller of onnxruntime would write: rembg's preparation, the session, Lanczos enlargement."""
    global _DIRECT
    if _DIRECT is None:
        from cinb.ai import models
        from cinb.ai.matting import _model_path

        ort = models.onnxruntime()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, (os.cpu_count() or 1) // int(os.environ.get("BENCH_WORKERS", "1")))
        _DIRECT = ort.InferenceSession(str(_model_path()), sess_options=opts, providers=["CPUExecutionProvider"])
    img = Image.open(path).convert("RGB")
    small = np.asarray(img.resize((320, 320), Image.Resampling.LANCZOS), np.float32)
    small = small / max(float(small.max()), 1e-6)
    x = ((small - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]).transpose(2, 0, 1)[None].astype(np.float32)
    pred = _DIRECT.run(None, {_DIRECT.get_inputs()[0].name: x})[0][0, 0]
    mask = Image.fromarray((np.clip(pred, 0, 1) * 255).astype(np.uint8)).resize(img.size, Image.Resampling.LANCZOS)
    img.putalpha(mask)
    img.save(io.BytesIO(), "PNG")  # the caller needs the PNG too: cinb's answer is encoded
    return img.size


def part_speed(n: int, repeat: int) -> dict:
    photos = [str(p) for p in ensure_natural(n)]
    cinb.ci_process(photos[0], "AIPicMatting")  # load the model once
    _direct_matte(photos[0])
    cinb_s, direct_s = [], []
    for p in photos:  # interleaved: the machine's load hits both alike
        t = time.perf_counter()
        cinb.ci_process(p, "AIPicMatting")
        cinb_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        _direct_matte(p)
        direct_s.append(time.perf_counter() - t)
    latency = {"cinb_ms_median": round(1000 * float(np.median(cinb_s)), 1),
               "direct_ms_median": round(1000 * float(np.median(direct_s)), 1),
               "ratio_median": round(float(np.median(np.array(cinb_s) / np.array(direct_s))), 3)}
    best_cinb, best_direct = 0.0, 0.0
    with tempfile.TemporaryDirectory() as out:
        for _ in range(repeat):
            t = time.perf_counter()
            res = cinb.apply(photos, "AIPicMatting", out, workers=2, progress=False, overwrite=True)
            best_cinb = max(best_cinb, len(photos) / (time.perf_counter() - t))
            assert (res["status"] == "done").all(), res["error"].dropna().tolist()
            os.environ["BENCH_WORKERS"] = "2"
            t = time.perf_counter()
            with ProcessPoolExecutor(2) as pool:
                list(pool.map(_direct_matte, photos))
            best_direct = max(best_direct, len(photos) / (time.perf_counter() - t))
    return {"images": len(photos), "px": "1024 long side", "latency": latency,
            "two_workers_images_per_s": {"cinb_apply": round(best_cinb, 2), "direct_onnxruntime": round(best_direct, 2),
                                         "ratio": round(best_cinb / best_direct, 3)}}


# --- repair ------------------------------------------------------------------------------------------------


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def part_repair(n: int) -> dict:
    import cv2
    import patchmatch_cython

    from cinb.ai.repair import fill

    def whole(rgb, m):
        return patchmatch_cython.inpaint_pyramid(rgb, m.astype(np.uint8) * 255, patch_size=5, seed=0)

    methods = {"cinb_ImageRepair": lambda rgb, m: fill(rgb, m)[0], "patchmatch_whole_picture": whole,
               "cv2_telea": lambda rgb, m: cv2.inpaint(rgb, m.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)}
    rows = {k: {"psnr": [], "mae": [], "texture": [], "s": []} for k in methods}

    def detail(a, m):  # high-frequency energy in the hole: texture kept (about 1) or smeared (near 0)
        grey = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F))[m].mean())

    for path in ensure_natural(n):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        h, w = rgb.shape[:2]
        for hole in ((slice(h // 3, h // 3 + 64), slice(w // 3, w // 3 + 64)),
                     (slice(h // 2, h // 2 + 40), slice(w // 2, w // 2 + 120))):
            mask = np.zeros((h, w), bool)
            mask[hole] = True
            damaged = rgb.copy()
            damaged[mask] = 255  # the object to remove: whatever it was, its pixels must not leak in
            for name, fn in methods.items():
                t = time.perf_counter()
                out = fn(damaged, mask)
                rows[name]["s"].append(time.perf_counter() - t)
                assert (out[~mask] == damaged[~mask]).all() or name != "cinb_ImageRepair"
                rows[name]["psnr"].append(_psnr(out[mask], rgb[mask]))
                rows[name]["mae"].append(float(np.abs(out[mask].astype(int) - rgb[mask].astype(int)).mean()))
                inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
                rows[name]["texture"].append(detail(out, inner) / max(detail(rgb, inner), 1e-6))
    return {"photos": n, "holes": 2 * n, "px": "1024 long side",
            "methods": {k: {"psnr_median": round(float(np.median(v["psnr"])), 2),
                            "mae_median": round(float(np.median(v["mae"])), 2),
                            "texture_ratio_median": round(float(np.median(v["texture"])), 3),
                            "ms_median": round(1000 * float(np.median(v["s"])), 1)} for k, v in rows.items()}}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("quality", "speed", "repair", "all"), default="all")
    ap.add_argument("-n", type=int, default=len(CUTOUTS), help="cut-outs for the quality part")
    ap.add_argument("--photos", type=int, default=12, help="photos for the speed part")
    ap.add_argument("--repair-photos", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    results: dict = {"load_before": _load()}
    if args.part in ("quality", "all"):
        q = part_quality(args.n)
        results["quality"] = {k: v for k, v in q.items() if k != "rows"}
    if args.part in ("repair", "all"):
        results["repair"] = part_repair(args.repair_photos)
    if args.part in ("speed", "all"):
        results["speed"] = part_speed(args.photos, args.repeat)
    results["load_after"] = _load()
    text = json.dumps(results, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text)


if __name__ == "__main__":
    main()
