"""cinb.process vs pyvips vs plain Pillow on the rule ``imageMogr2/thumbnail/512x512/quality/85!``:
speed at equal settings and at equal measured quality, on two photo sets, plus a batch view.

Run from the repository root::

    .venv/bin/python benchmarks/bench_thumbnail.py [--set photos|natural|all] [--photos 20] [--rounds 7]
    .venv/bin/python benchmarks/bench_thumbnail.py --batch [--workers 2] [--rounds 3]

Photo sets
    ``photos``: ``benchmarks.photos.ensure_photos`` (12-20 Mpx mosaics of real-photo tiles with
    sensor noise, camera JPEG settings). ``natural``: :func:`ensure_large_natural`, six whole
    camera photographs of 9.8-12.2 Mpx from Debian wallpaper packages (:mod:`benchmarks.natural`
    fetches them; licences there), smoother content, re-encoded as a camera would write them.

Quality (no contestant's resampler is the yardstick)
    Each output is decoded and scored with SSIMULACRA2 (:mod:`cinb.compression.metrics`) against
    two references made from the fully decoded photo at the output's size
    (:mod:`benchmarks.thumbnail_reference`): the exact area average in linear light (``area``)
    and Lanczos-3 in linear light (``lanczos``). Scored twice: the resampled pixels before any
    JPEG encoding (``pixels``), and the q85 JPEG (``jpeg``). "Equal quality" is found by sweeping
    pyvips' ``Q`` on its own resampled pixels (and cinb's quality on cinb's) for the setting whose
    mean ``area`` score over the set first reaches the other's q85 score.

Timing
    One process, one thread each (``VIPS_CONCURRENCY=1``, libvips' cache off), contestants
    interleaved photo by photo, their order rotated each round; the median of ``--rounds`` per photo
    is summed, in wall time (``perf_counter``) and in CPU time (``process_time``, robust to other
    processes on shared cores). The load average is printed before and after.

Batch (``--batch``)
    ``cinb.apply`` on a folder of both sets with ``--workers`` fork workers vs a
    ``multiprocessing`` pool of as many pyvips workers writing the same thumbnails; each run in a
    fresh interpreter, alternated, median of ``--rounds``; peak RSS of the largest worker.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("VIPS_CONCURRENCY", "1")  # before pyvips loads: one thread each, a per-core race

import numpy as np
from PIL import Image

import cinb
from cinb.compression.metrics import Reference
from photos import ensure_photos
from thumbnail_reference import area_reference, lanczos_reference

BOX = 512
QUALITY = 85
RULE = f"imageMogr2/thumbnail/{BOX}x{BOX}/quality/{QUALITY}!"  # '!': 85 whatever the source quality
REPO = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------------------ photo sets

#: The natural corpus' photos of about 10 Mpx and more (benchmarks/natural.py lists author and
#: licence of each), with the centred crop that keeps them at most ~12 Mpx (None: whole photo).
LARGE_NATURAL = [
    ("Wine_by_Jakkub_Mede.jpg", None),  # 2560x3837 interior, portrait
    ("Bridge_by_Sander_Klootwijk.jpg", None),  # 4352x2448 cables against a wide sky
    ("sunset_by_Aitzol_Berasategi.jpg", None),  # 4272x2848 backlit hills
    ("Dragonfly_by_Bolly.jpg", (4000, 3000)),  # 4224x3168 leaves and sky
    ("seeding_by_Clements_Engelhardt.jpg", (4608, 2592)),  # 5312x2988 dandelions at sunset
    ("Kleiber_by_Lukas_Baubkus.jpg", (4608, 2592)),  # 6028x3391 nuthatch on bark, bokeh
]
LARGE_NATURAL_VERSION = 1


def ensure_large_natural(cache_dir: str | os.PathLike = "benchmarks/.cache/natural") -> list[Path]:
    """Six whole camera photographs of 9.8-12.2 Mpx, as a camera writes them; built once, cached.

    Sources: :data:`LARGE_NATURAL` from :data:`benchmarks.natural.PHOTOS` (Debian wallpaper
    packages; CC-BY-4.0, CC-BY-SA-3.0/4.0, CC0-1.0: see that module). Recipe: the package file,
    centre-cropped to the size listed (no scaling, so no upscale), baseline JPEG quality 92, 4:2:0,
    no Huffman optimisation (as in-camera encoders), no EXIF. Files ``large-natural-NN.jpg`` in
    ``<cache_dir>/large-v1/``, written atomically.
    """
    import natural

    root = Path(cache_dir)
    root = root if root.is_absolute() else REPO / root
    out_dir = root / f"large-v{LARGE_NATURAL_VERSION}"
    paths = [out_dir / f"large-natural-{i:02d}.jpg" for i in range(len(LARGE_NATURAL))]
    if all(p.exists() for p in paths):
        return paths
    by_name = {Path(ph.path).name: ph for ph in natural.PHOTOS}
    photos = [by_name[name] for name, _ in LARGE_NATURAL]
    natural._fetch_and_extract({ph.package for ph in photos}, root)
    out_dir.mkdir(parents=True, exist_ok=True)
    for (_name, crop), ph, dst in zip(LARGE_NATURAL, photos, paths, strict=True):
        with Image.open(root / "src" / ph.package / ph.path) as im:
            im = im.convert("RGB")
            if crop is not None:
                x, y = (im.width - crop[0]) // 2, (im.height - crop[1]) // 2
                im = im.crop((x, y, x + crop[0], y + crop[1]))
            tmp = dst.with_suffix(".part")
            im.save(tmp, "JPEG", quality=92, subsampling=2, optimize=False, progressive=False)
            os.replace(tmp, dst)
    return paths


# ------------------------------------------------------------------------------------ contestants


def run_cinb(path: Path, q: int = QUALITY) -> bytes:
    return cinb.process(path, f"imageMogr2/thumbnail/{BOX}x{BOX}/quality/{q}!").data


def run_vips(path: Path, q: int = QUALITY) -> bytes:
    import pyvips

    return pyvips.Image.thumbnail(str(path), BOX, height=BOX).jpegsave_buffer(Q=q)


def run_pillow(path: Path, q: int = QUALITY) -> bytes:
    """What most people write: open, resize with LANCZOS, save."""
    with Image.open(path) as im:
        s = min(BOX / im.width, BOX / im.height)
        out = im.resize((max(1, int(im.width * s + 0.5)), max(1, int(im.height * s + 0.5))),
                        Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=q)
    return buf.getvalue()


def pixels_cinb(path: Path) -> Image.Image:
    return cinb.process(path, f"imageMogr2/thumbnail/{BOX}x{BOX}/format/png").image.convert("RGB")


def pixels_vips(path: Path) -> Image.Image:
    import pyvips

    return Image.fromarray(pyvips.Image.thumbnail(str(path), BOX, height=BOX).numpy())


def pixels_pillow(path: Path) -> Image.Image:
    with Image.open(path) as im:
        s = min(BOX / im.width, BOX / im.height)
        return im.convert("RGB").resize((max(1, int(im.width * s + 0.5)), max(1, int(im.height * s + 0.5))),
                                        Image.Resampling.LANCZOS)


def encode_cinb(pixels: Image.Image, q: int) -> bytes:
    """cinb's encoder on given pixels (what ``process`` writes after its resize)."""
    return cinb.process(pixels, f"imageMogr2/quality/{q}!/format/jpg").data


def encode_vips(pixels: Image.Image, q: int) -> bytes:
    import pyvips

    return pyvips.Image.new_from_array(np.asarray(pixels)).copy(interpretation="srgb").jpegsave_buffer(Q=q)


def encode_pillow(pixels: Image.Image, q: int) -> bytes:
    buf = io.BytesIO()
    pixels.save(buf, "JPEG", quality=q)
    return buf.getvalue()


CONTESTANTS = {
    "cinb": (run_cinb, pixels_cinb, encode_cinb),
    "pyvips": (run_vips, pixels_vips, encode_vips),
    "pillow": (run_pillow, pixels_pillow, encode_pillow),
}
SWEEP = range(78, 93)  # equal-quality settings found so far: 83-88

# ------------------------------------------------------------------------------------ quality


def _decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def quality_table(photos: list[Path]) -> dict:
    """Per contestant: mean SSIMULACRA2 of pixels and q85 JPEG against both references, bytes, and
    the mean ``area`` score of each quality in :data:`SWEEP` (cinb's and pyvips' encoders)."""
    names = list(CONTESTANTS)
    scores = {n: {"pixels_area": [], "pixels_lanczos": [], "jpeg_area": [], "jpeg_lanczos": [], "bytes": []}
              for n in names}
    sweep = {n: {q: [] for q in SWEEP} for n in ("cinb", "pyvips")}
    for path in photos:
        with Image.open(path) as im:
            full = im.convert("RGB")
        refs: dict = {}

        def ref(size, kind, full=full, refs=refs):
            if (size, kind) not in refs:
                make = area_reference if kind == "area" else lanczos_reference
                refs[size, kind] = Reference(make(full, size))
            return refs[size, kind]

        for n in names:
            run, pixels, encode = CONTESTANTS[n]
            px = pixels(path)
            jpeg = run(path)
            dec = _decoded(jpeg)
            for kind in ("area", "lanczos"):
                scores[n][f"pixels_{kind}"].append(ref(px.size, kind).ssimulacra2(np.asarray(px)))
                scores[n][f"jpeg_{kind}"].append(ref(px.size, kind).ssimulacra2(dec))
            scores[n]["bytes"].append(len(jpeg))
            if n in sweep:  # the sweep encodes the contestant's own pixels: check that is what it writes
                assert np.array_equal(_decoded(encode(px, QUALITY)), dec), (n, path)
            if n in sweep:
                area = ref(px.size, "area")
                for q in SWEEP:
                    sweep[n][q].append(area.ssimulacra2(_decoded(encode(px, q))))
        print(f"  scored {path.name}", file=sys.stderr, flush=True)
    out = {n: {k: float(np.mean(v)) for k, v in s.items()} for n, s in scores.items()}
    for n, table in sweep.items():
        out[n]["sweep"] = {q: float(np.mean(v)) for q, v in table.items()}
    return out


def equal_quality(sweep: dict[int, float], target: float) -> int:
    """The lowest quality whose mean score reaches ``target`` (the highest swept if none does)."""
    for q in sorted(sweep):
        if sweep[q] >= target:
            return q
    return max(sweep)


# ------------------------------------------------------------------------------------ timing


def time_set(photos: list[Path], runs: dict, rounds: int) -> dict[str, dict[str, float]]:
    """Sum over photos of the median wall and CPU seconds of each run, interleaved photo by photo."""
    names = list(runs)
    totals = {n: {"wall": 0.0, "cpu": 0.0} for n in names}
    for path in photos:
        wall = {n: [] for n in names}
        cpu = {n: [] for n in names}
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for n in order:
                t0, c0 = time.perf_counter(), time.process_time()
                runs[n](path)
                cpu[n].append(time.process_time() - c0)
                wall[n].append(time.perf_counter() - t0)
        for n in names:
            totals[n]["wall"] += statistics.median(wall[n])
            totals[n]["cpu"] += statistics.median(cpu[n])
    return totals


def bench_set(label: str, photos: list[Path], rounds: int) -> dict:
    import pyvips

    pyvips.cache_set_max(0)
    with Image.open(photos[0]) as im:
        first = f"{im.width}x{im.height}"
    mpx = [Image.open(p).width * Image.open(p).height / 1e6 for p in photos]
    print(f"\n== {label}: {len(photos)} JPEGs, {min(mpx):.1f}-{max(mpx):.1f} Mpx (e.g. {first}); rule {RULE}")
    print(f"libvips {pyvips.version(0)}.{pyvips.version(1)}, Pillow {Image.__version__}, "
          f"VIPS_CONCURRENCY={os.environ['VIPS_CONCURRENCY']}")
    quality = quality_table(photos)
    print("quality: mean SSIMULACRA2 vs the full decode's area average (area) / Lanczos-3 (lanczos), "
          "both in linear light")
    print(f"  {'':8s} {'pixels area':>11s} {'lanczos':>8s} {'q85 jpeg area':>14s} {'lanczos':>8s} {'bytes':>8s}")
    for n, s in quality.items():
        print(f"  {n:8s} {s['pixels_area']:11.2f} {s['pixels_lanczos']:8.2f} {s['jpeg_area']:14.2f} "
              f"{s['jpeg_lanczos']:8.2f} {s['bytes']:8.0f}")
    q_vips = equal_quality(quality["pyvips"]["sweep"], quality["cinb"]["jpeg_area"])
    q_cinb = equal_quality(quality["cinb"]["sweep"], quality["pyvips"]["jpeg_area"])
    print(f"  equal quality: pyvips needs Q={q_vips} (area {quality['pyvips']['sweep'][q_vips]:.2f}) to reach "
          f"cinb q85's {quality['cinb']['jpeg_area']:.2f}; cinb reaches pyvips Q85's "
          f"{quality['pyvips']['jpeg_area']:.2f} at q{q_cinb} ({quality['cinb']['sweep'][q_cinb]:.2f})")
    runs = {"cinb": run_cinb, "pyvips": run_vips, "pillow": run_pillow}
    if q_vips != QUALITY:
        runs[f"pyvips Q{q_vips}"] = lambda p: run_vips(p, q_vips)
    if q_cinb != QUALITY:
        runs[f"cinb q{q_cinb}"] = lambda p: run_cinb(p, q_cinb)
    load0 = os.getloadavg()
    totals = time_set(photos, runs, rounds)
    load1 = os.getloadavg()
    print(f"timing: median of {rounds} interleaved rounds per photo, summed; load average "
          f"{load0[0]:.1f} before, {load1[0]:.1f} after")
    for n, t in totals.items():
        print(f"  {n:14s} wall {t['wall']:7.3f} s ({1000 * t['wall'] / len(photos):6.1f} ms/photo)   "
              f"cpu {t['cpu']:7.3f} s ({1000 * t['cpu'] / len(photos):6.1f} ms/photo)")
    ratios = {}
    for kind in ("wall", "cpu"):
        c, v, p = totals["cinb"][kind], totals["pyvips"][kind], totals["pillow"][kind]
        veq = totals.get(f"pyvips Q{q_vips}", totals["pyvips"])[kind]
        ratios[kind] = {"cinb/pyvips": c / v, "cinb/pyvips_equal_quality": c / veq, "pillow/cinb": p / c}
        print(f"  {kind}: cinb / pyvips = {c / v:.2f}x (goal <= 1.00); cinb / pyvips at equal quality "
              f"(Q{q_vips}) = {c / veq:.2f}x (goal < 1.00); pillow / cinb = {p / c:.2f}x (goal >= 3)")
    return {"quality": quality, "q_vips_equal": q_vips, "q_cinb_equal": q_cinb, "totals": totals,
            "ratios": ratios, "load": [load0, load1]}


# ------------------------------------------------------------------------------------ batch

_BATCH_CINB = """
import json, os, resource, sys, time
t0 = time.perf_counter()
import cinb, cinb.collection  # a library's import is outside the batch's time, as pyvips' is
imported = time.perf_counter() - t0
src, out, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
df = cinb.apply(src, {rule!r}, out, max_workers=workers, pool="fork", progress=False, overwrite=True)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
assert (df["status"] == "done").all(), df["error"].dropna().tolist()[:3]
print(json.dumps({{"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "maxrss_mb": ru.ru_maxrss / 1024,
                  "files": len(df), "import": imported}}))
"""

_BATCH_VIPS = """
import json, os, resource, sys, time
from multiprocessing import get_context
from pathlib import Path
os.environ["VIPS_CONCURRENCY"] = "1"

def one(args):
    import pyvips
    pyvips.cache_set_max(0)
    src, dst = args
    im = pyvips.Image.thumbnail(src, {box}, height={box})
    im.jpegsave(dst + ".part.jpg", Q={q})
    os.replace(dst + ".part.jpg", dst)
    return im.width

src, out, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
jobs = [(str(p), str(Path(out) / (p.stem + ".jpg"))) for p in sorted(Path(src).glob("*.jpg"))]
t0 = time.perf_counter()
with get_context("fork").Pool(workers) as pool:
    list(pool.imap_unordered(one, jobs, chunksize=1))
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({{"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "maxrss_mb": ru.ru_maxrss / 1024,
                  "files": len(jobs)}}))
"""


def bench_batch(photos: list[Path], workers: int, rounds: int) -> dict:
    """cinb.apply vs a pyvips process pool on one folder, alternated, each in a fresh interpreter."""
    tmp = Path(tempfile.mkdtemp(prefix="cinb-bench-thumb-"))
    try:
        src = tmp / "src"
        src.mkdir()
        for i, p in enumerate(photos):
            os.symlink(p.resolve(), src / f"{i:03d}-{p.name}")
        scripts = {"cinb.apply": _BATCH_CINB.format(rule=RULE),
                   "pyvips pool": _BATCH_VIPS.format(box=BOX, q=QUALITY)}
        runs: dict[str, list[dict]] = {n: [] for n in scripts}
        load0 = os.getloadavg()
        for r in range(rounds):
            order = list(scripts) if r % 2 == 0 else list(scripts)[::-1]
            for n in order:
                out = tmp / f"out-{n.split()[0]}"
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                env = dict(os.environ, PYTHONPATH=str(REPO))
                res = subprocess.run([sys.executable, "-c", scripts[n], str(src), str(out), str(workers)],
                                     capture_output=True, text=True, env=env, check=True)
                runs[n].append(json.loads(res.stdout.strip().splitlines()[-1]))
        load1 = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n== batch: {len(photos)} photos, {workers} workers each, median of {rounds} alternated runs; "
          f"load average {load0[0]:.1f} before, {load1[0]:.1f} after")
    summary = {}
    for n, rs in runs.items():
        s = {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "maxrss_mb")}
        summary[n] = s
        print(f"  {n:12s} wall {s['wall']:6.2f} s ({len(photos) / s['wall']:5.2f} photos/s)  "
              f"worker CPU {s['cpu']:6.2f} s  peak RSS of a worker {s['maxrss_mb']:6.0f} MB")
    print(f"  (cinb's first import of cinb.collection, outside the timer: "
          f"{statistics.median(r['import'] for r in runs['cinb.apply']):.2f} s)")
    c, v = summary["cinb.apply"], summary["pyvips pool"]
    print(f"  cinb.apply / pyvips pool: wall {c['wall'] / v['wall']:.2f}x, CPU {c['cpu'] / v['cpu']:.2f}x "
          f"(goal <= 1.00)")
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=("photos", "natural", "all"), default="all")
    ap.add_argument("--photos", type=int, default=20, help="photos of the 'photos' set")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--batch", action="store_true", help="cinb.apply vs a pyvips pool instead")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)
    sets = {}
    if args.set in ("photos", "all"):
        sets["photos"] = ensure_photos(n=args.photos, min_megapixels=12)
    if args.set in ("natural", "all"):
        sets["natural"] = ensure_large_natural()
    if args.batch:
        report = {"batch": bench_batch([p for ps in sets.values() for p in ps], args.workers, args.rounds)}
    else:
        report = {label: bench_set(label, photos, args.rounds) for label, photos in sets.items()}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
