"""Which AVIF settings give the fewest bytes at equal SSIMULACRA2: speed, chroma subsampling, libaom tune.

Run from the repository root::

    .venv/bin/python benchmarks/bench_avif_settings.py [--n 12] [--workers 2] [--slow]

Photos: the first ``--n`` of ``benchmarks.natural.ensure_natural()`` (real photographs, 1024 px, JPEG q95
4:4:4). For every photo, Pillow JPEG (libjpeg, 4:2:0, the baseline) and each AVIF variant are encoded
at qualities 30-95 (step 5) and scored with SSIMULACRA2 against the decoded source; the bytes at score
60/70/80/85/90 are interpolated on each curve (as in ``bench_compression.py``) and compared with
Pillow JPEG at the same score. ``total`` = 1 - sum(AVIF bytes) / sum(JPEG bytes) over the photos where
both curves reach that score; ``median`` = the median per-photo saving. ``CPU s`` = encode time of the
14 AVIF qualities, summed over the photos (``max_threads=1``, so it is CPU time).

Variants: ``cinb`` is what ``cinb.codecs.avif`` does (speed 6, 4:4:4 from quality 70, 4:2:0 below);
the others change one thing. ``--slow`` adds speed 5 (several times slower).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_compression import SCORE_LEVELS, bytes_at  # noqa: E402
from cinb.codecs.avif import avif_subsampling  # noqa: E402
from cinb.compression.encoders import decode_image  # noqa: E402
from cinb.compression.metrics import Reference  # noqa: E402

QUALITIES = tuple(range(30, 100, 5))
VARIANTS = {
    "cinb (speed 6, 4:4:4 from q70)": {},
    "4:2:0 at every quality (Pillow's default)": {"subsampling": "4:2:0"},
    "4:4:4 at every quality": {"subsampling": "4:4:4"},
    "speed 7": {"speed": 7},
    "speed 8": {"speed": 8},
    "tune=ssimulacra2 (libaom 3.13+)": {"advanced": {"tune": "ssimulacra2"}},
    "sharpness=2": {"advanced": {"sharpness": "2"}},
}
SLOW = {"speed 5": {"speed": 5}}


def encode_avif(img: Image.Image, q: int, variant: dict) -> bytes:
    kw = {"advanced": variant["advanced"]} if "advanced" in variant else {}
    sub = variant.get("subsampling") or avif_subsampling(q)
    buf = io.BytesIO()
    img.save(buf, "AVIF", quality=q, speed=variant.get("speed", 6), subsampling=sub, max_threads=1, **kw)
    return buf.getvalue()


def curves_for(row: dict, *, variants: dict) -> dict:
    img = Image.open(row["path"]).convert("RGB")
    ref = Reference(img)
    out = {"jpeg": [], "cpu": {}}
    for q in QUALITIES:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q)
        out["jpeg"].append((buf.tell(), ref.ssimulacra2(decode_image(buf.getvalue()))))
    for name, variant in variants.items():
        pts, cpu = [], 0.0
        for q in QUALITIES:
            t = time.process_time()
            data = encode_avif(img, q, variant)
            cpu += time.process_time() - t
            pts.append((len(data), ref.ssimulacra2(decode_image(data))))
        out[name], out["cpu"][name] = pts, cpu
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--slow", action="store_true", help="also speed 5")
    args = ap.parse_args()

    from benchmarks.natural import ensure_natural
    from cinb.collection import map_values

    variants = {**VARIANTS, **(SLOW if args.slow else {})}
    rows = [{"path": str(p)} for p in ensure_natural(n=args.n)]
    outs = map_values(rows, curves_for, fn_kwargs={"variants": variants}, workers=args.workers, desc="avif",
                      chunksize=1)
    errors = [o["error"] for o in outs if o.get("error")]
    outs = [o for o in outs if not o.get("error")]
    print(f"{len(outs)} natural photos; AVIF bytes vs Pillow JPEG at equal SSIMULACRA2 (total / median saving)")
    print("| variant | " + " | ".join(f"score {lv}" for lv in SCORE_LEVELS) + " | CPU s |")
    print("|---|" + "---|" * (len(SCORE_LEVELS) + 1))
    for name in variants:
        cells = []
        for lv in SCORE_LEVELS:
            pairs = np.array([(bytes_at(o[name], lv), bytes_at(o["jpeg"], lv)) for o in outs])
            pairs = pairs[~np.isnan(pairs).any(axis=1)]
            if not len(pairs):
                cells.append("—")
                continue
            cells.append(f"{100 * (1 - pairs[:, 0].sum() / pairs[:, 1].sum()):.1f} / "
                         f"{100 * np.median(1 - pairs[:, 0] / pairs[:, 1]):.1f} % (n={len(pairs)})")
        cpu = sum(o["cpu"][name] for o in outs)
        print(f"| {name} | " + " | ".join(cells) + f" | {cpu:.0f} |")
    if errors:
        print("errors:", errors)


if __name__ == "__main__":
    main()
