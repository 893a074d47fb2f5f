"""face-effect (spec §19.5): CPU time per 1080p picture, by stage, against a plain whole-picture filter.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.bench_faceeffect            # 7 runs per row
    .venv/bin/python -m benchmarks.bench_faceeffect --runs 3

The pictures are the sample's three portraits (astronaut, Grace Hopper, the grey cameraman) made
1920 x 1080: enlarged to 1080 px tall (Lanczos) and widened to 1920 px by repeating their edge
columns (mirroring would add faces), so the face is 120-320 px wide. Each row is the median CPU time
(``time.process_time``: every thread of the process counted, so the other sessions sharing the two
cores inflate it less than wall time) over ``--runs`` runs after one warm-up run (models loaded):

- ``beautify``: :func:`cinb.ai.faceeffect.beautify` at CI's defaults (whitening 30, smoothing 10,
  faceLifting 70, eyeEnlarging 70) on the decoded RGB array, faces found by MTCNN; then the same
  split into ``detect`` (MTCNN at 1080p, capped at 2000 px), ``mesh`` (the 468 points of each
  face), and ``effects`` (skin mask, smoothing, whitening, the two warps) with the faces given;
- ``endpoint``: ``ci_process(png_bytes, "face-effect", type="face-beautify")``: decode, the
  above, and the JPEG/PNG encode of ``ResultImage`` plus base64;
- ``segmentation``: ``ci_process(..., type="face-segmentation")`` (U²-Net-p at 320 px, guided
  filter refinement, two PNG encodes);
- peer ``bilateral``: ``cv2.bilateralFilter(img, 9, 75, 75)`` on the whole picture, the classic
  one-call "beauty smoothing" with no face awareness at all.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cinb  # noqa: E402
from cinb import data  # noqa: E402
from cinb.ai import faceeffect as fe  # noqa: E402
from cinb.ai.faces import detect  # noqa: E402

PORTRAITS = ("astronaut", "grace_hopper", "camera")
SIZE = (1920, 1080)


def picture(name: str) -> np.ndarray:
    """The portrait at 1920 x 1080 (enlarged to 1080 px tall, edge columns repeated out to 1920 px)."""
    import cv2

    img = Image.open(getattr(data, name)()).convert("RGB")
    scale = SIZE[1] / img.height
    img = img.resize((round(img.width * scale), SIZE[1]), Image.Resampling.LANCZOS)
    rgb = np.asarray(img)
    extra = SIZE[0] - rgb.shape[1]
    return cv2.copyMakeBorder(rgb, 0, 0, extra // 2, extra - extra // 2, cv2.BORDER_REPLICATE)


def cpu_ms(fn, runs: int) -> float:
    fn()  # warm-up: models loaded, caches filled
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    import cv2

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rows = []
    for name in PORTRAITS:
        rgb = picture(name)
        png = io.BytesIO()
        Image.fromarray(rgb).save(png, "PNG", compress_level=1)
        src = png.getvalue()
        faces = fe.treatable(detect(rgb))
        row = {"picture": name, "size": f"{rgb.shape[1]}x{rgb.shape[0]}", "faces": len(faces),
               "face_px": round(faces[0].width) if faces else 0}
        row["beautify"] = cpu_ms(lambda rgb=rgb: fe.beautify(rgb), args.runs)
        row["detect"] = cpu_ms(lambda rgb=rgb: detect(rgb), args.runs)
        row["mesh"] = cpu_ms(lambda rgb=rgb, faces=faces: fe.face_shapes(rgb, faces), args.runs)
        shapes = fe.face_shapes(rgb, faces)
        # effects alone: beautify with the faces given still runs the mesh; subtract it
        row["effects"] = max(0.0, cpu_ms(lambda rgb=rgb, faces=faces: fe.beautify(rgb, faces=faces), args.runs)
                             - row["mesh"])
        row["endpoint"] = cpu_ms(lambda src=src: cinb.ci_process(src, "face-effect", type="face-beautify"),
                                 args.runs)
        row["segmentation"] = cpu_ms(lambda src=src: cinb.ci_process(src, "face-effect", type="face-segmentation"),
                                     args.runs)
        row["bilateral"] = cpu_ms(lambda rgb=rgb: cv2.bilateralFilter(rgb, 9, 75, 75), args.runs)
        row["landmarks"] = [s.source for s in shapes]
        rows.append({k: (round(v, 1) if isinstance(v, float) else v) for k, v in row.items()})
        print(json.dumps(rows[-1]), flush=True)
    keys = ("beautify", "detect", "mesh", "effects", "endpoint", "segmentation", "bilateral")
    print("median over pictures (CPU ms):",
          json.dumps({k: round(statistics.median(r[k] for r in rows), 1) for k in keys}))
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
