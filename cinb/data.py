"""Sample images by name, for notebooks, tests and docstrings (as ``skimage.data``).

The images live in the repository's ``datasets/sample`` folder (31 files, 2.7 MB: real photos,
every EXIF orientation, odd modes and formats, broken files), listed with their source, licence and
the edge case each covers in ``datasets/sample/MANIFEST.json``. They are not copied into the
package: an editable install (``scripts/setup.sh``) finds them beside the package, and
``$CINB_SAMPLE_DIR`` points anywhere else (read once, when first needed).

Every function returns a :class:`pathlib.Path`, the form every cinb function takes.

Examples
--------
>>> import cinb
>>> from cinb import data
>>> cinb.process(data.astronaut(), "imageMogr2/thumbnail/!50p").width
256
>>> data.path("orientation-6").name
'orientation-6.jpg'
>>> "truncated.jpg" in data.names()
True
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from .caches import register_cache
from .settings import get_settings

__all__ = ["sample_dir", "names", "path", "manifest", "photos",
           "astronaut", "coffee", "chelsea", "rocket", "grace_hopper", "camera"]

_ENV = "CINB_SAMPLE_DIR"
_REPO_SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "sample"

#: The real photos of the sample set (JPEG, RGB, camera-like EXIF), in a stable order.
_PHOTOS = ("astronaut.jpg", "coffee.jpg", "chelsea.jpg", "rocket.jpg", "grace-hopper.jpg")


def sample_dir() -> Path:  # not cached: follows the sample_dir setting (one stat)
    """The folder holding the sample images.

    Returns
    -------
    pathlib.Path
        ``$CINB_SAMPLE_DIR`` when set, else ``datasets/sample`` beside the installed package.

    Raises
    ------
    FileNotFoundError
        When neither exists (a wheel install without the repository): the message names the fix.

    Examples
    --------
    >>> from cinb import data
    >>> (data.sample_dir() / "MANIFEST.json").is_file()
    True
    """
    env = get_settings().sample_dir  # default: $CINB_SAMPLE_DIR, read once
    where = Path(env) if env else _REPO_SAMPLE
    if not where.is_dir():
        raise FileNotFoundError(
            f"cinb's sample images are not at {where}: they ship with the repository (datasets/sample), "
            f"not the wheel. Install with `pip install -e .` from a clone, or set ${_ENV} to a copy.")
    return where


@register_cache
@functools.cache
def manifest() -> dict[str, dict]:
    """``MANIFEST.json``: file name -> format, mode, size, frames, bytes, sha256, what it covers, source.

    Examples
    --------
    >>> from cinb import data
    >>> m = data.manifest()["cmyk.jpg"]
    >>> m["mode"], m["format"]
    ('CMYK', 'jpeg')
    """
    with open(sample_dir() / "MANIFEST.json", encoding="utf-8") as f:
        files = json.load(f)["files"]
    return dict(files) if isinstance(files, list) else files


def names() -> list[str]:
    """File names of every sample image, sorted.

    Examples
    --------
    >>> from cinb import data
    >>> len(data.names()) >= 30
    True
    """
    return sorted(manifest())


def path(name: str) -> Path:
    """The path of one sample image, by file name or stem (``"chelsea.png"``, ``"grace-hopper"``).

    A stem shared by several files (``chelsea``: .jpg and .png) means the JPEG.

    Parameters
    ----------
    name : str
        A name from :func:`names`, with or without its extension; ``_`` may stand for ``-``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    KeyError
        For an unknown name; the message lists the known ones.

    Examples
    --------
    >>> from cinb import data
    >>> data.path("chelsea").name, data.path("chelsea.png").name, data.path("grace_hopper").name
    ('chelsea.jpg', 'chelsea.png', 'grace-hopper.jpg')
    >>> data.path("lena")
    Traceback (most recent call last):
    ...
    KeyError: "no sample image 'lena'; known: animated.gif, ...
    """
    known = names()
    name = str(name)
    for candidate in (name, name.replace("_", "-")):
        if candidate in known:
            return sample_dir() / candidate
        stems = [n for n in known if Path(n).stem == candidate]
        if stems:
            jpeg = [n for n in stems if n.endswith(".jpg")]
            return sample_dir() / (jpeg or stems)[0]
    raise KeyError(f"no sample image {name!r}; known: {', '.join(known)}")


def photos() -> list[Path]:
    """The five real photos (JPEG, RGB, camera-like EXIF): astronaut, coffee, chelsea, rocket, grace-hopper.

    Examples
    --------
    >>> from cinb import data
    >>> [p.stem for p in data.photos()][:2]
    ['astronaut', 'coffee']
    """
    return [path(n) for n in _PHOTOS]


def astronaut() -> Path:
    """``astronaut.jpg``: 512x512 portrait (NASA, public domain)."""
    return path("astronaut.jpg")


def coffee() -> Path:
    """``coffee.jpg``: 600x400 cup of coffee (CC0); GPS in its EXIF."""
    return path("coffee.jpg")


def chelsea() -> Path:
    """``chelsea.jpg``: 451x300 cat (CC0); ``path("chelsea.png")`` is the lossless copy."""
    return path("chelsea.jpg")


def rocket() -> Path:
    """``rocket.jpg``: 640x427 rocket launch (SpaceX, public domain)."""
    return path("rocket.jpg")


def grace_hopper() -> Path:
    """``grace-hopper.jpg``: 512x600 portrait of Grace Hopper (U.S. Navy, public domain)."""
    return path("grace-hopper.jpg")


def camera() -> Path:
    """``camera.png``: 8-bit greyscale photographer (CC0)."""
    return path("camera.png")
