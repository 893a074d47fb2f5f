"""Face-aware and smart crops: ``imageMogr2/scrop/<w>x<h>`` (spec §3.4) and ``AIImageCrop`` (spec §19.13).

``scrop/<w>x<h>`` (CI: "detects faces, scales the image so that w x h covers it, then crops w x h
centred on the face region"): the image is scaled by ``max(w / W, h / H)`` and the ``w`` x ``h``
window is centred on the face region, then moved inside the image. The face region is the box
around every face at least a quarter the area of the largest one (:data:`REGION_SHARE`: a crowd in
the background does not pull the window off the subject). Only the window is resampled (one
Lanczos pass from the source pixels), so a small window of a large image costs little. Faces are
found on the first frame by :mod:`cinb.ai.faces` in the upright picture and mapped back to the
stored pixels (the pipeline's crops work on stored pixels, like ``crop``). **No face: the image is
returned unchanged**, as CI's current page says (its legacy page's fallback to a centre crop applied
only with ``/crop/``); ``Result.info["scrop"]`` says which happened. ``w`` and ``h`` are 10-16383
(CI's legacy range, -103 outside it); a result over 9999 px a side is CI's output limit (-442).
Animated images: every frame is cut by the same window, placed by the first frame's faces (as
``crop`` cuts every frame).

``AIImageCrop`` (``width``, ``height`` both required, ``fixed``, ``ignore-error``), CI's documented
meaning: ``width``:``height`` is the wanted aspect ratio, each at most the image's size; with
``fixed=0`` the ratio is reduced to lowest terms and the answer is the largest window of exactly that
ratio (an integer multiple of it), with ``fixed=1`` the window is resized to exactly ``width`` x
``height``. ``ignore-error=1`` returns the original image where processing fails (too large, a size
larger than the image). The window is placed where it holds the most *importance*
(:func:`importance_map`): detected faces weigh :data:`FACE_WEIGHT` times the most salient pixel,
over a saliency map (spectral residual, Hou & Zhang 2007, plus colour contrast to the image's mean
colour, Achanta et al. 2009) with a mild centre prior. CI's input limit is 5 MB (-167); CI
recommends ratios between 1 and 2.5, cinb takes any.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import cv2
import numpy as np
from PIL import Image

from ..canvas import Canvas
from ..errors import BAD_PARAMETER, CIError
from ..imageinput import ImageInput
from ..limits import LIMITS, check_input
from ..ops.frames import check_output_size, resize
from ..ops.frames import crop as crop_frame
from ..ops.rotation import ORIENTATION_TRANSPOSE
from ..rules.grammar import bad, out_of_range
from ..rules.mogr2 import register_op
from .endpoints import Answer, Endpoint, bool_param, int_param, register_endpoint
from .faces import MODEL, Face, find_faces, upright_size

#: scrop's range for w and h (CI's legacy page).
SCROP_MIN, SCROP_MAX = 10, 16383
#: Faces smaller than this share of the largest face's area do not move the scrop window.
REGION_SHARE = 0.25
#: Weight of a face pixel in AIImageCrop's importance map, relative to the most salient pixel.
FACE_WEIGHT = 4.0
#: Long side (px) the importance map is computed at.
MAP_SIDE = 256
#: CI's AIImageCrop input limit: 5 MB (spec §19.13).
CROP_LIMITS = replace(LIMITS, max_file_bytes=5 * 1024 * 1024)

_SIZE = re.compile(r"^(\d{1,9})x(\d{1,9})$")
T = Image.Transpose


# --- geometry --------------------------------------------------------------------------------------


def face_region(faces: list[Face], share: float = REGION_SHARE) -> tuple[float, float, float, float] | None:
    """The box ``(x0, y0, x1, y1)`` around every face at least ``share`` of the largest's area.

    Examples
    --------
    >>> from cinb.ai.faces import Face
    >>> from cinb.ai.smartcrop import face_region
    >>> face_region([Face(10, 10, 40, 40, 1.0), Face(100, 20, 30, 30, 1.0), Face(300, 300, 5, 5, 1.0)])
    (10, 10, 130, 50)
    >>> face_region([]) is None
    True
    """
    if not faces:
        return None
    largest = max(f.area for f in faces)
    kept = [f for f in faces if f.area >= share * largest]
    return (min(f.x for f in kept), min(f.y for f in kept), max(f.x + f.width for f in kept),
            max(f.y + f.height for f in kept))


def _point_back(x: float, y: float, op, size: tuple[int, int]) -> tuple[float, float]:
    """Where the point (x, y) of a ``size`` picture goes under Pillow's transpose ``op``."""
    w, h = size
    return {
        T.FLIP_LEFT_RIGHT: (w - x, y), T.FLIP_TOP_BOTTOM: (x, h - y), T.ROTATE_180: (w - x, h - y),
        T.ROTATE_90: (y, w - x), T.ROTATE_270: (h - y, x), T.TRANSPOSE: (y, x), T.TRANSVERSE: (h - y, w - x),
    }[op]


#: The transpose that undoes each one (rotations by 90 degrees swap; the others undo themselves).
_INVERSE = {T.ROTATE_90: T.ROTATE_270, T.ROTATE_270: T.ROTATE_90}


def stored_box(box: tuple[float, float, float, float], orientation: int,
               upright: tuple[int, int]) -> tuple[float, float, float, float]:
    """A box of the upright picture (``upright`` size) in the stored pixels of an EXIF-``orientation`` file.

    Examples
    --------
    >>> from cinb.ai.smartcrop import stored_box
    >>> stored_box((10, 20, 30, 60), 6, (100, 200))  # upright 100x200 = stored 200x100 turned clockwise
    (20, 70, 60, 90)
    """
    op = ORIENTATION_TRANSPOSE.get(orientation)
    if op is None:
        return box
    back = _INVERSE.get(op, op)
    x0, y0, x1, y1 = box
    pts = [_point_back(x, y, back, upright) for x, y in ((x0, y0), (x1, y1))]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def cover_window(size: tuple[int, int], target: tuple[int, int],
                 centre: tuple[float, float]) -> tuple[float, float, float, float]:
    """scrop's source window: the part of a ``size`` image that, scaled to cover ``target``, is cut.

    Centred on ``centre`` and moved inside the image.

    Examples
    --------
    >>> from cinb.ai.smartcrop import cover_window
    >>> cover_window((1000, 500), (100, 100), (900, 250))  # scale 0.2: a 500x500 window, pushed left
    (500.0, 0.0, 1000.0, 500.0)
    """
    W, H = size
    w, h = target
    s = max(w / W, h / H)
    cw, ch = min(W, w / s), min(H, h / s)
    x0 = min(max(centre[0] - cw / 2, 0.0), W - cw)
    y0 = min(max(centre[1] - ch / 2, 0.0), H - ch)
    return x0, y0, x0 + cw, y0 + ch


def _resample(frame: Image.Image, box: tuple[float, float, float, float], size: tuple[int, int]) -> Image.Image:
    shrinking = size[0] <= box[2] - box[0] and size[1] <= box[3] - box[1]
    return frame.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=1.5 if shrinking else None)


# --- scrop -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmartCrop:
    """``scrop/<w>x<h>``: scale to cover w x h, cut w x h centred on the faces (module notes).

    Examples
    --------
    >>> from cinb import data, process
    >>> r = process(data.astronaut(), "imageMogr2/scrop/120x200")
    >>> r.width, r.height, r.info["scrop"]
    (120, 200, 'faces: 1')
    >>> process(data.coffee(), "imageMogr2/scrop/120x200").info["scrop"]
    'no face: original'
    """

    width: int
    height: int

    def __post_init__(self):
        for side in (self.width, self.height):
            if not SCROP_MIN <= side <= SCROP_MAX:
                raise out_of_range(f"scrop sizes must be {SCROP_MIN}-{SCROP_MAX}, got {self.value()!r}",
                                   self.value())

    def value(self) -> str:
        return f"{self.width}x{self.height}"

    def tokens(self) -> list[str]:
        return ["scrop", self.value()]

    def faces(self, canvas: Canvas) -> list[Face]:
        """Faces of the canvas's first frame, in its upright pixels."""
        frame = canvas.frames[0]
        op = ORIENTATION_TRANSPOSE.get(canvas.orientation)
        upright = frame.transpose(op) if op is not None else frame
        return find_faces(ImageInput(upright))[0]

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        check_output_size((self.width, self.height), f"scrop/{self.value()}")
        faces = self.faces(canvas)
        region = face_region(faces)
        if region is None:
            out = canvas.replace(info={**canvas.info, "scrop": "no face: original"})
            return out
        W, H = canvas.size
        op = ORIENTATION_TRANSPOSE.get(canvas.orientation)
        upright = (H, W) if canvas.orientation >= 5 and op is not None else (W, H)
        x0, y0, x1, y1 = stored_box(region, canvas.orientation, upright)
        target = (self.width, self.height)  # in stored pixels, as crop/ and thumbnail/ size theirs
        box = cover_window((W, H), target, ((x0 + x1) / 2, (y0 + y1) / 2))
        out = canvas.map_frames(lambda f: _resample(f, box, target))
        out.nominal_size = None
        out.info = {**canvas.info, "scrop": f"faces: {len(faces)}"}
        return out


def parse_scrop(value: str) -> SmartCrop:
    """``scrop/<w>x<h>`` -> :class:`SmartCrop`; -103 naming the value when malformed or out of range.

    Examples
    --------
    >>> from cinb.ai.smartcrop import parse_scrop
    >>> parse_scrop("300x200").tokens()
    ['scrop', '300x200']
    >>> parse_scrop("300x")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: scrop must look like <w>x<h>, got '300x' (X-ErrNo -103)
    """
    m = _SIZE.match(value or "")
    if not m:
        raise bad(f"scrop must look like <w>x<h>, got {value!r}", value)
    return SmartCrop(int(m.group(1)), int(m.group(2)))


register_op("scrop", parse_scrop)


# --- AIImageCrop -----------------------------------------------------------------------------------


def _normalised(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def spectral_residual(gray: np.ndarray) -> np.ndarray:
    """Spectral-residual saliency (Hou & Zhang 2007) of a grey image, same shape, 0-1."""
    h, w = gray.shape
    scale = 64 / max(h, w)
    small = cv2.resize(gray.astype(np.float32), (max(8, round(w * scale)), max(8, round(h * scale))),
                       interpolation=cv2.INTER_AREA)
    spectrum = np.fft.fft2(small)
    log_amp = np.log(np.abs(spectrum) + 1e-9)
    residual = log_amp - cv2.blur(log_amp.astype(np.float32), (3, 3))
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    sal = cv2.GaussianBlur(sal.astype(np.float32), (0, 0), 2.5)
    return _normalised(cv2.resize(sal, (w, h), interpolation=cv2.INTER_LINEAR))


def colour_contrast(rgb: np.ndarray) -> np.ndarray:
    """Frequency-tuned saliency (Achanta et al. 2009): Lab distance of each blurred pixel to the mean, 0-1."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    blurred = cv2.GaussianBlur(lab, (0, 0), 1.5)
    return _normalised(np.linalg.norm(blurred - lab.reshape(-1, 3).mean(axis=0), axis=2))


def importance_map(rgb: np.ndarray, faces: list[Face]) -> np.ndarray:
    """What AIImageCrop keeps: saliency (half spectral residual, half colour contrast) under a mild
    centre prior, plus :data:`FACE_WEIGHT` on every face box (grown a fifth: hair, chin).

    Parameters
    ----------
    rgb : numpy.ndarray
        uint8 (h, w, 3).
    faces : list of Face
        In ``rgb``'s pixels.

    Returns
    -------
    numpy.ndarray
        float32 (h, w), >= 0.
    """
    h, w = rgb.shape[:2]
    gray = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    sal = 0.5 * spectral_residual(gray) + 0.5 * colour_contrast(rgb)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    centre = np.exp(-(((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) / (2 * 0.3 ** 2)))
    out = sal * (0.7 + 0.3 * centre)
    for f in faces:
        gx, gy = 0.1 * f.width, 0.1 * f.height
        x0, y0 = max(0, int(f.x - gx)), max(0, int(f.y - gy))
        x1, y1 = min(w, int(math.ceil(f.x + f.width + gx))), min(h, int(math.ceil(f.y + f.height + gy)))
        if x1 > x0 and y1 > y0:
            out[y0:y1, x0:x1] += FACE_WEIGHT
    return out.astype(np.float32)


def best_window(importance: np.ndarray, cw: int, ch: int) -> tuple[int, int]:
    """Top-left corner of the ``cw`` x ``ch`` window holding the most importance (ties: nearest the centre).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.smartcrop import best_window
    >>> m = np.zeros((10, 20), np.float32); m[2:5, 15:18] = 1
    >>> best_window(m, 6, 10)
    (12, 0)
    """
    h, w = importance.shape
    cw, ch = min(cw, w), min(ch, h)
    integral = np.pad(importance.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = integral[ch:, cw:] - integral[:-ch, cw:] - integral[ch:, :-cw] + integral[:-ch, :-cw]
    ys, xs = np.mgrid[0:sums.shape[0], 0:sums.shape[1]]
    distance = (xs - (w - cw) / 2) ** 2 + (ys - (h - ch) / 2) ** 2
    best = np.flatnonzero(sums >= sums.max() - 1e-9 * max(1.0, abs(float(sums.max()))))
    pick = best[np.argmin(distance.ravel()[best])]
    return int(pick % sums.shape[1]), int(pick // sums.shape[1])


def crop_window(size: tuple[int, int], ratio: tuple[int, int]) -> tuple[int, int]:
    """The largest window of exactly ``ratio`` (in lowest terms) inside ``size``: ``k * ratio``.

    Examples
    --------
    >>> from cinb.ai.smartcrop import crop_window
    >>> crop_window((1000, 600), (10, 20))  # 1:2 -> 300x600
    (300, 600)
    """
    g = math.gcd(*ratio)
    rw, rh = ratio[0] // g, ratio[1] // g
    k = min(size[0] // rw, size[1] // rh)
    return k * rw, k * rh


def smart_box(inp: ImageInput, ratio: tuple[int, int]) -> tuple[tuple[int, int, int, int], list[Face]]:
    """AIImageCrop's window ``(x0, y0, x1, y1)`` in the upright full-size image, and the faces found."""
    W, H = upright_size(inp)
    cw, ch = crop_window((W, H), ratio)
    faces, _ = find_faces(inp)
    small = inp.image(MAP_SIDE)
    s = small.width / W
    importance = importance_map(np.asarray(small), [f.scaled(s) for f in faces])
    x, y = best_window(importance, max(1, round(cw * s)), max(1, round(ch * s)))
    x0 = min(max(0, round(x / s)), W - cw)
    y0 = min(max(0, round(y / s)), H - ch)
    return (x0, y0, x0 + cw, y0 + ch), faces


def ai_image_crop(inp: ImageInput, *, width: int, height: int, fixed: bool = False,
                  ignore_error: bool = False) -> Answer:
    """CI's ``AIImageCrop``: the best window of ratio ``width``:``height`` (exactly that size with ``fixed``).

    Returns
    -------
    Answer
        The cropped picture (upright); ``info`` has ``crop`` ``[x, y, w, h]`` in the upright source
        and ``faces`` (how many were found).

    Raises
    ------
    CIError
        -103 ``width``/``height`` larger than the image; -167 over 5 MB; the decode errors. With
        ``ignore-error=1``, any of them returns the original picture instead (when it decodes).

    Examples
    --------
    >>> from cinb import ci_process, data
    >>> r = ci_process(data.astronaut(), "AIImageCrop", width=1, height=2)
    >>> r.width, r.height, r.info["crop"][2:]
    (256, 512, [256, 512])
    """
    try:
        h = inp.header()
        check_input(inp.label, width=h.width, height=h.height, size_bytes=inp.size_bytes, token=inp.label,
                    limits=CROP_LIMITS)
        W, H = upright_size(inp)
        if width > W or height > H:
            raise CIError(f"AIImageCrop: width={width} height={height} exceed the {W}x{H} image",
                          code=BAD_PARAMETER, token=f"width={width}" if width > W else f"height={height}")
        (x0, y0, x1, y1), faces = smart_box(inp, (width, height))
        # cut the decoded frame itself (upright), not the flattened RGB view: alpha and grey stay
        image = crop_frame(inp.frame(), (x0, y0, x1, y1))
        if fixed and image.size != (width, height):
            image = resize(image, (width, height))
    except CIError as exc:
        if not ignore_error:
            raise
        return Answer({}, image=inp.canvas(), info={"ignored_error": str(exc)})
    return Answer({}, image=image, info={"crop": [x0, y0, x1 - x0, y1 - y0], "faces": len(faces)})


ENDPOINT = register_endpoint(Endpoint(
    "AIImageCrop", ai_image_crop, kind="image",
    params=(int_param("width", required=True, lo=1, doc="ratio width (<= the image's width)"),
            int_param("height", required=True, lo=1, doc="ratio height (<= the image's height)"),
            bool_param("fixed", doc="1: output exactly width x height px; 0: the largest window of that ratio"),
            bool_param("ignore-error", doc="1: return the original image when processing fails")),
    models=(MODEL,), fork_safe=True,
    description="smart crop to a ratio: faces and saliency decide where the window goes"))

__all__ = ["CROP_LIMITS", "ENDPOINT", "FACE_WEIGHT", "SmartCrop", "ai_image_crop", "best_window", "colour_contrast",
           "cover_window", "crop_window", "face_region", "importance_map", "parse_scrop", "smart_box",
           "spectral_residual", "stored_box"]
