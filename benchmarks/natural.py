"""A benchmark corpus of real, whole natural photographs, taken from Debian wallpaper packages.

Unlike :mod:`benchmarks.photos` (mosaics of small real-photo tiles), every file here is
**one real camera photograph** (landscapes, animals, plants, macro shots, still lifes,
an interior, fog, dusk and sunset scenes, a black-and-white architecture shot), so
compression and quality results on it reflect whole-scene content.

Where the photos come from
--------------------------
Debian 12 (bookworm) packages, fetched with ``apt-get download`` (no install; the
registry is the ordinary Debian mirror, so this works wherever the project's setup
works) and unpacked with ``dpkg-deb --fsys-tarfile | tar -x`` (only the listed
files and the package's ``copyright`` file). Versions used when this corpus was
built (recorded again, as found, in ``manifest.json`` beside the photos):

=============================  ==========  ==========================================
package                        version     photos used (licence as stated in the
                                           package's ``/usr/share/doc/<pkg>/copyright``)
=============================  ==========  ==========================================
lomiri-wallpapers-16.04        20.04.0-2   13: CC-BY-4.0, CC-BY-SA-4.0, one CC0-1.0
lomiri-wallpapers-20.04        20.04.0-2   1: CC-BY-SA-3.0
mate-backgrounds               1.26.0-1    12: GPL-2+
plasma-workspace-wallpapers    4:5.27.5-2  11: GPL-2+ (copyright file: ``Files: *``);
                                           each wallpaper's ``metadata.json`` says LGPLv3
=============================  ==========  ==========================================

The per-photo author and licence are in :data:`PHOTOS` (and in ``manifest.json``);
the packages' ``copyright`` files are copied next to the photos as
``<package>.copyright`` so the attribution travels with the files. Three MATE
photos (Garden, LadyBird, YellowFlower) are not listed file by file in the MATE
copyright file, so only the package-wide GPL-2+ applies to them; they come last
in the list and are outside the default 24.

Curation: every image of these packages (and of ukui-wallpapers, sway-backgrounds,
gnome-backgrounds, lomiri-wallpapers) was looked at; renders, drawings,
gradients, logos and heavily stylised images were dropped (e.g. Infinite-Sea,
Elephants, analogpattern, umang, all ukui, sway and gnome backgrounds). Many
photos still carry the EXIF camera of a real camera (Canon EOS 350D/400D/70D,
Olympus E-M1, Sony NEX-3N, Nokia N9, Konica Minolta Z5). The corpus has no
people and no city/night-street scene: none of the packages ships one.

Recipe (state it with results)
------------------------------
1. Decode the package file, apply its EXIF orientation, convert to RGB (the one
   greyscale photo, ``Grey``, becomes R=G=B).
2. Downscale with Pillow LANCZOS on the 8-bit (gamma-encoded) values so the long
   side is ``max_side`` (1024 by default); a photo already smaller is not upscaled.
   The package files are JPEGs of 1280-6028 px, so the downscale by 1.25-5.9x also
   averages away the packages' own JPEG artifacts: the results behave like
   high-quality camera originals, not like re-compressed web images.
3. Encode as baseline JPEG, quality 95, 4:4:4 (no chroma subsampling), no Huffman
   optimisation, no EXIF and no ICC profile (all sources are sRGB or untagged).

Output names are ``natural-00.jpg`` ... in the order of :data:`PHOTOS` (ordered so
that the first 24 mix landscapes, animals, macro, still lifes, water and
textures). Files are written under ``benchmarks/.cache/natural/`` (git-ignored),
in a folder named after the recipe version and ``max_side``, to a temporary name
then renamed, so an interrupted run never leaves a half-written file. The
downloaded ``.deb`` files are kept in ``benchmarks/.cache/natural/debs`` so a
rebuild needs no network; ``apt-get update`` is run only if ``apt-get download``
fails. A call that finds all requested files is instant.

Build and list the corpus (about 20 s the first time: about 170 MB of packages,
most of it plasma-workspace-wallpapers)::

    .venv/bin/python benchmarks/natural.py

Example
-------
>>> from benchmarks.natural import ensure_natural          # doctest: +SKIP
>>> paths = ensure_natural(n=24)                          # doctest: +SKIP
>>> paths[0].name, max(Image.open(paths[0]).size)          # doctest: +SKIP
('natural-00.jpg', 1024)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
# Bump when the recipe or the photo list changes: the cached files are then rebuilt.
RECIPE_VERSION = 1
JPEG_QUALITY = 95


@dataclass(frozen=True)
class Photo:
    """One curated photo: where it is in which package, what it shows, who made it, under what licence."""

    package: str
    path: str  # inside the package, without the leading "./"
    subject: str
    author: str
    licence: str


_L16 = "usr/share/backgrounds/"
_MATE = "usr/share/backgrounds/mate/nature/"
_KDE = "usr/share/wallpapers/{}/contents/images/2560x1600.jpg"
_LOM16, _LOM20 = "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04"
_MATE_PKG, _KDE_PKG = "mate-backgrounds", "plasma-workspace-wallpapers"
_KDE_LIC = "GPL-2+ (debian/copyright, Files: *); LGPLv3 in the wallpaper's metadata.json"

# Order matters: natural-NN.jpg is PHOTOS[NN], and ensure_natural(n) takes the first n.
PHOTOS: list[Photo] = [
    Photo(_LOM16, _L16 + "picosdeeuropa_by_Aitzol_Berasategi.jpg",
          "Picos de Europa: mountain ridge, blue sky and clouds, a path through pasture",
          "Aitzol Berasategi", "CC-BY-4.0"),
    Photo(_LOM20, _L16 + "Kleiber_by_Lukas_Baubkus.jpg",
          "nuthatch on a tree trunk: sharp bark texture against a smooth bokeh background",
          "Lukas Baubkus", "CC-BY-SA-3.0"),
    Photo(_LOM16, _L16 + "friends_by_Aitzol_Berasategi.jpg",
          "two spaniels looking out of a wooden house window (portrait orientation)",
          "Aitzol Berasategi", "CC-BY-4.0"),
    Photo(_LOM16, _L16 + "life_by_Aitzol_Berasategi.jpg",
          "forest stream over mossy rocks: dense foliage and stone texture",
          "Aitzol Berasategi", "CC-BY-4.0"),
    Photo(_LOM16, _L16 + "Wine_by_Jakkub_Mede.jpg",
          "living-room interior: wine bottle on a table, drum on a beanbag (portrait orientation)",
          "Jakub Mede", "CC-BY-4.0"),
    Photo(_LOM16, _L16 + "Picture_0B_by_freespace.jpg",
          "halved fig in a red bowl on concrete, hard shadow (still life)",
          'Trevor "Freespace"', "CC-BY-4.0"),
    Photo(_LOM16, _L16 + "Picture_1A_by_freespace.jpg",
          "paint brushes with coloured bristles, shallow depth of field",
          'Trevor "Freespace"', "CC-BY-4.0"),
    Photo(_LOM16, _L16 + "sunset_by_Aitzol_Berasategi.jpg",
          "sun low over hills, lens flare, grass in the foreground (backlit)",
          "Aitzol Berasategi", "CC-BY-4.0"),
    Photo(_LOM16, _L16 + "Dragonfly_by_Bolly.jpg",
          "dragonfly on a twig among hazel leaves against blue sky",
          '"Bolly"', "CC-BY-SA-4.0"),
    Photo(_LOM16, _L16 + "seeding_by_Clements_Engelhardt.jpg",
          "backlit dandelion clocks in a meadow at sunset",
          "Clemens Engelhardt", "CC0-1.0"),
    Photo(_LOM16, _L16 + "Bridge_by_Sander_Klootwijk.jpg",
          "bridge cables against a wide blue sky over a flat coast (smooth gradients)",
          "Sander Klootwijk", "CC-BY-SA-4.0"),
    Photo(_LOM16, _L16 + "aitzgorri_by_Aitzol_Berasategi.jpg",
          "Aitzgorri: limestone mountain above an autumn beech forest and meadow",
          "Aitzol Berasategi", "CC-BY-4.0"),
    Photo(_MATE_PKG, _MATE + "Aqua.jpg", "water drop splash, macro", "Charles Barbin", "GPL-2+"),
    Photo(_MATE_PKG, _MATE + "Dune.jpg", "dune grass against the sea and sky (Canon EOS Digital Rebel)",
          "Marco Cogoni", "GPL-2+"),
    Photo(_MATE_PKG, _MATE + "RainDrops.jpg", "rain drops on green leaves, macro", '"blackcombwhistler07"',
          "GPL-2+"),
    Photo(_MATE_PKG, _MATE + "Storm.jpg", "storm clouds over a plain, motion-blurred road (Canon EOS 400D)",
          "Sergey Nazarov", "GPL-2+"),
    Photo(_MATE_PKG, _MATE + "Wood.jpg", "weathered wooden planks, shallow focus (Konica Minolta Z5)",
          "Jean-François Fortin Tam", "GPL-2+"),
    Photo(_MATE_PKG, _MATE + "GreenMeadow.jpg", "young grass blades, close up", "Timothy Schellhase", "GPL-2+"),
    Photo(_MATE_PKG, _MATE + "TwoWings.jpg", "two dandelion seeds before orange flowers (bokeh)",
          "Charles Barbin", "GPL-2+"),
    Photo(_KDE_PKG, _KDE.format("EveningGlow"), "rowing boats on a lake shore at sunset (HDR-toned)",
          "Ian Hex", _KDE_LIC),
    Photo(_KDE_PKG, _KDE.format("Path"), "dark spruce forest with a path (Olympus E-M1)",
          "Risto Saukonpää", _KDE_LIC),
    Photo(_KDE_PKG, _KDE.format("DarkestHour"), "misty lake at blue hour, very smooth tones (Olympus E-M1)",
          "Risto Saukonpää", _KDE_LIC),
    Photo(_KDE_PKG, _KDE.format("ColorfulCups"), "stacked coloured plastic cups from above (Sony NEX-3N)",
          "Dmitri Popov", _KDE_LIC),
    Photo(_KDE_PKG, _KDE.format("FallenLeaf"), "fallen maple leaves on the ground, bokeh (Canon EOS 70D)",
          "Martin Klapetek", _KDE_LIC),
    # ---- beyond the default 24
    Photo(_KDE_PKG, _KDE.format("summer_1am"), "lake at a northern summer night, pink dusk sky, reeds",
          "Risto Saukonpää", _KDE_LIC),
    Photo(_KDE_PKG, _KDE.format("OneStandsOut"), "moss from above, one orange shoot (Olympus E-M1)",
          "Risto Saukonpää", _KDE_LIC),
    Photo(_KDE_PKG, _KDE.format("Kite"), "kite in a deep blue sky with clouds (Olympus E-M1)",
          "Risto Saukonpää", _KDE_LIC),
    Photo(_KDE_PKG, _KDE.format("BytheWater"), "wooden jetty by a lake, toned colours (Nokia N9)",
          "Maciej Wiklo", _KDE_LIC),
    Photo(_KDE_PKG, _KDE.format("ColdRipple"), "jetty in fog, nearly monochrome (Olympus E-M1)",
          "Risto Saukonpää", _KDE_LIC),
    Photo(_KDE_PKG, _KDE.format("Grey"), "curved facade, black and white (greyscale source)",
          "Sigi Sagi", _KDE_LIC),
    Photo(_MATE_PKG, _MATE + "Blinds.jpg", "hosta leaf veins, macro (Canon EOS 350D)", "Lennart Poettering",
          "GPL-2+"),
    Photo(_MATE_PKG, _MATE + "FreshFlower.jpg", "orange flower petals, macro (small, strongly compressed source)",
          "Jens Ansorg", "GPL-2+"),
    Photo(_LOM16, _L16 + "free_by_Peter_Nerlich.jpg", "bird figurine under round ceiling lamps (indoor)",
          "Peter Nerlich", "CC-BY-SA-4.0"),
    Photo(_LOM16, _L16 + "greentock_by_Peter_Nerlich.jpg", "wall clock lit from the side, close up",
          "Peter Nerlich", "CC-BY-SA-4.0"),
    Photo(_MATE_PKG, _MATE + "Garden.jpg", "red and yellow marigold, macro", "(not listed)",
          "GPL-2+ (package-wide; file not listed in the copyright file)"),
    Photo(_MATE_PKG, _MATE + "LadyBird.jpg", "ladybird on a grass blade among forget-me-nots", "(not listed)",
          "GPL-2+ (package-wide; file not listed in the copyright file)"),
    Photo(_MATE_PKG, _MATE + "YellowFlower.jpg", "yellow flower petals on black, macro", "(not listed)",
          "GPL-2+ (package-wide; file not listed in the copyright file)"),
]


def ensure_natural(
    n: int = 24,
    *,
    max_side: int = 1024,
    cache_dir: str | os.PathLike = "benchmarks/.cache/natural",
) -> list[Path]:
    """``n`` real photographs as high-quality JPEGs with long side ``max_side``; built once, then cached.

    Parameters
    ----------
    n : int
        Number of photos, 1 to ``len(PHOTOS)`` (37); the first ``n`` of :data:`PHOTOS`.
    max_side : int
        Long side of the output in pixels; smaller sources are kept at their size.
    cache_dir : str or PathLike
        Cache root (relative paths are taken from the repository root). Holds
        ``debs/`` (downloaded packages), ``src/`` (the extracted files) and
        ``v<recipe>-<max_side>/`` (the benchmark JPEGs, ``manifest.json`` and the
        packages' copyright files).

    Returns
    -------
    list of Path
        ``natural-00.jpg`` ... ``natural-<n-1>.jpg``, in :data:`PHOTOS` order.

    Raises
    ------
    ValueError
        If ``n`` or ``max_side`` is out of range.
    RuntimeError
        If a package cannot be downloaded or no longer contains a listed photo.

    Examples
    --------
    >>> paths = ensure_natural(n=2)                   # doctest: +SKIP
    >>> [Image.open(p).size for p in paths]           # doctest: +SKIP
    [(1024, 769), (1024, 576)]
    """
    if not 1 <= n <= len(PHOTOS):
        raise ValueError(f"n={n!r}: the natural corpus has 1 to {len(PHOTOS)} photos")
    if max_side < 16:
        raise ValueError(f"max_side={max_side!r}: must be at least 16")
    root = Path(cache_dir)
    root = root if root.is_absolute() else REPO / root
    out_dir = root / f"v{RECIPE_VERSION}-{max_side}"
    paths = [out_dir / f"natural-{i:02d}.jpg" for i in range(n)]
    if all(p.exists() for p in paths) and (out_dir / "manifest.json").exists():
        return paths  # the common case: nothing to do

    photos = PHOTOS[:n]
    versions = _fetch_and_extract({ph.package for ph in photos}, root)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(str(root / "src" / ph.package / ph.path), str(p), max_side)
            for ph, p in zip(photos, paths, strict=True) if not p.exists()]
    # Two worker processes: decoding the 3-6k px sources dominates the build time.
    if jobs:
        with ProcessPoolExecutor(max_workers=min(2, len(jobs))) as pool:
            list(pool.map(_convert, *zip(*jobs, strict=True)))
    for pkg in versions:
        shutil.copyfile(root / "src" / pkg / "usr/share/doc" / pkg / "copyright", out_dir / f"{pkg}.copyright")
    _write_manifest(out_dir, versions, max_side)
    return paths


# --------------------------------------------------------------------------- fetching


def _fetch_and_extract(packages: set[str], root: Path) -> dict[str, str]:
    """Download (once) and unpack the listed files of ``packages``; return {package: version}."""
    debs, src = root / "debs", root / "src"
    debs.mkdir(parents=True, exist_ok=True)
    versions = {}
    for pkg in sorted(packages):
        deb = _find_deb(debs, pkg) or _download(debs, pkg)
        versions[pkg] = _deb_field(deb, "Version")
        wanted = [ph.path for ph in PHOTOS if ph.package == pkg] + [f"usr/share/doc/{pkg}/copyright"]
        if all((src / pkg / w).exists() for w in wanted):
            continue
        dest = src / pkg
        dest.mkdir(parents=True, exist_ok=True)
        # Only the needed members: unpacking all of plasma-workspace-wallpapers would write 250 MB.
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        res = subprocess.run(["tar", "-x", "-C", str(dest), *(f"./{w}" for w in wanted)],
                             stdin=tar.stdout, capture_output=True, text=True)
        tar.stdout.close()
        tar.wait()
        if res.returncode or tar.returncode:
            raise RuntimeError(f"{deb.name}: cannot extract the curated photos: {res.stderr.strip()[-500:]}")
    return versions


def _find_deb(debs: Path, pkg: str) -> Path | None:
    found = sorted(debs.glob(f"{pkg}_*.deb"))
    return found[-1] if found else None


def _download(debs: Path, pkg: str) -> Path:
    def attempt() -> subprocess.CompletedProcess:
        # apt-get download keeps a partial file under its final name only once complete.
        return subprocess.run(["apt-get", "download", pkg], cwd=debs, capture_output=True, text=True)

    try:
        res = attempt()
        if res.returncode:  # usually stale or missing package lists
            subprocess.run(["apt-get", "update"], capture_output=True, text=True)
            res = attempt()
    except FileNotFoundError as exc:
        raise RuntimeError("apt-get is needed to fetch the natural photo corpus (Debian packages)") from exc
    deb = _find_deb(debs, pkg)
    if res.returncode or deb is None:
        raise RuntimeError(f"apt-get download {pkg} failed: {res.stderr.strip()[-500:]}")
    return deb


def _deb_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True,
                          check=True).stdout.strip()


# --------------------------------------------------------------------------- conversion


def _convert(src: str, dst: str, max_side: int) -> None:
    """Orient, downscale (LANCZOS, never up) and save as baseline JPEG q95 4:4:4, atomically."""
    with Image.open(src) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
    w, h = im.size
    scale = max_side / max(w, h)
    if scale < 1:
        im = im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
    fd, tmp = tempfile.mkstemp(suffix=".jpg.part", dir=os.path.dirname(dst))
    try:
        with os.fdopen(fd, "wb") as f:
            im.save(f, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=False, progressive=False)
        os.replace(tmp, dst)
    except BaseException:
        os.unlink(tmp)
        raise


def _write_manifest(out_dir: Path, versions: dict[str, str], max_side: int) -> None:
    entries = []
    for i, ph in enumerate(PHOTOS):
        p = out_dir / f"natural-{i:02d}.jpg"
        if p.exists():
            with Image.open(p) as im:
                size = im.size
            entries.append({"file": p.name, "package": ph.package, "version": versions.get(ph.package),
                            "path": "/" + ph.path, "subject": ph.subject, "author": ph.author,
                            "licence": ph.licence, "size": list(size)})
    data = {"recipe": f"v{RECIPE_VERSION}: EXIF-oriented RGB, LANCZOS to long side {max_side} (never up), "
                      f"baseline JPEG q{JPEG_QUALITY} 4:4:4", "photos": entries}
    tmp = out_dir / "manifest.json.part"
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / "manifest.json")


def main(argv: list[str] | None = None) -> None:
    """Build the corpus (``n`` from the first argument, default 24) and print it."""
    import time

    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 24
    t0 = time.perf_counter()
    paths = ensure_natural(n)
    took = time.perf_counter() - t0
    total = 0
    for p, ph in zip(paths, PHOTOS[:len(paths)], strict=True):
        with Image.open(p) as im:
            size = im.size
        total += p.stat().st_size
        print(f"{p.name}  {size[0]:4d}x{size[1]:<4d} {p.stat().st_size:8d} B  {ph.package}: "
              f"{Path(ph.path).name if ph.package != _KDE_PKG else ph.path.split('/')[3]}  [{ph.licence}]")
    print(f"{len(paths)} photos, {total} bytes total, in {paths[0].parent} ({took:.1f} s)")


if __name__ == "__main__":
    main()
