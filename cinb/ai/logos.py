"""``RecognizeLogo``: find known logos in an image (spec §19.8), offline, against the user's own logo set.

CI answers ``RecognitionResult{Status (0 none / 1 found), LogoInfo[]{Name, Sorce (sic: the score,
0-100), Location{Point[] "x,y"}}}`` for the brands its service was trained on. That list is not
published and no logo model ships in any package, so cinb cannot know CI's brands. Instead it finds
**your** logos: a :class:`LogoLibrary` made from a folder of logo pictures (the file name, without
extension, is the ``Name``), passed as ``logos=<folder>`` (a cinb parameter; CI has none) or as a
library object.

How a logo is found (classic feature matching, no training):

1. SIFT keypoints and descriptors (OpenCV) of each logo (long side at most :data:`LOGO_SIDE` px,
   computed once per file and cached on its size and mtime) and of the image (long side at most
   :data:`IMAGE_SIDE` px, upright: EXIF orientation applied).
2. Each logo descriptor's two nearest image descriptors; a match is kept when the nearest is clearly
   nearer than the second (Lowe's ratio :data:`RATIO`).
3. A homography from logo to image by RANSAC (3 px at the working size); the logo is **found** when
   at least :data:`MIN_INLIERS` matches agree with it and its outline maps to a convex quadrilateral
   of sensible size. Found matches are removed and the search repeats, so a logo printed several
   times is reported several times (at most :data:`MAX_INSTANCES`).
4. ``Sorce`` = ``100 * (1 - exp(-inliers / 15))``: 12 agreeing matches give 55, 30 give 86 (OpenCV's
   box in its scene photo: 75 matches, 99). With a two-logo library, none of the 222 labelled photos
   of benchmarks/labelled.py was reported to hold a logo (benchmarks/RESULTS.md).
5. ``Location`` is the logo's outline mapped into the upright input: four ``"x,y"`` points, clockwise
   from the logo's own top-left (a turned logo keeps its corners).

What it cannot do: logos with little texture (a flat single-colour shape, a thin word mark: SIFT
finds too few keypoints on them; at least ~30 keypoints per logo are needed, and
:meth:`LogoLibrary.keypoints` tells how many each has), very small logos (under ~40 px at
:data:`IMAGE_SIDE`), strong perspective or blur, and any brand that is not in your library.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..caches import register_cache
from ..errors import BAD_PARAMETER, CONFIGURATION_MISSING, CIError
from ..imageinput import ImageInput
from . import models, objects
from .endpoints import Answer, Endpoint, Param, bool_param, int_param, local_path, register_endpoint

#: Long side (px) a logo is reduced to before its features are computed.
LOGO_SIDE = 512
#: Long side (px) of the working image the logos are looked for in.
IMAGE_SIDE = 1024
#: Lowe's ratio test: nearest / second-nearest distance below this keeps a match.
RATIO = 0.75
#: Agreeing matches (RANSAC inliers) from which a logo counts as found.
MIN_INLIERS = 12
#: Instances of one logo reported at most.
MAX_INSTANCES = 3
#: Image extensions a logo folder is read for.
LOGO_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def _cv2():
    return models.require("cv2", package="opencv-python-headless")


def _sift():
    cv2 = _cv2()
    return cv2.SIFT_create(nfeatures=4000)


def _gray(image: Image.Image, side: int) -> tuple[np.ndarray, float]:
    """Grey uint8 of ``image`` with its long side at most ``side``, and the factor back to ``image`` pixels."""
    scale = min(1.0, side / max(image.size))
    if scale < 1:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    return np.asarray(image.convert("L")), 1.0 / scale


@dataclass
class Logo:
    """One logo's features (picklable: points and descriptors as arrays).

    Attributes
    ----------
    name : str
    size : (int, int)
        Width and height of the logo picture (the outline that ``Location`` maps).
    points : numpy.ndarray
        (n, 2) keypoint positions in the logo picture's pixels.
    descriptors : numpy.ndarray
        (n, 128) float32 SIFT descriptors.
    """

    name: str
    size: tuple[int, int]
    points: np.ndarray
    descriptors: np.ndarray


def logo_features(name: str, image: Image.Image) -> Logo:
    """SIFT features of one logo picture.

    Examples
    --------
    >>> from cinb import data
    >>> from PIL import Image
    >>> from cinb.ai.logos import logo_features
    >>> with Image.open(data.chelsea()) as im:
    ...     logo = logo_features("cat", im.crop((120, 40, 320, 240)))
    >>> logo.size, len(logo.points) > 50
    ((200, 200), True)
    """
    gray, back = _gray(image, LOGO_SIDE)
    keypoints, descriptors = _sift().detectAndCompute(gray, None)
    pts = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2) * back
    desc = descriptors if descriptors is not None else np.zeros((0, 128), np.float32)
    return Logo(name, image.size, pts, desc.astype(np.float32))


def _load_logo(path: Path) -> Logo:
    try:
        with Image.open(path) as im:
            im.load()
            return logo_features(path.stem, im)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CIError(f"logo {path.name} is not a readable image: {exc}", code=BAD_PARAMETER,
                      token=str(path)) from None


#: Features of logo files, keyed on (path, size, mtime): bounded, clearable.
_FILE_CACHE: dict[tuple[str, int, int], Logo] = {}
_FILE_CACHE_MAX = 512
_cache_lock = threading.Lock()


def _cached_logo(path: Path) -> Logo:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _cache_lock:
        found = _FILE_CACHE.get(key)
    if found is not None:
        return found
    logo = _load_logo(path)
    with _cache_lock:
        if len(_FILE_CACHE) >= _FILE_CACHE_MAX:
            _FILE_CACHE.pop(next(iter(_FILE_CACHE)))
        _FILE_CACHE[key] = logo
    return logo


register_cache(_FILE_CACHE.clear, name="cinb.ai.logos")


@dataclass(frozen=True)
class LogoMatch:
    """One logo found: its name, score 0-100, inlier count and outline (4 points, image pixels)."""

    name: str
    score: int
    inliers: int
    points: list[tuple[float, float]]


@dataclass
class LogoLibrary:
    """The logos :func:`recognize_logo` looks for: a folder of pictures and/or named images.

    Parameters
    ----------
    folder : path, optional
        Every picture in it (not its sub-folders) is a logo named after its file (``acme.png`` ->
        ``acme``).
    logos : mapping, optional
        ``{name: picture}`` (path, bytes-free PIL image) added to the folder's.

    Raises
    ------
    CIError
        -103 when the folder does not exist, a picture cannot be read, or the library is empty.

    Examples
    --------
    >>> from cinb import data
    >>> from PIL import Image
    >>> from cinb.ai.logos import LogoLibrary
    >>> with Image.open(data.chelsea()) as im:
    ...     lib = LogoLibrary(logos={"cat face": im.crop((120, 40, 320, 240))})
    >>> lib.names, lib.keypoints()["cat face"] > 50
    (['cat face'], True)
    """

    folder: str | os.PathLike | None = None
    logos: Mapping[str, Any] | None = None
    _items: list[Logo] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        items: list[Logo] = []
        if self.folder is not None:
            root = Path(local_path(self.folder, "logos"))
            if not root.is_dir():
                raise CIError(f"logo folder {root} does not exist", code=BAD_PARAMETER, token=str(root))
            try:
                found = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in LOGO_EXTENSIONS)
            except OSError as exc:  # a folder it may not list
                raise CIError(f"cannot list the logo folder {root}: {exc.strerror or exc}", code=BAD_PARAMETER,
                              token=str(root)) from None
            items.extend(_cached_logo(path) for path in found)
        for name, picture in (self.logos or {}).items():
            if isinstance(picture, Logo):
                items.append(picture)
            elif isinstance(picture, Image.Image):
                items.append(logo_features(str(name), picture))
            elif not isinstance(picture, (str, os.PathLike)) or not str(picture):
                raise CIError(f"logo {name!r}: expected a picture or its file, got {picture!r}", code=BAD_PARAMETER,
                              token=str(name))
            else:
                path = Path(local_path(picture, f"logos[{name!r}]"))
                if not path.is_file():
                    raise CIError(f"logo {name!r}: no such file {path}", code=BAD_PARAMETER, token=str(path))
                logo = _cached_logo(path)
                items.append(Logo(str(name), logo.size, logo.points, logo.descriptors))
        if not items:
            raise CIError("the logo library is empty: give a folder of logo pictures or logos={name: picture}",
                          code=BAD_PARAMETER, token="logos")
        self._items = items

    @property
    def names(self) -> list[str]:
        """The logo names, in library order."""
        return [logo.name for logo in self._items]

    def keypoints(self) -> dict[str, int]:
        """SIFT keypoints per logo (a logo with fewer than ~30 is hard to find)."""
        return {logo.name: len(logo.points) for logo in self._items}

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def match(self, image: Image.Image, *, min_inliers: int = MIN_INLIERS) -> list[LogoMatch]:
        """Every library logo found in an upright image (coordinates in ``image`` pixels), best first."""
        cv2 = _cv2()
        gray, back = _gray(image, IMAGE_SIDE)
        keypoints, descriptors = _sift().detectAndCompute(gray, None)
        if descriptors is None or len(keypoints) < 4:
            return []
        scene = np.array([k.pt for k in keypoints], dtype=np.float32)
        matcher = cv2.BFMatcher(cv2.NORM_L2)
        found: list[LogoMatch] = []
        for logo in self._items:
            if len(logo.points) < 4:
                continue
            pairs = matcher.knnMatch(logo.descriptors, descriptors.astype(np.float32), k=2)
            good = [(m.queryIdx, m.trainIdx) for m, *rest in (p for p in pairs if p)
                    if not rest or m.distance < RATIO * rest[0].distance]
            for _ in range(MAX_INSTANCES):
                hit = _homography(cv2, logo, scene, good, min_inliers)
                if hit is None:
                    break
                quad, inliers, used = hit
                score = int(round(100 * (1 - math.exp(-inliers / 15))))
                found.append(LogoMatch(logo.name, max(1, min(100, score)), inliers,
                                       [(float(x) * back, float(y) * back) for x, y in quad]))
                good = [g for i, g in enumerate(good) if i not in used]
        return sorted(found, key=lambda m: -m.inliers)


def _homography(cv2, logo: Logo, scene: np.ndarray, good: list[tuple[int, int]], min_inliers: int):
    """(outline in working pixels, inliers, indices of ``good`` used) or None."""
    if len(good) < max(4, min_inliers):
        return None
    src = logo.points[[q for q, _ in good]].reshape(-1, 1, 2)
    dst = scene[[t for _, t in good]].reshape(-1, 1, 2)
    # logo points are in logo-picture pixels; the scene's in working pixels
    h, mask = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
    if h is None or mask is None:
        return None
    inliers = int(mask.sum())
    if inliers < min_inliers:
        return None
    w, hh = logo.size
    outline = np.array([[0, 0], [w, 0], [w, hh], [0, hh]], np.float32).reshape(-1, 1, 2)
    quad = cv2.perspectiveTransform(outline, h).reshape(-1, 2)
    if not _sensible(quad):
        return None
    used = {i for i, keep in enumerate(mask.ravel()) if keep}
    return quad, inliers, used


def _sensible(quad: np.ndarray) -> bool:
    """A convex outline, clockwise like the logo's, at least 8 px a side."""
    if not np.all(np.isfinite(quad)):
        return False
    cross = []
    for i in range(4):
        a, b, c = quad[i], quad[(i + 1) % 4], quad[(i + 2) % 4]
        cross.append((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]))
    if not (all(v > 0 for v in cross)):
        return False
    sides = [float(np.hypot(*(quad[(i + 1) % 4] - quad[i]))) for i in range(4)]
    return min(sides) >= 8 and max(sides) / min(sides) < 12


# --- the endpoint -----------------------------------------------------------------------------------------


def _library(value: Any) -> LogoLibrary:
    if isinstance(value, LogoLibrary):
        return value
    if isinstance(value, Mapping):
        return LogoLibrary(logos=value)
    if isinstance(value, (str, os.PathLike)):
        if not str(value):
            raise CIError("parameter logos is empty", code=BAD_PARAMETER, token="logos")
        return LogoLibrary(str(value))  # each file's features are cached on its size and mtime
    raise CIError(f"parameter logos={value!r}: expected a folder of logo pictures, a LogoLibrary or "
                  "{name: picture}", code=BAD_PARAMETER, token="logos")


def recognize_logo(inp: ImageInput, *, logos: LogoLibrary | None = None, min_inliers: int = MIN_INLIERS,
                   ignore_error: bool = False) -> Answer:
    """CI's ``RecognizeLogo`` against the user's logos: ``Status`` and ``LogoInfo[]{Name, Sorce, Location}``.

    ``ignore-error`` is accepted because CI's Go SDK sends it (``RecognizeLogoOptions``), but it changes
    nothing: CI describes it only for picture answers ("return the original image instead of an
    error"), and a JSON answer has no original to fall back to, so errors stay errors.

    Raises
    ------
    CIError
        -163 without ``logos`` (CI's own brand list is not available offline); -103 for a bad library;
        the decode errors for a bad image.

    Examples
    --------
    >>> from cinb import ci_process, data
    >>> from PIL import Image
    >>> with Image.open(data.chelsea()) as im:
    ...     logo = im.crop((120, 40, 320, 240))
    >>> r = ci_process(data.chelsea(), "RecognizeLogo", logos={"cat face": logo})
    >>> r.json["Status"], r.json["LogoInfo"][0]["Name"], r.json["LogoInfo"][0]["Sorce"] > 90
    (1, 'cat face', True)
    >>> r.json["LogoInfo"][0]["Location"]["Point"][0]
    '120,40'
    """
    if logos is None:
        raise CIError("RecognizeLogo needs your logo library (logos=<folder> or a LogoLibrary): CI's own list of "
                      "brands and its logo model are not available offline", code=CONFIGURATION_MISSING,
                      token="logos")
    width, height = objects.upright_size(inp)
    image = inp.image(IMAGE_SIDE)
    scale = width / image.width
    found = logos.match(image, min_inliers=min_inliers)
    items = []
    for m in found:
        pts = [f"{min(max(round(x * scale), 0), width - 1)},{min(max(round(y * scale), 0), height - 1)}"
               for x, y in m.points]
        items.append({"Name": m.name, "Sorce": m.score, "Location": {"Point": pts}})
    return Answer({"Status": 1 if items else 0, "LogoInfo": items},
                  info={"inliers": [m.inliers for m in found], "library": len(logos)})


def shapes(response: dict) -> list:
    """What ``df.ci.show`` draws: each logo's outline, labelled with its name.

    Examples
    --------
    >>> from cinb.ai.logos import shapes
    >>> shapes({"Status": 1, "LogoInfo": [{"Name": "acme", "Sorce": 80,
    ...                                    "Location": {"Point": ["1,2", "9,2", "9,8", "1,8"]}}]})
    [([(1.0, 2.0), (9.0, 2.0), (9.0, 8.0), (1.0, 8.0)], 'acme 80')]
    """
    return [([tuple(float(v) for v in p.split(",")) for p in item["Location"]["Point"]],
             f"{item['Name']} {item['Sorce']}") for item in response.get("LogoInfo") or []]


def flatten(response: dict) -> dict:
    """The ``logos`` analysis columns: names found (comma-separated, best first) and their count.

    Examples
    --------
    >>> from cinb.ai.logos import flatten
    >>> flatten({"Status": 0, "LogoInfo": []})
    {'logos': '', 'logo_count': 0}
    """
    items = response.get("LogoInfo") or []
    return {"logos": ",".join(i["Name"] for i in items), "logo_count": len(items)}


ENDPOINT = register_endpoint(Endpoint(
    "RecognizeLogo", recognize_logo,
    params=(Param("logos", _library, doc="cinb extension: folder of your logo pictures (name = file name), "
                                         "a LogoLibrary or {name: picture}"),
            int_param("min-inliers", MIN_INLIERS, lo=4, hi=1000,
                      doc="cinb extension: agreeing feature matches needed (default 12)"),
            bool_param("ignore-error", doc="CI's (Go SDK) switch, accepted; no effect on a JSON answer")),
    root="RecognitionResult", analysis="logos", columns={"logos": str, "logo_count": int}, flatten=flatten,
    shapes=shapes, description="your logos (a folder of pictures) found by SIFT + homography; CI's brands are "
                               "not available offline"))

__all__ = ["ENDPOINT", "IMAGE_SIDE", "LOGO_SIDE", "Logo", "LogoLibrary", "LogoMatch", "MIN_INLIERS", "flatten",
           "logo_features", "recognize_logo", "shapes"]
