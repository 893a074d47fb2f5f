"""Where a blind mark goes after an attack, region by region (issue 15, round 5: the spreadsheet after JPEG q50).

A picture of the hard set (``benchmarks.blind_corpus.hard_corpus``) is marked with its benchmark text
(the same as ``bench_blind_watermark``), attacked, and read at the untouched geometry. The reader's chip sums
are split by region of the canonical frame: white at 255 far from any edge (a spreadsheet's cell interiors),
white next to text and rules, dark content (< 213: text, rules), and light fills and anti-aliasing
(213-254). Per region:

- *signal*: the marked minus the unmarked picture's weighted residual (both attacked), folded at the true
  geometry and projected on the true chip signs: what the region contributes to the reader's soft values;
- *host noise*: the spread of the unmarked picture's own folded chips in that region.

Each setting of ``--clip-aware`` (the embedder's :data:`cinb.blind.embed.CLIP_AWARE`) is run in turn.

Run from the repository root::

    .venv/bin/python -m benchmarks.blind_regions --picture spreadsheet --attack "jpeg q50"
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import cv2
import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks.bench_blind_watermark import ALNUM  # noqa: E402
from benchmarks.blind_corpus import hard_corpus  # noqa: E402
from cinb import blind  # noqa: E402
from cinb.blind import payload  # noqa: E402
from cinb.blind.attacks import ATTACKS  # noqa: E402
from cinb.blind.mark import _chip_sums, working_frame  # noqa: E402
from cinb.blind.pattern import TILE, Layout  # noqa: E402
from cinb.blind.sync import fold, residual  # noqa: E402

embed_module = importlib.import_module("cinb.blind.embed")  # ``cinb.blind.embed`` is also a function


def regions(y: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks of the frame luminance ``y`` (see the module docstring)."""
    edge = cv2.dilate((np.abs(cv2.Laplacian(y, cv2.CV_32F)) > 6).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    white = y >= 254.5
    return {"white, >= 2 px from text and rules": white & ~edge, "white next to text and rules": white & edge,
            "text and rules (< 213)": y < 213, "light fills, anti-aliasing (213-254)": (y >= 213) & ~white}


def split(original: np.ndarray, marked: np.ndarray, text: str, masks: dict[str, np.ndarray]
          ) -> tuple[dict, float, float]:
    """Per region of ``masks`` (area, signal, host noise) of ``marked`` against ``original``, and the whole
    picture's signal and noise (the spread of the chips around the signal)."""
    coded = payload.text_bits(text, key="cinb")
    layout = Layout("cinb", coded.size)
    chips = layout.pilot_chips.ravel().copy()
    chips[layout.data_index] = layout.data_sign * (1 - 2.0 * coded)[layout.data_bit]
    y0 = working_frame(original)
    rm, ro = residual(working_frame(marked), weighted=True), residual(y0, weighted=True)

    def sums(r: np.ndarray) -> np.ndarray:
        return _chip_sums(fold(r, np.eye(2) * TILE, filtered=True))

    out = {}
    for name, m in masks.items():
        host = sums(ro * m)
        out[name] = (float(m.mean()), float(np.mean((sums(rm * m) - host) * chips)), float(np.std(host)))
    whole_m, whole_o = sums(rm), sums(ro)
    s = float(np.mean((whole_m - whole_o) * chips))
    return out, s, float(np.std(whole_m - s * chips))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--picture", default="spreadsheet", help="part of a hard-set file name")
    ap.add_argument("--attack", default="jpeg q50", help="an attack of cinb.blind.attacks.ATTACKS")
    ap.add_argument("--clip-aware", default="0,1", help="settings of embed.CLIP_AWARE to run, in order")
    args = ap.parse_args(argv)
    paths = hard_corpus()
    index, path = next((i, p) for i, p in enumerate(paths) if args.picture in p.name)
    rgb = np.asarray(Image.open(path).convert("RGB"))
    # The benchmark's text for this picture (bench_blind_watermark._one, hard corpus).
    text = "".join(np.random.default_rng(1000 + index + 500).choice(list(ALNUM), 8))
    attack = ATTACKS[args.attack]
    for setting in args.clip_aware.split(","):
        embed_module.CLIP_AWARE = setting == "1"
        marked = np.asarray(blind.embed(rgb, text=text, level=2))
        print(f"{path.name}, CLIP_AWARE={embed_module.CLIP_AWARE}")
        print("| region | area | signal unattacked | signal after | kept | host noise unattacked | after |")
        print("|---|---|---|---|---|---|---|")
        masks = regions(working_frame(rgb))  # the unattacked picture's regions, for both readings
        before, s0, n0 = split(rgb, marked, text, masks)
        after, s1, n1 = split(attack(rgb), attack(marked), text, masks)
        for name, (area, sig, noise) in before.items():
            _, sig1, noise1 = after[name]
            kept = f"{100 * sig1 / sig:.0f} %" if abs(sig) > 0.2 else "-"
            print(f"| {name} | {100 * area:.0f} % | {sig:.2f} ({100 * sig / s0:.0f} %) | {sig1:.2f} "
                  f"({100 * sig1 / s1:.0f} %) | {kept} | {noise:.2f} | {noise1:.2f} |")
        print(f"| whole picture | | {s0:.2f} | {s1:.2f} | {100 * s1 / s0:.0f} % | {n0:.2f} | {n1:.2f} |")
        print(f"chip SNR {s0 / n0:.3f} -> {s1 / n1:.3f} after {args.attack}\n")


if __name__ == "__main__":
    main()
