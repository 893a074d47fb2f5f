"""``DetectCar``: vehicles, their type and colour, and Chinese licence plates (spec §19.7), offline.

CI answers ``Response{CarTags[]{Serial, Brand, Type, Color, Confidence, Year, CarLocation[]{X, Y} (4
points), PlateContent{Plate, Color, Type, PlateLocation[]{X, Y}}}}``.

How cinb answers:

- **Vehicles** come from the object detector of :mod:`cinb.ai.objects` (SSD MobileNet v2 COCO):
  its ``car``, ``bus``, ``truck`` and ``motorcycle`` boxes, score 40 or more. ``Type`` is that class
  (``car``/``bus``/``truck``/``motorcycle``; ``lang=zh``: 轿车/客车/货车/摩托车), ``Confidence`` its score in
  percent, ``CarLocation`` the box's four corners clockwise from the top-left, in upright input pixels.
- **Colour** is named from the vehicle's own pixels (:func:`vehicle_color`): the box's central part
  (where the body is, away from road and sky), each pixel classified in HSV into eleven named
  colours; a chromatic colour covering at least a fifth of the pixels wins, otherwise the body is
  white, silver, grey or black by the brightness of its lighter pixels (glass and tyres are dark).
- **Plates** are read by the OCR model of :mod:`cinb.ai.ocr` (rapidocr PP-OCRv6) in the lower 70 % of
  each vehicle box (enlarged when small), and kept only when the text is a Chinese plate
  (:data:`PLATE_PATTERN`: a province character, a letter, then 5 characters, or 6 for new-energy
  plates; ``·`` and spaces dropped; ``O``/``I`` read as ``0``/``1`` where letters cannot be).
  The plate's ``Color`` (blue, yellow, green, white, black) is the dominant colour of the text box
  in HSV, its ``Type`` follows the colour and length as the GA 36-2018 plate standard assigns them
  (:data:`PLATE_TYPES`), and ``PlateLocation`` is the text box's four corners.

What cannot be known offline, and is therefore **left empty** (never guessed): ``Brand``,
``Serial`` (model) and ``Year`` (``""``, ``""`` and ``0``: ``Year`` is an integer in CI's Go SDK, and
Tencent Cloud's car-tag service, the one behind DetectCar, answers 0 when it recognised no year).
CI recognises makes and models with a model trained on them; no such model ships in a package, and a
detector that says "car" cannot tell a Toyota from a Tesla.
A vehicle without a readable Chinese plate has no ``PlateContent``. Plates of other countries are
not reported (the OCR reads them, the pattern refuses them).

Input limit: CI's page allows at most 4 MB of Base64 (:data:`MAX_BASE64_BYTES`, a 3 MiB file); more is
CIError -167 before any model runs. Its other figures ("larger than 50 x 50 px", "long side under
5 x the short one") are advice, not limits, and are not enforced.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from ..imageinput import ImageInput
from ..limits import check_base64_size
from . import models, objects
from .endpoints import Answer, Endpoint, bool_param, choice_param, int_param, register_endpoint

#: CI's DetectCar page: the picture may be at most 4 MB once Base64-encoded.
MAX_BASE64_BYTES = 4 * 1024 * 1024

#: The detector classes DetectCar reports, and their ``Type`` in English and Chinese.
VEHICLE_TYPES: dict[str, tuple[str, str]] = {"car": ("car", "轿车"), "bus": ("bus", "客车"),
                                             "truck": ("truck", "货车"), "motorcycle": ("motorcycle", "摩托车")}

#: Named colours (English, Chinese).
COLORS: dict[str, str] = {"white": "白色", "silver": "银色", "grey": "灰色", "black": "黑色", "red": "红色",
                          "orange": "橙色", "yellow": "黄色", "green": "绿色", "blue": "蓝色", "brown": "棕色",
                          "purple": "紫色"}

#: Province abbreviations that start a Chinese plate (and 使/领 for embassies and consulates).
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_LETTER = "A-HJ-NP-Z"  # plates use no I and no O
#: A Chinese plate: province, issuing-office letter, then 5 characters (the last may be 挂学警港澳), or a
#: new-energy plate's 6 (D/F first for small vehicles, last for large ones).
PLATE_PATTERN = re.compile(
    rf"[{PROVINCES}][{_LETTER}](?:[DF][{_LETTER}0-9][0-9]{{4}}|[0-9]{{5}}[DF]|[{_LETTER}0-9]{{4}}[{_LETTER}0-9挂学警港澳])")

#: Plate Type by colour (GA 36-2018): English, Chinese.
PLATE_TYPES: dict[str, tuple[str, str]] = {
    "blue": ("small vehicle", "小型汽车号牌"), "yellow": ("large vehicle", "大型汽车号牌"),
    "green": ("new energy vehicle", "新能源汽车号牌"), "white": ("police or military", "警用或军用号牌"),
    "black": ("foreign or Hong Kong/Macao", "使领馆或港澳号牌"),
}

#: Share of the vehicle box (from its top) where the plate search starts.
PLATE_FROM = 0.3
#: Width (px) a small vehicle crop is enlarged to before OCR (plates need ~15 px tall characters).
PLATE_CROP_WIDTH = 640


# --- colours --------------------------------------------------------------------------------------------


def _hsv(rgb: np.ndarray) -> np.ndarray:
    import cv2  # noqa: PLC0415 - OpenCV comes with the detector

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.int32)


#: Saturation (OpenCV 0-255) from which a vehicle pixel counts as coloured paint: a silver car
#: reflecting a blue sky measured 72-95 (licenseplate_motion.jpg of OpenCV's samples), the red car of
#: scenetext06.jpg above 150.
PAINT_SATURATION = 110


def _hue_name(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per pixel: a chromatic colour name, or "" for greys (OpenCV hue 0-180)."""
    names = np.full(h.shape, "", dtype=object)
    chroma = (s >= PAINT_SATURATION) & (v >= 50)
    names[chroma & ((h < 8) | (h >= 165))] = "red"
    names[chroma & (h >= 8) & (h < 20)] = "orange"
    names[chroma & (h >= 20) & (h < 34)] = "yellow"
    names[chroma & (h >= 34) & (h < 88)] = "green"
    names[chroma & (h >= 88) & (h < 132)] = "blue"
    names[chroma & (h >= 132) & (h < 165)] = "purple"
    brown = chroma & (h >= 8) & (h < 25) & (v < 130)
    names[brown] = "brown"
    return names


def vehicle_color(rgb: np.ndarray) -> str:
    """The named colour of a vehicle crop (RGB uint8): its central part, in HSV.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.vehicles import vehicle_color
    >>> red = np.zeros((60, 100, 3), np.uint8); red[..., 0] = 200
    >>> vehicle_color(red), vehicle_color(np.full((60, 100, 3), 235, np.uint8))
    ('red', 'white')
    """
    h, w = rgb.shape[:2]
    core = rgb[int(h * 0.2):max(int(h * 0.2) + 1, int(h * 0.8)), int(w * 0.15):max(int(w * 0.15) + 1, int(w * 0.85))]
    hsv = _hsv(core)
    names = _hue_name(hsv[:, 0], hsv[:, 1], hsv[:, 2])
    counts = {n: int((names == n).sum()) for n in ("red", "orange", "yellow", "green", "blue", "purple", "brown")}
    best = max(counts, key=counts.__getitem__)
    if counts[best] >= 0.2 * len(names):
        return best
    grey = hsv[names == "", 2]
    if grey.size == 0:
        return best
    light = float(np.percentile(grey, 75))  # the body, not the dark glass and tyres
    if light >= 185:
        return "white"
    if light >= 125:
        return "silver"
    if light >= 75:
        return "grey"
    return "black"


def plate_color(rgb: np.ndarray) -> str:
    """The background colour of a plate crop: blue, yellow, green, white or black.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.vehicles import plate_color
    >>> blue = np.zeros((20, 80, 3), np.uint8); blue[..., 2] = 180; blue[5:15, 10:20] = 255  # white text
    >>> plate_color(blue)
    'blue'
    """
    hsv = _hsv(rgb)
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    chroma = (s >= 60) & (v >= 60)
    counts = {"blue": int((chroma & (h >= 95) & (h < 130)).sum()), "yellow": int((chroma & (h >= 15) & (h < 35)).sum()),
              "green": int((chroma & (h >= 35) & (h < 95)).sum())}
    best = max(counts, key=counts.__getitem__)
    if counts[best] >= 0.25 * len(h):
        return best
    return "white" if float(np.median(v)) >= 128 else "black"


# --- plates ---------------------------------------------------------------------------------------------

_DROP = str.maketrans("", "", " ·•.-:_'\"")


def plate_text(text: str) -> str | None:
    """The Chinese plate in an OCR line, normalised, or None.

    Examples
    --------
    >>> from cinb.ai.vehicles import plate_text
    >>> plate_text("京A·12345"), plate_text("粤B D12345"), plate_text("沪AO1234"), plate_text("HELLO")
    ('京A12345', '粤BD12345', '沪A01234', None)
    """
    s = text.translate(_DROP).upper()
    for i in range(len(s) - 1):
        if s[i] in PROVINCES:
            head, tail = s[i:i + 2], s[i + 2:i + 8].replace("O", "0").replace("I", "1")
            found = PLATE_PATTERN.match(head + tail)
            if found:
                return found.group(0)
    return None


def read_plate(engine, image: Image.Image, box: tuple[float, float, float, float], scale: float) -> dict | None:
    """OCR the lower part of a vehicle box (image pixels = input pixels / scale); the best plate found."""
    from .ocr import TYPES  # noqa: PLC0415 - rapidocr loads only when a vehicle is found

    x0, y0, x1, y1 = (v / scale for v in box)
    top = y0 + (y1 - y0) * PLATE_FROM
    crop_box = (max(0, int(x0)), max(0, int(top)), min(image.width, int(np.ceil(x1))),
                min(image.height, int(np.ceil(y1))))
    if crop_box[2] - crop_box[0] < 16 or crop_box[3] - crop_box[1] < 8:
        return None
    crop = image.crop(crop_box)
    enlarge = min(3.0, max(1.0, PLATE_CROP_WIDTH / crop.width))
    if enlarge > 1:
        crop = crop.resize((round(crop.width * enlarge), round(crop.height * enlarge)), Image.Resampling.BICUBIC)
    turn, out = engine.read(np.asarray(crop), TYPES["general"], words=False)
    if out is None or turn:
        return None
    best = None
    for poly, text, score in zip(np.asarray(out.boxes, float), out.txts, out.scores, strict=False):
        plate = plate_text(str(text))
        if plate is None or (best is not None and float(score) <= best[2]):
            continue
        best = (poly, plate, float(score))
    if best is None:
        return None
    poly, plate, score = best
    pts = poly / enlarge + np.array([crop_box[0], crop_box[1]])
    bx0, by0 = np.floor(pts.min(axis=0)).astype(int)
    bx1, by1 = np.ceil(pts.max(axis=0)).astype(int)
    region = np.asarray(image.crop((max(0, bx0), max(0, by0), max(bx0 + 1, bx1), max(by0 + 1, by1))))
    color = plate_color(region)
    if len(plate) == 8:
        color = "green" if color in ("white", "green") else color  # new-energy plates shade green to white
    return {"plate": plate, "color": color, "score": score, "points": pts * scale}


# --- the endpoint -----------------------------------------------------------------------------------------


def _points(values) -> list[dict]:
    return [{"X": int(round(float(x))), "Y": int(round(float(y)))} for x, y in values]


def detect_car(inp: ImageInput, *, min_score: int = 40, lang: str = "en", plates: bool = True,
               tiles: str = "auto") -> Answer:
    """CI's ``DetectCar``: ``CarTags[]`` with type, colour, box and plate; Brand, Serial empty, Year 0.

    Parameters
    ----------
    min_score : int
        cinb extension: lowest detector score (1-100) a vehicle is reported with.
    lang : {"en", "zh"}
        cinb extension: language of ``Type``, ``Color`` and the plate's ``Color``/``Type``.
    plates : bool
        cinb extension: read plates (the OCR model loads; 0 skips it).
    tiles : {"auto", "0", "1"}
        cinb extension: also read 2 x 2 tiles (see :mod:`cinb.ai.objects`).

    Examples
    --------
    >>> from cinb import ci_process, data
    >>> ci_process(data.chelsea(), "DetectCar").json
    {'CarTags': []}
    """
    check_base64_size(inp.label, inp.size_bytes, MAX_BASE64_BYTES, service="DetectCar")
    found, _size = objects.detect_input(inp, min_score=min_score / 100, classes=tuple(VEHICLE_TYPES), tiles=tiles)
    image = inp.image(objects.DECODE_SIZE)
    scale = _size[0] / image.width
    engine = models.get("ocr") if (plates and found) else None
    zh = lang == "zh"
    tags = []
    for det in found:
        x0, y0, x1, y1 = det.box
        crop = np.asarray(image.crop((int(x0 / scale), int(y0 / scale), max(int(x0 / scale) + 1, int(x1 / scale)),
                                      max(int(y0 / scale) + 1, int(y1 / scale)))))
        color = vehicle_color(crop)
        tag = {"Serial": "", "Brand": "", "Type": VEHICLE_TYPES[det.name][1 if zh else 0],
               "Color": COLORS[color] if zh else color, "Confidence": max(1, min(100, round(det.score * 100))),
               "Year": 0, "CarLocation": _points([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])}
        plate = read_plate(engine, image, det.box, scale) if engine is not None else None
        if plate is not None:
            kind = PLATE_TYPES[plate["color"]]
            tag["PlateContent"] = {"Plate": plate["plate"], "Color": COLORS[plate["color"]] if zh else plate["color"],
                                   "Type": kind[1 if zh else 0], "PlateLocation": _points(plate["points"])}
        tags.append(tag)
    return Answer({"CarTags": tags}, info={"models": [objects.MODEL] + (["ocr"] if engine is not None else [])})


def shapes(response: dict) -> list:
    """What ``df.ci.show`` draws for DetectCar: each vehicle's box ("type colour") and its plate.

    Examples
    --------
    >>> from cinb.ai.vehicles import shapes
    >>> car = {"Type": "car", "Color": "red", "CarLocation": [{"X": 0, "Y": 0}, {"X": 9, "Y": 0}, {"X": 9, "Y": 5},
    ...                                                        {"X": 0, "Y": 5}]}
    >>> shapes({"CarTags": [car]})
    [([(0, 0), (9, 0), (9, 5), (0, 5)], 'car red')]
    """
    out = []
    for tag in response.get("CarTags") or []:
        out.append(([(p["X"], p["Y"]) for p in tag["CarLocation"]], f"{tag['Type']} {tag['Color']}"))
        plate = tag.get("PlateContent")
        if plate:
            out.append(([(p["X"], p["Y"]) for p in plate["PlateLocation"]], plate["Plate"]))
    return out


def flatten(response: dict) -> dict:
    """The ``vehicles`` analysis columns.

    Examples
    --------
    >>> from cinb.ai.vehicles import flatten
    >>> flatten({"CarTags": [{"Type": "car", "Color": "red", "PlateContent": {"Plate": "京A12345"}},
    ...                      {"Type": "bus", "Color": "white"}]})
    {'vehicle_count': 2, 'vehicle_types': 'car,bus', 'vehicle_colors': 'red,white', 'plates': '京A12345',
     'plate_count': 1}
    """
    tags = response.get("CarTags") or []
    found = [t["PlateContent"]["Plate"] for t in tags if t.get("PlateContent")]
    return {"vehicle_count": len(tags), "vehicle_types": ",".join(t["Type"] for t in tags),
            "vehicle_colors": ",".join(t["Color"] for t in tags), "plates": ",".join(found), "plate_count": len(found)}


ENDPOINT = register_endpoint(Endpoint(
    "DetectCar", detect_car,
    params=(int_param("min-score", round(objects.SCORE_THRESHOLD * 100), lo=1, hi=100,
                      doc="cinb extension: lowest vehicle score, 1-100 (default 40)"),
            choice_param("lang", ("en", "zh"), "en", doc="cinb extension: en (default) or zh"),
            bool_param("plates", True, doc="cinb extension: read plates (1, default) or not (0)"),
            objects.TILES_PARAM),
    analysis="vehicles",
    columns={"vehicle_count": int, "vehicle_types": str, "vehicle_colors": str, "plates": str, "plate_count": int},
    flatten=flatten, models=(objects.MODEL, "ocr"), shapes=shapes,
    description="vehicles: type, colour, box and Chinese plate (brand, model and year are not known offline)"))

__all__ = ["COLORS", "ENDPOINT", "MAX_BASE64_BYTES", "PLATE_PATTERN", "PLATE_TYPES", "PROVINCES", "VEHICLE_TYPES",
           "detect_car", "flatten", "plate_color", "plate_text", "read_plate", "shapes", "vehicle_color"]
