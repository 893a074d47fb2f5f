"""imageSlim's quality search: interpolation (cinb) vs plain bisection, in encodes and CPU time.

Run from the repository root::

    .venv/bin/python benchmarks/bench_slim_search.py [--n 24] [--workers 2]

For each of the first ``--n`` natural photos (``benchmarks.natural``) and each of yjpeg, WebP and AVIF,
both searches look for the lowest quality <= 90 whose SSIMULACRA2 stays >= 80 (imageSlim's rule),
with the same encoder, decoder and :class:`cinb.compression.metrics.Reference`. Reported: how often
they agree, encodes, and CPU seconds (process time, summed over photos).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cinb.compression.encoders import decode_image, encode_image  # noqa: E402
from cinb.compression.metrics import Reference  # noqa: E402
from cinb.compression.sweep import load_reference  # noqa: E402

slim_module = importlib.import_module("cinb.compression.slim")
THRESHOLD, Q_HIGH = 80.0, 90


def bisection(encode, ref, threshold, q_hi):
    """Plain bisection for the lowest passing quality (what imageSlim did before)."""
    def score(q):
        data = encode(q)
        return data, ref.ssimulacra2(decode_image(data))

    data, s = score(q_hi)
    if s < threshold:
        return None
    best, lo, hi = (data, q_hi, s), 1, q_hi - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        data, s = score(mid)
        if s >= threshold:
            best, hi = (data, mid, s), mid - 1
        else:
            lo = mid + 1
    return best


def one(row: dict, *, fmt: str) -> dict:
    frame, _ = load_reference(row["path"])
    ref = Reference(frame)
    count = [0]

    def encode(q):
        count[0] += 1
        return encode_image(frame, fmt, q)

    t = time.process_time()
    old = bisection(encode, ref, THRESHOLD, Q_HIGH)
    old_cpu, old_n, count[0] = time.process_time() - t, count[0], 0
    t = time.process_time()
    new = slim_module._search(encode, decode_image, ref, "ssimulacra2", THRESHOLD, Q_HIGH)
    return {"old_q": old and old[1], "new_q": new and new[1], "old_n": old_n, "new_n": count[0],
            "old_cpu": old_cpu, "new_cpu": time.process_time() - t,
            "old_bytes": old and len(old[0]), "new_bytes": new and len(new[0])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from benchmarks.natural import ensure_natural
    from cinb.collection import map_values

    rows = [{"path": str(p)} for p in ensure_natural(n=args.n)]
    print("| format | same quality | encodes: bisection → cinb | CPU s: bisection → cinb "
          "| differing photos (bisection q, cinb q) |")
    print("|---|---|---|---|---|")
    for fmt in ("yjpeg", "webp", "avif"):
        outs = [o for o in map_values(rows, one, fn_kwargs={"fmt": fmt}, workers=args.workers, progress=False)
                if not o.get("error")]
        same = sum(o["old_q"] == o["new_q"] for o in outs)
        diff = [(o["old_q"], o["new_q"]) for o in outs if o["old_q"] != o["new_q"]]
        print(f"| {fmt} | {same} / {len(outs)} | {sum(o['old_n'] for o in outs)} → {sum(o['new_n'] for o in outs)} | "
              f"{sum(o['old_cpu'] for o in outs):.1f} → {sum(o['new_cpu'] for o in outs):.1f} | {diff or '—'} |")


if __name__ == "__main__":
    main()
