"""AISuperResolution and AIEnhanceImage against what a user would otherwise call, on real photos.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.bench_enhance                 # every part
    .venv/bin/python -m benchmarks.bench_enhance --part superres  # or denoise, sharpen
    .venv/bin/python -m benchmarks.bench_enhance --n 8            # fewer photos

Photos: the first ``--n`` (default 16) real camera photographs of :mod:`benchmarks.natural` (Debian
wallpaper packages, 1024 px long side, JPEG q95 4:4:4), each cut to its central 512 x 384 px (the
network's CPU time keeps the benchmark at a few minutes on two shared cores). Each part degrades the
photo, restores it, and scores the result against the photo with PSNR (dB) and SSIMULACRA2
(``cinb.compression.metrics``; 90+ is visually lossless, 70 high quality, 50 medium), averaged:

- ``superres``: the photo reduced 2x and 4x (Pillow's antialiased bicubic, the super-resolution
  literature's degradation; and OpenCV's area average then JPEG q85, a web picture) and enlarged back
  by ``cv2.resize`` INTER_CUBIC and INTER_LANCZOS4 (the peer), cinb's classical fallback, and the
  endpoint (waifu2x photo network + back-projection). CPU seconds (``time.process_time``, this
  process's threads included) per output megapixel.
- ``denoise``: the photo with added Gaussian noise (sigma 0, 5, 10, 20 in 8-bit units, rounded and
  clipped), restored by ``cv2.fastNlMeansDenoisingColored`` with OpenCV's tutorial values
  (h = hColor = 10, 7, 21: what a user copies) and with cinb's ``AIEnhanceImage`` at denoise 1, 3, 5
  and sharpen 0, and at the defaults (3, 3).
- ``sharpen``: the photo blurred by a Gaussian of sigma 0.7, 1.0, 1.5 px, restored by Pillow's
  ``ImageFilter.UnsharpMask()`` (its defaults: radius 2, 150 %, threshold 3) and cinb's sharpen 1, 3, 5
  (denoise 0); on an unblurred photo too (what sharpening costs a sharp picture).

Seven other sessions share the machine's two cores: CPU times are comparable between methods of one
run, not across runs.
"""

from __future__ import annotations

import argparse
import io
import time

import cv2
import numpy as np
from PIL import Image, ImageFilter

from benchmarks.natural import ensure_natural
from cinb.ai.enhance import enhance_frame
from cinb.ai.superres import available, upscale
from cinb.compression.metrics import psnr, ssimulacra2

CROP = (512, 384)


def photos(n: int) -> list[np.ndarray]:
    out = []
    for path in ensure_natural(n=n):
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        w, h = rgb.size
        x0, y0 = (w - CROP[0]) // 2, (h - CROP[1]) // 2
        out.append(np.asarray(rgb.crop((x0, y0, x0 + CROP[0], y0 + CROP[1]))))
    return out


def _score(ref: np.ndarray, out: np.ndarray, border: int = 8) -> tuple[float, float]:
    """PSNR (capped at 60 dB: an unchanged picture would make the mean infinite) and SSIMULACRA2."""
    a, b = ref[border:-border, border:-border], out[border:-border, border:-border]
    return min(psnr(a, b), 60.0), ssimulacra2(a, b)


def _table(title: str, rows: dict, extra: str = "") -> None:
    print(f"\n{title}\n")
    print(f"| case | method | PSNR dB | SSIMULACRA2 |{extra}")
    print("|---|---|---:|---:|" + ("---:|" if extra else ""))
    for (case, method), vals in rows.items():
        p, s = np.mean([v[0] for v in vals]), np.mean([v[1] for v in vals])
        tail = f" {np.sum([v[2] for v in vals]) / np.sum([v[3] for v in vals]):.2f} |" if extra else ""
        print(f"| {case} | {method} | {p:.2f} | {s:.1f} |{tail}")


def _jpeg(rgb: np.ndarray, q: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def bench_superres(imgs: list[np.ndarray]) -> None:
    rows: dict = {}
    methods = {"cv2 INTER_CUBIC": lambda lr, s: cv2.resize(lr, (lr.shape[1] * s, lr.shape[0] * s),
                                                          interpolation=cv2.INTER_CUBIC),
               "cv2 INTER_LANCZOS4": lambda lr, s: cv2.resize(lr, (lr.shape[1] * s, lr.shape[0] * s),
                                                             interpolation=cv2.INTER_LANCZOS4),
               "cinb classical": lambda lr, s: upscale(lr, magnify=s, method="classical")[0]}
    if available():
        methods["cinb AISuperResolution"] = lambda lr, s: upscale(lr, magnify=s, method="waifu2x")[0]
    for hr in imgs:
        H, W = hr.shape[:2]
        for s in (2, 4):
            degraded = {"bicubic": np.asarray(Image.fromarray(hr).resize((W // s, H // s), Image.Resampling.BICUBIC)),
                        "area+JPEG85": _jpeg(cv2.resize(hr, (W // s, H // s), interpolation=cv2.INTER_AREA), 85)}
            for deg, lr in degraded.items():
                for name, fn in methods.items():
                    t = time.process_time()
                    out = fn(lr, s)
                    cpu = time.process_time() - t
                    rows.setdefault((f"{s}x, {deg}", name), []).append((*_score(hr, out), cpu, W * H / 1e6))
        print(".", end="", flush=True)
    _table(f"super-resolution, {len(imgs)} photos cut to {CROP[0]}x{CROP[1]} (CPU s per output Mpx)", rows,
           extra=" CPU s/Mpx |")


def bench_denoise(imgs: list[np.ndarray]) -> None:
    rng = np.random.default_rng(0)
    rows: dict = {}
    for clean in imgs:
        for sigma in (0, 5, 10, 20):
            noisy = clean
            if sigma:
                noisy = np.clip(clean + rng.normal(0, sigma, clean.shape) + 0.5, 0, 255).astype(np.uint8)
            case = f"sigma {sigma}"
            mpx = clean.shape[0] * clean.shape[1] / 1e6
            rows.setdefault((case, "input (noisy)"), []).append((*_score(clean, noisy), 0.0, mpx))
            t = time.process_time()
            peer = cv2.fastNlMeansDenoisingColored(noisy, None, 10, 10, 7, 21)
            rows.setdefault((case, "cv2 NLM h=10"), []).append((*_score(clean, peer), time.process_time() - t, mpx))
            for d, s in ((1, 0), (3, 0), (5, 0), (3, 3)):
                t = time.process_time()
                out = np.asarray(enhance_frame(Image.fromarray(noisy), denoise_level=d, sharpen_level=s)[0])
                rows.setdefault((case, f"cinb denoise {d} sharpen {s}"), []).append(
                    (*_score(clean, out), time.process_time() - t, mpx))
        print(".", end="", flush=True)
    _table(f"denoise, {len(imgs)} photos with added Gaussian noise (CPU s per Mpx)", rows, extra=" CPU s/Mpx |")


def bench_sharpen(imgs: list[np.ndarray]) -> None:
    rows: dict = {}
    for clean in imgs:
        for blur in (0, 0.7, 1.0, 1.5):
            soft = cv2.GaussianBlur(clean, (0, 0), blur) if blur else clean
            case = f"blur {blur}"
            rows.setdefault((case, "input"), []).append(_score(clean, soft))
            peer = np.asarray(Image.fromarray(soft).filter(ImageFilter.UnsharpMask()))
            rows.setdefault((case, "Pillow UnsharpMask()"), []).append(_score(clean, peer))
            for s in (1, 3, 5):
                out = np.asarray(enhance_frame(Image.fromarray(soft), denoise_level=0, sharpen_level=s)[0])
                rows.setdefault((case, f"cinb sharpen {s}"), []).append(_score(clean, out))
        print(".", end="", flush=True)
    _table(f"sharpen, {len(imgs)} photos blurred by a Gaussian", rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("superres", "denoise", "sharpen", "all"), default="all")
    ap.add_argument("--n", type=int, default=16)
    args = ap.parse_args(argv)
    imgs = photos(args.n)
    if args.part in ("superres", "all"):
        bench_superres(imgs)
    if args.part in ("denoise", "all"):
        bench_denoise(imgs)
    if args.part in ("sharpen", "all"):
        bench_sharpen(imgs)


if __name__ == "__main__":
    main()
