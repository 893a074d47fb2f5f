"""AI endpoints (issue 10): cinb's ``ci_process`` layer beside the library it runs, called directly.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.bench_ai                       # every endpoint
    .venv/bin/python -m benchmarks.bench_ai --endpoints qrcode --repeat 5

One function per endpoint, ``bench_<analysis>(args) -> dict``, listed in :data:`BENCHES`; each
prints its figures as JSON. The machine's load average is recorded before and after (the figures
are only comparable on an idle machine).

QRcode (``bench_qrcode``), against ``zxingcpp.read_barcodes`` on the same decoded pixels:

- ``latency``: median ms per image over a folder of photos each carrying one clean code (what the
  endpoint is for: zxing reads them at once, so cinb's retries never run) and over the code-free
  sample photos (where cinb's retries do run: their price, reported separately);
- ``throughput``: images/s over the code folder with 1 and 2 workers: ``cinb.analyze(folder,
  "qrcode")`` vs a ``multiprocessing`` fork pool running the direct call (best of ``--repeat``);
- ``hard``: decode rate on a hard set built here (codes pasted on photos, then rotated, warped,
  shrunk to 1.3-1.8 px per module, noisy, blurred, low contrast, negative, JPEG q8-14), and a
  rotation sweep (every 15 degrees) of QR, Code 128 and EAN-13.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cinb  # noqa: E402

SAMPLE = ROOT / "datasets" / "sample"
PHOTOS = [SAMPLE / f"{n}.jpg" for n in ("astronaut", "chelsea", "coffee", "grace-hopper", "rocket")]


def _load() -> dict:
    return dict(zip(("load1", "load5", "load15"), (round(v, 2) for v in os.getloadavg())))


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


# --- QRcode --------------------------------------------------------------------------------------


def _symbol(kind: str, text: str, module: float) -> np.ndarray:
    import cv2  # noqa: PLC0415
    import zxingcpp  # noqa: PLC0415

    fmt = {"qr": zxingcpp.BarcodeFormat.QRCode, "code128": zxingcpp.BarcodeFormat.Code128,
           "ean13": zxingcpp.BarcodeFormat.EAN13}[kind]
    a = np.asarray(zxingcpp.create_barcode(text, fmt).to_image(scale=1, add_quiet_zones=True))
    if kind != "qr":
        a = np.repeat(a[a.shape[0] // 2:a.shape[0] // 2 + 1], max(1, int(a.shape[1] * 0.35)), axis=0)
    big = np.repeat(np.repeat(a, 8, axis=0), 8, axis=1)
    h, w = a.shape
    return cv2.resize(big, (max(1, round(w * module)), max(1, round(h * module))), interpolation=cv2.INTER_AREA)


def _place(photo: np.ndarray, sym: np.ndarray, angle: float, rng: random.Random, warp: float = 0.0) -> np.ndarray:
    """``sym`` turned by ``angle`` (and warped by up to ``warp`` of its size) somewhere on ``photo``."""
    import cv2  # noqa: PLC0415

    s = sym.astype(np.float32)
    h, w = s.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    c, si = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    dst = np.float32([[c * x - si * y, si * x + c * y] for x, y in src - [w / 2, h / 2]])
    dst += np.float32([[rng.uniform(-warp, warp) * w, rng.uniform(-warp, warp) * h] for _ in range(4)])
    span = dst.max(0) - dst.min(0)
    size = max(photo.shape[0], photo.shape[1], int(max(span)) + 20)
    canvas = np.zeros((max(photo.shape[0], size if span[1] + 10 > photo.shape[0] else 0),
                       max(photo.shape[1], size if span[0] + 10 > photo.shape[1] else 0)), np.float32)
    canvas[:photo.shape[0], :photo.shape[1]] = photo
    cx = rng.uniform(span[0] / 2 + 5, canvas.shape[1] - span[0] / 2 - 5)
    cy = rng.uniform(span[1] / 2 + 5, canvas.shape[0] - span[1] / 2 - 5)
    dst = dst - (dst.max(0) + dst.min(0)) / 2 + [cx, cy]
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    shape = (canvas.shape[1], canvas.shape[0])
    warped = cv2.warpPerspective(s, m, shape, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones_like(s), m, shape, flags=cv2.INTER_LINEAR)
    return canvas * (1 - mask) + warped * mask


ATTACKS = ("rotate", "perspective", "small", "noise", "blur", "lowcontrast", "inverted", "jpeg")


def qr_hard_set(per_attack: int = 12, seed: int = 7) -> list[tuple[str, str, str, np.ndarray]]:
    """``(attack, kind, text, grey image)`` rows: one damaged code on a photo each."""
    import cv2  # noqa: PLC0415

    rng = random.Random(seed)
    grays = [np.asarray(Image.open(p).convert("L")).astype(np.float32) for p in PHOTOS]
    rows = []
    for attack in ATTACKS:
        for i in range(per_attack):
            kind = ("qr", "qr", "code128", "ean13")[i % 4]
            text = {"qr": f"https://example.com/{attack}/{i}?k={rng.randrange(10 ** 6)}",
                    "code128": f"CINB-{attack[:3].upper()}-{i:03d}", "ean13": "5901234123457"}[kind]
            module = rng.uniform(1.3, 1.8) if attack == "small" else rng.uniform(2.5, 4.0)
            sym = _symbol(kind, text[:12] if kind == "ean13" else text, module).astype(np.float32)
            if attack == "lowcontrast":
                sym = 110 + sym / 255 * rng.uniform(25, 40)
            if attack == "inverted":
                sym = 255 - sym
            angle = rng.uniform(0, 360) if attack == "rotate" else rng.uniform(-4, 4)
            out = _place(grays[rng.randrange(len(grays))], sym, angle, rng, 0.18 if attack == "perspective" else 0.0)
            if attack == "noise":
                out = out + rng.uniform(25, 45) * np.random.default_rng(rng.randrange(1 << 30)).standard_normal(out.shape)
            if attack == "blur":
                out = cv2.GaussianBlur(out, (0, 0), module * rng.uniform(0.45, 0.6))
            out = np.clip(out, 0, 255).astype(np.uint8)
            if attack == "jpeg":
                buf = io.BytesIO()
                Image.fromarray(out).save(buf, "JPEG", quality=rng.randrange(8, 15))
                out = np.asarray(Image.open(buf))
            rows.append((attack, kind, text, out))
    return rows


def qr_rotation_sweep(step: int = 15, seed: int = 3) -> list[tuple[int, str, str, np.ndarray]]:
    """``(angle, kind, text, grey image)``: clean codes (3 px modules) on photos at every ``step`` degrees."""
    rng = random.Random(seed)
    grays = [np.asarray(Image.open(p).convert("L")).astype(np.float32) for p in PHOTOS]
    rows = []
    for angle in range(0, 360, step):
        for kind, text in (("qr", f"https://example.com/turn/{angle}"), ("code128", f"TURN-{angle:03d}"),
                           ("ean13", "5901234123457")):
            sym = _symbol(kind, text[:12] if kind == "ean13" else text, 3.0)
            out = _place(grays[rng.randrange(len(grays))], sym, angle, rng)
            rows.append((angle, kind, text, np.clip(out, 0, 255).astype(np.uint8)))
    return rows


def qr_code_folder(folder: Path, count: int = 40, seed: int = 11) -> list[Path]:
    """``count`` JPEGs (about 1000 px, photos) with one clean code each, as people photograph them."""
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        photo = Image.open(PHOTOS[i % len(PHOTOS)]).convert("RGB")
        photo = photo.resize((round(photo.width * 1000 / max(photo.size)), round(photo.height * 1000 / max(photo.size))))
        kind = ("qr", "code128", "ean13")[i % 3]
        text = {"qr": f"https://example.com/item/{i}", "code128": f"SKU-{i:05d}", "ean13": "590123412345"}[kind]
        sym = Image.fromarray(_symbol(kind, text, rng.uniform(3, 5))).convert("RGB").rotate(
            rng.uniform(-8, 8), expand=True, fillcolor="white")
        photo.paste(sym, (rng.randrange(0, max(1, photo.width - sym.width)), rng.randrange(0, max(1, photo.height - sym.height))))
        path = folder / f"code-{i:03d}.jpg"
        photo.save(path, quality=90)
        paths.append(path)
    return paths


def _direct_read(path) -> int:
    """The baseline: decode the file, grey it, and call zxing-cpp with its defaults."""
    import zxingcpp  # noqa: PLC0415

    return len(zxingcpp.read_barcodes(np.asarray(Image.open(path).convert("L"))))


def _found(texts, text) -> bool:
    return any(t == text or t.startswith(text) for t in texts)


def bench_qrcode(args) -> dict:
    import zxingcpp  # noqa: PLC0415

    from cinb.ai.qrcode import read_codes  # noqa: PLC0415

    out: dict = {"endpoint": "QRcode", "zxing_cpp": getattr(zxingcpp, "__version__", None) or
                 __import__("importlib.metadata").metadata.version("zxing-cpp")}
    cinb.ci_process(PHOTOS[0], "QRcode")  # load the library once, outside the timings
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = qr_code_folder(folder, args.images)
        # latency, one image at a time: the two calls alternate on each image (fair under changing load)
        def pair(items):
            d, o = [], []
            for p in items:
                d1, o1 = [], []
                for _ in range(args.repeat):
                    d1.append(_median_ms(lambda p=p: _direct_read(p), 1))
                    o1.append(_median_ms(lambda p=p: cinb.ci_process(p, "QRcode"), 1))
                d.append(statistics.median(d1))
                o.append(statistics.median(o1))
            return d, o

        direct, ours = pair(paths)
        found_direct = sum(_direct_read(p) > 0 for p in paths)
        found_ours = sum(cinb.ci_process(p, "QRcode").json["CodeStatus"] for p in paths)
        out["codes_folder"] = {"images": len(paths), "read_direct": found_direct, "read_cinb": found_ours,
                               "direct_ms_median": round(statistics.median(direct), 2),
                               "cinb_ms_median": round(statistics.median(ours), 2),
                               "overhead_pct": round(100 * (sum(ours) / sum(direct) - 1), 1)}
        plain = sorted(p for p in SAMPLE.iterdir() if p.name in
                       {x.name for x in PHOTOS} | {"camera.png", "chelsea.png", "progressive.jpg", "display-p3.jpg"})
        d, o = pair(plain)
        out["code_free_photos"] = {"images": len(plain), "direct_ms_median": round(statistics.median(d), 2),
                                   "cinb_ms_median": round(statistics.median(o), 2),
                                   "retry_cost_pct": round(100 * (sum(o) / sum(d) - 1), 1)}
        # throughput: best of --repeat runs of each, alternating
        for workers in (1, 2):
            ours_s = direct_s = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                df = cinb.analyze(str(folder), "qrcode", workers=workers, progress=False)
                ours_s = min(ours_s, time.perf_counter() - t)
                t = time.perf_counter()
                if workers == 1:
                    counts = [_direct_read(p) for p in paths]
                else:
                    with multiprocessing.get_context("fork").Pool(workers) as pool:
                        counts = pool.map(_direct_read, paths)
                direct_s = min(direct_s, time.perf_counter() - t)
            out[f"throughput_{workers}w"] = {
                "direct_img_s": round(len(paths) / direct_s, 1), "cinb_img_s": round(len(paths) / ours_s, 1),
                "overhead_pct": round(100 * (ours_s / direct_s - 1), 1),
                "read_direct": int(sum(c > 0 for c in counts)), "read_cinb": int((df["qr_count"] > 0).sum())}
    # decode rates
    by_attack: dict = {}
    for attack, kind, text, gray in qr_hard_set(args.per_attack):
        row = by_attack.setdefault(attack, {"n": 0, "direct": 0, "cinb": 0})
        row["n"] += 1
        row["direct"] += _found([b.text for b in zxingcpp.read_barcodes(gray)], text)
        row["cinb"] += _found([c.text for c in read_codes(gray)], text)
    out["hard_set"] = by_attack
    out["hard_set_total"] = {k: sum(r[k] for r in by_attack.values()) for k in ("n", "direct", "cinb")}
    sweep = {"n": 0, "direct": 0, "cinb": 0, "angles_cinb_missed": []}
    for angle, kind, text, gray in qr_rotation_sweep():
        sweep["n"] += 1
        sweep["direct"] += _found([b.text for b in zxingcpp.read_barcodes(gray)], text)
        hit = _found([c.text for c in read_codes(gray)], text)
        sweep["cinb"] += hit
        if not hit:
            sweep["angles_cinb_missed"].append((angle, kind))
    out["rotation_sweep"] = sweep
    return out


#: One benchmark function per endpoint analysis name.
BENCHES = {"qrcode": bench_qrcode}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoints", default=",".join(BENCHES), help="comma-separated: " + ", ".join(BENCHES))
    ap.add_argument("--repeat", type=int, default=3, help="runs per image for latencies (median)")
    ap.add_argument("--images", type=int, default=40, help="images in the generated folder")
    ap.add_argument("--per-attack", type=int, default=12, help="QR hard set: images per kind of damage")
    args = ap.parse_args(argv)
    for name in args.endpoints.split(","):
        before = _load()
        result = BENCHES[name.strip()](args)
        result["load_before"], result["load_after"] = before, _load()
        result["cpus"] = os.cpu_count()
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
