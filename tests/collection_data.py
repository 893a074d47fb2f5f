"""A small folder mixing good, odd and broken images, for the collection tests (tests/test_collection*.py).

Built from datasets/sample (real photos) plus derived files whose expected analysis results are
known by construction.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from cinb import data

SAMPLE = data.sample_dir()

#: Files that must read fine, and those that must get an ``error`` from apply/analyze.
GOOD = ["astronaut.jpg", "coffee.jpg", "chelsea.jpg", "chelsea.png", "chelsea-copy.bmp", "chelsea-small.jpg",
        "rocket.jpg", "camera.png", "orientation-6.jpg", "not-really.jpg", "dark.jpg", "blurry.jpg",
        "gray-rgb.png", "panorama.jpg", "tiny.png", "flat.png"]
BAD = ["empty.jpg", "random.png", "truncated.jpg", "huge.png"]


def make_mixed_folder(root: Path) -> Path:
    """Write the mixed folder under ``root`` and return it."""
    folder = Path(root) / "mixed"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("astronaut.jpg", "coffee.jpg", "chelsea.jpg", "chelsea.png", "rocket.jpg", "camera.png",
                 "orientation-6.jpg", "truncated.jpg", "not-really.jpg"):
        shutil.copyfile(SAMPLE / name, folder / name)
    chelsea = Image.open(SAMPLE / "chelsea.png").convert("RGB")
    chelsea.save(folder / "chelsea-copy.bmp")  # same pixels, another container: exact duplicate
    chelsea.resize((300, 200), Image.Resampling.LANCZOS).save(folder / "chelsea-small.jpg", quality=70)
    coffee = Image.open(SAMPLE / "coffee.jpg")
    ImageEnhance.Brightness(coffee).enhance(0.12).save(folder / "dark.jpg", quality=90)
    Image.open(SAMPLE / "astronaut.jpg").filter(ImageFilter.GaussianBlur(6)).save(folder / "blurry.jpg", quality=90)
    Image.open(SAMPLE / "camera.png").convert("RGB").save(folder / "gray-rgb.png")
    Image.open(SAMPLE / "rocket.jpg").crop((0, 150, 640, 270)).save(folder / "panorama.jpg", quality=90)
    Image.open(SAMPLE / "rocket.jpg").resize((24, 16)).save(folder / "tiny.png")
    Image.new("RGB", (200, 200), (90, 140, 200)).save(folder / "flat.png")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "random.png").write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    Image.new("L", (40000, 2), 128).save(folder / "huge.png")  # a real PNG over CI's 30000 px side limit
    (folder / "notes.txt").write_text("not an image, and not image-named: a folder scan skips it")
    album = folder / "album.jpg"  # a directory named like an image
    album.mkdir(exist_ok=True)
    shutil.copyfile(SAMPLE / "rocket.jpg", album / "inner.jpg")
    return folder


def files_in(folder: Path) -> set[str]:
    """Every regular file under ``folder`` (relative paths), hidden ones included."""
    return {str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file()}


def tree_digest(folder: Path) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` to prove inputs were not touched."""
    out = {}
    for p in Path(folder).rglob("*"):
        if p.is_file():
            st = os.stat(p)
            out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out
