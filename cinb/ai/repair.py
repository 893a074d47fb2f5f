"""``ImageRepair``: remove what a mask covers and fill it from the picture around it (spec §19.13).

CI takes the area to remove as ``MaskPic=<b64u URL of a mask image>`` (white = remove) or
``MaskPoly=<b64u JSON [[[x, y], ...], ...]>`` (polygons in the picture's pixels) and answers with
the repaired image.

Locally (``docs/ci-compatibility.md``):

- ``MaskPic`` decodes to a local path: absolute, or relative to the source image's folder, then to
  the working directory (a COS-style key ``masks/a.png`` next to the photos works). An ``http://``
  or ``https://`` URL is -103, like ``detect-url``: cinb never fetches. Python callers may also pass
  a ``pathlib.Path``, a PIL image or a numpy array. A mask of another size is stretched to the
  picture's (nearest neighbour); a mask with transparency counts transparent pixels as "keep".
- ``MaskPoly`` polygons are filled (even-odd) in upright pixels; Python callers may pass the list.
- Both may be given: their union is removed.

The fill is PatchMatch (Barnes et al. 2009) from ``patchmatch-cython`` (BSD-3, a compiled
extension, no model file): it copies texture from the rest of the picture, coarse to fine, and
keeps grain and pattern. It works on a window around the mask (the mask's box grown by its own
size, at least 64 px), at most :data:`REPAIR_SIZE` px long (larger windows are reduced, filled and
the fill enlarged), so a small mark on a large photo costs little. Pixels outside the mask are never
changed. When ``patchmatch-cython`` is missing, OpenCV's Telea inpainting (smooth, blurry on
texture) runs instead; ``Result.info["method"]`` says which ran.

No neural inpainter (LaMa, MI-GAN) ships offline, so large holes across structured content (a
face, text, a building's edge) are filled with plausible texture, not with what "should" be there.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from ..errors import BAD_PARAMETER, CIError
from ..imageinput import ImageInput
from ..ops.rotation import AutoOrient
from ..rules.grammar import b64u_text
from ..tokens import b64u_encode
from . import models
from .endpoints import Answer, Endpoint, Param, local_path, register_endpoint

#: Longest side of the window PatchMatch fills at full detail (larger windows are reduced first).
REPAIR_SIZE = 1024
#: Smallest margin of picture kept around the mask for PatchMatch to copy from (px).
MIN_MARGIN = 64
#: Most polygons and points MaskPoly may hold (a guard against a runaway JSON).
MAX_POLYGONS = 100
MAX_POINTS = 10000


def _native_library() -> tuple[str, ...]:
    spec = importlib.util.find_spec("patchmatch_cython")
    if spec is None or not spec.submodule_search_locations:
        return ()
    folder = Path(list(spec.submodule_search_locations)[0])
    return tuple(sorted(p.name for p in folder.iterdir() if p.suffix in (".so", ".pyd")))


models.register_model(models.Model(
    "patchmatch", "inpainting by patch copying (ImageRepair)", "patchmatch-cython", "patchmatch_cython", "BSD-3-Clause",
    load=lambda threads: importlib.import_module("patchmatch_cython"), files=_native_library()))


# --- parameters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaskPath:
    """A parsed ``MaskPic``: the local path it names; its text is the b64u token (rule forms round-trip).

    Examples
    --------
    >>> from cinb.ai.repair import MaskPath
    >>> str(MaskPath("masks/a.png")), MaskPath("masks/a.png").path
    ('bWFza3MvYS5wbmc', 'masks/a.png')
    """

    path: str

    def __str__(self) -> str:
        return b64u_encode(self.path)


class Polygons(tuple):
    """Parsed ``MaskPoly`` polygons; their text is the b64u JSON token, so rule forms round-trip."""

    def __str__(self) -> str:
        return b64u_encode(json.dumps([[[_num(x), _num(y)] for x, y in poly] for poly in self],
                                      separators=(",", ":")))


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


def _parse_maskpic(value: Any) -> Any:
    """``MaskPic``: b64u of a local path (text), or a Path, PIL image or array from Python callers."""
    if isinstance(value, (Image.Image, np.ndarray, MaskPath)):
        return value
    if isinstance(value, os.PathLike):
        return MaskPath(local_path(value, "MaskPic"))
    text = b64u_text(str(value).strip(), "MaskPic")
    if text.lower().startswith(("http://", "https://")):
        raise CIError(f"MaskPic is the URL {text!r}: CI fetches it, cinb never touches the network; give the "
                      "b64u of a local path (absolute, or relative to the source image's folder)",
                      code=BAD_PARAMETER, token="MaskPic")
    if not text.strip():
        raise CIError("MaskPic decodes to an empty path", code=BAD_PARAMETER, token="MaskPic")
    return MaskPath(local_path(text, "MaskPic"))


def _parse_maskpoly(value: Any) -> tuple[tuple[tuple[float, float], ...], ...]:
    """``MaskPoly``: b64u JSON ``[[[x, y], ...], ...]`` (or the list itself): polygons of >= 3 points."""
    if isinstance(value, (list, tuple)):
        polys = value
    else:
        text = b64u_text(str(value).strip(), "MaskPoly")
        try:
            polys = json.loads(text)
        except (ValueError, RecursionError):  # "[" nested past the recursion limit is no polygon either
            raise CIError(f"MaskPoly is not JSON once decoded: {text[:80]!r}", code=BAD_PARAMETER,
                          token="MaskPoly") from None
    bad = CIError("MaskPoly must be a list of polygons, each a list of at least 3 [x, y] points, e.g. "
                  "[[[10,10],[50,10],[30,40]]]", code=BAD_PARAMETER, token="MaskPoly")
    if not isinstance(polys, (list, tuple)) or not polys or len(polys) > MAX_POLYGONS:
        raise bad
    out = []
    total = 0
    for poly in polys:
        if not isinstance(poly, (list, tuple)) or len(poly) < 3:
            raise bad
        points = []
        for pt in poly:
            if (not isinstance(pt, (list, tuple)) or len(pt) != 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in pt)):
                raise bad
            points.append((float(pt[0]), float(pt[1])))
        total += len(points)
        out.append(tuple(points))
    if total > MAX_POINTS:
        raise bad
    return Polygons(out)


PARAMS = (Param("MaskPic", _parse_maskpic, doc="b64u of the mask image's local path (white = remove)"),
          Param("MaskPoly", _parse_maskpoly, doc="b64u JSON [[[x,y],...],...]: polygons to remove"))


# --- the mask ------------------------------------------------------------------------------------


def _mask_path(path: Path, base_dir: str | None) -> Path:
    candidates = [path]
    if not path.is_absolute() and base_dir:
        candidates.insert(0, Path(base_dir) / path)
    for c in candidates:
        try:
            if c.is_file():
                return c
        except OSError:  # the source's folder joined with the mask path is over the OS's limits: not there
            continue
    where = " or ".join(str(c) for c in candidates)
    raise CIError(f"MaskPic {str(path)!r} not found (looked for {where}); cinb never downloads",
                  code=BAD_PARAMETER, token="MaskPic")


def _mask_from_image(src: Any, size: tuple[int, int], base_dir: str | None) -> np.ndarray:
    """White (> 127) pixels of the mask picture, upright, at ``size``; transparent pixels are kept."""
    if isinstance(src, np.ndarray):
        a = src.astype(np.float32)
        if a.ndim == 3:
            a = a[..., :3].mean(axis=-1)
        if src.dtype == bool or src.dtype.kind == "f":  # booleans, or floats in 0-1
            a = a * 255.0
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")
    else:
        if isinstance(src, MaskPath):
            src = os.fspath(_mask_path(Path(src.path), base_dir))
        canvas = AutoOrient().apply(ImageInput(src).canvas())
        frame = canvas.frames[0]
        grey = frame.convert("L")
        if "A" in frame.getbands():  # transparent = keep: luminance times alpha
            grey = Image.fromarray((np.asarray(grey, np.uint16) * np.asarray(frame.getchannel("A"), np.uint16)
                                    // 255).astype(np.uint8), "L")
        img = grey
    if img.size != size:
        img = img.resize(size, Image.Resampling.NEAREST)
    return np.asarray(img) > 127


def _mask_from_polygons(polys, size: tuple[int, int]) -> np.ndarray:
    img = Image.new("1", size, 0)
    draw = ImageDraw.Draw(img)
    for poly in polys:
        draw.polygon(list(poly), fill=1, outline=1)
    return np.asarray(img, dtype=bool)


def repair_mask(size: tuple[int, int], *, mask_pic: Any = None, mask_poly: Any = None,
                base_dir: str | None = None) -> np.ndarray:
    """The boolean (h, w) mask of pixels to remove, from ``MaskPic`` and/or ``MaskPoly`` (parsed values).

    Examples
    --------
    >>> from cinb.ai.repair import repair_mask
    >>> m = repair_mask((40, 30), mask_poly=(((5, 5), (20, 5), (20, 15), (5, 15)),))
    >>> m.shape, int(m.sum()), bool(m[10, 10]), bool(m[25, 25])
    ((30, 40), 176, True, False)
    """
    mask = np.zeros((size[1], size[0]), bool)
    if mask_pic is not None:
        mask |= _mask_from_image(mask_pic, size, base_dir)
    if mask_poly is not None:
        mask |= _mask_from_polygons(mask_poly, size)
    return mask


# --- the fill ------------------------------------------------------------------------------------


def _window(mask: np.ndarray) -> tuple[int, int, int, int]:
    """The part of the picture PatchMatch sees: the mask's box grown by its own size (>= MIN_MARGIN)."""
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    y0, y1, x0, x1 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
    mx = max(MIN_MARGIN, x1 - x0)
    my = max(MIN_MARGIN, y1 - y0)
    h, w = mask.shape
    return max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)


def fill(rgb: np.ndarray, mask: np.ndarray, *, method: str | None = None, seed: int = 0) -> tuple[np.ndarray, dict]:
    """``rgb`` (uint8 h x w x 3) with the ``mask`` pixels filled from their surroundings.

    Parameters
    ----------
    method : {"patchmatch", "telea"}, optional
        Default: PatchMatch when patchmatch-cython is installed, else OpenCV's Telea.
    seed : int
        PatchMatch's random seed (the answer is the same for the same input and seed).

    Returns
    -------
    (numpy.ndarray, dict)
        The repaired picture (pixels outside the mask untouched) and diagnostics: ``method``,
        ``window`` ``[x0, y0, x1, y1]``, ``scale`` of the window's fill.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.repair import fill
    >>> rgb = np.zeros((80, 120, 3), np.uint8); rgb[:, :, 1] = 150; rgb[30:50, 50:70] = 255
    >>> mask = np.zeros((80, 120), bool); mask[28:52, 48:72] = True
    >>> out, info = fill(rgb, mask)
    >>> info["method"], int(out[40, 60, 0]), int(out[40, 60, 1]), bool((out[~mask] == rgb[~mask]).all())
    ('patchmatch', 0, 150, True)
    """
    import cv2  # noqa: PLC0415 - OpenCV only for the fill

    if method is None:
        method = "patchmatch" if importlib.util.find_spec("patchmatch_cython") is not None else "telea"
    if method not in ("patchmatch", "telea"):
        raise CIError(f"unknown repair method {method!r}: patchmatch or telea", code=BAD_PARAMETER, token=method)
    x0, y0, x1, y1 = _window(mask)
    crop, hole = rgb[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    scale = min(1.0, REPAIR_SIZE / max(crop.shape[:2]))
    work, work_hole = crop, hole
    if scale < 1.0:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        work = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        # a pixel partly in the hole is in it: no colour of the removed thing leaks into the fill
        work_hole = cv2.resize(hole.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 0
    if work_hole.all():
        raise CIError("the repair mask covers the whole picture: nothing is left to fill it from",
                      code=BAD_PARAMETER, token="MaskPic")
    if method == "patchmatch":
        pm = models.get("patchmatch")
        filled = pm.inpaint_pyramid(np.ascontiguousarray(work), work_hole.astype(np.uint8) * 255, patch_size=5,
                                    seed=seed)
    else:
        filled = cv2.inpaint(np.ascontiguousarray(work), work_hole.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
    if scale < 1.0:
        filled = cv2.resize(filled, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_CUBIC)
    out = rgb.copy()
    region = out[y0:y1, x0:x1]
    region[hole] = filled[hole]
    return out, {"method": "patchmatch" if method == "patchmatch" else "cv2.inpaint (telea)",
                 "window": [int(x0), int(y0), int(x1), int(y1)], "scale": round(scale, 4)}


# --- the endpoint --------------------------------------------------------------------------------


def image_repair(inp: ImageInput, *, MaskPic: Any = None, MaskPoly: Any = None) -> Answer:  # noqa: N803 - CI's names
    """CI's ``ImageRepair``: the picture with the masked area filled from its surroundings.

    Returns
    -------
    Answer
        ``response`` is empty (CI answers with the image); ``image`` the repaired picture (the
        source's format; upright); ``info``: ``method``, ``masked_pixels``, ``window``, ``seconds``.

    Raises
    ------
    CIError
        -103 without MaskPic or MaskPoly, for an http(s) MaskPic, a mask file not found or not an
        image, a malformed MaskPoly, or a mask covering the whole picture; the decode errors and
        CI's limits for the picture.

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image
    >>> from cinb.imageinput import ImageInput
    >>> from cinb.ai.repair import image_repair
    >>> rgb = np.full((60, 80, 3), 90, np.uint8); rgb[20:30, 30:40] = 250
    >>> answer = image_repair(ImageInput(Image.fromarray(rgb)), MaskPoly=[[[28, 18], [42, 18], [42, 32], [28, 32]]])
    >>> answer.image.getpixel((35, 25)), answer.info["masked_pixels"] > 150
    ((90, 90, 90), True)
    """
    start = time.perf_counter()
    if MaskPic is None and MaskPoly is None:
        raise CIError("ImageRepair needs MaskPic (a mask image, white = remove) or MaskPoly (polygons)",
                      code=BAD_PARAMETER, token="MaskPic")
    inp.header()
    image = inp.image(None)
    base_dir = os.path.dirname(os.path.abspath(inp.path)) if inp.path else None
    mask = repair_mask(image.size, mask_pic=MaskPic, mask_poly=MaskPoly, base_dir=base_dir)
    count = int(mask.sum())
    info: dict = {"masked_pixels": count}
    if count == 0:
        info.update(method="none (empty mask)", seconds=round(time.perf_counter() - start, 3))
        return Answer({}, image=_with_alpha(image, inp), info=info)
    out, diag = fill(np.asarray(image), mask)
    info.update(diag, seconds=round(time.perf_counter() - start, 3))
    return Answer({}, image=_with_alpha(Image.fromarray(out), inp), info=info)


def _with_alpha(image: Image.Image, inp: ImageInput) -> Image.Image:
    """``image`` (RGB, upright) with the source's transparency put back, when it has any.

    The fill works on the picture flattened over white; without this a transparent PNG, WebP or
    AVIF came back opaque, in its own format, white where it was transparent.
    """
    canvas = inp.canvas()  # the decode image(None) made: cached
    frame = canvas.frames[0]
    if "A" not in frame.getbands():
        return image
    alpha = AutoOrient().apply(canvas.replace(frames=[frame.getchannel("A")], durations=canvas.durations[:1]))
    out = image.convert("RGBA")
    out.putalpha(alpha.frames[0])
    return out


ENDPOINT = register_endpoint(Endpoint(
    "ImageRepair", image_repair, params=PARAMS, kind="image", rule="ImageRepair", models=("patchmatch",),
    description="remove the masked area (MaskPic white, or MaskPoly polygons) and fill it from around it"))

__all__ = ["ENDPOINT", "PARAMS", "MaskPath", "Polygons", "REPAIR_SIZE", "fill", "image_repair", "repair_mask"]
