"""``OCR``: general text recognition, CI's ``?ci-process=OCR`` (spec §19.10), offline with rapidocr.

CI reads the printed (or handwritten) text of an image and answers one ``TextDetections`` element
per text line: the text, a confidence 0-100, the line's four corners (``Polygon``) and its box
after rotation correction (``ItemPolygon``), per-character boxes with ``isword=true``, plus the
page's ``Angel`` (sic: rotation in degrees, clockwise positive) and ``Language``.

cinb runs the PP-OCRv6 "small" detector and recogniser and the PP-OCR text-direction classifier
that ship inside the ``rapidocr`` wheel (ONNX files run by onnxruntime; nothing is downloaded).

What cinb adds around the model:

- **Page orientation.** rapidocr alone reads a page turned by 90, 180 or 270 degrees as garbage
  or in reverse line order. cinb runs the detector and the direction classifier once, and lets
  every text line vote for a page angle: a line whose box is tall (the crop rapidocr turns by 90
  degrees) votes 90 or 270, a wide one 0 or 180, the classifier's 0/180 decides between the two,
  each vote weighted by the line's length and the classifier's certainty. A page voted upright
  (the common case) goes on to recognition with no extra cost; a turned page is rotated upright
  and read again (about twice the time). ``Angel`` is that quarter turn plus the median skew of
  the lines, in [0, 360).
- **Coordinates.** ``Polygon`` and the ``isword`` character boxes are in the pixels of the
  upright input (EXIF orientation applied, as every cinb analysis sees an image), first point at
  the text's own top-left corner; ``ItemPolygon`` is the line's box in the rotation-corrected
  page (CI: "after rotation correction"), which is the input itself for an upright page.
- **Parameters** as CI documents them (``type``, ``language-type``, ``ispdf``,
  ``pdf-pagenumber``, ``isword``, ``enable-word-polygon``). The five ``type`` values are settings
  of the one bundled model (only the "small" PP-OCRv6 files ship; the others download, which cinb
  never does): see :data:`TYPES`. Languages: see :data:`LANGUAGES` and :data:`REFUSED_LANGUAGES`.
- **Limits.** CI's OCR takes images up to 7 MB once Base64-encoded (:data:`MAX_BASE64_BYTES`),
  within CI's general pixel limits (checked when the header is read).

What it cannot do: PDF input (no PDF renderer ships offline: ``ispdf=true`` is accepted for images,
as CI does, and a PDF file is refused with -113), Korean, Cyrillic, Vietnamese tone marks, Thai,
Devanagari and Arabic scripts (the bundled dictionary lacks them: -103), a dedicated handwriting
model, and vertical (top-to-bottom) Chinese text, which it takes for a turned page.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import BAD_PARAMETER, UNSUPPORTED_TYPE, CIError
from ..imageinput import ImageInput
from ..limits import check_base64_size
from . import models
from .endpoints import Answer, Endpoint, Param, bool_param, choice_param, int_param, register_endpoint

#: CI's limit on the image, stated on its Base64 text (spec §19.10): 7 MB.
MAX_BASE64_BYTES = 7 * 1024 * 1024

#: The weight files inside the rapidocr package (relative to its folder).
MODEL_FILES = ("models/PP-OCRv6_det_small.onnx", "models/PP-OCRv6_rec_small.onnx",
               "models/ch_ppocr_mobile_v2.0_cls_mobile.onnx")


@dataclass(frozen=True)
class Setting:
    """How one CI ``type`` runs the bundled model.

    Attributes
    ----------
    det_side : int
        Long side (px) the text detector sees (rapidocr's ``limit_side_len``, ``limit_type=max``).
    max_side : int
        Long side the page is reduced to before anything else (rapidocr's ``max_side_len``):
        recognition crops come from this image.
    classify : bool
        Run the text-direction classifier (needed for 180-degree lines and the page orientation).
    note : str
        What CI's type stands for and what cinb does for it.
    """

    det_side: int
    max_side: int
    classify: bool
    note: str


#: CI's ``type`` values and what each does here. Speed and accuracy figures: benchmarks/RESULTS.md.
TYPES: dict[str, Setting] = {
    "general": Setting(960, 2000, True, "general print: detector at 960 px, orientation step"),
    "accurate": Setting(1536, 3000, True,
                        "high-precision print: detector at 1536 px (small text), pages up to 3000 px"),
    "efficient": Setting(736, 2000, True, "simplified print: detector at 736 px"),
    "fast": Setting(640, 1600, False,
                    "high-speed print: detector at 640 px, no direction classifier, no orientation step"),
    "handwriting": Setting(1536, 3000, True, "handwriting: the general model at accurate settings (no handwriting "
                                             "model ships offline)"),
}

#: ``language-type`` values the bundled recogniser reads (its dictionary: 15,908 CJK characters,
#: simplified and traditional, kana, Latin with the accents of these languages, Greek, symbols).
LANGUAGES: dict[str, str] = {
    "zh": "Chinese and English", "zh_rare": "Chinese incl. traditional and many rare characters",
    "auto": "detected: jap when kana appear, else zh", "mix": "mixed languages of this list",
    "jap": "Japanese", "spa": "Spanish", "fre": "French", "ger": "German", "por": "Portuguese",
    "may": "Malay", "ita": "Italian", "hol": "Dutch", "swe": "Swedish", "fin": "Finnish", "dan": "Danish",
    "nor": "Norwegian", "hun": "Hungarian",
}

#: CI's ``language-type`` values whose script the bundled model's dictionary lacks.
REFUSED_LANGUAGES: dict[str, str] = {
    "kor": "Hangul", "rus": "Cyrillic", "vie": "Vietnamese tone-marked letters (44 of them)", "tha": "Thai",
    "hi": "Devanagari", "ara": "Arabic",
}


def _language(value: Any) -> str:
    text = str(value).strip().lower()
    if text in LANGUAGES or text in REFUSED_LANGUAGES:
        return text
    known = ", ".join([*LANGUAGES, *REFUSED_LANGUAGES])
    raise CIError(f"parameter language-type={value!r}: expected one of {known}", code=BAD_PARAMETER,
                  token=f"language-type={value}")


PARAMS: tuple[Param, ...] = (
    choice_param("type", tuple(TYPES), "general", doc="general | accurate | efficient | fast | handwriting"),
    Param("language-type", _language, "zh", doc="zh (default), auto, zh_rare, mix, jap and Latin-script languages"),
    bool_param("ispdf", doc="accept PDF input (cinb: images only; a PDF is refused)"),
    int_param("pdf-pagenumber", 1, lo=1, hi=100000, doc="the PDF page (with ispdf=true)"),
    bool_param("isword", doc="per-character text, confidence and box (Words)"),
    bool_param("enable-word-polygon", doc="per-character corners (WordPolygon), with type=handwriting"),
)


# --- the model ---------------------------------------------------------------------------------------


class OcrEngine:
    """rapidocr's pipeline, run step by step so that the page orientation can be decided mid-way.

    One per process (``cinb.ai.models.get("ocr")``); calls are serialised by a lock because a
    request's detector size is set on the shared detector.
    """

    def __init__(self, threads: int):
        models.onnxruntime()  # telemetry off before rapidocr imports onnxruntime
        rapidocr = models.require("rapidocr", package="rapidocr")
        from rapidocr.main import RapidOCRError  # noqa: PLC0415 - optional dependency, loaded with the model

        # -163 here when a weight file is missing (rapidocr would raise FileNotFoundError on first use)
        det, rec, cls = models.package_files("rapidocr", MODEL_FILES, package="rapidocr")
        self.error = RapidOCRError
        self.ocr = rapidocr.RapidOCR(params={
            "Global.log_level": "critical",  # rapidocr logs every call at INFO otherwise
            # Explicit paths: rapidocr then never looks for (or downloads) a model by name.
            "Det.model_path": str(det),
            "Rec.model_path": str(rec),
            "Cls.model_path": str(cls),
            "EngineConfig.onnxruntime.intra_op_num_threads": max(1, int(threads)),
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            "Det.limit_type": "max",
            "Det.limit_side_len": TYPES["general"].det_side,
        })
        self.threads = threads
        self.lock = threading.Lock()

    def _configure(self, setting: Setting, words: bool) -> None:
        ocr = self.ocr
        ocr.max_side_len = setting.max_side
        ocr.cfg.Det.limit_side_len = setting.det_side
        if ocr.text_det is not None:
            ocr.text_det.limit_side_len = setting.det_side
        ocr.update_params(return_word_box=words, return_single_char_box=words)

    def _detect(self, bgr: np.ndarray, setting: Setting):
        ocr = self.ocr
        img, record = ocr.preprocess_img(bgr)
        try:
            crops, det = ocr.detect_and_crop(img, record)
        except self.error:  # rapidocr's way of saying "no text"
            return None
        if setting.classify:
            upright, cls = ocr.cls_and_rotate(crops)
        else:
            from rapidocr.ch_ppocr_cls import TextClsOutput  # noqa: PLC0415 - optional dependency

            upright, cls = crops, TextClsOutput()
        return img, record, crops, det, upright, cls

    def _recognise(self, bgr: np.ndarray, state) -> Any:
        img, record, crops, det, upright, cls = state
        # The direction classifier turns some upright Latin lines upside down (an English line at
        # -4 degrees read "Th ze p uo o r s." at confidence .65): a line it turned is read both
        # ways and the more confident reading kept. Once the page is upright few lines are turned.
        flipped = [i for i, (label, score) in enumerate(cls.cls_res or [])
                   if "180" in str(label) and float(score) > self.ocr.cfg.Cls.cls_thresh]
        try:
            rec = self.ocr.recognize_txt(list(upright) + [crops[i] for i in flipped])
        except self.error:
            return None
        if flipped:
            n = len(upright)
            fields = {k: list(getattr(rec, k)) for k in ("imgs", "txts", "scores", "word_results")}
            for j, i in enumerate(flipped):
                if fields["scores"][n + j] > fields["scores"][i]:
                    for values in fields.values():
                        values[i] = values[n + j]
            for k, values in fields.items():
                setattr(rec, k, tuple(values[:n]))
        out = self.ocr.build_final_output(bgr, det, cls, rec, crops, record)
        return out if getattr(out, "txts", None) else None

    def read(self, rgb: np.ndarray, setting: Setting, *, words: bool) -> tuple[int, Any]:
        """Read an upright RGB page -> (quarter turn in degrees, rapidocr output or None).

        The output's coordinates are in the page turned by ``-turn`` (``np.rot90(rgb, turn // 90)``).
        """
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        with self.lock:
            self._configure(setting, words)
            state = self._detect(_pad_short_side(bgr, setting.max_side), setting)
            if state is None:
                return 0, None
            turn = page_turn(state[3].boxes, state[5].cls_res) if setting.classify else 0
            if turn:
                bgr = np.ascontiguousarray(np.rot90(bgr, turn // 90))
                state = self._detect(_pad_short_side(bgr, setting.max_side), setting)
                if state is None:
                    return turn, None
            return turn, self._recognise(bgr, state)


def _pad_short_side(bgr: np.ndarray, max_side: int) -> np.ndarray:
    """``bgr`` padded with white below or to the right when rapidocr's reduction would make its short side 0.

    rapidocr scales the long side to ``max_side`` and rounds each side to a multiple of 32: a
    10000 x 20 strip becomes 2000 x 0 and it raises ``ResizeImgError``. Padding (never scaling) at
    the bottom/right keeps every box's coordinates those of the page. Pages that survive the
    rounding are left as they are (a 6000 x 60 line reads exactly as before).
    """
    h, w = bgr.shape[:2]
    longest, short = max(h, w), min(h, w)
    if longest <= max_side:
        return bgr

    def reduced(side: int) -> int:  # rapidocr's reduce_max_side, for the short side
        return int(round(int(side * (max_side / longest)) / 32) * 32)

    if reduced(short) > 0:
        return bgr
    need = -(-17 * longest // max_side)  # int(need * ratio) >= 17: rounds to 32 (round(16 / 32) is 0)
    while reduced(need) <= 0:
        need += 1
    pad = ((0, need - h), (0, 0), (0, 0)) if h < w else ((0, 0), (0, need - w), (0, 0))
    return np.pad(bgr, pad, constant_values=255)


def _load(threads: int) -> OcrEngine:
    return OcrEngine(threads)


MODEL = models.register_model(models.Model(
    "ocr", "text lines and characters (PP-OCRv6 small det + rec, PP-OCR direction classifier)", "rapidocr",
    "rapidocr", "Apache-2.0 (rapidocr code); Apache-2.0 (PaddleOCR PP-OCR weights, converted to ONNX)", _load,
    files=MODEL_FILES, fork_safe=True))


# --- orientation and geometry --------------------------------------------------------------------------


def page_turn(boxes, cls_res) -> int:
    """The page's clockwise quarter turn (0, 90, 180, 270) voted by its text lines.

    Parameters
    ----------
    boxes : array (n, 4, 2)
        Detected line corners, clockwise from the box's top-left (rapidocr's order).
    cls_res : list of (label, score)
        The direction classifier's answer per line crop (``"0"`` or ``"180"``).

    Notes
    -----
    rapidocr turns a crop whose height is >= 1.5 x its width by 90 degrees counter-clockwise
    before classifying it, so a tall line reads upright (``"0"``) when the page was turned
    clockwise by 90, and upside down when it was turned by 270. Lines that are neither clearly
    wide nor clearly tall (single characters) do not vote; a classifier score of 0.5 (a coin
    toss) weighs nothing.

    Examples
    --------
    >>> from cinb.ai.ocr import page_turn
    >>> import numpy as np
    >>> wide = np.array([[0, 0], [100, 0], [100, 20], [0, 20]], float)
    >>> tall = np.array([[0, 0], [20, 0], [20, 100], [0, 100]], float)
    >>> page_turn(np.array([wide, wide]), [("0", 1.0), ("180", 0.6)])
    0
    >>> page_turn(np.array([tall, tall, wide]), [("180", 1.0), ("180", 0.99), ("0", 0.7)])
    270
    """
    votes = {0: 0.0, 90: 0.0, 180: 0.0, 270: 0.0}
    for box, (label, score) in zip(boxes, cls_res or [], strict=False):
        box = np.asarray(box, float)
        width = float(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
        height = float(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
        if width <= 0 or height <= 0:
            continue
        flipped = "180" in str(label)
        if height / width >= 1.5:
            angle = 270 if flipped else 90
        elif width / height >= 1.5:
            angle = 180 if flipped else 0
        else:
            continue
        votes[angle] += max(width, height) * max(0.0, 2.0 * float(score) - 1.0)
    best = max(votes, key=votes.__getitem__)
    return best if votes[best] > votes[0] else 0


def _unturn(points: np.ndarray, turn: int, width: int, height: int) -> np.ndarray:
    """Points in the page turned upright by ``np.rot90(page, turn // 90)`` -> the input's pixels."""
    x, y = points[..., 0], points[..., 1]
    if turn == 90:
        x, y = width - y, x
    elif turn == 180:
        x, y = width - x, height - y
    elif turn == 270:
        x, y = y, height - x
    return np.stack([x, y], axis=-1)


def _skew(boxes: np.ndarray) -> float:
    """Median angle of the lines' top edges, degrees clockwise (image y points down), length-weighted."""
    if len(boxes) == 0:
        return 0.0
    d = boxes[:, 1] - boxes[:, 0]
    angles = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    lengths = np.hypot(d[:, 0], d[:, 1])
    order = np.argsort(angles)
    cum = np.cumsum(lengths[order])
    if cum[-1] <= 0:
        return 0.0
    return float(angles[order][np.searchsorted(cum, cum[-1] / 2)])


def _point(p) -> dict:
    return {"X": int(round(float(p[0]))), "Y": int(round(float(p[1])))}


def _clip(points: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.stack([np.clip(points[..., 0], 0, width), np.clip(points[..., 1], 0, height)], axis=-1)


def _detected_language(texts: list[str], requested: str) -> str:
    if requested != "auto":
        return requested
    for text in texts:
        for ch in text:
            name = unicodedata.name(ch, "")
            if name.startswith(("HIRAGANA", "KATAKANA")):
                return "jap"
    return "zh"


# --- the endpoint ----------------------------------------------------------------------------------------


def _check_input(inp: ImageInput, ispdf: bool) -> None:
    check_base64_size(inp.label, inp.size_bytes, MAX_BASE64_BYTES, service="OCR")
    data = inp.data
    if data is not None and data[:5] == b"%PDF-":
        raise CIError("OCR of a PDF needs a PDF renderer, and none ships offline with cinb; render the page "
                      "to PNG or JPEG first (ispdf=true works for images)" if ispdf else
                      "the input is a PDF: CI reads PDFs only with ispdf=true, and cinb not at all (no "
                      "offline PDF renderer); render the page to PNG or JPEG first",
                      code=UNSUPPORTED_TYPE, token="ispdf")
    inp.header()  # not an image, corrupt, or over CI's pixel limits: CIError before the model loads


def ocr(inp: ImageInput, *, type: str = "general", language_type: str = "zh", ispdf: bool = False,  # noqa: A002
        pdf_pagenumber: int = 1, isword: bool = False, enable_word_polygon: bool = False) -> Answer:
    """The ``OCR`` endpoint: CI's ``TextDetections``, ``Language``, ``Angel`` and ``PdfPageSize``.

    Parameters are CI's (see :data:`PARAMS`); ``language_type`` applies with ``type=general``
    only, as in CI, and a language whose script the model lacks is refused there.

    Raises
    ------
    CIError
        -103 for a refused language; -113 for a PDF or a file that is not an image; -167 over 7 MB
        of Base64; -447 over CI's pixel limits; -163 when rapidocr or onnxruntime is missing.

    Examples
    --------
    >>> from cinb.ai.ocr import ocr
    >>> from PIL import Image, ImageDraw
    >>> from cinb.imageinput import ImageInput
    >>> from cinb.watermark.fonts import font_spec
    >>> img = Image.new("RGB", (360, 80), "white")
    >>> ImageDraw.Draw(img).text((20, 20), "Hello 2026", fill="black", font=font_spec("arial").load(32))
    >>> answer = ocr(ImageInput(img))
    >>> [(t["DetectedText"], t["Confidence"] > 90) for t in answer.response["TextDetections"]]
    [('Hello 2026', True)]
    >>> answer.response["Angel"] < 1 or answer.response["Angel"] > 359
    True
    """
    if type == "general" and language_type in REFUSED_LANGUAGES:
        raise CIError(f"language-type={language_type}: the bundled PP-OCRv6 model has no "
                      f"{REFUSED_LANGUAGES[language_type]}; cinb reads {', '.join(LANGUAGES)}",
                      code=BAD_PARAMETER, token=f"language-type={language_type}")
    _check_input(inp, ispdf)
    setting = TYPES[type]
    engine: OcrEngine = models.get("ocr")
    page = inp.image(None)
    width, height = page.size
    turn, out = engine.read(np.asarray(page), setting, words=isword or enable_word_polygon)
    lang = language_type if type == "general" else "zh"
    if out is None:
        return Answer({"TextDetections": [], "Language": _detected_language([], lang), "Angel": float(turn),
                       "PdfPageSize": 0}, info={"model": "ocr", "type": type, "turn": turn})
    boxes = np.asarray(out.boxes, dtype=float)  # in the upright-turned page
    texts = [str(t) for t in out.txts]
    scores = [float(s) for s in out.scores]
    word_lines = list(out.word_results) if (isword or enable_word_polygon) else []
    if word_lines and len(word_lines) != len(texts):
        word_lines = []  # rapidocr drops lines without character boxes: no safe pairing, leave Words out
    tw, th = (height, width) if turn in (90, 270) else (width, height)
    detections = []
    for i, (box, text, score) in enumerate(zip(boxes, texts, scores, strict=False)):
        corners = _clip(_unturn(box, turn, width, height), width, height)
        x0, y0 = np.floor(box.min(axis=0))
        x1, y1 = np.ceil(box.max(axis=0))
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(tw, x1), min(th, y1)
        item = {"DetectedText": text, "Confidence": int(round(score * 100)),
                "Polygon": [_point(p) for p in corners],
                "ItemPolygon": {"X": int(x0), "Y": int(y0), "Width": int(x1 - x0), "Height": int(y1 - y0)}}
        if word_lines:
            chars = [(str(c), float(s), np.asarray(b, float)) for c, s, b in word_lines[i] if b is not None]
            if isword:
                item["Words"] = [{"Confidence": int(round(s * 100)), "Character": c,
                                  "WordCoordPoint": {"WordCoordinate": [
                                      _point(p) for p in _clip(_unturn(b, turn, width, height), width, height)]}}
                                 for c, s, b in chars]
            if enable_word_polygon and type == "handwriting":
                item["WordPolygon"] = [dict(zip(("LeftTop", "RightTop", "RightBottom", "LeftBottom"),
                                                (_point(p) for p in _clip(_unturn(b, turn, width, height),
                                                                          width, height)),
                                                strict=False))
                                       for _, _, b in chars]
        detections.append(item)
    angel = round((turn + _skew(boxes)) % 360.0, 2)
    response = {"TextDetections": detections, "Language": _detected_language(texts, lang), "Angel": angel,
                "PdfPageSize": 0}
    return Answer(response, info={"model": "ocr", "type": type, "turn": turn, "threads": engine.threads})


def flatten(response: dict) -> dict:
    """The analysis columns: ``ocr_text`` (lines joined by newlines), ``ocr_count``, ``ocr_confidence`` (mean).

    Examples
    --------
    >>> from cinb.ai.ocr import flatten
    >>> flatten({"TextDetections": [{"DetectedText": "a", "Confidence": 90}, {"DetectedText": "b", "Confidence": 70}]})
    {'ocr_text': 'a\\nb', 'ocr_count': 2, 'ocr_confidence': 80.0}
    >>> flatten({"TextDetections": []})
    {'ocr_text': '', 'ocr_count': 0, 'ocr_confidence': None}
    """
    lines = response.get("TextDetections") or []
    confidences = [float(t["Confidence"]) for t in lines]
    return {"ocr_text": "\n".join(t["DetectedText"] for t in lines), "ocr_count": len(lines),
            "ocr_confidence": sum(confidences) / len(confidences) if confidences else None}


def shapes(response: dict) -> list:
    """What ``df.ci.show`` draws: each line's polygon (upright input pixels) labelled with its text.

    Examples
    --------
    >>> from cinb.ai.ocr import shapes
    >>> shapes({"TextDetections": [{"DetectedText": "hi", "Polygon": [{"X": 1, "Y": 2}, {"X": 9, "Y": 2},
    ...                                                                 {"X": 9, "Y": 6}, {"X": 1, "Y": 6}]}]})
    [([(1, 2), (9, 2), (9, 6), (1, 6)], 'hi')]
    """
    return [([(p["X"], p["Y"]) for p in t.get("Polygon") or []], t.get("DetectedText", ""))
            for t in response.get("TextDetections") or []]


ENDPOINT = register_endpoint(Endpoint(
    "OCR", ocr, params=PARAMS, analysis="ocr",
    columns={"ocr_text": str, "ocr_count": int, "ocr_confidence": float}, flatten=flatten,
    models=("ocr",), fork_safe=True, shapes=shapes,
    description="text lines with confidence and polygons (rapidocr PP-OCRv6, offline; zh/en/ja/Latin)"))

__all__ = ["ENDPOINT", "LANGUAGES", "MAX_BASE64_BYTES", "MODEL", "MODEL_FILES", "OcrEngine", "REFUSED_LANGUAGES",
           "Setting", "TYPES", "flatten", "ocr", "page_turn", "shapes"]
