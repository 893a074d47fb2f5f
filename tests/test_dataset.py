"""The committed sample set (datasets/sample) and its generator (scripts/make_sample.py)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageCms, ImageOps

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "datasets" / "sample"
MANIFEST = json.loads((SAMPLE / "MANIFEST.json").read_text(encoding="utf-8"))

pillow_heif.register_heif_opener()


def _load_script():
    spec = importlib.util.spec_from_file_location("make_sample", REPO / "scripts" / "make_sample.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


make_sample = _load_script()


def _rgb(path_or_bytes) -> np.ndarray:
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with Image.open(src) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64)


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample")
    return out, make_sample.build(out)


def test_sources_match_their_checksums():
    info = make_sample.load_sources()
    assert len(info) >= 10
    for rec in info.values():
        assert rec["licence"] and rec["credit"] and rec["origin"]


def test_committed_files_match_manifest():
    on_disk = {p.name for p in SAMPLE.iterdir()} - {"MANIFEST.json"}
    assert on_disk == set(MANIFEST["files"])
    for name, rec in MANIFEST["files"].items():
        data = (SAMPLE / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == rec["sha256"], name
        assert len(data) == rec["bytes"]
        assert rec["source"] and rec["licence"] and rec["covers"], name


def test_script_reproduces_the_sample(rebuilt):
    out, manifest = rebuilt
    assert set(manifest["files"]) == set(MANIFEST["files"])
    same_libraries = manifest["generator"] == MANIFEST["generator"]
    for name, old in MANIFEST["files"].items():
        new = manifest["files"][name]
        if old["bit_exact"] and same_libraries:
            assert new["sha256"] == old["sha256"], f"{name} is no longer reproduced bit for bit"
        else:
            # x265/libavif output (and any codec after a library upgrade) may differ in bytes:
            # the decoded picture must still be the same kind of image.
            for key in ("format", "mode", "width", "height", "frames"):
                assert new[key] == old[key], (name, key)


def test_heic_and_avif_decode_close_to_their_source():
    coffee = make_sample.open_source("coffee.png")
    astro = make_sample.open_source("astronaut.png")
    for name, ref in (("photo.heic", coffee), ("photo.avif", astro)):
        got = _rgb(SAMPLE / name)
        assert got.shape == np.asarray(ref).shape
        assert np.abs(got - np.asarray(ref, dtype=np.float64)).mean() < 6, name


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_files_are_upright_after_transpose(orientation):
    path = SAMPLE / f"orientation-{orientation}.jpg"
    with Image.open(path) as im:
        assert im.getexif().get(0x0112) == orientation
        upright = ImageOps.exif_transpose(im).convert("RGB")
    expected = make_sample.upright_f()
    assert upright.size == expected.size
    diff = np.abs(np.asarray(upright, dtype=np.float64) - np.asarray(expected, dtype=np.float64))
    assert diff.mean() < 3
    # the red corner is top-left whatever the stored orientation
    r, g, b = np.asarray(upright)[5, 5]
    assert r > 180 and g < 80 and b < 80


def test_orientation_files_differ_as_stored():
    stored = {(SAMPLE / f"orientation-{o}.jpg").read_bytes() for o in range(1, 9)}
    assert len(stored) == 8


def test_real_photos_carry_camera_exif():
    for name in ("astronaut.jpg", "coffee.jpg", "chelsea.jpg", "rocket.jpg", "grace-hopper.jpg"):
        with Image.open(SAMPLE / name) as im:
            exif = im.getexif()
            sub = exif.get_ifd(0x8769)
            assert exif[0x010F] == MANIFEST["files"][name]["exif"]["Make"]
            assert sub[0x9003] == MANIFEST["files"][name]["exif"]["DateTimeOriginal"]
    with Image.open(SAMPLE / "rocket.jpg") as im:
        gps = im.getexif().get_ifd(0x8825)
    assert gps[1] == "N" and gps[3] == "W" and float(gps[2][0]) == 28.0


def test_cmyk_profile_is_used_and_differs_from_naive_inversion():
    coffee = np.asarray(make_sample.open_source("coffee.png"), dtype=np.float64)
    with Image.open(SAMPLE / "cmyk.jpg") as im:
        assert im.mode == "CMYK"
        icc = im.info["icc_profile"]
        via_icc = ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                            ImageCms.createProfile("sRGB"), outputMode="RGB")
        naive = np.asarray(im.convert("RGB"), dtype=np.float64)
    with Image.open(SAMPLE / "cmyk-no-icc.jpg") as im:
        assert im.mode == "CMYK" and "icc_profile" not in im.info
    err_icc = np.abs(np.asarray(via_icc, dtype=np.float64) - coffee).mean()
    err_naive = np.abs(naive - coffee).mean()
    assert err_icc < 10 < err_naive


def test_display_p3_jpeg_round_trips_through_its_profile():
    astro = np.asarray(make_sample.open_source("astronaut.png"), dtype=np.float64)
    with Image.open(SAMPLE / "display-p3.jpg") as im:
        icc = im.info["icc_profile"]
        raw = np.asarray(im, dtype=np.float64)
        srgb = ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                         ImageCms.createProfile("sRGB"), outputMode="RGB")
    assert "Display P3" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    assert np.abs(np.asarray(srgb, dtype=np.float64) - astro).mean() < 3
    assert np.abs(raw - astro).mean() > 3  # pixels really are in P3, not sRGB


def test_animations():
    for name in ("animated.gif", "animated.webp"):
        with Image.open(SAMPLE / name) as im:
            assert im.n_frames == 8 and im.is_animated
            assert im.info.get("loop") == 0
            durations = []
            for i in range(im.n_frames):
                im.seek(i)
                im.load()  # WebP sets the frame duration on load
                durations.append(im.info["duration"])
        assert durations == MANIFEST["files"][name]["durations_ms"], name


def test_pngs_cover_alpha_palette_and_16_bit():
    with Image.open(SAMPLE / "transparent.png") as im:
        alpha = np.asarray(im.getchannel("A"))
    assert im.mode == "RGBA" and alpha.min() == 0 and alpha.max() == 255
    assert ((alpha > 0) & (alpha < 255)).mean() > 0.1  # soft, not just on/off
    with Image.open(SAMPLE / "palette-transparent.png") as im:
        assert im.mode == "P" and im.info["transparency"] == 63
    with Image.open(SAMPLE / "la.png") as im:
        assert im.mode == "LA"
    with Image.open(SAMPLE / "grey16.png") as im:
        g = np.asarray(im)
    assert im.mode == "I;16" and g.dtype.itemsize == 2 and g.max() > 255
    assert len(np.unique(g % 257)) > 100  # the low byte carries data


def test_truncated_and_misnamed_files():
    with Image.open(SAMPLE / "truncated.jpg") as im:
        assert im.size == (600, 400)
        with pytest.raises(OSError):
            im.load()
    with Image.open(SAMPLE / "not-really.jpg") as im:
        assert im.format == "GIF"
    with Image.open(SAMPLE / "progressive.jpg") as im:
        assert im.info.get("progressive") or im.info.get("progression")


def test_dataset_size_budget():
    total = sum(p.stat().st_size for p in (REPO / "datasets").rglob("*") if p.is_file())
    assert total < 15_000_000


def test_icc_writers_are_deterministic():
    assert make_sample.cmyk_profile() == make_sample.cmyk_profile()
    p3 = make_sample.display_p3_profile()
    assert p3[36:40] == b"acsp" and int.from_bytes(p3[:4], "big") == len(p3)


# --------------------------------------------------------------------------- benchmark corpora


def _load_photos():
    spec = importlib.util.spec_from_file_location("cinb_bench_photos", REPO / "benchmarks" / "photos.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # worker processes unpickle _make_one by module name
    spec.loader.exec_module(mod)
    return mod


photos = _load_photos()


def test_ensure_many_builds_small_camera_jpegs_and_caches_them(tmp_path):
    paths = photos.ensure_many(n=12, cache_dir=tmp_path, seed=3)
    assert len(paths) == 12 and all(p.suffix == ".jpg" and p.parent.name == "batch-00" for p in paths)
    kinds = set()
    for p in paths:
        with Image.open(p) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            assert sorted(im.size) in ([480, 640], [427, 640], [600, 600])
            exif = im.getexif()
            kinds.add(bool(exif))
            if exif:
                assert exif.get_ifd(0x8769)[0x9003][:2] == "20"  # DateTimeOriginal
    assert True in kinds
    mtimes = [p.stat().st_mtime_ns for p in paths]
    again = photos.ensure_many(n=12, cache_dir=tmp_path, seed=3)
    assert again == paths and [p.stat().st_mtime_ns for p in again] == mtimes  # served from the cache


def test_corpora_are_a_pure_function_of_seed_and_index(tmp_path):
    a = photos.ensure_photos_small(n=2, cache_dir=tmp_path / "a", seed=1)
    b = photos.ensure_photos_small(n=3, cache_dir=tmp_path / "b", seed=1)
    c = photos.ensure_photos_small(n=1, cache_dir=tmp_path / "c", seed=2)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b[:2]]
    assert a[0].read_bytes() != c[0].read_bytes()
    sizes = []
    for p in b:
        with Image.open(p) as im:
            sizes.append(im.size)
    assert sizes == photos.SMALL_SIZES[:3]


def test_ensure_photos_gives_camera_sized_photo_like_jpegs(tmp_path):
    (path,) = photos.ensure_photos(n=1, cache_dir=tmp_path)
    with Image.open(path) as im:
        assert im.width * im.height >= 12e6 and im.format == "JPEG"
        a = np.asarray(im.reduce(4), dtype=np.float64)
    # natural-photo statistics, not a smooth upscale or flat synthetic fill:
    # broad tonal range and plenty of fine detail
    assert a.std() > 30
    assert np.abs(np.diff(a, axis=1)).mean() > 4
    assert path.stat().st_size > 1_500_000  # a 12 Mpx camera JPEG is several MB


def test_megapixel_floor_scales_sizes_up():
    assert photos._at_least((4032, 3024), 12) == (4032, 3024)
    w, h = photos._at_least((4000, 3000), 24)
    assert w * h >= 24e6 and abs(w / h - 4 / 3) < 0.01


@pytest.mark.parametrize("wanted", [6, 8])
def test_ensure_many_stores_rotated_files_so_exif_turns_them_upright(tmp_path, wanted):
    # find the first index whose draws give this orientation with EXIF, replaying _make_one's draws
    for index in range(500):
        rng = np.random.default_rng([0, 3, index])
        orientation = int(rng.choice([1, 6, 8, 3], p=[0.9, 0.05, 0.03, 0.02]))
        if orientation == wanted and rng.random() > 0.1:
            break
    size = photos.MANY_SIZES[index % len(photos.MANY_SIZES)]
    upright = photos.photo_pixels(*size, rng, cell=photos._CELLS["many"])
    path = tmp_path / "one.jpg"
    photos._make_one(("many", 0, index, size, str(path)))
    with Image.open(path) as im:
        assert im.getexif()[0x0112] == wanted
        assert im.size == (size[1], size[0])  # stored sideways
        shown = np.asarray(ImageOps.exif_transpose(im), dtype=np.float64)
    assert np.abs(shown - upright).mean() < 6
