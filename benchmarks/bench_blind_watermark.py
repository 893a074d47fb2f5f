"""Blind-watermark robustness and visibility benchmark: cinb vs blind-watermark vs invisible-watermark.

Each method marks every photo with a payload; the marked photo goes through each attack of
``cinb.blind.attacks.ATTACKS`` (re-encoding, resizing down to 0.3x, crops by side and by area, in the
centre and in a corner, tone changes, noise, rotations with and without border crop, a horizontal flip,
a quarter turn, two screenshot chains; geometric attacks are *not* undone) and is then read back
blindly. Reported per method and attack: bit error rate (BER) and the share of photos whose payload
is recovered exactly; per method the visibility of the mark (PSNR and SSIMULACRA2 of the marked photo
against the original, mean and minimum), embed/extract process CPU time; for cinb also wrong texts
returned as present, false positives on unmarked photos (as they are, recompressed and resized), the
12 Mpx -> ``imageMogr2/thumbnail/800x`` check and the one-thread 1920x1080 embed/extract times.

Payloads: cinb type 3 carries 8 random alphanumeric characters (64 bits + a 16-bit CRC); BER counts
those 64 bits. blind-watermark and invisible-watermark (dwtDctSvd) carry 32 random bits.

Corpora (``--corpus``):

- ``natural`` (default): ``benchmarks.natural.ensure_natural`` -- whole camera photographs from Debian
  wallpaper packages (licences per photo in ``benchmarks/natural.py``), long side 1024 px.
- ``hard``: a second set for the mark's visibility: flat skies, dark and foggy scenes from the same
  packages (``HARD_NATURAL``: summer_1am, Kite, ColdRipple, YellowFlower, DarkestHour, Path, Storm,
  Bridge, Dune; several are also among the first 24 of ``natural``), plus ``HARD_SCREENS`` screenshots
  rendered here with Pillow's built-in font (a document, a chat, a spreadsheet, a dark code editor, a
  settings dialog; generated, no licence needed).
- ``mosaic``: ``benchmarks.photos.ensure_photos_small`` (the first round's real-photo mosaics).

Install the competitors without their declared dependencies (both require ``opencv-python``,
which would clobber the headless OpenCV, and invisible-watermark pulls in torch)::

    .venv/bin/pip install --no-deps -r scripts/pip-nodeps.txt   # blind-watermark, invisible-watermark

Run from the repository root (the issue-15 figures; see benchmarks/RESULTS.md)::

    .venv/bin/python -m benchmarks.bench_blind_watermark --n 24 --fp 200 --thumb12 5 \\
        --json benchmarks/blind_watermark_results.json
    .venv/bin/python -m benchmarks.bench_blind_watermark --corpus hard --methods cinb --fp 0 --thumb12 0
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

from benchmarks.natural import ensure_natural  # noqa: E402
from benchmarks.photos import ensure_photos_small  # noqa: E402
from cinb import blind  # noqa: E402
from cinb.blind.attacks import ATTACKS, ci_thumbnail, jpeg, resize  # noqa: E402  (shared with the notebook, tests)
from cinb.compression.metrics import Reference  # noqa: E402

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
        self.last = e
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
            from blind_watermark import WaterMark
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

HARD_NATURAL = [24, 26, 28, 36, 21, 20, 15, 10, 13]  # indices into benchmarks.natural.PHOTOS
HARD_SCREENS = [("document", 1280, 800), ("chat", 1080, 1920), ("spreadsheet", 1440, 900),
                ("code", 1920, 1080), ("dialog", 1024, 768)]


def _render_screen(kind: str, w: int, h: int) -> Image.Image:
    """A plausible screenshot: flat UI colours, anti-aliased text, thin rules (deterministic)."""
    from PIL import ImageDraw, ImageFont

    rng = np.random.default_rng(sum(map(ord, kind)))
    dark = kind == "code"
    img = Image.new("RGB", (w, h), (30, 30, 36) if dark else (246, 247, 249))
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(14, h // 50))
    small = ImageFont.load_default(size=max(12, h // 64))
    words = ("the quick brown fox jumps over lazy dog image watermark cloud bucket thumbnail quality "
             "render pipeline sample report total status value index").split()

    def line() -> str:
        return " ".join(rng.choice(words, int(rng.integers(4, 12))))

    d.rectangle((0, 0, w, h // 18), fill=(52, 58, 70) if dark else (225, 229, 236))  # title bar
    d.text((12, h // 80), f"{kind}.app", fill=(220, 220, 220) if dark else (40, 40, 40), font=small)
    y = h // 12
    if kind == "spreadsheet":
        cw, ch = w // 9, h // 30
        for r in range(28):
            for c in range(9):
                d.rectangle((c * cw, y + r * ch, (c + 1) * cw, y + (r + 1) * ch), outline=(210, 214, 220))
                if r and c:
                    d.text((c * cw + 4, y + r * ch + 3), f"{rng.normal(1000, 400):.2f}", fill=(30, 30, 30), font=small)
    elif kind == "chat":
        while y < h - 120:
            mine = rng.random() < 0.5
            text = line()
            bw = min(w - 80, 14 * len(text) // 2 + 40)
            x0 = w - bw - 20 if mine else 20
            d.rounded_rectangle((x0, y, x0 + bw, y + 70), 18, fill=(149, 236, 105) if mine else (255, 255, 255))
            d.text((x0 + 16, y + 22), text[: bw // 9], fill=(20, 20, 20), font=font)
            y += 95
    else:
        colours = [(200, 120, 220), (120, 200, 255), (240, 200, 120), (180, 180, 180)] if dark else [(30, 30, 30)]
        while y < h - 40:
            indent = int(rng.integers(0, 4)) * 28 if dark else 0
            d.text((40 + indent, y), line(), fill=tuple(colours[int(rng.integers(len(colours)))]), font=font)
            y += int(font.size * 1.6)
        if kind == "dialog":
            d.rectangle((w // 4, h // 3, 3 * w // 4, 2 * h // 3), fill=(255, 255, 255), outline=(120, 120, 130))
            d.rounded_rectangle((w // 2, 2 * h // 3 - 60, 3 * w // 4 - 20, 2 * h // 3 - 20), 8, fill=(40, 110, 230))
            d.text((w // 2 + 20, 2 * h // 3 - 50), "OK", fill=(255, 255, 255), font=font)
    return img


def hard_corpus(cache: str = "benchmarks/.cache/blind_hard") -> list:
    """The second corpus (see the module docstring): 9 natural photos and 5 rendered screenshots."""
    natural = ensure_natural(n=37)
    out = [natural[i] for i in HARD_NATURAL]
    os.makedirs(cache, exist_ok=True)
    for kind, w, h in HARD_SCREENS:
        path = os.path.join(cache, f"screen-{kind}-{w}x{h}.png")
        if not os.path.exists(path):
            tmp = path + ".part.png"
            _render_screen(kind, w, h).save(tmp)
            os.replace(tmp, path)
        out.append(path)
    return out


def corpus(name: str, n: int) -> list:
    if name == "natural":
        return ensure_natural(n=n)
    if name == "hard":
        return hard_corpus()[:n]
    if name == "mosaic":
        return ensure_photos_small(n=n)
    raise ValueError(f"unknown corpus {name!r}")


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _init_worker():
    cv2.setNumThreads(1)  # times are per core: process CPU time of one thread


def _one(job):
    """Mark one photo with one method, attack it every way, read it back."""
    method, index, path, attack_names = job
    rgb = np.asarray(Image.open(path).convert("RGB"))
    rng = np.random.default_rng(1000 + index)
    payload = method.payload(rng)
    t0 = time.process_time()
    marked = method.embed(rgb, payload)
    t_embed = time.process_time() - t0
    ref = Reference(rgb)
    rows = {}
    t_extract = []
    for name in attack_names:
        attacked = ATTACKS[name](marked)
        t0 = time.process_time()
        ber, exact = method.extract(attacked, payload)
        t_extract.append(time.process_time() - t0)
        last = getattr(method, "last", None)
        wrong = bool(last is not None and not exact and last.status > 75)
        rows[name] = (ber, exact, wrong, None if last is None else last.status)
    return (method.name, index, rgb.shape[:2], _psnr(rgb, marked), t_embed, float(np.mean(t_extract)), rows,
            ref.ssimulacra2(marked), os.path.basename(str(path)))


def _thumb12(job):
    """A 4000 px wide (9-12 Mpx) photo, marked, then CI's ``imageMogr2/thumbnail/800x``, then read."""
    method, index, path = job
    rgb = np.asarray(Image.open(path).convert("RGB"))
    payload = method.payload(np.random.default_rng(5000 + index))
    thumb = ci_thumbnail(method.embed(rgb, payload), 800)
    ber, exact = method.extract(thumb, payload)
    return method.name, os.path.basename(str(path)), rgb.shape[:2], thumb.shape[:2], ber, exact


def _unmarked(job):
    path, variant = job
    rgb = np.asarray(Image.open(path).convert("RGB"))
    if variant == "jpeg q75":
        rgb = jpeg(rgb, 75)
    elif variant == "resize 0.5":
        rgb = resize(rgb, 0.5)
    e = blind.extract(rgb)
    return variant, e.status, e.text


def times_1080p(level: int, photos: int = 3, repeats: int = 5) -> dict:
    """Process CPU time (one thread) to embed in a 1920x1080 photo and to read it after attacks."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    big = [p for p in ensure_natural(n=24, max_side=1920) if Image.open(p).size[0] == 1920][:photos]
    embed_t, extract_t = [], {}
    for path in big:
        rgb = np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB"))[:1080, :1920])
        for _ in range(repeats):
            t0 = time.process_time()
            marked = np.asarray(blind.embed(rgb, text="cinb2026", level=level))
            embed_t.append(time.process_time() - t0)
        for name in ("none", "jpeg q75", "resize 0.5", "crop 80% area", "flip horizontal", "rotate 3deg crop",
                     "screenshot chain"):
            attacked = ATTACKS[name](marked)
            t0 = time.process_time()
            blind.extract(attacked)
            extract_t.setdefault(name, []).append(time.process_time() - t0)
    cv2.setNumThreads(threads)
    return {"embed_ms_median": 1000 * float(np.median(embed_t)),
            "extract_ms_mean": {k: 1000 * float(np.mean(v)) for k, v in extract_t.items()},
            "photos": len(big)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24, help="marked photos (default 24)")
    ap.add_argument("--corpus", default="natural", choices=["natural", "hard", "mosaic"])
    ap.add_argument("--fp", type=int, default=200, help="unmarked photos for false positives (default 200)")
    ap.add_argument("--thumb12", type=int, default=5, help="4000 px photos for the CI thumbnail check (max 5)")
    ap.add_argument("--level", type=int, default=blind.DEFAULT_LEVEL, help="cinb level (default: cinb's default)")
    ap.add_argument("--methods", default="cinb,blind-watermark,invisible-watermark")
    ap.add_argument("--attacks", default=None, help="comma-separated attack names (default: all)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--merge", help="a JSON written by another run (e.g. the peers): its methods are added")
    ap.add_argument("--json", help="also write the numbers to this JSON file (the notebook plots it)")
    args = ap.parse_args(argv)

    attack_names = args.attacks.split(",") if args.attacks else list(ATTACKS)
    paths = corpus(args.corpus, args.n)
    sizes = sorted({Image.open(p).size for p in paths})
    methods = _methods(args.methods.split(","), args.level)
    has_cinb = any(isinstance(m, Cinb) for m in methods)
    jobs = [(m, i, p, attack_names) for m in methods for i, p in enumerate(paths)]
    ctx = multiprocessing.get_context("fork")
    wall = time.perf_counter()
    load0 = os.getloadavg()
    big = [p for p in ensure_natural(n=11, max_side=4000) if Image.open(p).size[0] == 4000][: args.thumb12]
    with ctx.Pool(args.workers, initializer=_init_worker) as pool:
        results = pool.map(_one, jobs, chunksize=1)
        thumbs = pool.map(_thumb12, [(m, i, p) for m in methods for i, p in enumerate(big)], chunksize=1)
        fp = []
        if args.fp and has_cinb:
            # Photos that were never marked: the mosaic corpus (another seed) and the natural photos,
            # as they are, recompressed and halved.
            fp_paths = ensure_photos_small(n=args.fp, seed=1) + ensure_natural(n=37)
            fp = pool.map(_unmarked, [(p, v) for p in fp_paths for v in ("as is", "jpeg q75", "resize 0.5")],
                          chunksize=4)
    timing = times_1080p(args.level) if has_cinb else None
    load1 = os.getloadavg()
    wall = time.perf_counter() - wall

    names = [m.name for m in methods]
    summary = {
        "corpus": args.corpus, "photos": len(paths), "sizes": [f"{w}x{h}" for w, h in sizes], "attacks": attack_names,
        "methods": {name: {
            "ber": {a: float(np.mean([r[6][a][0] for r in results if r[0] == name])) for a in attack_names},
            "exact": {a: float(np.mean([r[6][a][1] for r in results if r[0] == name])) for a in attack_names},
            "psnr_mean": float(np.mean([r[3] for r in results if r[0] == name])),
            "psnr_min": float(np.min([r[3] for r in results if r[0] == name])),
            "ssimulacra2_mean": float(np.mean([r[7] for r in results if r[0] == name])),
            "ssimulacra2_min": float(np.min([r[7] for r in results if r[0] == name])),
            "embed_ms": 1000 * float(np.mean([r[4] for r in results if r[0] == name])),
            "extract_ms": 1000 * float(np.mean([r[5] for r in results if r[0] == name])),
            "thumbnail_800_of_4000": {"photos": sum(t[0] == name for t in thumbs),
                                      "exact": float(np.mean([t[5] for t in thumbs if t[0] == name]))
                                      if any(t[0] == name for t in thumbs) else None},
        } for name in names},
        "workers": args.workers, "wall_s": wall, "loadavg_start": load0, "loadavg_end": load1,
    }
    if has_cinb:
        cinb_name = next(m.name for m in methods if isinstance(m, Cinb))
        rs = [r for r in results if r[0] == cinb_name]
        summary["cinb_per_photo"] = [{"photo": r[8], "size": f"{r[2][1]}x{r[2][0]}", "psnr": round(r[3], 2),
                                      "ssimulacra2": round(r[7], 2),
                                      "failed": [a for a in attack_names if not r[6][a][1]]} for r in rs]
        summary["cinb_wrong_text_present"] = int(sum(r[6][a][2] for r in rs for a in attack_names))
        summary["cinb_readings"] = len(rs) * len(attack_names)
        summary["cinb_false_positives"] = {
            "readings": len(fp), "over_75": int(sum(s > 75 for _, s, _ in fp)),
            "suspected_60": int(sum(s >= 60 for _, s, _ in fp)),
            "max_status": int(max(s for _, s, _ in fp)) if fp else None,
            "texts": sorted({t for _, s, t in fp if t})}
        summary["cinb_1920x1080_one_thread"] = timing
    if args.merge:
        with open(args.merge) as fh:
            other = json.load(fh)
        summary["methods"].update(other["methods"])
        names += [n for n in other["methods"] if n not in names]

    print(f"## Blind watermarks ({args.corpus}: {len(paths)} photos, sizes {', '.join(summary['sizes'])})\n")
    print("BER / exact-recovery share per attack (geometric attacks not undone):\n")
    print("| attack | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for attack in attack_names:
        cells = [f"BER {summary['methods'][n]['ber'][attack]:.3f} / {100 * summary['methods'][n]['exact'][attack]:.0f}%"
                 for n in names]
        print(f"| {attack} | " + " | ".join(cells) + " |")
    cells = []
    for n in names:
        t = summary["methods"][n]["thumbnail_800_of_4000"]
        cells.append(f"{100 * t['exact']:.0f}% of {t['photos']}" if t["photos"] else "-")
    print("| 4000 px photo, imageMogr2/thumbnail/800x | " + " | ".join(cells) + " |")
    print()
    print("| method | PSNR mean (min) dB | SSIMULACRA2 mean (min) | embed ms CPU (mean) | extract ms CPU (mean) |")
    print("|---|---|---|---|---|")
    for n in names:
        m = summary["methods"][n]
        print(f"| {n} | {m['psnr_mean']:.2f} ({m['psnr_min']:.2f}) | {m['ssimulacra2_mean']:.1f} "
              f"({m['ssimulacra2_min']:.1f}) | {m['embed_ms']:.0f} | {m['extract_ms']:.0f} |")
    print()
    if has_cinb:
        f = summary["cinb_false_positives"]
        print(f"cinb wrong texts returned with status > 75: {summary['cinb_wrong_text_present']} of "
              f"{summary['cinb_readings']} readings")
        if fp:
            print(f"cinb on unmarked photos: {f['readings']} readings, {f['over_75']} with status > 75, "
                  f"{f['suspected_60']} >= 60, max status {f['max_status']}")
        print(f"cinb 1920x1080, one thread, process CPU: {json.dumps(timing)}")
        for r in summary["cinb_per_photo"]:
            if r["failed"] or r["ssimulacra2"] < 75:
                print(f"  {r['photo']} {r['size']} SSIMULACRA2 {r['ssimulacra2']} PSNR {r['psnr']} failed: {r['failed']}")
    print(f"\nwall {wall:.0f} s, {args.workers} workers, load average {load0[0]:.2f} -> {load1[0]:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=1)


if __name__ == "__main__":
    main()
