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

OCR (``bench_ocr``), against rapidocr called directly with the same settings (see the OCR section):

- ``accuracy``: exact lines and character accuracy on rendered pages (fonts x sizes, clean and
  photographed-looking, turned 90/180/270, scanned book pages), ``--ocr-type`` picks CI's type;
- ``speed``: ms per page (the two calls alternating) and images/s with 1 and 2 workers over a
  folder of ``--ocr-pages`` photographed pages; ``--ocr-part accuracy|speed`` runs one half.

detect-label (``bench_labels``), cinb's ``labels`` analysis (EfficientNet-Lite3 int8 in LiteRT):

- ``accuracy``: top-1/top-5 and FirstCategory per group (cats, dogs, birds, food, vehicles, other) on
  the labelled real photos cinb can assemble offline (:data:`LABELS_SAMPLE`, :data:`LABELS_NATURAL` and
  :mod:`benchmarks.labelled`; no public one-photo-per-class set installs offline);
- ``speed``: ms per image and images/s with 1 and 2 workers over ``max(--images, 200)`` 224 px JPEGs.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import multiprocessing
import os
import random
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cinb  # noqa: E402

SAMPLE = ROOT / "datasets" / "sample"
PHOTOS = [SAMPLE / f"{n}.jpg" for n in ("astronaut", "chelsea", "coffee", "grace-hopper", "rocket")]


def _load() -> dict:
    return dict(zip(("load1", "load5", "load15"), (round(v, 2) for v in os.getloadavg()), strict=True))


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
                scale = rng.uniform(25, 45)  # drawn first, as before: the hard set stays the same
                out = out + scale * np.random.default_rng(rng.randrange(1 << 30)).standard_normal(out.shape)
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
        long_side = max(photo.size)
        photo = photo.resize((round(photo.width * 1000 / long_side), round(photo.height * 1000 / long_side)))
        kind = ("qr", "code128", "ean13")[i % 3]
        text = {"qr": f"https://example.com/item/{i}", "code128": f"SKU-{i:05d}", "ean13": "590123412345"}[kind]
        sym = Image.fromarray(_symbol(kind, text, rng.uniform(3, 5))).convert("RGB").rotate(
            rng.uniform(-8, 8), expand=True, fillcolor="white")
        photo.paste(sym, (rng.randrange(0, max(1, photo.width - sym.width)),
                          rng.randrange(0, max(1, photo.height - sym.height))))
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
    for attack, _kind, text, gray in qr_hard_set(args.per_attack):
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


# --- OCR -----------------------------------------------------------------------------------------
#
# Accuracy: pages rendered from known lines of English and Chinese in cinb's packaged fonts (Arimo,
# Noto Sans, Noto Sans CJK) and the Debian fonts of _OCR_SYSTEM_FONTS when installed, at several
# sizes, clean and "photographed" (slight rotation, uneven light, noise, blur, JPEG), pages turned by
# 90/180/270 degrees, and "scanned book pages" (a paragraph at 18 px in a serif face, grey paper,
# under a degree of skew, JPEG). A line counts as read when a detected line equals it after
# normalisation (NFKC, whitespace collapsed, spaces beside CJK characters dropped: the model does not
# print those consistently); character accuracy is 1 - edit distance / length of each page's text.
# Speed: ms per page and images/s over a folder of photographed pages with 1 and 2 workers,
# cinb.analyze(folder, "ocr") beside rapidocr called directly with the same settings and threads per
# worker (the direct pool is timed from its start, as analyze starts its pool and loads the model).

OCR_ENGLISH = [
    "The quick brown fox jumps over the lazy dog.", "Invoice No. 2026-0042, total due: $1,299.00",
    "Please keep this receipt for your records.", "Open daily from 9:00 to 18:30 except holidays",
    "Tencent Cloud Infinite processes images on the fly.", "Order #A7731 shipped to Room 1204, Tower B",
    "Fresh coffee, tea and pastries served all day", "Warning: do not leave bags unattended.",
    "Meeting moved to Thursday, 14 May at 3 pm", "Battery level 87% - charging complete in 25 min",
    "Visit our website for terms and conditions.", "Flight CA1831 boards at gate 27 (Terminal 3)",
]
OCR_CHINESE = [
    "数据万象提供图片处理服务", "请妥善保管您的购物小票", "营业时间为每天九点至十八点",
    "本店所有商品均支持七天无理由退货", "会议改到周四下午三点举行", "北京市海淀区中关村大街一号",
    "今天天气晴朗，适合外出游玩。", "订单已发货，预计明天送达",
    "禁止吸烟，违者罚款两百元", "欢迎使用腾讯云对象存储", "图片压缩后体积减少了百分之六十", "请在黄线外排队等候",
]
OCR_BOOK = {
    "en": ("It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
           "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, "
           "it was the season of Darkness, it was the spring of hope, it was the winter of despair, we had "
           "everything before us, we had nothing before us, we were all going direct to Heaven, we were all "
           "going direct the other way."),
    "zh": ("天下大势，分久必合，合久必分。周末七国分争，并入于秦。及秦灭之后，楚、汉分争，又并入于汉。汉朝自高祖斩白蛇"
           "而起义，一统天下，后来光武中兴，传至献帝，遂分为三国。推其致乱之由，殆始于桓、灵二帝。桓帝禁锢善类，崇信"
           "宦官。及桓帝崩，灵帝即位，大将军窦武、太傅陈蕃共相辅佐。"),
}

#: Debian fonts used when installed (fonts-liberation, fonts-dejavu-core, fonts-arphic-uming,
#: fonts-arphic-ukai, fonts-wqy-zenhei): (name, file, face index).
_OCR_SYSTEM_FONTS = {
    "en": [("Liberation Serif", "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf", 0),
           ("DejaVu Sans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0)],
    "zh": [("AR PL UMing", "/usr/share/fonts/truetype/arphic/uming.ttc", 0),
           ("AR PL UKai", "/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
           ("WenQuanYi Zen Hei", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0)],
}
_CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"


def _ocr_fonts(script: str) -> list:
    """(name, font) per font for a script: cinb's packaged fonts, then Debian's when present."""
    from cinb.watermark.fonts import font_spec  # noqa: PLC0415

    out = ([("Noto Sans CJK", font_spec("simhei"))] if script == "zh"
           else [("Arimo", font_spec("arial")), ("Noto Sans", font_spec("tahoma"))])
    return out + [(n, (p, i)) for n, p, i in _OCR_SYSTEM_FONTS[script] if os.path.exists(p)]


def _ocr_font(font, size: int):
    from PIL import ImageFont  # noqa: PLC0415

    return ImageFont.truetype(font[0], size, index=font[1]) if isinstance(font, tuple) else font.load(size)


def ocr_normalise(text: str) -> str:
    """NFKC, whitespace collapsed, no space beside a CJK character."""
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()
    return re.sub(rf"\s*([{_CJK}])\s*", r"\1", text)


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def ocr_render(lines: list[str], font, size: int, width: int = 900, paper=(255, 255, 255)) -> Image.Image:
    """Lines of black text on paper, left-aligned, 1.8 line spacing."""
    from PIL import ImageDraw  # noqa: PLC0415

    f, step = _ocr_font(font, size), int(size * 1.8)
    img = Image.new("RGB", (width, 2 * size + step * len(lines)), paper)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((size, size + i * step), line, fill=(20, 20, 20), font=f)
    return img


def ocr_photographed(img: Image.Image, rng: random.Random, *, angle=(1.0, 3.0), blur=(0.6, 1.1),
                     quality=(55, 75), light=0.82) -> Image.Image:
    """A phone photo (or a scan) of a printed page, roughly: rotation, uneven light, noise, blur, JPEG."""
    from PIL import ImageFilter  # noqa: PLC0415

    out = img.rotate(rng.choice([-1, 1]) * rng.uniform(*angle), resample=Image.Resampling.BICUBIC, expand=True,
                     fillcolor=img.getpixel((0, 0)))
    a = np.asarray(out).astype(np.float32)
    h, w = a.shape[:2]
    a = (a * 0.93 + 10) * (np.linspace(light, 1.0, w)[None, :, None] * np.linspace(0.92, 1.0, h)[:, None, None])
    a += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 4, a.shape)
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(*blur)))
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=rng.randint(*quality))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _wrap(text: str, script: str) -> list[str]:
    if script == "zh":
        lines = [text[i:i + 22] for i in range(0, len(text), 22)]
        return lines[:-2] + [lines[-2] + lines[-1]] if len(lines) > 1 and len(lines[-1]) < 4 else lines
    lines, cur = [], ""
    for word in text.split():
        if len(cur) + len(word) + 1 > 62:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}".strip()
    return lines + [cur]


def ocr_accuracy_set(seed: int = 7):
    """Yield (set, label, image, lines): font x size x {clean, photo}, turned pages, book pages."""
    rng = random.Random(seed)
    for script, corpus, sizes in (("en", OCR_ENGLISH, (16, 22, 32)), ("zh", OCR_CHINESE, (18, 24, 32))):
        fonts = _ocr_fonts(script)
        for fname, font in fonts:
            for size in sizes:
                lines = rng.sample(corpus, 5)
                page = ocr_render(lines, font, size)
                yield f"{script} clean", f"{fname} {size}px", page, lines
                yield f"{script} photo", f"{fname} {size}px", ocr_photographed(page, rng), lines
        for turn in (90, 180, 270):
            lines = rng.sample(corpus, 5)
            page = ocr_render(lines, fonts[turn // 90 % len(fonts)][1], 24)
            yield f"{script} turned", f"{turn} deg", page.rotate(-turn, expand=True), lines
        serif = [f for f in fonts if f[0] in ("Liberation Serif", "AR PL UMing")] or fonts[:1]
        for (fname, font), size in itertools.product(serif, (16, 20)):
            lines = _wrap(OCR_BOOK[script], script)
            page = ocr_render(lines, font, size, width=(40 if script == "en" else 26) * size, paper=(236, 232, 220))
            yield f"{script} book scan", f"{fname} {size}px", ocr_photographed(
                page, rng, angle=(0.2, 1.0), blur=(0.3, 0.6), quality=(75, 85), light=0.9), lines


def _ocr_score(got: list[str], want: list[str]) -> tuple[int, float]:
    pool = [ocr_normalise(t) for t in got]
    exact = 0
    for line in want:
        if ocr_normalise(line) in pool:
            pool.remove(ocr_normalise(line))
            exact += 1
    want_text, got_text = "".join(map(ocr_normalise, want)), "".join(map(ocr_normalise, got))
    return exact, 1.0 - _edit_distance(got_text, want_text) / max(1, len(want_text))


def ocr_accuracy(kind: str = "general") -> dict:
    sets: dict = {}
    misses = []
    for name, label, img, lines in ocr_accuracy_set():
        t = time.perf_counter()
        got = [d["DetectedText"] for d in cinb.ci_process(img, "OCR", type=kind).json["TextDetections"]]
        seconds = time.perf_counter() - t
        exact, chars = _ocr_score(got, lines)
        row = sets.setdefault(name, {"pages": 0, "lines": 0, "exact": 0, "chars": [], "s": []})
        row["pages"] += 1
        row["lines"] += len(lines)
        row["exact"] += exact
        row["chars"].append(chars)
        row["s"].append(seconds)
        if exact < len(lines):
            norm = set(map(ocr_normalise, got))
            misses.append({"set": name, "page": label, "missed": [w for w in lines if ocr_normalise(w) not in norm],
                           "read": got})
    out = {name: {"pages": r["pages"], "lines_exact": f"{r['exact']}/{r['lines']}",
                  "lines_exact_pct": round(100 * r["exact"] / r["lines"], 1),
                  "char_accuracy_pct": round(100 * float(np.mean(r["chars"])), 2),
                  "s_per_page": round(float(np.mean(r["s"])), 2)} for name, r in sets.items()}
    exact, lines = sum(r["exact"] for r in sets.values()), sum(r["lines"] for r in sets.values())
    out["all"] = {"lines_exact": f"{exact}/{lines}", "lines_exact_pct": round(100 * exact / lines, 1)}
    out["misses"] = misses
    return out


_OCR_DIRECT = None
_OCR_INHERITED = []  # a forked worker keeps its parent's engine: freeing an ONNX session there hangs


def _ocr_direct_init(threads: int) -> None:
    """rapidocr alone, with the settings cinb's type=general uses."""
    global _OCR_DIRECT
    _OCR_INHERITED.append(_OCR_DIRECT)
    from cinb.ai import models  # noqa: PLC0415
    from cinb.ai.ocr import MODEL_FILES, TYPES, _package_dir  # noqa: PLC0415

    models.onnxruntime()  # telemetry off, as for cinb
    from rapidocr import RapidOCR  # noqa: PLC0415

    root = _package_dir()
    _OCR_DIRECT = RapidOCR(params={
        "Global.log_level": "critical", "Det.model_path": str(root / MODEL_FILES[0]),
        "Rec.model_path": str(root / MODEL_FILES[1]), "Cls.model_path": str(root / MODEL_FILES[2]),
        "EngineConfig.onnxruntime.intra_op_num_threads": threads, "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        "Det.limit_type": "max", "Det.limit_side_len": TYPES["general"].det_side})


def _ocr_direct_read(path) -> int:
    img = np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB"))[:, :, ::-1])
    return len(_OCR_DIRECT(img).txts or ())


def ocr_speed(pages: int, repeat: int) -> dict:
    from cinb.parallel import default_workers  # noqa: PLC0415

    rng = random.Random(3)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(pages):
            script, corpus = (("en", OCR_ENGLISH), ("zh", OCR_CHINESE))[i % 2]
            page = ocr_render(rng.sample(corpus, 6), _ocr_fonts(script)[0][1], 24)
            paths.append(os.path.join(tmp, f"page{i:02d}.jpg"))
            ocr_photographed(page, rng).save(paths[-1], quality=85)
        cores = default_workers()
        _ocr_direct_init(cores)
        cinb.ci_process(paths[0], "OCR")  # both models loaded in this process before timing
        _ocr_direct_read(paths[0])
        direct, ours = [], []
        for p in paths:  # latency: the two calls alternate on each page
            direct.append(_median_ms(lambda p=p: _ocr_direct_read(p), repeat))
            ours.append(_median_ms(lambda p=p: cinb.ci_process(p, "OCR"), repeat))
        out["latency"] = {"pages": pages, "direct_ms_median": round(statistics.median(direct)),
                          "cinb_ms_median": round(statistics.median(ours)),
                          "overhead_pct": round(100 * (sum(ours) / sum(direct) - 1), 1)}
        for workers in (1, 2):
            ours_s = direct_s = float("inf")
            for _ in range(repeat):
                t = time.perf_counter()
                df = cinb.analyze(tmp, "ocr", workers=workers, progress=False)
                ours_s = min(ours_s, time.perf_counter() - t)
                t = time.perf_counter()
                if workers == 1:
                    [_ocr_direct_read(p) for p in paths]
                else:
                    with multiprocessing.get_context("fork").Pool(
                            workers, initializer=_ocr_direct_init, initargs=(max(1, cores // workers),)) as pool:
                        pool.map(_ocr_direct_read, paths, chunksize=1)
                direct_s = min(direct_s, time.perf_counter() - t)
            out[f"throughput_{workers}w"] = {"direct_img_s": round(pages / direct_s, 2),
                                             "cinb_img_s": round(pages / ours_s, 2),
                                             "overhead_pct": round(100 * (ours_s / direct_s - 1), 1),
                                             "lines_cinb": int(df["ocr_count"].sum())}
    return out


def bench_ocr(args) -> dict:
    import rapidocr  # noqa: PLC0415

    out: dict = {"endpoint": "OCR", "rapidocr": rapidocr.__version__ if hasattr(rapidocr, "__version__") else
                 __import__("importlib.metadata").metadata.version("rapidocr")}
    if args.ocr_part in ("all", "accuracy"):
        out["accuracy"] = ocr_accuracy(args.ocr_type)
    if args.ocr_part in ("all", "speed"):
        out["speed"] = ocr_speed(args.ocr_pages, args.repeat)
    return out


# --- detect-label (labels) -------------------------------------------------------------------------

#: The sample photos and curated Debian wallpapers of benchmarks/natural.py with the ImageNet classes
#: that name what each shows (written from the photo's subject before running the model), its group
#: (the issue's cats, dogs, birds, food, vehicles; else "other") and FirstCategory (None: unclear).
#: Photos no ImageNet class names (sky, moss, marigold, a toy kite) are left out of the top-5 count.
LABELS_SAMPLE = [("chelsea.jpg", range(281, 286), "cats", "animals"), ("coffee.jpg", (967, 968, 504), "food", "food"),
                 ("grace-hopper.jpg", (652, 834, 906, 457), "other", "objects"),
                 ("rocket.jpg", (657, 744, 812), "other", None)]
LABELS_NATURAL = [  # (index in natural.PHOTOS, classes, group, FirstCategory)
    (0, (970, 979), "other", "scenery"), (1, (), "birds", "animals"),
    (2, (152, 156, 215, 216, 217, 218, 219, 220, 221), "dogs", "animals"),
    (4, (907, 541), "other", None), (5, (952,), "food", "food"), (6, (696,), "other", "objects"),
    (8, (319, 320), "other", "animals"), (10, (839,), "other", "buildings"), (11, (970, 979), "other", "scenery"),
    (13, (977, 978), "other", "scenery"), (19, (472, 693, 975, 449), "other", None),
    (21, (975,), "other", "scenery"), (24, (975,), "other", "scenery"), (27, (718, 536, 975), "other", None),
    (28, (718, 536, 975), "other", None), (33, (892, 409), "other", "objects"), (35, (301,), "other", "animals")]
GROUPS = ("cats", "dogs", "birds", "food", "vehicles")


def labels_set() -> list[tuple[Path, tuple, str, str | None, str, str]]:
    """(path, classes, group, FirstCategory, subject, source) of every labelled photo cinb can assemble
    offline: the sample photos, 17 natural photos and the 222 of :mod:`benchmarks.labelled`."""
    from benchmarks.labelled import ensure_labelled  # noqa: PLC0415
    from benchmarks.natural import PHOTOS, ensure_natural  # noqa: PLC0415

    paths = ensure_natural(n=max(i for i, *_ in LABELS_NATURAL) + 1)
    out = [(SAMPLE / name, tuple(c), group, first, name, "sample") for name, c, group, first in LABELS_SAMPLE]
    out += [(paths[i], tuple(c), group, first, PHOTOS[i].subject.split(":")[0], "natural")
            for i, c, group, first in LABELS_NATURAL]
    out += [(p.path, p.classes, p.group, p.first, p.subject, p.source) for p in ensure_labelled()]
    return out


def _pct(n: int, d: int) -> float | None:
    return round(100 * n / d, 1) if d else None


def labels_accuracy() -> dict:
    """Top-1/top-5 over the photos with ImageNet classes, and the FirstCategory per group: the image's
    :func:`cinb.ai.tagging.category` (what the response and ``top_category`` give), and as second
    readings the top label's category and the plainly summed one (no prior correction). Every block
    also for the even- and odd-indexed halves: the rule was chosen on the even half."""
    from cinb.ai.tagging import category, classify, label_table, scene_labels, top_labels  # noqa: PLC0415

    table = label_table()
    firsts = list(table.categories)
    member = np.array([[c["first"] == f for c in table.classes] for f in firsts], dtype=np.float32)
    rows, misses = [], []
    for k, (path, classes, group, first, subject, source) in enumerate(labels_set()):
        probs, _ = classify(path)
        top5 = [int(i) for i in np.argsort(probs)[::-1][:5]]
        got_first = category(probs)["FirstCategory"]
        top_first = table.classes[top5[0]]["first"]
        summed_first = firsts[int(np.argmax(member @ probs))]
        labels = scene_labels(probs)
        with Image.open(path) as im:
            small = max(im.size) < 100  # Tux Paint's food stamps: 45-75 px cut-outs, upscaled 3-5x by the model
        row = {"index": k, "group": group, "source": source, "small": small, "with_classes": bool(classes),
               "top1": top5[0] in classes if classes else None,
               "top5": bool(set(top5) & set(classes)) if classes else None,
               "first_ok": got_first == first if first else None,
               "top_label_first_ok": top_first == first if first else None,
               "summed_first_ok": summed_first == first if first else None,
               "category_label": labels[0]["Name"] != top_labels(probs)[0]["Name"]}
        rows.append(row)
        if row["top5"] is False or row["first_ok"] is False:
            misses.append({"photo": f"{source}: {subject}", "top5": [table.name(i) for i in top5],
                           "first": got_first, "expected_first": first})

    def block(sel: list[dict]) -> dict:
        cls = [r for r in sel if r["top5"] is not None]
        fst = [r for r in sel if r["first_ok"] is not None]

        def ok(key: str, where=lambda r: True) -> str:
            return f"{sum(r[key] for r in fst if where(r))}/{sum(1 for r in fst if where(r))}"

        return {"photos": len(sel), "with_imagenet_classes": len(cls),
                "top1_pct": _pct(sum(r["top1"] for r in cls), len(cls)),
                "top5_pct": _pct(sum(r["top5"] for r in cls), len(cls)),
                "first_category_ok": ok("first_ok"),
                "first_category_pct": _pct(sum(r["first_ok"] for r in fst), len(fst)),
                "top_label_first_category_ok": ok("top_label_first_ok"),
                "summed_first_category_ok": ok("summed_first_ok"),
                "first_category_ok_with_imagenet_classes": ok("first_ok", lambda r: r["with_classes"]),
                "first_category_ok_100px_and_more": ok("first_ok", lambda r: not r["small"]),
                "category_label_first": sum(r["category_label"] for r in sel)}

    goal = [r for r in rows if r["group"] in GROUPS]
    sources = dict.fromkeys(r["source"] for r in rows)
    halves = {name: [r for r in rows if r["index"] % 2 == parity] for name, parity in (("even", 0), ("odd", 1))}
    return {"all": block(rows), "goal_groups": block(goal),
            "per_group": {g: block([r for r in rows if r["group"] == g]) for g in (*GROUPS, "other")},
            "per_half": {h: {"all": block(sel), **{g: block([r for r in sel if r["group"] == g])
                                                   for g in (*GROUPS, "other")}} for h, sel in halves.items()},
            "per_source": {s: block([r for r in rows if r["source"] == s]) for s in sources}, "misses": misses}


def labels_speed(images: int, repeat: int, side: int = 224) -> dict:
    from cinb.ai.tagging import classify  # noqa: PLC0415

    sources = [row[0] for row in labels_set()][:21]  # the sample and natural photos (as measured before)
    out: dict = {"images": images, "side_px": side}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(images):
            img = Image.open(sources[i % len(sources)]).convert("RGB")
            s = min(img.size)
            img = img.crop(((img.width - s) // 2, (img.height - s) // 2, (img.width + s) // 2, (img.height + s) // 2))
            img.resize((side, side), Image.Resampling.LANCZOS).save(os.path.join(tmp, f"img{i:04d}.jpg"), quality=90)
        first = os.path.join(tmp, "img0000.jpg")
        classify(first)
        out["latency_ms_median"] = round(_median_ms(lambda: classify(first), max(5, repeat * 5)), 1)
        for workers in (1, 2):
            best = float("inf")
            for _ in range(repeat):
                t = time.perf_counter()
                df = cinb.analyze(tmp, "labels", workers=workers, progress=False)
                best = min(best, time.perf_counter() - t)
            out[f"throughput_{workers}w_img_s"] = round(images / best, 1)
            out[f"errors_{workers}w"] = int(df["error"].notna().sum()) if "error" in df else 0
    return out


def bench_labels(args) -> dict:
    import importlib.metadata  # noqa: PLC0415

    out = {"endpoint": "detect-label", "ai-edge-litert": importlib.metadata.version("ai-edge-litert")}
    if args.labels_part in ("all", "accuracy"):
        out["accuracy"] = labels_accuracy()
    if args.labels_part in ("all", "speed"):
        out["speed"] = labels_speed(max(args.images, 200), args.repeat)
    return out



#: One benchmark function per endpoint analysis name.
BENCHES = {"qrcode": bench_qrcode, "ocr": bench_ocr, "labels": bench_labels}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoints", default=",".join(BENCHES), help="comma-separated: " + ", ".join(BENCHES))
    ap.add_argument("--repeat", type=int, default=3, help="runs per image for latencies (median)")
    ap.add_argument("--images", type=int, default=40, help="images in the generated folder")
    ap.add_argument("--per-attack", type=int, default=12, help="QR hard set: images per kind of damage")
    ap.add_argument("--ocr-part", default="all", choices=("all", "accuracy", "speed"), help="OCR: which figures")
    ap.add_argument("--ocr-type", default="general", help="OCR: CI's type for the accuracy set")
    ap.add_argument("--ocr-pages", type=int, default=12, help="OCR: pages in the speed folder")
    ap.add_argument("--labels-part", default="all", choices=("all", "accuracy", "speed"), help="labels: which figures")
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
