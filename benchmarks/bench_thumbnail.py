"""cinb.process vs pyvips vs plain Pillow on the rule ``imageMogr2/thumbnail/512x512/quality/85``.

Run from the repository root::

    .venv/bin/python benchmarks/bench_thumbnail.py [--photos 20] [--rounds 3]

Each contestant makes the same output (fit inside 512x512, JPEG quality 85) from the same >= 12 Mpx
JPEG photos, one process, interleaved photo by photo so that machine noise hits everyone alike; the
best of ``--rounds`` per photo is summed. Printed: total seconds per contestant and the ratios.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

import cinb  # noqa: E402
from photos import ensure_photos  # noqa: E402

RULE = "imageMogr2/thumbnail/512x512/quality/85!"  # '!': force 85 whatever the source quality


def run_cinb(path: Path) -> tuple[bytes, tuple[int, int]]:
    r = cinb.process(path, RULE)
    return r.data, (r.width, r.height)


def run_vips(path: Path) -> tuple[bytes, tuple[int, int]]:
    import pyvips

    im = pyvips.Image.thumbnail(str(path), 512, height=512)
    return im.jpegsave_buffer(Q=85), (im.width, im.height)


def run_pillow(path: Path) -> tuple[bytes, tuple[int, int]]:
    """What most people write: open, resize with LANCZOS, save."""
    with Image.open(path) as im:
        s = min(512 / im.width, 512 / im.height)
        out = im.resize((max(1, int(im.width * s + 0.5)), max(1, int(im.height * s + 0.5))), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=85)
    return buf.getvalue(), out.size


CONTESTANTS = {"cinb": run_cinb, "pyvips": run_vips, "pillow": run_pillow}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    os.environ.setdefault("VIPS_CONCURRENCY", "1")  # one process, one thread each: a fair per-core race
    import pyvips

    pyvips.cache_set_max(0)
    photos = ensure_photos(n=args.photos, min_megapixels=12)
    totals = {name: 0.0 for name in CONTESTANTS}
    sizes = {}
    for path in photos:
        for name, fn in CONTESTANTS.items():
            best = float("inf")
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                data, size = fn(path)
                best = min(best, time.perf_counter() - t0)
            totals[name] += best
            sizes.setdefault(path.name, {})[name] = size
    mismatched = [p for p, s in sizes.items() if len({v for v in s.values()}) > 1]
    with Image.open(photos[0]) as im:
        print(f"{len(photos)} JPEG photos, e.g. {photos[0].name} {im.size[0]}x{im.size[1]}; rule {RULE}")
    print(f"libvips {pyvips.version(0)}.{pyvips.version(1)}, Pillow {Image.__version__}, VIPS_CONCURRENCY=1")
    for name, t in totals.items():
        print(f"  {name:7s} {t:7.3f} s total  {1000 * t / len(photos):7.1f} ms/photo")
    print(f"  cinb / pyvips = {totals['cinb'] / totals['pyvips']:.2f}x   (goal <= 1.10)")
    print(f"  pillow / cinb = {totals['pillow'] / totals['cinb']:.2f}x   (goal >= 3.0)")
    if mismatched:
        print(f"  note: output sizes differ by rounding on {len(mismatched)} photos, e.g. {sizes[mismatched[0]]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
