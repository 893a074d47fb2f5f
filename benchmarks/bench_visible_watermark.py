"""Visible-watermark speed: one mark, tiled marks, and cinb's tiling against the obvious alternatives.

For each image size (1 MP and 12 MP, random RGB) the script times, best of ``--repeat`` runs:

- ``stage.apply`` of a corner text mark (region-only compositing) and of an image mark;
- tiled text (``batch/1``) at 0 and 30 degrees as cinb does it (``numpy.tile`` at 0 degrees;
  turned: one turned mark composited per lattice point up to ``PASTE_MAX_TILES`` tiles, beyond that
  one Pillow affine resampling per 1024 px block from one small periodic source);
- the same 30-degree tiling done the obvious ways: build an image-sized pattern and ``PIL.rotate``
  it (``naive-rotate``), or paste a rotated mark at every lattice point (``paste-loop``).

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_visible_watermark --repeat 3
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from functools import partial

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from cinb.canvas import Canvas  # noqa: E402
from cinb.watermark import ImageWatermark, TextWatermark  # noqa: E402
from cinb.watermark.layout import _turned_tiles, composite, dissolve, tile_pattern  # noqa: E402
from cinb.watermark.text import render_text  # noqa: E402


def best(fn, repeat: int) -> float:
    fn()  # warm caches (fonts, the watermark file)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def naive_rotate(mark: Image.Image, size: tuple[int, int], spacing: int, degree: int) -> Image.Image:
    W, H = size
    S = math.ceil(math.hypot(W, H))
    cw, ch = mark.width + mark.width * spacing // 100, mark.height + mark.height * spacing // 100
    big = Image.new("RGBA", (S, S))
    cell = Image.new("RGBA", (cw, ch))
    cell.paste(mark, (0, 0))
    big = Image.fromarray(np.tile(np.asarray(cell), (S // ch + 1, S // cw + 1, 1))[:S, :S], "RGBA")
    turned = big.rotate(-degree, resample=Image.Resampling.BICUBIC)
    ox, oy = (S - W) // 2, (S - H) // 2
    return turned.crop((ox, oy, ox + W, oy + H))


def paste_loop(mark: Image.Image, size: tuple[int, int], spacing: int, degree: int) -> Image.Image:
    W, H = size
    turned = mark.rotate(-degree, resample=Image.Resampling.BICUBIC, expand=True)
    cw, ch = mark.width + mark.width * spacing // 100, mark.height + mark.height * spacing // 100
    layer = Image.new("RGBA", size)
    t = math.radians(degree)
    c, s = math.cos(t), math.sin(t)
    R = math.ceil(math.hypot(W, H) / min(cw, ch)) + 2
    for i in range(-R, R):
        for j in range(-R, R):
            x, y = i * cw - W / 2, j * ch - H / 2
            px, py = W / 2 + c * x - s * y, H / 2 + s * x + c * y
            if -turned.width < px < W and -turned.height < py < H:
                layer.alpha_composite(turned, (int(px), int(py))) if px >= 0 and py >= 0 else \
                    layer.paste(turned, (int(px), int(py)), turned)
    return layer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import tempfile

    logo = os.path.join(tempfile.mkdtemp(), "logo.png")
    Image.new("RGBA", (200, 80), (230, 40, 40, 200)).save(logo)
    text = TextWatermark(text="© cinb 水印", fontsize=48, fill="#FFFFFF", shadow=50)
    image = ImageWatermark(image=logo)
    tiled0 = TextWatermark(text="© cinb 水印", fontsize=24, batch=1, spacing=50)
    tiled30 = TextWatermark(text="© cinb 水印", fontsize=24, batch=1, spacing=50, degree=30)
    mark = dissolve(render_text("© cinb 水印", size=24), 90)
    small = dissolve(render_text("© cinb 水印", size=13), 90)
    cell = np.zeros((mark.height * 3 // 2, mark.width * 3 // 2, 4), np.uint8)
    cell[: mark.height, : mark.width] = np.asarray(mark)
    rng = np.random.default_rng(0)
    print(f"{'image':>10} {'case':<28} {'seconds':>8}")
    # each case takes (canvas, (W, H)); bound per image size with partial, not a closure over the loop
    cases = {
        "text mark (corner)": lambda canvas, size: text.apply(canvas),
        "image mark (corner)": lambda canvas, size: image.apply(canvas),
        "tiled text, 0 deg": lambda canvas, size: tiled0.apply(canvas),
        "tiled text, 30 deg": lambda canvas, size: tiled30.apply(canvas),
        "30 deg layer only (cinb)": lambda canvas, size: tile_pattern(mark, size, spacing=50, degree=30),
        "30 deg layer, 13 px dense": lambda canvas, size: tile_pattern(small, size, spacing=10, degree=30),
        "30 deg layer resampled": lambda canvas, size: _turned_tiles(cell, size, 30),
        "30 deg layer naive-rotate": lambda canvas, size: naive_rotate(mark, size, 50, 30),
        "30 deg layer paste-loop": lambda canvas, size: paste_loop(mark, size, 50, 30),
        "composite layer": lambda canvas, size: composite(canvas, tile_pattern(mark, size, spacing=50, degree=0),
                                                          (0, 0)),
    }
    for W, H in ((1200, 800), (4000, 3000)):
        canvas = Canvas(frames=[Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8))])
        for name, fn in cases.items():
            print(f"{W}x{H:<5} {name:<28} {best(partial(fn, canvas, (W, H)), args.repeat):8.3f}", flush=True)

if __name__ == "__main__":
    main()
