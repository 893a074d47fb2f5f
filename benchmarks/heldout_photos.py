"""Held-out real photographs for the AssessQuality benchmark: photos no calibration has ever seen.

:mod:`benchmarks.natural` (Debian wallpaper packages) is where ``cinb.ai.quality.CALIBRATION`` was
fitted. These 32 photos come from two other Debian 12 packages. They were chosen (by looking at
them: real photographs, no drawings, renders, screenshots or scans of prints) before any score was
computed on them, and no constant was fitted on them. One caveat, stated with the results: the
edge-width statistic of ``cinb.ai.quality`` was picked among 27 variants while their separation of
originals from sigma-3 copies on these photos was on screen beside the calibration photos'.

=============================  ===================  ==============================================
package                        version              photos (licence in the package's copyright)
=============================  ===================  ==============================================
tuxpaint-data                  1:0.9.28-sdl2-1      19 ``usr/share/tuxpaint/templates/*.jpg``:
                                                    GPL-2+ (debian/copyright, ``Files: *``)
opencv-doc                     4.6.0+dfsg-12        13 photos of ``examples/`` (OpenCV's sample
                                                    data): Apache-2.0 AND BSD-3-Clause
                                                    (debian/copyright, ``Files: *``); the original
                                                    photographers are not named
=============================  ===================  ==============================================

They differ from the wallpapers in useful ways: smaller sources (380-1296 px), phone and compact
camera pictures (street signs, a PCB, a notebook), soft-by-intent shots (a spider's web against
bokeh, sunlight through leaves, mossy log in shallow focus) and everyday JPEG quality.

Recipe: as :mod:`benchmarks.natural` (EXIF-oriented RGB, alpha on white, LANCZOS to long side
``max_side`` never up, baseline JPEG q95 4:4:4), written to ``benchmarks/.cache/heldout/`` (git-ignored)
with a ``manifest.json`` and the packages' copyright files; the ``.deb`` files are kept in
``debs/`` (about 104 MB, most of it opencv-doc). Photos are never committed.

Example
-------
>>> from benchmarks.heldout_photos import ensure_heldout    # doctest: +SKIP
>>> len(ensure_heldout())                                  # doctest: +SKIP
32
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

from benchmarks.natural import JPEG_QUALITY, REPO, _deb_field, _download, _find_deb

RECIPE_VERSION = 1
_TUX = "usr/share/tuxpaint/templates/"
_CV = "usr/share/doc/opencv-doc/examples/"
_CV_LIC = "Apache-2.0 AND BSD-3-Clause (debian/copyright, Files: *); photographer not named"

#: (package, path inside it, subject). ``heldout-NN.jpg`` is ``PHOTOS[NN]``.
PHOTOS: list[tuple[str, str, str]] = [
    *[("tuxpaint-data", _TUX + name + ".jpg", subject) for name, subject in (
        ("burnt_bark", "charred tree bark, close up"),
        ("cliff", "rock cliff against a blue sky"),
        ("corn_maze", "path between maize plants"),
        ("jellyfish", "blue jellyfish in an aquarium, dark"),
        ("lighthouse", "brick lighthouse against a blue sky (portrait)"),
        ("mossy_bark", "lichen on bark (black borders)"),
        ("mossy_log", "mossy log, shallow depth of field"),
        ("mudstone", "mudstone surface, low sun"),
        ("ocean_splash", "sea spray on dark water"),
        ("ocean_waves", "breaking waves"),
        ("redwoods_above", "redwood trunks from below"),
        ("rocks", "pebble beach"),
        ("sheep", "sheep on a distant pasture"),
        ("spiders_web", "spider's web against a blurred background"),
        ("sun_behind_clouds", "sun behind a cloud, deep blue sky"),
        ("sun_behind_leaves", "backlit leaves, bokeh"),
        ("trees_above", "tree crowns from below, sky (portrait)"),
        ("trees_at_dusk", "bare branches against a dusk sky"),
        ("wool_mill_machine", "gears of a wool mill machine"),
    )],
    *[("opencv-doc", _CV + path, subject) for path, subject in (
        ("alphamat/input_images/plant.jpg", "potted plant on a desk"),
        ("data/aloeL.jpg", "aloe in a pot before patterned cloth (Middlebury stereo left view)"),
        ("data/board.jpg", "circuit board, close up"),
        ("data/building.jpg", "hotel building and lawn"),
        ("data/butterfly.jpg", "swallowtail butterfly on a leaf"),
        ("data/chicky_512.png", "small dog, indoor"),
        ("data/ela_original.jpg", "notebook with an elastic band"),
        ("data/fruits.jpg", "cut citrus fruit and kiwi"),
        ("data/leuvenA.jpg", "brick houses and a cobbled street, overcast"),
        ("data/squirrel_cls.jpg", "squirrel on a branch, leaves behind"),
        ("hfs/data/000.jpg", "robin on a post, soft background (small)"),
        ("text/scenetext01.jpg", "road sign under trees, dark"),
        ("text/scenetext02.jpg", "generator by a wall, palm trees"),
    )],
]
LICENCES = {"tuxpaint-data": "GPL-2+ (debian/copyright, Files: *)", "opencv-doc": _CV_LIC}


def ensure_heldout(*, max_side: int = 1024, cache_dir: str | os.PathLike = "benchmarks/.cache/heldout") -> list[Path]:
    """The held-out photos as JPEGs with long side <= ``max_side``; fetched and built once, then cached."""
    root = Path(cache_dir)
    root = root if root.is_absolute() else REPO / root
    out_dir = root / f"v{RECIPE_VERSION}-{max_side}"
    paths = [out_dir / f"heldout-{i:02d}.jpg" for i in range(len(PHOTOS))]
    if all(p.exists() for p in paths) and (out_dir / "manifest.json").exists():
        return paths
    debs, src = root / "debs", root / "src"
    debs.mkdir(parents=True, exist_ok=True)
    versions = {}
    for pkg in sorted({p for p, _, _ in PHOTOS}):
        deb = _find_deb(debs, pkg) or _download(debs, pkg)
        versions[pkg] = _deb_field(deb, "Version")
        wanted = [path for p, path, _ in PHOTOS if p == pkg] + [f"usr/share/doc/{pkg}/copyright"]
        if not all((src / pkg / w).exists() for w in wanted):
            (src / pkg).mkdir(parents=True, exist_ok=True)
            tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
            res = subprocess.run(["tar", "-x", "-C", str(src / pkg), *(f"./{w}" for w in wanted)],
                                 stdin=tar.stdout, capture_output=True, text=True)
            tar.stdout.close()
            tar.wait()
            if res.returncode or tar.returncode:
                raise RuntimeError(f"{deb.name}: cannot extract the held-out photos: {res.stderr.strip()[-500:]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for (pkg, path, subject), dst in zip(PHOTOS, paths, strict=True):
        if not dst.exists():
            _convert(src / pkg / path, dst, max_side)
        with Image.open(dst) as im:
            size = list(im.size)
        entries.append({"file": dst.name, "package": pkg, "version": versions[pkg], "path": "/" + path,
                        "subject": subject, "licence": LICENCES[pkg], "size": size})
    for pkg in versions:
        shutil.copyfile(src / pkg / "usr/share/doc" / pkg / "copyright", out_dir / f"{pkg}.copyright")
    manifest = {"recipe": f"v{RECIPE_VERSION}: EXIF-oriented RGB (alpha on white), LANCZOS to long side "
                          f"{max_side} (never up), baseline JPEG q{JPEG_QUALITY} 4:4:4", "photos": entries}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return paths


def _convert(src: Path, dst: Path, max_side: int) -> None:
    with Image.open(src) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "P"):
            im = im.convert("RGBA")
            ground = Image.new("RGBA", im.size, "white")
            ground.alpha_composite(im)
            im = ground
        im = im.convert("RGB")
    scale = max_side / max(im.size)
    if scale < 1:
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS)
    fd, tmp = tempfile.mkstemp(suffix=".jpg.part", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            im.save(f, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=False, progressive=False)
        os.replace(tmp, dst)
    except BaseException:
        os.unlink(tmp)
        raise


if __name__ == "__main__":
    for p in ensure_heldout():
        print(p)
