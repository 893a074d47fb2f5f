"""Compression round 2 (issue 14): today's cinb vs this cinb, side by side, on two corpora, in one run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_compression_round2.py [--old b85cb70] [--prev 3e853bb] [--n 12]
        [--avif-n 6] [--avif-side 512] [--skip old,prev,mozjpeg,avif] [--json out.json]

Corpora: ``natural`` = the first ``n`` photos of :mod:`benchmarks.natural` (1024 px, JPEG q95 4:4:4);
``graphics`` = ``n`` images of :mod:`benchmarks.graphics` (UI screenshots, charts, scanned pages drawn
with PIL, 960x640 PNG), converted to JPEG by the rule (``imageMogr2/format/jpg|imageSlim``).

"Old" is the ``cinb`` package of commit ``--old`` (extracted with ``git archive`` to a temporary folder
and run in a child process, the same Python and libraries); "prev" likewise for commit ``--prev`` (the
first round-2 version, which drove jpegli through ctypes against pyjpegli's private symbols); "new" is
the working tree (cinb's C extension :mod:`cinb.codecs.jpegcoef`). Per image:

- ``yjpeg``: ``imageMogr2/format/yjpeg/quality/85``: bytes, and whether the decoded pixels are identical;
- ``imageSlim``: bytes, cinb's score, the reference ``ssimulacra2`` package's score (against the decoded
  source pixels), process CPU seconds;
- (the search on jpegli's Butteraugli distance, measured in the first round-2 runs, needed jpegli's C
  API through ctypes and went with it; its figures stay in benchmarks/RESULTS.md);
- ``mozjpeg``: a per-photo second candidate: the lowest libvips/mozjpeg quality (``trellis_quant``,
  ``overshoot_deringing``, ``optimize_scans``, ``quant_table=3``) meeting the same target; reported as
  the total of min(imageSlim, mozjpeg) and its added CPU;
- AVIF on the first ``avif-n`` images downscaled to ``avif-side``: the lowest quality reaching
  SSIMULACRA2 80 and 85 with today's encoder (Pillow's libavif, speed 6, cinb's chroma rule), and with
  libheif's libaom through pyvips at 8 and 10 bits (``effort`` 3 = aom speed 6, 4:4:4).

CPU seconds are ``time.process_time`` of this process (all threads), indicative only on a loaded machine.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = 80.05


def _slim_rule(path: str) -> str:
    return "imageSlim" if path.endswith(".jpg") else "imageMogr2/format/jpg|imageSlim"


def measure_cinb(paths: list[str]) -> list[dict]:
    """yjpeg and imageSlim with whatever ``cinb`` is first on sys.path (run for old and new)."""
    import numpy as np
    from PIL import Image

    import cinb

    rows = []
    for path in paths:
        src = Path(path).read_bytes()
        t = time.process_time()
        slim = cinb.process(src, _slim_rule(path))
        cpu = time.process_time() - t
        y = cinb.process(src, "imageMogr2/format/yjpeg/quality/85")
        pix = np.asarray(Image.open(io.BytesIO(y.data)).convert("RGB"))
        rows.append({"path": path, "slim_bytes": len(slim.data), "slim_score": slim.info.get("slim_score"),
                     "slim_flag": slim.response.get("X-Slimflag"), "slim_cpu": cpu,
                     "slim_hex": slim.data.hex(), "yjpeg_bytes": len(y.data),
                     "yjpeg_pixels": hashlib.sha1(pix.tobytes()).hexdigest()})
    return rows


def _old_rows(commit: str, paths: list[str]) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "cinb"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        out = Path(tmp) / "rows.json"
        code = (f"import sys, json; sys.path.insert(0, {tmp!r}); sys.path.insert(1, {str(REPO / 'benchmarks')!r}); "
                f"import bench_compression_round2 as b, cinb; assert cinb.__file__.startswith({tmp!r}), cinb.__file__; "
                f"json.dump(b.measure_cinb({paths!r}), open({str(out)!r}, 'w'))")
        env = dict(os.environ, PYTHONPATH=tmp)
        subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp)
        return json.loads(out.read_text())


def _reference_score(a, b) -> float:
    from ssimulacra2 import compute_ssimulacra2

    pa, pb = io.BytesIO(), io.BytesIO()
    a.save(pa, "PNG")
    b.save(pb, "PNG")
    pa.seek(0)
    pb.seek(0)
    return float(compute_ssimulacra2(pa, pb))


def _search(encode, ref, q_high: int, target: float = TARGET):
    from cinb.codecs.quality_search import find_boundary
    from cinb.compression.encoders import decode_image

    def probe(q):
        data = encode(q)
        return float(ref.ssimulacra2(decode_image(data))), data

    _, hit = find_boundary(probe, q_high=q_high, target=target, below=lambda s: s < target)
    return hit


def mozjpeg_search(frame, ref):
    import pyvips

    img = pyvips.Image.new_from_memory(frame.tobytes(), frame.width, frame.height, 3, "uchar")

    def enc(q):
        return img.jpegsave_buffer(Q=q, optimize_coding=True, interlace=True, trellis_quant=True,
                                   overshoot_deringing=True, optimize_scans=True, quant_table=3,
                                   subsample_mode="on", keep="none")

    hit = _search(enc, ref, 95)
    return None if hit is None else (len(hit.payload), hit.value)


def avif_row(frame, ref) -> dict:
    import pyvips

    from cinb.compression.encoders import encode_image

    img = pyvips.Image.new_from_memory(frame.tobytes(), frame.width, frame.height, 3, "uchar")
    encoders = {
        "pillow8": lambda q: encode_image(frame, "avif", q),
        "vips8": lambda q: img.heifsave_buffer(compression="av1", Q=q, bitdepth=8, effort=3,
                                                subsample_mode="off", keep="none"),
        "vips10": lambda q: img.heifsave_buffer(compression="av1", Q=q, bitdepth=10, effort=3,
                                                 subsample_mode="off", keep="none"),
    }
    out = {}
    for name, enc in encoders.items():
        for level in (80, 85):
            t = time.process_time()
            hit = _search(enc, ref, 100, target=level)
            out[f"{name}@{level}"] = {"bytes": None if hit is None else len(hit.payload),
                                      "score": None if hit is None else hit.value,
                                      "cpu": time.process_time() - t}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", default="b85cb70", help="commit of today's cinb")
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--avif-n", type=int, default=6)
    ap.add_argument("--avif-side", type=int, default=512)
    ap.add_argument("--prev", default="3e853bb", help="commit of round 2's ctypes version")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: old,prev,mozjpeg,avif")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    sys.path.insert(0, str(REPO))
    from PIL import Image

    from benchmarks.graphics import ensure_graphics
    from benchmarks.natural import ensure_natural
    from cinb.compression.metrics import Reference

    print(f"load average before: {os.getloadavg()}", flush=True)
    corpora = {"natural": [str(p) for p in ensure_natural(n=args.n)],
               "graphics": [str(p) for p in ensure_graphics(n=args.n)]}
    results = {}
    for corpus, paths in corpora.items():
        t0 = time.time()
        old = _old_rows(args.old, paths) if "old" not in skip else [None] * len(paths)
        prev = _old_rows(args.prev, paths) if "prev" not in skip else [None] * len(paths)
        new = measure_cinb(paths)
        rows = []
        for i, (path, o, pv, n) in enumerate(zip(paths, old, prev, new, strict=True)):
            with Image.open(path) as im:
                src = im.convert("RGB")
            src_pixels = Image.open(io.BytesIO(Path(path).read_bytes())).convert("RGB")
            ref = Reference(src)
            row = {"path": Path(path).name, "new": n, "old": o, "prev": pv}
            for r in (n, o, pv):
                if r is not None:
                    out = Image.open(io.BytesIO(bytes.fromhex(r.pop("slim_hex")))).convert("RGB")
                    r["slim_ref"] = _reference_score(src_pixels, out)
            if "mozjpeg" not in skip:
                t = time.process_time()
                row["mozjpeg"] = mozjpeg_search(src, ref)
                row["mozjpeg_cpu"] = time.process_time() - t
            if "avif" not in skip and i < args.avif_n:
                small = src.copy()
                small.thumbnail((args.avif_side, args.avif_side), Image.Resampling.LANCZOS)
                row["avif"] = avif_row(small, Reference(small))
            rows.append(row)
            print(corpus, row["path"], {k: v for k, v in row.items() if k not in ("path",)}, flush=True)
        results[corpus] = {"rows": rows, "wall_s": time.time() - t0}
    print(f"load average after: {os.getloadavg()}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    report(results)


def _pct(new: float, old: float) -> str:
    return f"{(1 - new / old) * 100:+.1f} %"


def report(results: dict) -> None:
    for corpus, res in results.items():
        rows = res["rows"]
        print(f"\n### {corpus} ({len(rows)} images, {res['wall_s']:.0f} s wall)\n")
        new_y = sum(r["new"]["yjpeg_bytes"] for r in rows)
        new_s = sum(r["new"]["slim_bytes"] for r in rows)
        print("| measure | today's cinb | this cinb | fewer bytes |\n|---|---|---|---|")
        if rows[0]["old"] is not None:
            old_y = sum(r["old"]["yjpeg_bytes"] for r in rows)
            same = sum(r["old"]["yjpeg_pixels"] == r["new"]["yjpeg_pixels"] for r in rows)
            print(f"| yjpeg q85 bytes (identical pixels: {same}/{len(rows)}) | {old_y:,} | {new_y:,} | "
                  f"{_pct(new_y, old_y)} |")
            old_s = sum(r["old"]["slim_bytes"] for r in rows)
            print(f"| imageSlim bytes | {old_s:,} | {new_s:,} | {_pct(new_s, old_s)} |")
            mins = {k: (min(r[k]["slim_score"] or 100 for r in rows), min(r[k]["slim_ref"] for r in rows))
                    for k in ("old", "new")}
            print(f"| imageSlim lowest score, cinb / reference | {mins['old'][0]:.2f} / {mins['old'][1]:.2f} | "
                  f"{mins['new'][0]:.2f} / {mins['new'][1]:.2f} | |")
            cpu_o = sum(r["old"]["slim_cpu"] for r in rows)
            cpu_n = sum(r["new"]["slim_cpu"] for r in rows)
            print(f"| imageSlim CPU s (indicative) | {cpu_o:.0f} | {cpu_n:.0f} | |")
        if rows[0].get("prev") is not None:
            pv_y = sum(r["prev"]["yjpeg_bytes"] for r in rows)
            pv_s = sum(r["prev"]["slim_bytes"] for r in rows)
            same = sum(r["prev"]["yjpeg_pixels"] == r["new"]["yjpeg_pixels"] for r in rows)
            cpu_p = sum(r["prev"]["slim_cpu"] for r in rows)
            cpu_n = sum(r["new"]["slim_cpu"] for r in rows)
            lowest = (min(r["prev"]["slim_score"] or 100 for r in rows), min(r["prev"]["slim_ref"] for r in rows))
            print(f"| round 2 via ctypes (prev): yjpeg (identical pixels {same}/{len(rows)}) / imageSlim bytes | "
                  f"{pv_y:,} / {pv_s:,} | {new_y:,} / {new_s:,} | {_pct(new_y, pv_y)} / {_pct(new_s, pv_s)} |")
            print(f"| prev: imageSlim lowest score cinb / reference; CPU s prev / new | {lowest[0]:.2f} / "
                  f"{lowest[1]:.2f} | {cpu_p:.0f} / {cpu_n:.0f} | |")
        if any(r.get("mozjpeg") for r in rows):
            both = sum(min(r["new"]["slim_bytes"], r["mozjpeg"][0] if r.get("mozjpeg") else 10**12) for r in rows)
            cpu = sum(r.get("mozjpeg_cpu", 0) for r in rows)
            print(f"| + mozjpeg candidate (min per image) | | {both:,} | {_pct(both, new_s)} vs this imageSlim, "
                  f"+{cpu:.0f} CPU s |")
        av = [r["avif"] for r in rows if r.get("avif")]
        if av:
            for level in (80, 85):
                ok = [a for a in av if all(a[f"{k}@{level}"]["bytes"] for k in ("pillow8", "vips8", "vips10"))]
                tot = {k: sum(a[f"{k}@{level}"]["bytes"] for a in ok) for k in ("pillow8", "vips8", "vips10")}
                cpu = {k: sum(a[f"{k}@{level}"]["cpu"] for a in ok) for k in ("pillow8", "vips8", "vips10")}
                print(f"| AVIF at {level} ({len(ok)} images): Pillow 8-bit / vips 8-bit / vips 10-bit | "
                      f"{tot['pillow8']:,} | {tot['vips8']:,} / {tot['vips10']:,} | 10-bit vs Pillow "
                      f"{_pct(tot['vips10'], tot['pillow8'])}, vs vips 8-bit {_pct(tot['vips10'], tot['vips8'])}; "
                      f"CPU s {cpu['pillow8']:.0f} / {cpu['vips8']:.0f} / {cpu['vips10']:.0f} |")


if __name__ == "__main__":
    main()
