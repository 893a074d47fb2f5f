"""Blind-watermark robustness benchmark: cinb vs blind-watermark vs invisible-watermark.

Each method marks every photo with a payload, the marked photo goes through each attack
(none, JPEG q90/q75/q50, WebP q75, resize 0.5 and 0.75, centre crop 80 %, brightness x0.8/x1.2,
contrast x1.3, Gaussian noise sigma 5, rotation 2 degrees, "screenshot" = resize 0.8 + JPEG q80;
geometric attacks are *not* undone), and is then read back blindly. Reported per method and attack:
bit error rate (BER) and the share of photos whose payload is recovered exactly; plus PSNR,
embed/extract times, cinb's embed time at 1920x1080 and cinb's false positives on unmarked photos.

Payloads: cinb type 3 carries 8 random alphanumeric characters (64 bits + a 16-bit CRC); BER counts
those 64 bits. blind-watermark and invisible-watermark (dwtDctSvd) carry 32 random bits.

Photos: ``benchmarks.photos.ensure_photos_small`` (real-photo mosaics, 500x500 to 1920x1080).

Install the competitors without their declared dependencies (both require ``opencv-python``,
which would clobber the headless OpenCV, and invisible-watermark pulls in torch)::

    .venv/bin/pip install --no-deps -r scripts/pip-nodeps.txt   # blind-watermark, invisible-watermark

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_blind_watermark --n 24 --fp 100
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import sys
import time
import types

import cv2
import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks.photos import ensure_photos_small  # noqa: E402
from cinb import blind  # noqa: E402
from cinb.blind.attacks import ATTACKS  # noqa: E402  (shared with the notebook, tests and WatermarkTuner)

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


# ----------------------------------------------------------------------------- methods

class Cinb:
    name = "cinb (type 3, level {level})"

    def __init__(self, level: int):
        self.level = level
        self.name = self.name.format(level=level)

    def payload(self, rng):
        return "".join(rng.choice(list(ALNUM), 8))

    def embed(self, rgb, text):
        return np.asarray(blind.embed(rgb, text=text, level=self.level))

    def extract(self, rgb, text):
        from cinb.blind import payload as pl
        from cinb.blind.mark import read_coded

        e = blind.extract(rgb)
        if e.text == text:
            return 0.0, True
        # Bit errors of the decoded (CRC-failed) frame, for the BER column.
        reading = read_coded(rgb, pl.n_text_coded(), key="cinb")
        _, info = pl.decode_text(reading.soft, key="cinb")
        sent = np.unpackbits(np.frombuffer(text.encode().ljust(pl.TEXT_BYTES, b"\0"), np.uint8))
        return float(np.mean(info[: sent.size] != sent)), False


class BlindWatermark:
    """blind-watermark 0.4.4 (DWT-DCT-SVD with a block shuffle), 32 bits, default settings."""

    name = "blind-watermark 0.4.4"

    def __init__(self):
        with contextlib.redirect_stdout(io.StringIO()):
            from blind_watermark import WaterMark  # noqa: F401
        self._cls = WaterMark

    def payload(self, rng):
        return rng.integers(0, 2, 32).astype(bool)

    def _new(self):
        with contextlib.redirect_stdout(io.StringIO()):
            return self._cls(password_wm=1, password_img=1)

    def embed(self, rgb, bits):
        bwm = self._new()
        bwm.read_img(img=np.ascontiguousarray(rgb[..., ::-1]))
        bwm.read_wm(bits.copy(), mode="bit")
        with contextlib.redirect_stdout(io.StringIO()):
            out = bwm.embed()
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)[..., ::-1].copy()

    def extract(self, rgb, bits):
        bwm = self._new()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                got = bwm.extract(embed_img=np.ascontiguousarray(rgb[..., ::-1]), wm_shape=bits.size, mode="bit")
            got = np.asarray(got) > 0.5
        except Exception:  # noqa: BLE001 - a failed read counts as random bits
            return 0.5, False
        ber = float(np.mean(got != bits))
        return ber, ber == 0


class InvisibleWatermark:
    """invisible-watermark 0.2.0, method dwtDctSvd, 32 bits."""

    name = "invisible-watermark 0.2.0 (dwtDctSvd)"

    def __init__(self):
        # imwatermark imports torch for its RivaGAN model at package import; dwtDctSvd never uses it.
        sys.modules.setdefault("torch", types.ModuleType("torch"))
        from imwatermark import WatermarkDecoder, WatermarkEncoder

        self._enc, self._dec = WatermarkEncoder, WatermarkDecoder

    def payload(self, rng):
        return rng.integers(0, 2, 32).astype(np.uint8)

    def embed(self, rgb, bits):
        enc = self._enc()
        enc.set_watermark("bits", [int(b) for b in bits])
        out = enc.encode(np.ascontiguousarray(rgb[..., ::-1]), "dwtDctSvd")
        return np.clip(out, 0, 255).astype(np.uint8)[..., ::-1].copy()

    def extract(self, rgb, bits):
        dec = self._dec("bits", bits.size)
        try:
            got = np.asarray(dec.decode(np.ascontiguousarray(rgb[..., ::-1]), "dwtDctSvd"), np.uint8)
        except Exception:  # noqa: BLE001
            return 0.5, False
        ber = float(np.mean(got != bits))
        return ber, ber == 0


def _methods(names: list[str], level: int):
    out = []
    for n in names:
        if n == "cinb":
            out.append(Cinb(level))
        elif n == "blind-watermark":
            out.append(BlindWatermark())
        elif n == "invisible-watermark":
            out.append(InvisibleWatermark())
    return out


# ----------------------------------------------------------------------------- runs

def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _one(job):
    """Mark one photo with one method, attack it every way, read it back."""
    method, index, path = job
    rgb = np.asarray(Image.open(path).convert("RGB"))
    rng = np.random.default_rng(1000 + index)
    payload = method.payload(rng)
    t0 = time.perf_counter()
    marked = method.embed(rgb, payload)
    t_embed = time.perf_counter() - t0
    rows = {}
    t_extract = []
    for name, attack in ATTACKS.items():
        attacked = attack(marked)
        t0 = time.perf_counter()
        ber, exact = method.extract(attacked, payload)
        t_extract.append(time.perf_counter() - t0)
        rows[name] = (ber, exact)
    return method.name, index, rgb.shape[:2], _psnr(rgb, marked), t_embed, float(np.mean(t_extract)), rows


def _unmarked(job):
    path, = job
    rgb = np.asarray(Image.open(path).convert("RGB"))
    e = blind.extract(rgb)
    return e.status


def embed_time_1080p(level: int, repeats: int = 7) -> float:
    """Median seconds for cinb to embed a 1920x1080 photo (one process, pixels already decoded)."""
    path = next(p for p in ensure_photos_small(n=8) if Image.open(p).size == (1920, 1080))
    rgb = np.asarray(Image.open(path).convert("RGB"))
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # the goal is per core
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        blind.embed(rgb, text="cinb2026", level=level)
        times.append(time.perf_counter() - t0)
    cv2.setNumThreads(threads)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24, help="marked photos (default 24)")
    ap.add_argument("--fp", type=int, default=100, help="unmarked photos for false positives (default 100)")
    ap.add_argument("--level", type=int, default=blind.DEFAULT_LEVEL, help="cinb level (default: cinb's default)")
    ap.add_argument("--methods", default="cinb,blind-watermark,invisible-watermark")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", help="also write the numbers to this JSON file (the notebook plots it)")
    args = ap.parse_args(argv)

    paths = ensure_photos_small(n=args.n)
    sizes = sorted({Image.open(p).size for p in paths})
    methods = _methods(args.methods.split(","), args.level)
    jobs = [(m, i, p) for m in methods for i, p in enumerate(paths)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(args.workers) as pool:
        results = pool.map(_one, jobs, chunksize=1)
        fp_statuses = []
        if args.fp and any(isinstance(m, Cinb) for m in methods):
            # A different corpus seed: photos that were never marked.
            fp_paths = ensure_photos_small(n=args.fp, seed=1)
            fp_statuses = pool.map(_unmarked, [(p,) for p in fp_paths], chunksize=1)
    t1080 = embed_time_1080p(args.level) if any(isinstance(m, Cinb) for m in methods) else None

    print(f"## Blind watermark robustness ({args.n} photos, sizes {', '.join(f'{w}x{h}' for w, h in sizes)})\n")
    print("BER / exact-recovery share per attack (geometric attacks not undone):\n")
    names = [m.name for m in methods]
    print("| attack | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for attack in ATTACKS:
        cells = []
        for name in names:
            vals = [r[6][attack] for r in results if r[0] == name]
            ber = np.mean([v[0] for v in vals])
            exact = np.mean([v[1] for v in vals])
            cells.append(f"BER {ber:.3f} / {100 * exact:.0f}%")
        print(f"| {attack} | " + " | ".join(cells) + " |")
    print()
    print("| method | PSNR mean (min) dB | embed ms (mean) | extract ms (mean) |")
    print("|---|---|---|---|")
    for name in names:
        rs = [r for r in results if r[0] == name]
        ps = [r[3] for r in rs]
        print(f"| {name} | {np.mean(ps):.2f} ({np.min(ps):.2f}) | {1000 * np.mean([r[4] for r in rs]):.0f} | "
              f"{1000 * np.mean([r[5] for r in rs]):.0f} |")
    print()
    if fp_statuses:
        fp = sum(s > 75 for s in fp_statuses)
        print(f"cinb false positives on {len(fp_statuses)} unmarked photos: {fp} with WatermarkStatus > 75 "
              f"(max status {max(fp_statuses)}, {sum(s >= 60 for s in fp_statuses)} 'suspected' >= 60)")
    if t1080 is not None:
        print(f"cinb embed time, 1920x1080, one core: {1000 * t1080:.0f} ms (median of 7)")
    if args.json:
        summary = {
            "photos": args.n, "sizes": [f"{w}x{h}" for w, h in sizes], "attacks": list(ATTACKS),
            "methods": {name: {
                "ber": {a: float(np.mean([r[6][a][0] for r in results if r[0] == name])) for a in ATTACKS},
                "exact": {a: float(np.mean([r[6][a][1] for r in results if r[0] == name])) for a in ATTACKS},
                "psnr_mean": float(np.mean([r[3] for r in results if r[0] == name])),
                "psnr_min": float(np.min([r[3] for r in results if r[0] == name])),
                "embed_ms": 1000 * float(np.mean([r[4] for r in results if r[0] == name])),
                "extract_ms": 1000 * float(np.mean([r[5] for r in results if r[0] == name])),
            } for name in names},
            "cinb_false_positives": {"unmarked": len(fp_statuses), "over_75": int(sum(s > 75 for s in fp_statuses)),
                                     "max_status": int(max(fp_statuses)) if fp_statuses else None},
            "cinb_embed_ms_1920x1080_one_core": None if t1080 is None else 1000 * t1080,
        }
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=1)


if __name__ == "__main__":
    main()
