"""A second benchmark corpus, unlike photos: screenshots, charts and scanned-text pages, drawn with PIL.

Compression results on natural photos say little about synthetic content: large flat areas, sharp
edges, anti-aliased text, thin lines. This corpus is generated (deterministic, seeded, no download)
in three kinds, ``n // 3`` of each (the kind cycles with the index):

- ``ui``: an application window: title bar, sidebar list, buttons, paragraphs of text in DejaVu Sans
  at 11-16 px, a colour gradient header, a photo-like noise thumbnail;
- ``chart``: a bar chart and a line plot with axes, grid lines, tick labels, legend and coloured
  series on white;
- ``scan``: a scanned page: black text in DejaVu Serif on an off-white paper with low-frequency
  shading, sensor noise (sigma 3) and a slight blur (radius 0.6), as a flatbed scan gives.

Each image is 960x640, RGB, stored losslessly as PNG under ``benchmarks/.cache/graphics/v1`` (written to
a temporary name then renamed). Fonts: Debian's ``fonts-dejavu-core`` (``/usr/share/fonts/truetype/dejavu``).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

REPO = Path(__file__).resolve().parents[1]
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SIZE = (960, 640)
KINDS = ("ui", "chart", "scan")
WORDS = ("image processing rule format quality thumbnail crop rotate watermark bucket object style "
         "compression metric score bytes encoder decoder pixel colour channel alpha gradient text scan "
         "page document invoice total amount date order customer report summary table figure").split()


def _font(size: int, serif: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSerif.ttf" if serif else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size)


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _ui(rng: random.Random) -> Image.Image:
    w, h = SIZE
    img = Image.new("RGB", SIZE, (246, 247, 249))
    d = ImageDraw.Draw(img)
    top = np.linspace(0, 1, w)[None, :, None]
    c0, c1 = np.array(rng.choice([(40, 90, 200), (180, 60, 90), (20, 140, 110)])), np.array((250, 250, 255))
    grad = (c0 * (1 - top) + c1 * top).repeat(70, axis=0).astype(np.uint8)
    img.paste(Image.fromarray(grad), (0, 30))
    d.rectangle((0, 0, w, 30), fill=(60, 63, 70))
    d.text((12, 7), "cinb - " + rng.choice(WORDS), font=_font(13), fill=(230, 230, 230))
    d.rectangle((0, 100, 200, h), fill=(232, 235, 240))
    for i in range(14):
        y = 112 + i * 34
        if i == 3:
            d.rectangle((0, y - 6, 200, y + 24), fill=(205, 220, 245))
        d.text((18, y), rng.choice(WORDS).capitalize() + " " + rng.choice(WORDS), font=_font(14), fill=(40, 40, 50))
    y = 120
    for _ in range(9):
        d.text((230, y), _sentence(rng, 11), font=_font(rng.choice((12, 13, 15))), fill=(30, 30, 35))
        y += 26
    for i, label in enumerate(("OK", "Cancel", "Apply")):
        x = 560 + i * 120
        d.rounded_rectangle((x, 560, x + 100, 592), 6, fill=(40, 110, 220) if i == 0 else (255, 255, 255),
                            outline=(150, 160, 175))
        d.text((x + 30, 567), label, font=_font(14), fill=(255, 255, 255) if i == 0 else (30, 30, 30))
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(120, 50, (150, 220, 3))
    thumb = Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(3))
    img.paste(thumb, (700, 380))
    return img


def _chart(rng: random.Random) -> Image.Image:
    w, h = SIZE
    img = Image.new("RGB", SIZE, "white")
    d = ImageDraw.Draw(img)
    f = _font(12)
    colours = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]
    for x0 in (60, 520):
        d.line((x0, 560, x0 + 400, 560), fill="black", width=1)
        d.line((x0, 80, x0, 560), fill="black", width=1)
        for k in range(6):
            y = 560 - k * 90
            d.line((x0, y, x0 + 400, y), fill=(225, 225, 225))
            d.text((x0 - 30, y - 7), str(k * 20), font=f, fill="black")
    for i in range(8):
        for s in range(2):
            v = rng.uniform(40, 450)
            x = 75 + i * 48 + s * 20
            d.rectangle((x, 560 - v, x + 18, 560), fill=colours[s])
        d.text((75 + i * 48, 566), f"Q{i + 1}", font=f, fill="black")
    for s in range(3):
        pts, v = [], rng.uniform(150, 350)
        for i in range(40):
            v = min(470, max(10, v + rng.uniform(-30, 30)))
            pts.append((520 + i * 10, 560 - v))
        d.line(pts, fill=colours[s + 1], width=2)
        d.rectangle((840, 90 + s * 20, 852, 102 + s * 20), fill=colours[s + 1])
        d.text((858, 89 + s * 20), rng.choice(WORDS), font=f, fill="black")
    d.text((60, 30), _sentence(rng, 5), font=_font(20), fill="black")
    return img


def _scan(rng: random.Random) -> Image.Image:
    w, h = SIZE
    yy, xx = np.mgrid[0:h, 0:w]
    shade = 232 + 10 * np.sin(xx / 310 + rng.random() * 6) * np.cos(yy / 270)
    paper = np.stack([shade, shade - 3, shade - 10], axis=-1)
    img = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.text((70, 40), _sentence(rng, 4).upper(), font=_font(22, serif=True), fill=(20, 20, 25))
    y = 90
    while y < h - 40:
        d.text((70, y), _sentence(rng, rng.randrange(9, 13)), font=_font(15, serif=True), fill=(25, 25, 30))
        y += 23 if rng.random() > 0.15 else 40
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, 3, (h, w, 1))
    return Image.fromarray(np.clip(np.asarray(img, dtype=float) + noise, 0, 255).astype(np.uint8))


def ensure_graphics(n: int = 12, *, cache_dir: str | os.PathLike = "benchmarks/.cache/graphics") -> list[Path]:
    """``n`` synthetic images (ui, chart, scan in turn) as PNGs; built once, then cached."""
    out_dir = REPO / cache_dir / "v1"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        kind = KINDS[i % 3]
        path = out_dir / f"graphics-{i:02d}-{kind}.png"
        if not path.exists():
            img = {"ui": _ui, "chart": _chart, "scan": _scan}[kind](random.Random(1000 + i))
            tmp = path.with_suffix(".tmp")
            img.save(tmp, "PNG")
            tmp.replace(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in ensure_graphics():
        print(p)
