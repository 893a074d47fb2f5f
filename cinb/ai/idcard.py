"""``IDCardOCR`` and ``AILicenseRec``: Chinese resident ID cards (and driving licences) read offline (spec §19.6).

CI's ``?ci-process=IDCardOCR&CardSide=FRONT|BACK&Config={...}`` answers
``Response{IdInfo{Name, Sex, Nation, Birth, Address, IdNum, Authority, ValidDate},
AdvancedInfo{IdCard, Portrait, Quality, BorderCodeValue, WarnInfos[]}}`` for a second-generation
resident identity card, front (the portrait side) or back (the national-emblem side). ``CardSide``
omitted means "decide"; ``Config`` is JSON of booleans, all false by default (CI's page,
cloud.tencent.com/document/api/460/48638): ``CropIdCard``, ``CropPortrait``, ``CopyWarn``,
``BorderCheckWarn``, ``ReshootWarn``, ``DetectPsWarn``, ``TempIdWarn``, ``InvalidDateWarn``,
``Quality``, ``MultiCardDetect``. ``AdvancedInfo`` is answered only when something in it was asked
for. ``WarnInfos`` holds the codes of Tencent Cloud's ID card OCR (the service behind CI; its
IDCardOCR response documents them): :data:`WARN_CODES`.

``?ci-process=AILicenseRec&CardType=IDCard|DriverLicense`` (default ``DriverLicense``) locates the
fields of an ID card's front or a driving licence's main page and answers
``Response{Status, IdInfo[]{Name, DetectedText, Score, Location{Point[] "x,y"}}}``: ``Name`` is the
field's Chinese name (姓名, 性别 ...), ``Location`` its four corners in the input's pixels, in the
order of CI's example (top-left, bottom-left, bottom-right, top-right). CI's page says the service
locates fields "without text recognition" while its example fills ``DetectedText``; cinb fills it.
The back of an ID card is not supported by CI and answers ``Status`` 0, as does a picture without
the requested card.

How cinb reads a card, with the OCR model of :mod:`cinb.ai.ocr` (rapidocr PP-OCRv6, shared: never
a second copy):

1. **Find the card.** Edges (Canny) and contours of the picture reduced to 800 px: the largest
   convex quadrilateral covering at least 8 % of the picture whose sides are in a card's
   proportion (85.6 x 54 mm, ISO/IEC 7810 ID-1, from 1.3 to 2.0 once perspective is allowed
   for). It is rectified to :data:`CARD_PX` (10 px per mm) and read. When no quadrilateral is
   found (a card that fills the picture, a cut border, a busy background), the whole picture is
   read and the card frame is fitted to where the printed labels are (姓名, 公民身份号码, 签发机关
   ...: :data:`FRONT_ANCHORS`, :data:`BACK_ANCHORS`): the frame turned as the text lines run, then
   scaled and shifted onto the labels by least squares.
2. **Decide the side.** Labels found of each side; a forced ``CardSide`` that the card does not
   show is an error, as is a picture with no ID card (codes below).
3. **Fields by layout.** Text lines are mapped to card millimetres, grouped into rows, and each
   field is the text after its label (the address: every row from 住址 to 公民身份号码, left of the
   portrait). ``Birth`` is CI's ``YYYY/M/D``; ``ValidDate`` ``YYYY.MM.DD-YYYY.MM.DD`` or
   ``YYYY.MM.DD-长期``.
4. **The number.** ``IdNum`` is checked with GB 11643's check digit (ISO 7064 MOD 11-2; 10 is
   ``X``). A number whose check fails is corrected only when exactly one change of one digit into
   a look-alike (0/8/6/9/3, 1/7) makes it valid *and* agree with the printed birth date and sex;
   otherwise it is answered as read and ``Result.info["id_checksum"]`` is False. A number that
   passes fills a ``Birth`` or ``Sex`` the OCR missed (the number encodes both).

Warnings (``AdvancedInfo.WarnInfos``), each only when its Config switch is on:

- ``-9100`` (InvalidDateWarn): ``ValidDate`` unreadable, ending before it starts, or not one of the
  lawful spans (5, 10 or 20 years to the same day, or 长期: the Resident Identity Card Law, art.
  5). An *expired* card is not an illegal date: ``Result.info["expired"]`` says so.
- ``-9101`` (BorderCheckWarn): the card's frame runs out of the picture; ``BorderCodeValue`` 0-100
  is the share of the frame outside (10 % or more of its length is 100; 50 and above warns).
- ``-9102`` (CopyWarn): a black-and-white copy: the card holds no colour (a real card has blue
  labels, a tinted ground and a colour portrait) once the light's colour cast is removed.
- ``-9104`` (TempIdWarn): the card says 临时 (临时居民身份证, the temporary card).
- ``Quality``: AssessQuality's ``ClarityScore`` (:mod:`cinb.ai.quality`) of the picture, 0-100,
  below 50 blurry.

Never raised, because no honest offline detector exists here: ``-9103`` (ReshootWarn, a photo of
a screen or of a print: needs a model trained on re-shot cards; moiré alone is also what a fine
guilloche gives), ``-9106`` (DetectPsWarn, edited pictures: needs a forensic model; error-level
analysis flags every resaved JPEG), ``-9105`` (something covering the card), ``-9107`` (glare),
``-9110`` (electronic ID). The switches are accepted and answered with no warning.

``MultiCardDetect``: cinb finds every card-shaped quadrilateral; with the switch on it reads the
cards largest first until one shows the requested side (a copy of both sides on one page, asked
for ``CardSide=BACK``, reads the back), and ``Result.info["card_count"]`` counts them. Off, it
reads the largest card only.

Errors: more than 7 MB of Base64 is -167; not an image -113/-443; a bad ``Config`` (not JSON, not an
object, an unknown key, a value that is not a boolean) or ``CardSide`` -103. Two failures CI's X-ErrNo
table does not name, with the upstream OCR service's error in the message: no ID card in the
picture (``FailedOperation.ImageNoIdCard``) and a forced side the card does not show
(``FailedOperation.CardSideError``); cinb raises both as -443 ("cannot be processed"), the code CI
gives an image it cannot work on.

Test material: :func:`specimen` draws fictional cards (names such as 张三, region code 99, which no
region has, valid check digits) so that nothing here needs a real person's card.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..errors import BAD_PARAMETER, CORRUPT_IMAGE, CIError
from ..imageinput import ImageInput
from ..limits import check_base64_size
from . import faces, models, quality
from .endpoints import Answer, Endpoint, Param, choice_param, register_endpoint

#: CI's limit on the image, stated on its Base64 text: 7 MB.
MAX_BASE64_BYTES = 7 * 1024 * 1024

#: The card (ISO/IEC 7810 ID-1) in millimetres, and the rectified card in pixels (10 px per mm).
CARD_MM = (85.6, 54.0)
PX_PER_MM = 10.0
CARD_PX = (856, 540)

#: Long side the picture is searched at for the card's outline, and read at when no outline is found.
OUTLINE_SIDE = 800
READ_SIDE = 2000
#: Largest side decoded at all: a card filling 4000 px has 47 px per mm, four times what OCR needs.
DECODE_SIDE = 4000

#: Config keys CI documents, all booleans, all false by default.
CONFIG_KEYS = ("CropIdCard", "CropPortrait", "CopyWarn", "BorderCheckWarn", "ReshootWarn", "DetectPsWarn",
               "TempIdWarn", "InvalidDateWarn", "Quality", "MultiCardDetect")

#: WarnInfos codes (Tencent Cloud OCR's IDCardOCR, which CI answers with) and whether cinb raises them.
WARN_CODES: dict[int, tuple[str, bool]] = {
    -9100: ("valid date illegal (InvalidDateWarn)", True),
    -9101: ("card border incomplete (BorderCheckWarn)", True),
    -9102: ("photocopy (CopyWarn)", True),
    -9103: ("re-shot from a screen or print (ReshootWarn): never raised, no honest offline detector", False),
    -9104: ("temporary ID card (TempIdWarn)", True),
    -9105: ("something covers the card (BorderCheckWarn): never raised", False),
    -9106: ("edited picture (DetectPsWarn): never raised, no honest offline detector", False),
    -9107: ("glare: never raised", False),
    -9108: ("black-and-white photocopy only: cinb answers -9102, which covers it", False),
    -9110: ("electronic ID card: never raised", False),
}

#: Label anchors (left edge, vertical centre, mm on the card) the fallback fits the card frame to.
FRONT_ANCHORS: dict[str, tuple[float, float]] = {"姓名": (7.0, 10.0), "性别": (7.0, 17.0), "出生": (7.0, 24.0),
                                                 "住址": (7.0, 31.0), "公民身份号码": (7.0, 47.5)}
BACK_ANCHORS: dict[str, tuple[float, float]] = {"中华人民共和国": (30.0, 10.5), "居民身份证": (30.0, 20.5),
                                                "签发机关": (15.0, 40.0), "有效期限": (15.0, 47.0)}
FRONT_WORDS = ("姓名", "性别", "民族", "出生", "住址", "公民身份号码")
BACK_WORDS = ("中华人民共和国", "居民身份证", "签发机关", "有效期限")

#: Where the portrait is on the front (mm): x0, y0, x1, y1.
PORTRAIT_MM = (55.0, 6.0, 82.0, 40.0)
#: Left edge (mm) of the values of each front field: the label is left of it.
VALUE_X_MM = {"姓名": 16.0, "性别": 16.0, "民族": 36.0, "出生": 16.0, "住址": 16.0, "公民身份号码": 27.0}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


# --- the number --------------------------------------------------------------------------------------


def check_digit(first17: str) -> str:
    """GB 11643's check character of the first 17 digits (ISO 7064 MOD 11-2).

    Examples
    --------
    >>> from cinb.ai.idcard import check_digit
    >>> check_digit("99010119900422123")
    '3'
    """
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def valid_number(number: str) -> bool:
    """An 18-character resident ID number with a valid check character and a real birth date.

    Examples
    --------
    >>> from cinb.ai.idcard import valid_number
    >>> valid_number("990101199004221233"), valid_number("990101199004221237"), valid_number("99010119901342123X")
    (True, False, False)
    """
    if not re.fullmatch(r"\d{17}[\dX]", number or ""):
        return False
    return check_digit(number[:17]) == number[17] and _birth_of(number) is not None


def _birth_of(number: str) -> _dt.date | None:
    try:
        return _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def make_number(region: str, birth: _dt.date, sequence: int) -> str:
    """A number with a valid check digit: 6-digit region, birth date, 3-digit sequence (odd: male).

    Examples
    --------
    >>> import datetime
    >>> from cinb.ai.idcard import make_number
    >>> make_number("990101", datetime.date(1990, 4, 22), 123)
    '990101199004221233'
    """
    first = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first + check_digit(first)


_LOOKALIKE = {"0": "869", "8": "036", "6": "085", "9": "08", "3": "8", "1": "7", "7": "1", "5": "6"}


def correct_number(number: str, *, birth: str = "", sex: str = "") -> tuple[str, bool]:
    """The number, corrected when exactly one look-alike digit change makes it valid and consistent.

    Returns ``(number, valid)``.

    Examples
    --------
    >>> from cinb.ai.idcard import correct_number
    >>> correct_number("990101199004221233")
    ('990101199004221233', True)
    >>> correct_number("990101199004221283", birth="1990/4/22", sex="男")  # 3 read as 8
    ('990101199004221233', True)
    """
    if valid_number(number):
        return number, True
    if not re.fullmatch(r"\d{17}[\dX]", number or ""):
        return number, False
    found = set()
    for i, c in enumerate(number):
        for alt in _LOOKALIKE.get(c, ""):
            cand = number[:i] + alt + number[i + 1:]
            if valid_number(cand) and _consistent(cand, birth, sex) is not False:
                found.add(cand)
    if len(found) == 1:
        return found.pop(), True
    return number, False


def _consistent(number: str, birth: str, sex: str) -> bool | None:
    """Whether the number agrees with the printed birth date and sex (None: nothing to compare)."""
    checks = []
    day = _birth_of(number)
    if birth and day is not None:
        checks.append(birth == f"{day.year}/{day.month}/{day.day}")
    if sex in ("男", "女"):
        checks.append(("男" if int(number[16]) % 2 else "女") == sex)
    return all(checks) if checks else None


# --- geometry ----------------------------------------------------------------------------------------


def _order(quad: np.ndarray) -> np.ndarray:
    """Corners clockwise from the top-left, the long side first (a card turned sideways stays landscape)."""
    q = np.asarray(quad, float).reshape(4, 2)
    c = q.mean(axis=0)
    ang = np.arctan2(q[:, 1] - c[1], q[:, 0] - c[0])
    q = q[np.argsort(ang)]  # clockwise in image coordinates (y down)
    start = int(np.argmin(q.sum(axis=1)))
    q = np.roll(q, -start, axis=0)
    top = np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])
    side = np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])
    if side > top:
        q = np.roll(q, -1, axis=0)
    return q


def find_cards(rgb: np.ndarray) -> list[np.ndarray]:
    """Card-shaped quadrilaterals in a picture, largest first, as (4, 2) corners in its pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.idcard import find_cards
    >>> page = np.full((600, 800, 3), 40, np.uint8); page[100:418, 150:654] = 230  # a 504 x 318 card
    >>> cards = find_cards(page)
    >>> len(cards), bool(np.abs(cards[0] - [[150, 100], [654, 100], [654, 418], [150, 418]]).max() <= 2)
    (1, True)
    """
    import cv2  # noqa: PLC0415 - OpenCV comes with the AI extra

    h, w = rgb.shape[:2]
    scale = min(1.0, OUTLINE_SIDE / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA) \
        if scale < 1 else rgb
    gray = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2GRAY)
    gray = cv2.GaussianBlur(gray, (5, 5), 0)
    edges = cv2.Canny(gray, 30, 90)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    area_min = 0.08 * small.shape[0] * small.shape[1]
    found: list[tuple[float, np.ndarray]] = []
    for contour in contours:
        if cv2.contourArea(contour) < area_min:
            continue
        hull = cv2.convexHull(contour)
        peri = cv2.arcLength(hull, True)
        quad = None
        for eps in (0.02, 0.03, 0.045):
            approx = cv2.approxPolyDP(hull, eps * peri, True)
            if len(approx) == 4:
                quad = approx.reshape(4, 2).astype(float)
                break
        if quad is None:
            continue
        q = _order(quad)
        top = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
        side = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
        if side <= 0 or not 1.3 <= top / side <= 2.0:
            continue
        # The dilated edge sits ~1 px outside the card: the contour is the card's outline.
        if cv2.contourArea(q.astype(np.float32)) < 0.85 * cv2.contourArea(hull):
            continue
        found.append((float(cv2.contourArea(q.astype(np.float32))), q / scale))
    found.sort(key=lambda t: -t[0])
    kept: list[np.ndarray] = []
    for _, q in found:  # drop a quad inside a larger one (the portrait, a printed frame)
        centre = q.mean(axis=0)
        if not any(cv2.pointPolygonTest(k.astype(np.float32), (float(centre[0]), float(centre[1])), False) >= 0
                   for k in kept):
            kept.append(q)
    return kept


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    import cv2  # noqa: PLC0415 - OpenCV comes with the AI extra

    return cv2.getPerspectiveTransform(np.asarray(src, np.float32), np.asarray(dst, np.float32))


def _apply(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, float).reshape(-1, 2)
    q = np.c_[p, np.ones(len(p))] @ h.T
    return (q[:, :2] / q[:, 2:3]).reshape(np.shape(points))


def _card_corners_px() -> np.ndarray:
    w, h = CARD_PX
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], float)


def _rectify(rgb: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The card warped to :data:`CARD_PX`, and the homography picture -> card pixels."""
    import cv2  # noqa: PLC0415 - OpenCV comes with the AI extra

    h = _homography(quad, _card_corners_px())
    card = cv2.warpPerspective(np.ascontiguousarray(rgb), h, CARD_PX, flags=cv2.INTER_AREA
                               if _scale_of(quad) > 1.2 else cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return card, h


def _scale_of(quad: np.ndarray) -> float:
    return float(np.linalg.norm(quad[1] - quad[0]) / CARD_PX[0])


def _direction(boxes: np.ndarray) -> float:
    """The text lines' reading direction (radians, image y down), the median of their long edges."""
    angles, weights = [], []
    for box in np.asarray(boxes, float):
        edges = [box[(i + 1) % 4] - box[i] for i in range(4)]
        d = max(edges, key=lambda e: float(np.hypot(*e)))
        if d[0] < 0:
            d = -d
        angles.append(math.atan2(d[1], d[0]))
        weights.append(float(np.hypot(*d)))
    if not angles:
        return 0.0
    order = np.argsort(angles)
    cum = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(angles)[order][np.searchsorted(cum, cum[-1] / 2)])


def _fit_scaled_rotation(src: np.ndarray, dst: np.ndarray, theta: float) -> np.ndarray | None:
    """Least-squares scale and shift taking ``src`` (turned by ``-theta``) to ``dst``, as a 3x3 matrix."""
    if len(src) < 2:
        return None
    c, sn = math.cos(theta), math.sin(theta)
    rot = np.array([[c, sn], [-sn, c]])
    r = np.asarray(src, float) @ rot.T
    a = np.zeros((2 * len(r), 3))
    a[0::2, 0], a[0::2, 1] = r[:, 0], 1
    a[1::2, 0], a[1::2, 2] = r[:, 1], 1
    sol, *_ = np.linalg.lstsq(a, np.asarray(dst, float).reshape(-1), rcond=None)
    scale, tx, ty = sol
    if scale <= 1e-9:
        return None
    return np.array([[scale * c, scale * sn, tx], [-scale * sn, scale * c, ty], [0, 0, 1]], float)


# --- reading -------------------------------------------------------------------------------------------


@dataclass
class Line:
    """One OCR line: its text, score, corners in card mm and in input pixels."""

    text: str
    score: float
    mm: np.ndarray  # (4, 2)
    px: np.ndarray  # (4, 2)

    @property
    def x0(self) -> float:
        return float(self.mm[:, 0].min())

    @property
    def x1(self) -> float:
        return float(self.mm[:, 0].max())

    @property
    def yc(self) -> float:
        return float(self.mm[:, 1].mean())

    @property
    def height(self) -> float:
        return float(self.mm[:, 1].max() - self.mm[:, 1].min())


@dataclass
class Reading:
    """A card read from a picture."""

    side: str | None
    lines: list[Line]
    card: np.ndarray  # rectified RGB, CARD_PX
    quad: np.ndarray  # card corners in input pixels (may lie outside the picture)
    method: str  # "outline" or "labels"
    texts: list[str] = field(default_factory=list)


def _side_votes(texts: list[str]) -> tuple[int, int]:
    joined = "".join(t.replace(" ", "") for t in texts)
    front = sum(1 for w in FRONT_WORDS if w in joined)
    back = sum(1 for w in BACK_WORDS if w in joined)
    return front, back


def _side(texts: list[str]) -> str | None:
    front, back = _side_votes(texts)
    if max(front, back) < 2:
        return None
    return "FRONT" if front >= back else "BACK"


def _read(engine, rgb: np.ndarray) -> tuple[int, Any]:
    from .ocr import TYPES  # noqa: PLC0415 - same layer; keeps rapidocr's import lazy

    return engine.read(np.ascontiguousarray(rgb), TYPES["general"], words=False)


def _outline_reading(engine, rgb: np.ndarray, quad: np.ndarray) -> Reading | None:
    card, h = _rectify(rgb, quad)
    turn, out = _read(engine, card)
    if out is None or turn not in (0, 180):
        return None
    if turn == 180:
        card = np.ascontiguousarray(card[::-1, ::-1])
        quad = np.roll(quad, 2, axis=0)
        h = _homography(quad, _card_corners_px())
    inv = np.linalg.inv(h)
    lines = []
    for box, text, score in zip(np.asarray(out.boxes, float), out.txts, out.scores, strict=False):
        lines.append(Line(str(text), float(score), box / PX_PER_MM, _apply(inv, box)))
    texts = [ln.text for ln in lines]
    return Reading(_side(texts), lines, card, quad, "outline", texts)


def _label_reading(engine, rgb: np.ndarray, scale: float) -> Reading | None:
    """Read the whole picture and fit the card frame to the printed labels."""
    from .ocr import _unturn  # noqa: PLC0415 - same layer; the OCR module's own coordinate helper

    turn, out = _read(engine, rgb)
    if out is None:
        return None
    texts = [str(t) for t in out.txts]
    side = _side(texts)
    if side is None:
        return Reading(None, [], np.zeros((CARD_PX[1], CARD_PX[0], 3), np.uint8), np.zeros((4, 2)), "labels", texts)
    anchors = FRONT_ANCHORS if side == "FRONT" else BACK_ANCHORS
    boxes = np.asarray(out.boxes, float)  # in the page turned upright
    # The card's direction is the lines' (median, length-weighted): rapidocr's corner order is not
    # always the text's own (a line at -80 degrees came back starting at its right end), and the
    # labels alone, all at x = 7 mm on the front, leave the rotation badly conditioned.
    theta = _direction(boxes)
    along = np.array([math.cos(theta), math.sin(theta)])
    src, dst = [], []
    for box, text in zip(boxes, texts, strict=False):
        flat = text.replace(" ", "")
        for word, (ax, ay) in anchors.items():
            if flat.startswith(word) or (word in ("中华人民共和国", "居民身份证") and word in flat):
                first = np.argsort(box @ along)[:2]  # the two corners where the text starts
                src.append(box[first].mean(axis=0))
                dst.append((ax * PX_PER_MM, ay * PX_PER_MM))
                break
    sim = _fit_scaled_rotation(np.asarray(src), np.asarray(dst), theta)
    if sim is None:
        return None
    height, width = rgb.shape[:2]
    tw, th = (height, width) if turn in (90, 270) else (width, height)
    upright = np.ascontiguousarray(np.rot90(rgb, turn // 90)) if turn else rgb
    inv = np.linalg.inv(sim)
    quad_up = _apply(inv, _card_corners_px())
    import cv2  # noqa: PLC0415 - OpenCV comes with the AI extra

    card = cv2.warpPerspective(upright, sim, CARD_PX, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=(255, 255, 255))
    lines = []
    for box, text, score in zip(boxes, texts, out.scores, strict=False):
        px = _unturn(box, turn, width, height) / scale
        lines.append(Line(text, float(score), _apply(sim, box) / PX_PER_MM, px))
    quad = _unturn(quad_up, turn, width, height) / scale
    del tw, th
    return Reading(side, lines, card, quad, "labels", texts)


def read_card(rgb: np.ndarray, *, side: str | None = None, multi: bool = False) -> tuple[Reading | None, int]:
    """Find and read the card in an RGB picture -> (reading or None, number of card outlines found).

    ``side`` ("FRONT"/"BACK") is the side wanted; with ``multi`` the outlines are tried largest
    first until one shows it.
    """
    engine = models.get("ocr")
    quads = find_cards(rgb)
    best = None
    for quad in quads[:3 if multi else 1]:
        reading = _outline_reading(engine, rgb, quad)
        if reading is not None and reading.side is not None:
            if side is None or reading.side == side:
                return reading, len(quads)
            best = best or reading
    h, w = rgb.shape[:2]
    scale = min(1.0, READ_SIDE / max(h, w))
    small = rgb
    if scale < 1:
        small = np.asarray(Image.fromarray(rgb).resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS))
    reading = _label_reading(engine, small, scale)
    if reading is not None and reading.side is not None and (side is None or reading.side == side or best is None):
        return reading, max(len(quads), 1)
    return best or reading, len(quads)


# --- fields -------------------------------------------------------------------------------------------


def _rows(lines: list[Line], *, skip_portrait: bool, bounded: bool = True) -> list[list[Line]]:
    """Lines grouped into rows (card mm), left to right; lines off the card or inside the portrait left out."""
    keep = []
    for ln in lines:
        cx, cy = float(ln.mm[:, 0].mean()), ln.yc
        if bounded and not (-2 < cx < CARD_MM[0] + 2 and -2 < cy < CARD_MM[1] + 2):
            continue
        x0, y0, x1, y1 = PORTRAIT_MM
        if skip_portrait and x0 + 1 < cx < x1 + 3 and y0 < cy < y1:
            continue
        keep.append(ln)
    keep.sort(key=lambda ln: ln.yc)
    rows: list[list[Line]] = []
    for ln in keep:
        if rows:
            row = rows[-1]
            ref = float(np.mean([r.yc for r in row]))
            tol = 0.55 * max(ln.height, float(np.median([r.height for r in row])))
            if abs(ln.yc - ref) <= tol:
                row.append(ln)
                continue
        rows.append([ln])
    return [sorted(r, key=lambda ln: ln.x0) for r in rows]


def _row_text(row: list[Line]) -> str:
    return "".join(ln.text for ln in row).replace(" ", "")


def _after(text: str, label: str) -> str:
    i = text.find(label)
    return text[i + len(label):] if i >= 0 else ""


_DIGIT_FIX = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1", "x": "X", "×": "X",
                            "S": "5", "B": "8", "Z": "2"})
_CJK = re.compile(r"[\u3400-\u9fff·]+")


def _front_fields(rows: list[list[Line]]) -> dict[str, Any]:
    texts = [_row_text(r) for r in rows]
    out = {"Name": "", "Sex": "", "Nation": "", "Birth": "", "Address": "", "IdNum": ""}
    where: dict[str, list[tuple[int, float]]] = {}
    addr_start = num_row = None
    for i, t in enumerate(texts):
        if "姓名" in t and not out["Name"]:
            m = _CJK.search(_after(t, "姓名"))
            out["Name"] = m.group(0) if m else ""
            where["姓名"] = [(i, VALUE_X_MM["姓名"])]
        if "性别" in t or "民族" in t:
            m = re.search(r"性别?([男女])", t) or re.search(r"([男女])", _after(t, "性别"))
            if m and not out["Sex"]:
                out["Sex"] = m.group(1)
                where["性别"] = [(i, VALUE_X_MM["性别"])]
            m = _CJK.search(_after(t, "民族"))
            if m and not out["Nation"]:
                out["Nation"] = nation_name(m.group(0))
                where["民族"] = [(i, VALUE_X_MM["民族"])]
        if "出生" in t and not out["Birth"]:
            digits = _after(t, "出生").translate(_DIGIT_FIX)
            m = re.search(r"(\d{4})\D*?(\d{1,2})\D*?(\d{1,2})", digits)
            if m:
                try:
                    day = _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                    out["Birth"] = f"{day.year}/{day.month}/{day.day}"
                    where["出生"] = [(i, VALUE_X_MM["出生"])]
                except ValueError:
                    pass
        if "住址" in t and addr_start is None:
            addr_start = i
        if ("公民身份" in t or "身份号码" in t or re.search(r"\d{17}[\dXx]", t.translate(_DIGIT_FIX))) \
                and num_row is None and i > 0:
            num_row = i
    if num_row is not None:
        flat = texts[num_row].translate(_DIGIT_FIX)
        m = re.search(r"\d{17}[\dX]", flat)
        if m:
            out["IdNum"] = m.group(0)
            where["公民身份号码"] = [(num_row, VALUE_X_MM["公民身份号码"])]
    if addr_start is not None:
        end = num_row if num_row is not None and num_row > addr_start else min(len(texts), addr_start + 4)
        parts = [_after(texts[addr_start], "住址")] + texts[addr_start + 1:end]
        out["Address"] = "".join(parts)
        where["住址"] = [(j, VALUE_X_MM["住址"]) for j in range(addr_start, end)]
    return {"fields": out, "where": where}


#: The 56 ethnic groups as the card prints them (without 族).
NATIONS = ("汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗",
           "瑶", "白", "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜",
           "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南",
           "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固",
           "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺")
#: Traditional forms the recogniser (trained on both scripts) may answer for these names.
_TO_SIMPLIFIED = str.maketrans("漢滿維爾壯東納爾錫烏孜俄羅鄂溫倫門獨塔龍", "汉满维尔壮东纳尔锡乌孜俄罗鄂温伦门独塔龙")


def nation_name(text: str) -> str:
    """The ethnic group as the card prints it: 族 dropped, traditional look-alikes made simplified.

    Examples
    --------
    >>> from cinb.ai.idcard import nation_name
    >>> nation_name("漢"), nation_name("蒙古族"), nation_name("维吾爾")
    ('汉', '蒙古', '维吾尔')
    """
    name = text.strip().removesuffix("族")
    if name in NATIONS:
        return name
    simplified = name.translate(_TO_SIMPLIFIED)
    return simplified if simplified in NATIONS else name


_DATE = r"(\d{4})\D?(\d{2})\D?(\d{2})"


def _back_fields(rows: list[list[Line]]) -> dict[str, Any]:
    texts = [_row_text(r) for r in rows]
    out = {"Authority": "", "ValidDate": ""}
    for t in texts:
        if "签发机关" in t and not out["Authority"]:
            out["Authority"] = _after(t, "签发机关")
        if "有效期" in t and not out["ValidDate"]:
            rest = re.sub(r"^限", "", _after(t, "有效期"))
            flat = rest.translate(_DIGIT_FIX)
            m = re.search(_DATE + r"\D*?(?:" + _DATE + r"|(长期))", flat)
            if m:
                start = f"{m.group(1)}.{m.group(2)}.{m.group(3)}"
                end = "长期" if m.group(7) else f"{m.group(4)}.{m.group(5)}.{m.group(6)}"
                out["ValidDate"] = f"{start}-{end}"
            else:
                out["ValidDate"] = rest
    return {"fields": out, "where": {}}


def date_problem(valid: str, *, today: _dt.date | None = None) -> tuple[str | None, bool]:
    """What is illegal about a ValidDate (None: nothing), and whether it has expired.

    Examples
    --------
    >>> import datetime
    >>> from cinb.ai.idcard import date_problem
    >>> date_problem("2016.03.15-2036.03.15", today=datetime.date(2026, 1, 1))
    (None, False)
    >>> date_problem("2006.03.15-2016.03.15", today=datetime.date(2026, 1, 1))
    (None, True)
    >>> date_problem("2016.03.15-2023.03.15")[0]
    'a span of 7 years (lawful: 5, 10, 20 or 长期)'
    """
    m = re.fullmatch(r"(\d{4})\.(\d{2})\.(\d{2})-(?:(\d{4})\.(\d{2})\.(\d{2})|(长期))", valid or "")
    if not m:
        return "unreadable", False
    try:
        start = _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        end = None if m.group(7) else _dt.date(int(m.group(4)), int(m.group(5)), int(m.group(6)))
    except ValueError:
        return "not a calendar date", False
    today = today or _dt.date.today()
    if start > today:
        return "issued in the future", False
    if end is None:
        return None, False
    if end <= start:
        return "ends before it starts", end < today
    years = end.year - start.year
    same_day = (end.month, end.day) == (start.month, start.day) or (start.month, start.day) == (2, 29) and \
        (end.month, end.day) in ((2, 28), (3, 1))
    if years not in (5, 10, 20) or not same_day:
        return f"a span of {years} years (lawful: 5, 10, 20 or 长期)", end < today
    return None, end < today


# --- warnings and extras -------------------------------------------------------------------------------

#: Chroma (0-255, after removing the light's cast) that 99.5 % of a copy's pixels stay below; the
#: synthetic cards' blue labels and portraits reach 60-150, their greyscale copies 3-9.
COPY_CHROMA = 24.0


def copy_chroma(card: np.ndarray) -> float:
    """The card's colour: the 99.5th percentile of per-pixel chroma once each channel is scaled to a
    common white (a grey copy under warm light is still grey).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.idcard import copy_chroma
    >>> grey = np.repeat(np.linspace(0, 255, 100 * 100).reshape(100, 100, 1), 3, axis=2).astype(np.uint8)
    >>> warm = (grey * np.array([1.0, 0.9, 0.75])).astype(np.uint8)
    >>> copy_chroma(grey) < 5 and copy_chroma(warm) < 10
    True
    """
    raw = card.astype(np.float32)
    white = np.percentile(raw.reshape(-1, 3), 97, axis=0)
    a = raw * (255.0 / np.maximum(white, 1.0))
    chroma = a.max(axis=2) - a.min(axis=2)
    return float(np.percentile(chroma, 99.5))


def border_value(quad: np.ndarray, width: int, height: int) -> int:
    """BorderCodeValue: how much of the card's frame lies outside the picture, 0-100 (10 % or more: 100).

    A point counts as outside when it lies beyond the picture by more than 3 % of the card's
    diagonal (the label-fitted frame is that accurate).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.idcard import border_value
    >>> inside = np.array([[100, 100], [600, 100], [600, 415], [100, 415]], float)
    >>> border_value(inside, 800, 600), border_value(inside - [200, 0], 800, 600)
    (0, 100)
    """
    q = np.asarray(quad, float)
    diag = float(np.linalg.norm(q[2] - q[0]))
    tol = 0.03 * diag
    pts = []
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        for t in np.linspace(0, 1, 100, endpoint=False):
            pts.append(a + (b - a) * t)
    p = np.asarray(pts)
    out = (p[:, 0] < -tol) | (p[:, 1] < -tol) | (p[:, 0] > width + tol) | (p[:, 1] > height + tol)
    return int(round(min(1.0, out.mean() / 0.10) * 100))


def _jpeg_b64(rgb: np.ndarray | Image.Image, quality_: int = 90) -> str:
    img = rgb if isinstance(rgb, Image.Image) else Image.fromarray(np.ascontiguousarray(rgb))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality_)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def portrait(card: np.ndarray) -> tuple[Image.Image, str]:
    """The portrait cut from a rectified front: around the face MTCNN finds in the photo area, or the
    photo area itself when it finds none -> (image, "face" | "layout")."""
    x0, y0, x1, y1 = (round(v * PX_PER_MM) for v in PORTRAIT_MM)
    area = Image.fromarray(card).crop((x0 - 20, max(0, y0 - 20), min(CARD_PX[0], x1 + 20), min(CARD_PX[1], y1 + 20)))
    found = faces.detect(area, min_score=0.8)
    if not found:
        return Image.fromarray(card).crop((x0, y0, x1, y1)), "layout"
    f = found[0]
    cx, cy = f.x + f.width / 2, f.y + f.height * 0.55
    w = f.width * 1.9
    h = w * (y1 - y0) / (x1 - x0)
    box = (max(0, round(cx - w / 2)), max(0, round(cy - h / 2)), min(area.width, round(cx + w / 2)),
           min(area.height, round(cy + h / 2)))
    return area.crop(box), "face"


# --- parameters -----------------------------------------------------------------------------------------


def parse_config(value: Any) -> dict[str, bool]:
    """CI's ``Config``: JSON (or a mapping) of the :data:`CONFIG_KEYS` booleans; missing ones are false.

    Raises
    ------
    CIError
        -103 for text that is not a JSON object, an unknown key, or a value that is not a boolean.

    Examples
    --------
    >>> from cinb.ai.idcard import parse_config
    >>> sorted(k for k, v in parse_config('{"CropIdCard":true,"Quality":1}').items() if v)
    ['CropIdCard', 'Quality']
    >>> parse_config('{"CropIdCard":tru}')
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: parameter Config='{"CropIdCard":tru}': not JSON (Expecting value at 14) (X-ErrNo -103)
    """
    if value is None:
        return dict.fromkeys(CONFIG_KEYS, False)
    data = value
    if not isinstance(value, Mapping):
        text = str(value).strip()
        try:
            data = json.loads(text) if text else {}
        except json.JSONDecodeError as exc:
            raise CIError(f"parameter Config={text!r}: not JSON ({exc.msg} at {exc.pos})", code=BAD_PARAMETER,
                          token=f"Config={text}") from None
        except (ValueError, RecursionError) as exc:  # a 5000-digit number (int digit limit), '[' * 100000
            raise CIError(f"parameter Config={text[:40]!r}...: not usable JSON ({type(exc).__name__})",
                          code=BAD_PARAMETER, token="Config") from None
    if not isinstance(data, Mapping):
        raise CIError(f"parameter Config={value!r}: expected a JSON object of booleans", code=BAD_PARAMETER,
                      token="Config")
    out = dict.fromkeys(CONFIG_KEYS, False)
    for key, flag in data.items():
        if key not in out:
            raise CIError(f"parameter Config: unknown key {key!r} (CI's keys: {', '.join(CONFIG_KEYS)})",
                          code=BAD_PARAMETER, token=str(key))
        if isinstance(flag, bool):
            out[key] = flag
        elif isinstance(flag, int) and flag in (0, 1):
            out[key] = bool(flag)
        else:
            raise CIError(f"parameter Config: {key}={flag!r} is not a boolean", code=BAD_PARAMETER, token=str(key))
    return out


PARAMS: tuple[Param, ...] = (
    choice_param("CardSide", ("FRONT", "BACK"), None,
                 doc="FRONT (portrait side) | BACK (emblem side); omitted: decided"),
    Param("Config", parse_config, None, doc='JSON of booleans, e.g. {"CropIdCard":true,"CropPortrait":true}'),
)


def _check_input(inp: ImageInput) -> None:
    check_base64_size(inp.label, inp.size_bytes, MAX_BASE64_BYTES, service="ID card recognition")
    inp.header()  # not an image, corrupt, or over CI's pixel limits: CIError before the model loads


def _no_card(inp: ImageInput) -> CIError:
    return CIError(f"{inp.label}: no ID card found (the OCR service's FailedOperation.ImageNoIdCard)",
                   code=CORRUPT_IMAGE, token=inp.label)


# --- IDCardOCR ------------------------------------------------------------------------------------------


def id_card_ocr(inp: ImageInput, *, CardSide: str | None = None, Config: dict | None = None,  # noqa: N803
                today: _dt.date | None = None) -> Answer:
    """CI's ``IDCardOCR``: the fields of a resident ID card's front or back, with CI's extras and warnings.

    Parameters
    ----------
    CardSide : {"FRONT", "BACK"}, optional
        The side to read; omitted, the side is decided from the card's labels.
    Config : str or dict, optional
        CI's JSON text or a mapping of its booleans (:func:`parse_config`); missing keys are false.
    today : datetime.date, optional
        The date expiry is judged against (tests); default today.

    Returns
    -------
    Answer
        ``IdInfo`` (all eight fields, "" where the side does not carry them) and, when a Config
        switch asked for something, ``AdvancedInfo``; ``info`` has ``side``, ``method`` (outline or
        labels), ``card_count``, ``id_checksum``, ``consistent``, ``expired``, ``quad``.

    Raises
    ------
    CIError
        -167 over 7 MB of Base64; -113/-443 not an image; -443 no ID card, or not the forced side.

    Examples
    --------
    >>> from cinb import ci_process
    >>> from cinb.ai.idcard import specimen
    >>> r = ci_process(specimen(), "IDCardOCR")
    >>> r.json["IdInfo"]["Name"], r.json["IdInfo"]["IdNum"], r.json["IdInfo"]["Birth"]
    ('张三', '990101199004221233', '1990/4/22')
    """
    config = parse_config(Config)
    _check_input(inp)
    rgb = np.asarray(inp.image(DECODE_SIDE))
    scale = faces.upright_size(inp)[0] / rgb.shape[1]  # decoded pixels -> the input's upright pixels
    reading, count = read_card(rgb, side=CardSide, multi=config["MultiCardDetect"])
    if reading is None or reading.side is None:
        raise _no_card(inp)
    if CardSide is not None and reading.side != CardSide:
        raise CIError(f"{inp.label}: CardSide={CardSide} but the card shows its {reading.side} side (the OCR "
                      f"service's FailedOperation.CardSideError)", code=CORRUPT_IMAGE, token=f"CardSide={CardSide}")
    front = reading.side == "FRONT"
    rows = _rows(reading.lines, skip_portrait=front)
    parsed = _front_fields(rows) if front else _back_fields(rows)
    f = parsed["fields"]
    info: dict[str, Any] = {"model": "ocr", "side": reading.side, "method": reading.method,
                            "card_count": count, "quad": [[round(float(x) * scale, 1), round(float(y) * scale, 1)]
                                                          for x, y in reading.quad]}
    if front:
        number, ok = correct_number(f["IdNum"], birth=f["Birth"], sex=f["Sex"])
        f["IdNum"] = number
        info["id_checksum"] = ok
        day = _birth_of(number) if ok else None
        if day is not None:
            if not f["Birth"]:
                f["Birth"] = f"{day.year}/{day.month}/{day.day}"
            if not f["Sex"]:
                f["Sex"] = "男" if int(number[16]) % 2 else "女"
        info["consistent"] = _consistent(number, f["Birth"], f["Sex"]) if ok else None
    problem, expired = (None, False)
    if not front:
        problem, expired = date_problem(f["ValidDate"], today=today)
        info["expired"] = expired
        info["date_problem"] = problem
    id_info = {"Name": f.get("Name", ""), "Sex": f.get("Sex", ""), "Nation": f.get("Nation", ""),
               "Birth": f.get("Birth", ""), "Address": f.get("Address", ""), "IdNum": f.get("IdNum", ""),
               "Authority": f.get("Authority", ""), "ValidDate": f.get("ValidDate", "")}
    response: dict[str, Any] = {"IdInfo": id_info}
    if any(v for k, v in config.items() if k != "MultiCardDetect"):  # it adds nothing to AdvancedInfo
        response["AdvancedInfo"] = _advanced(inp, reading, config, problem, rgb.shape)
        info["copy_chroma"] = round(copy_chroma(reading.card), 1)
    return Answer(response, info=info)


def _advanced(inp: ImageInput, reading: Reading, config: dict[str, bool], problem: str | None,
              shape: tuple[int, ...]) -> dict[str, Any]:
    adv: dict[str, Any] = {}
    warns: list[int] = []
    if config["CropIdCard"]:
        adv["IdCard"] = _jpeg_b64(reading.card)
    if config["CropPortrait"] and reading.side == "FRONT":
        adv["Portrait"] = _jpeg_b64(portrait(reading.card)[0])
    if config["Quality"]:
        adv["Quality"] = quality.scores(quality.measure(inp))[0]
    if config["BorderCheckWarn"]:
        value = border_value(reading.quad, shape[1], shape[0])
        adv["BorderCodeValue"] = value
        if value >= 50:
            warns.append(-9101)
    if config["CopyWarn"] and copy_chroma(reading.card) < COPY_CHROMA:
        warns.append(-9102)
    if config["TempIdWarn"] and any("临时" in t for t in reading.texts):
        warns.append(-9104)
    if config["InvalidDateWarn"] and reading.side == "BACK" and problem is not None:
        warns.append(-9100)
    if any(config[k] for k in ("CopyWarn", "BorderCheckWarn", "ReshootWarn", "DetectPsWarn", "TempIdWarn",
                               "InvalidDateWarn")):
        adv["WarnInfos"] = sorted(warns, reverse=True)
    return adv


def flatten(response: dict, info: dict | None = None) -> dict:
    """The ``idcard`` analysis columns.

    Examples
    --------
    >>> from cinb.ai.idcard import flatten
    >>> row = flatten({"IdInfo": {"Name": "张三", "Sex": "男", "Nation": "汉", "Birth": "1990/4/22", "Address": "x",
    ...                           "IdNum": "990101199004221233", "Authority": "", "ValidDate": ""}},
    ...               {"side": "FRONT", "id_checksum": True})
    >>> row["id_side"], row["id_name"], row["id_num_ok"], row["id_valid"]
    ('FRONT', '张三', True, None)
    """
    info = info or {}
    idi = response.get("IdInfo") or {}
    adv = response.get("AdvancedInfo") or {}
    valid = None
    if idi.get("ValidDate"):
        valid = info.get("date_problem") is None and not info.get("expired", False)
    return {"id_side": info.get("side", ""), "id_name": idi.get("Name", ""), "id_sex": idi.get("Sex", ""),
            "id_nation": idi.get("Nation", ""), "id_birth": idi.get("Birth", ""), "id_address": idi.get("Address", ""),
            "id_num": idi.get("IdNum", ""), "id_num_ok": info.get("id_checksum"),
            "id_authority": idi.get("Authority", ""), "id_valid_date": idi.get("ValidDate", ""), "id_valid": valid,
            "id_warn": ",".join(str(c) for c in adv.get("WarnInfos") or []),
            "id_quality": adv.get("Quality")}


ENDPOINT = register_endpoint(Endpoint(
    "IDCardOCR", id_card_ocr, params=PARAMS, analysis="idcard",
    columns={"id_side": str, "id_name": str, "id_sex": str, "id_nation": str, "id_birth": str, "id_address": str,
             "id_num": str, "id_num_ok": bool, "id_authority": str, "id_valid_date": str, "id_valid": bool,
             "id_warn": str, "id_quality": int},
    flatten=flatten, models=("ocr", faces.MODEL, "brisque"), fork_safe=True,
    description="Chinese resident ID card, front or back: fields, crops and warnings (rapidocr + layout rules)"))


# --- AILicenseRec ---------------------------------------------------------------------------------------

#: Driving licence main page: CI's field names, in the order the page prints them.
LICENSE_FIELDS = ("证号", "姓名", "性别", "国籍", "住址", "出生日期", "初次领证日期", "准驾车型", "有效期限",
                  "发证单位")
#: ID card front: CI's field names and the printed label each is found after.
IDCARD_FIELDS = (("姓名", "姓名"), ("性别", "性别"), ("民族", "民族"), ("出生日期", "出生"), ("住址", "住址"),
                 ("公民身份证号", "公民身份号码"))


def _text_width(text: str) -> float:
    return sum(1.0 if ord(c) > 0x2E80 else 0.55 for c in text)


def _value_box(row: list[Line], label: str | None, x_from: float | None) -> tuple[np.ndarray, float] | None:
    """The value part of a row, as card-mm corners (axis-aligned in card space) and the mean score."""
    parts = []
    for ln in row:
        x0, x1 = ln.x0, ln.x1
        text = ln.text.replace(" ", "")
        if label and text.endswith(label):
            continue  # the label alone
        if label and label in text and x_from is None:  # no layout: cut the label off by its share of the text
            before = text[:text.find(label) + len(label)]
            total = _text_width(text)
            if total <= 0:
                continue
            x0 = x0 + (x1 - x0) * _text_width(before) / total
        if x_from is not None:
            x0 = max(x0, x_from)
        if x1 - x0 < 0.5:
            continue
        parts.append((x0, x1, float(ln.mm[:, 1].min()), float(ln.mm[:, 1].max()), ln.score))
    if not parts:
        return None
    a = np.asarray(parts)
    x0, x1, y0, y1 = a[:, 0].min(), a[:, 1].max(), a[:, 2].min(), a[:, 3].max()
    return np.array([[x0, y0], [x0, y1], [x1, y1], [x1, y0]], float), float(a[:, 4].mean())


def _to_px(reading: Reading, mm: np.ndarray) -> np.ndarray:
    """Card mm -> input pixels, through the homography of the lines' own two coordinate sets."""
    src = np.concatenate([ln.mm for ln in reading.lines])
    dst = np.concatenate([ln.px for ln in reading.lines])
    import cv2  # noqa: PLC0415 - OpenCV comes with the AI extra

    h, _ = cv2.findHomography(src.astype(np.float32), dst.astype(np.float32), 0)
    return _apply(h, mm)


def _points(px: np.ndarray) -> list[str]:
    return [f"{int(round(float(x)))},{int(round(float(y)))}" for x, y in px]


def license_rec(inp: ImageInput, *, CardType: str = "DriverLicense") -> Answer:  # noqa: N803
    """CI's ``AILicenseRec``: each field of an ID card front or a driving licence, located and read.

    Returns
    -------
    Answer
        ``Status`` (1: the card was found, 0: not) and ``IdInfo[]`` with ``Name`` (CI's Chinese field
        name), ``DetectedText``, ``Score`` (0-100) and ``Location.Point`` (four "x,y" corners in the
        input's upright pixels: top-left, bottom-left, bottom-right, top-right, as CI's example).

    Examples
    --------
    >>> from cinb import ci_process
    >>> from cinb.ai.idcard import specimen
    >>> r = ci_process(specimen(), "AILicenseRec", CardType="IDCard")
    >>> r.json["Status"], [(i["Name"], i["DetectedText"]) for i in r.json["IdInfo"]][:2]
    (1, [('姓名', '张三'), ('性别', '男')])
    """
    _check_input(inp)
    rgb = np.asarray(inp.image(DECODE_SIDE))
    scale = faces.upright_size(inp)[0] / rgb.shape[1]  # decoded pixels -> the input's upright pixels
    items: list[dict] = []
    if CardType == "IDCard":
        reading, _count = read_card(rgb, side="FRONT")
        if reading is not None and reading.side == "FRONT":
            rows = _rows(reading.lines, skip_portrait=True)
            parsed = _front_fields(rows)
            values = dict(parsed["fields"])
            number, _ok = correct_number(values["IdNum"], birth=values["Birth"], sex=values["Sex"])
            values["IdNum"] = number
            texts = {"姓名": values["Name"], "性别": values["Sex"], "民族": values["Nation"], "出生": values["Birth"],
                     "住址": values["Address"], "公民身份号码": values["IdNum"]}
            for name, label in IDCARD_FIELDS:
                spots = parsed["where"].get(label)
                if not spots or not texts[label]:
                    continue
                boxes = []
                for row_index, x_from in spots:
                    row = rows[row_index]
                    if label == "性别":
                        row = [ln for ln in row if ln.x0 < VALUE_X_MM["民族"] - 9.5] or row
                    found = _value_box(row, label if row_index == spots[0][0] else None, x_from)
                    if found is not None:
                        boxes.append(found)
                if not boxes:
                    continue
                corners = np.concatenate([b[0] for b in boxes])
                x0, y0 = corners.min(axis=0)
                x1, y1 = corners.max(axis=0)
                if label == "性别":
                    x1 = min(x1, VALUE_X_MM["民族"] - 9.5)  # the 民族 label starts at 27 mm
                mm = np.array([[x0, y0], [x0, y1], [x1, y1], [x1, y0]])
                items.append({"Name": name, "DetectedText": texts[label],
                              "Score": int(round(100 * float(np.mean([b[1] for b in boxes])))),
                              "Location": {"Point": _points(_to_px(reading, mm) * scale)}})
    else:
        reading = _license_reading(rgb)
        if reading is not None:
            items = _license_items(reading, scale)
    return Answer({"Status": 1 if items else 0, "IdInfo": items}, info={"model": "ocr", "card_type": CardType})


def _license_reading(rgb: np.ndarray) -> Reading | None:
    engine = models.get("ocr")
    for quad in find_cards(rgb)[:2]:
        reading = _outline_reading(engine, rgb, quad)
        if reading is not None and "驾驶证" in "".join(reading.texts):
            return reading
    # No outline: read the picture as it is (coordinates: card mm = picture px / PX_PER_MM, unscaled).
    from .ocr import _unturn  # noqa: PLC0415 - same layer; the OCR module's own coordinate helper

    h, w = rgb.shape[:2]
    scale = min(1.0, READ_SIDE / max(h, w))
    small = rgb if scale >= 1 else np.asarray(Image.fromarray(rgb).resize((round(w * scale), round(h * scale))))
    turn, out = _read(engine, small)
    if out is None or "驾驶证" not in "".join(str(t) for t in out.txts):
        return None
    lines = [Line(str(t), float(s), np.asarray(b, float) / PX_PER_MM,
                  _unturn(np.asarray(b, float), turn, small.shape[1], small.shape[0]) / scale)
             for b, t, s in zip(out.boxes, out.txts, out.scores, strict=False)]
    return Reading("FRONT", lines, small, np.zeros((4, 2)), "labels", [ln.text for ln in lines])


def _license_items(reading: Reading, scale: float = 1.0) -> list[dict]:
    rows = _rows(reading.lines, skip_portrait=False, bounded=False)
    texts = [_row_text(r) for r in rows]
    labelled = [any(lb in t for lb in LICENSE_FIELDS) for t in texts]
    items = []
    for label in LICENSE_FIELDS:
        for i, (row, text) in enumerate(zip(rows, texts, strict=True)):
            if label == "发证单位" and "发证单位" not in text:
                # the issuing office is the seal's text, printed without a label
                if labelled[i] or not re.search(r"公安|交通警察|车辆管理", text):
                    continue
                value, label_in_row = text, None
            else:
                # 出生日期 and 初次领证日期 both end in 日期: the label must not be part of a longer one
                if label not in text or (label == "证号" and text.find("证号") > 2) or \
                        (label == "出生日期" and "领证" in text):
                    continue
                value, label_in_row = _after(text, label), label
            value = re.sub(r"^[:：]", "", value)
            for other in LICENSE_FIELDS:  # two fields on one row (性别 ... 国籍)
                if other != label and other in value:
                    value = value[:value.find(other)]
            if not value:
                continue
            part = [ln for ln in row if label in ln.text.replace(" ", "") or value[:2] in ln.text.replace(" ", "")]
            found = [_value_box(part or row, label_in_row, None)]
            if label == "住址":  # the address runs on over the rows without a label
                for j in range(i + 1, min(i + 3, len(rows))):
                    if labelled[j]:
                        break
                    value += texts[j]
                    found.append(_value_box(rows[j], None, None))
            boxes = [b for b in found if b is not None]
            if not boxes:
                continue
            corners = np.concatenate([b[0] for b in boxes])
            (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
            mm = np.array([[x0, y0], [x0, y1], [x1, y1], [x1, y0]])
            items.append({"Name": label, "DetectedText": value,
                          "Score": int(round(100 * float(np.mean([b[1] for b in boxes])))),
                          "Location": {"Point": _points(_to_px(reading, mm) * scale)}})
            break
    return items


def license_shapes(response: dict) -> list:
    """What ``df.ci.show`` draws for AILicenseRec: each field's box, labelled with its name.

    Examples
    --------
    >>> from cinb.ai.idcard import license_shapes
    >>> license_shapes({"Status": 1, "IdInfo": [{"Name": "姓名", "DetectedText": "张三", "Score": 99,
    ...                 "Location": {"Point": ["1,2", "1,8", "9,8", "9,2"]}}]})
    [([(1.0, 2.0), (1.0, 8.0), (9.0, 8.0), (9.0, 2.0)], '姓名')]
    """
    return [([tuple(float(v) for v in p.split(",")) for p in item["Location"]["Point"]], item["Name"])
            for item in response.get("IdInfo") or []]


LICENSE_ENDPOINT = register_endpoint(Endpoint(
    "AILicenseRec", license_rec,
    params=(choice_param("CardType", ("IDCard", "DriverLicense"), "DriverLicense",
                         doc="IDCard (front) | DriverLicense (main page, default)"),),
    models=("ocr",), fork_safe=True, shapes=license_shapes,
    description="fields of an ID card front or a driving licence, located and read (rapidocr + layout rules)"))


# --- fictional specimens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A fictional card holder (see :func:`specimen`)."""

    name: str = "张三"
    sex: str = "男"
    nation: str = "汉"
    birth: _dt.date = _dt.date(1990, 4, 22)
    address: str = "示例省演示市虚构区样本街道测试路一百二十三号院5号楼2单元"
    region: str = "990101"
    sequence: int = 123
    authority: str = "演示市公安局虚构分局"
    valid: str = "2016.03.15-2036.03.15"
    temporary: bool = False

    @property
    def number(self) -> str:
        seq = self.sequence - (self.sequence % 2) + (1 if self.sex == "男" else 0)
        return make_number(self.region, self.birth, seq)


def _font(size_px: float, *, mono: bool = False):
    from ..watermark.fonts import font_spec  # noqa: PLC0415 - only specimens need fonts

    return font_spec("arial" if mono else "simhei").load(max(6, round(size_px)))


def _default_portrait() -> Image.Image:
    from .. import data  # noqa: PLC0415 - sample pictures, only for specimens

    img = Image.open(data.astronaut()).convert("RGB")
    return img.crop((120, 10, 330, 270))  # the astronaut's head and shoulders (NASA, public domain)


def specimen(person: Person | None = None, *, side: str = "FRONT", portrait_image: Image.Image | None = None,
             px_per_mm: float = 12.0) -> Image.Image:
    """A fictional resident ID card in the real layout, for tests and demonstrations.

    Every holder is fictional (region code 99, which no Chinese region has; a valid check digit);
    the emblem is a plain red star, not the national emblem. The card fills the returned image.

    Examples
    --------
    >>> from cinb.ai.idcard import specimen
    >>> specimen().size, specimen(side="BACK").size
    ((1027, 648), (1027, 648))
    """
    p = person or Person()
    s = px_per_mm
    w, h = round(CARD_MM[0] * s), round(CARD_MM[1] * s)
    rng = np.random.default_rng(7 if side == "FRONT" else 8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ground = np.stack([238 - 10 * xx / w, 241 - 4 * yy / h, 236 + 8 * xx / w], axis=2)
    ground += 4 * np.sin(xx / (2.2 * s) + 3 * np.sin(yy / (6 * s)))[..., None]  # a faint guilloche
    ground += rng.normal(0, 1.2, ground.shape)
    img = Image.fromarray(np.clip(ground, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    label = (70, 120, 175)
    ink = (20, 20, 20)

    def put(x_mm, y_mm, text, size_mm, fill, *, mono=False, spacing=0.0):
        font = _font(size_mm * s, mono=mono)
        if spacing:
            x = x_mm * s
            for ch in text:
                d.text((x, y_mm * s), ch, fill=fill, font=font, anchor="lm", language="zh-Hans")
                x += d.textlength(ch, font=font) + spacing * s
        else:
            d.text((x_mm * s, y_mm * s), text, fill=fill, font=font, anchor="lm", language="zh-Hans")

    if side == "FRONT":
        put(7, 10, "姓名", 2.8, label, spacing=1.2)
        put(16, 10, p.name, 3.6, ink)
        put(7, 17, "性别", 2.8, label, spacing=1.2)
        put(16, 17, p.sex, 3.4, ink)
        put(27, 17, "民族", 2.8, label, spacing=1.2)
        put(36, 17, p.nation, 3.4, ink)
        put(7, 24, "出生", 2.8, label, spacing=1.2)
        put(16, 24, f"{p.birth.year}", 3.4, ink, mono=True)
        put(24.5, 24, "年", 2.8, label)
        put(29, 24, f"{p.birth.month}", 3.4, ink, mono=True)
        put(32.5, 24, "月", 2.8, label)
        put(37, 24, f"{p.birth.day}", 3.4, ink, mono=True)
        put(41, 24, "日", 2.8, label)
        put(7, 31, "住址", 2.8, label, spacing=1.2)
        font = _font(3.4 * s)
        lines, cur = [], ""
        for ch in p.address:
            if d.textlength(cur + ch, font=font) > 36 * s:
                lines.append(cur)
                cur = ""
            cur += ch
        lines.append(cur)
        for i, text in enumerate(lines[:3]):
            put(16, 31 + 5 * i, text, 3.4, ink)
        put(7, 47.5, "公民身份号码", 2.8, label)
        put(27, 47.5, p.number, 4.0, ink, mono=True, spacing=0.5)
        face = (portrait_image or _default_portrait()).convert("RGB")
        x0, y0, x1, y1 = (round(v * s) for v in PORTRAIT_MM)
        face = face.resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS)
        img.paste(face, (x0, y0))
    else:
        cx, cy, r = 13 * s, 13 * s, 7.5 * s
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(200, 30, 30), width=max(2, round(0.6 * s)))
        star = [(cx + 0.62 * r * math.cos(math.radians(-90 + 36 * k)) * (1 if k % 2 == 0 else 0.42),
                 cy + 0.62 * r * math.sin(math.radians(-90 + 36 * k)) * (1 if k % 2 == 0 else 0.42)) for k in range(10)]
        d.polygon(star, fill=(205, 160, 40))
        put(30, 10.5, "中华人民共和国", 4.6, ink, spacing=0.6)
        put(30, 20.5, "临时居民身份证" if p.temporary else "居民身份证", 6.4, ink, spacing=1.2)
        put(15, 40, "签发机关", 2.8, ink, spacing=0.6)
        put(31, 40, p.authority, 3.4, ink)
        put(15, 47, "有效期限", 2.8, ink, spacing=0.6)
        start, _, end = p.valid.partition("-")
        put(31, 47, f"{start}-" + ("" if end == "长期" else end), 3.4, ink, mono=True)
        if end == "长期":
            put(31 + d.textlength(f"{start}-", font=_font(3.4 * s, mono=True)) / s + 0.3, 47, end, 3.4, ink)
    mask = Image.new("L", img.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, w - 1, h - 1), radius=round(3.2 * s), fill=255)
    out = Image.new("RGB", img.size, (255, 255, 255))
    out.paste(img, (0, 0), mask)
    return out


def license_specimen(person: Person | None = None, *, px_per_mm: float = 12.0, first_issue: str = "2010-06-01",
                     vehicle_class: str = "C1", valid: str = "2016-06-01至2026-06-01",
                     office: str = "演示市公安局交通警察支队") -> Image.Image:
    """A fictional driving licence main page (88 x 60 mm), for tests and demonstrations of AILicenseRec.

    Examples
    --------
    >>> from cinb.ai.idcard import license_specimen
    >>> license_specimen().size
    (1056, 720)
    """
    p = person or Person()
    s = px_per_mm
    w, h = round(88 * s), round(60 * s)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ground = np.stack([232 + 0 * xx, 236 - 6 * yy / h, 242 + 0 * xx], axis=2)
    ground += 3 * np.sin(yy / (1.8 * s) + 2 * np.sin(xx / (5 * s)))[..., None]
    img = Image.fromarray(np.clip(ground, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    ink, label = (20, 20, 20), (40, 40, 40)

    def put(x_mm, y_mm, text, size_mm, fill=ink, *, mono=False):
        d.text((x_mm * s, y_mm * s), text, fill=fill, font=_font(size_mm * s, mono=mono), anchor="lm",
               language="zh-Hans")

    put(14, 6, "中华人民共和国机动车驾驶证", 4.4)
    put(5, 13, "证号", 3.0, label)
    put(16, 13, p.number, 3.4, mono=True)
    put(5, 19, "姓名", 3.0, label)
    put(16, 19, p.name, 3.4)
    put(34, 19, "性别", 3.0, label)
    put(42, 19, p.sex, 3.4)
    put(50, 19, "国籍", 3.0, label)
    put(58, 19, "中国", 3.4)
    put(5, 25, "住址", 3.0, label)
    put(16, 25, p.address[:15], 3.0)  # 15 characters end at 61 mm, left of the photo
    if p.address[15:]:
        put(16, 30, p.address[15:30], 3.0)
    put(5, 36, "出生日期", 3.0, label)
    put(22, 36, f"{p.birth:%Y-%m-%d}", 3.4, mono=True)
    put(5, 42, "初次领证日期", 3.0, label)
    put(27, 42, first_issue, 3.4, mono=True)
    put(5, 48, "准驾车型", 3.0, label)
    put(22, 48, vehicle_class, 3.4, mono=True)
    put(5, 54, "有效期限", 3.0, label)
    start, _, end = valid.partition("至")
    put(22, 54, start, 3.4, mono=True)
    put(42, 54, "至", 3.0, label)
    put(46, 54, end, 3.4, mono=True)
    face = _default_portrait().resize((round(20 * s), round(25 * s)), Image.Resampling.LANCZOS)
    img.paste(face, (round(64 * s), round(24 * s)))
    d.rectangle((round(62 * s), round(10 * s), round(86 * s), round(21 * s)), outline=(200, 40, 40), width=2)
    put(63, 15.5, office[:9], 2.4, (200, 40, 40))
    mask = Image.new("L", img.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, w - 1, h - 1), radius=round(3 * s), fill=255)
    out = Image.new("RGB", img.size, (255, 255, 255))
    out.paste(img, (0, 0), mask)
    return out


def photograph(card: Image.Image, *, angle: float = 0.0, tilt: float = 0.0, blur: float = 0.0,
               quality_: int | None = None, grey: bool = False, background: tuple[int, int, int] = (70, 60, 52),
               margin: float = 0.18, crop: float = 0.0, seed: int = 0) -> Image.Image:
    """A card as a phone photographs it: on a background, turned ``angle`` degrees, in perspective
    (``tilt`` 0-0.2), blurred, JPEG-compressed, or a greyscale copy; ``crop`` cuts that share of
    the card off its right side (a border out of the picture).

    Examples
    --------
    >>> from cinb.ai.idcard import photograph, specimen
    >>> photograph(specimen(), angle=8, tilt=0.08).size
    (1397, 963)
    """
    import cv2  # noqa: PLC0415 - OpenCV comes with the AI extra

    rng = np.random.default_rng(seed)
    src = np.asarray(card.convert("L").convert("RGB") if grey else card.convert("RGB"))
    ch, cw = src.shape[:2]
    W, H = round(cw * (1 + 2 * margin)), round(ch * (1 + 2 * margin) + 0.35 * ch * margin * 2)
    corners = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], float)
    centre = np.array([W / 2, H / 2])
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    placed = (corners - [cw / 2, ch / 2]) @ rot.T + centre
    if tilt:
        placed[0] += [tilt * cw * 0.5, tilt * ch * 0.3]
        placed[1] += [-tilt * cw * 0.5, tilt * ch * 0.3]
    placed += rng.normal(0, 0.004 * cw, placed.shape)
    hmat = _homography(corners, placed)
    ground = np.empty((H, W, 3), np.uint8)
    ground[:] = background
    noise = rng.normal(0, 6, (H // 8 + 1, W // 8 + 1, 1))
    ground = np.clip(ground + cv2.resize(noise, (W, H))[..., None] if noise.ndim == 2 else
                     ground + cv2.resize(noise[..., 0], (W, H))[..., None], 0, 255).astype(np.uint8)
    warped = cv2.warpPerspective(src, hmat, (W, H), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((ch, cw), 255, np.uint8), hmat, (W, H))
    out = np.where(mask[..., None] > 127, warped, ground)
    img = Image.fromarray(out.astype(np.uint8))
    if grey:
        img = img.convert("L").convert("RGB")
    if crop:
        xs = placed[:, 0]
        cut = round(xs.max() - crop * (xs.max() - xs.min()))
        img = img.crop((0, 0, cut, img.height))
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    if quality_ is not None:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality_)
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return img


__all__ = ["CARD_MM", "CARD_PX", "CONFIG_KEYS", "ENDPOINT", "LICENSE_ENDPOINT", "LICENSE_FIELDS", "MAX_BASE64_BYTES",
           "Person", "WARN_CODES", "border_value", "check_digit", "copy_chroma", "correct_number", "date_problem",
           "find_cards", "flatten", "nation_name", "NATIONS",
           "id_card_ocr", "license_rec", "license_shapes", "make_number", "parse_config",
           "license_specimen", "photograph", "portrait", "read_card", "specimen", "valid_number"]
