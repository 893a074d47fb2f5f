"""``ImageTargetRec``: find people, faces, vehicles and Chinese plates, and pixelate them, offline.

CI's page (460/118934, "图片智能打码") documents it as a processing rule, in Pic-Operations at upload
or for a stored object: ``ci-process=ImageTargetRec&detect-type=car,face,plate,body&cover=1``. The
result stored is the picture with the targets covered by a mosaic, and the upload answer carries
``ImgTargetRecResult{BodyDetailInfos{BodyDetailInfo[]}, CarDetailInfos{CarDetailInfo[]},
FaceDetailInfos{FaceDetailInfo[]}, PlateDetailInfos{PlateDetailInfo[]}}``, each item ``{X, Y, Width,
Height}`` (CI's Go SDK, ``ImgTargetRecResult``). Its limits: PNG, JPG or JPEG, at most 20 MB, long
side at most 7680 px.

How cinb answers (``cinb.ci_process(src, "ImageTargetRec", **{"detect-type": "face,body", "cover": 1})``,
or the rule ``ImageTargetRec/detect-type/face,body/cover/1`` in ``cinb.process`` and Pic-Operations):

- ``detect-type`` (required): a comma list of ``car``, ``face``, ``plate``, ``body``; another word, or
  none, is -103. One block per requested type, in CI's order (Body, Car, Face, Plate), each a list of
  integer boxes in the upright (EXIF-applied) picture's pixels, best first; ``[]`` when none is found.
- ``body`` and ``car`` are the object detector of :mod:`cinb.ai.objects` (SSD MobileNet v2 COCO,
  score 40 or more): its ``person`` boxes, and its ``car``/``bus``/``truck``/``motorcycle`` boxes (the
  vehicles of ``DetectCar``).
- ``face`` is MTCNN (:mod:`cinb.ai.faces`, the ``DetectFace`` detector): faces from 34 px, every
  one found; a box reaching past the edge is clipped to the picture.
- ``plate`` is ``DetectCar``'s plate reader: the OCR model reads the lower part of each detected
  vehicle and keeps text shaped like a Chinese plate; the box is that text's. A plate on no detected
  vehicle (a close-up of the plate alone), or of another country, is not found.
- ``cover=1`` replaces every box found by a mosaic (blocks a sixth of the box's shorter side, at
  least 4 px); ``cover=0`` (the default: CI's page, as stored, shows the parameter only with 1)
  leaves the pixels as they are. The answer is the upright first frame in the source's format (PNG
  for an in-memory picture), its ICC profile kept, a source's alpha kept.
- Limits as CI's page: over 20 MB -167, a long side over 7680 px -447 (from the header, before any
  model runs). CI names PNG and JPEG only; cinb answers for any format it decodes.

Collections: the analysis ``targets`` (``cinb.analyze(df, "targets", options={"targets": {"detect_type":
"face,body"}})``; ``detect-type`` is required there too) gives ``target_count``, ``target_types`` and
``target_boxes`` (``[[type, X, Y, Width, Height], ...]``); ``df.ci.show`` draws the boxes.

CI's ``ci-process=ImageTargetRec&...`` text as a Pic-Operations rule is CI's grammar for this one
endpoint; cinb's rules take the slash form above.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PIL import Image

from ..imageinput import ImageInput
from ..limits import LIMITS, check_input
from . import faces, models, objects, vehicles
from .endpoints import Answer, Endpoint, Param, bool_param, choice_list, register_endpoint

#: CI's ``detect-type`` words, in the order of the answer's blocks, with their block and item names.
TARGETS: dict[str, tuple[str, str]] = {"body": ("BodyDetailInfos", "BodyDetailInfo"),
                                       "car": ("CarDetailInfos", "CarDetailInfo"),
                                       "face": ("FaceDetailInfos", "FaceDetailInfo"),
                                       "plate": ("PlateDetailInfos", "PlateDetailInfo")}

#: CI's page: at most 20 MB, the long side at most 7680 px.
TARGET_LIMITS = replace(LIMITS, max_file_bytes=20 * 1024 * 1024, max_side=7680)


def _detect_types(value: Any) -> tuple[str, ...]:
    return choice_list(value, "detect-type", tuple(TARGETS), in_choice_order=True)


def _box(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> dict | None:
    """An integer ``{X, Y, Width, Height}`` clipped to the picture (None when nothing is left)."""
    left, top = max(0, round(x0)), max(0, round(y0))
    right, bottom = min(width, round(x1)), min(height, round(y1))
    if right <= left or bottom <= top:
        return None
    return {"X": left, "Y": top, "Width": right - left, "Height": bottom - top}


def pixelate(image: Image.Image, boxes: list[dict]) -> Image.Image:
    """``image`` with each ``{X, Y, Width, Height}`` box replaced by a mosaic (blocks a sixth of its
    shorter side, at least 4 px).

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.ai.targetrec import pixelate
    >>> im = Image.linear_gradient("L").convert("RGB")
    >>> out = pixelate(im, [{"X": 0, "Y": 0, "Width": 64, "Height": 64}])
    >>> out.getpixel((0, 0)) == out.getpixel((9, 9)), out.getpixel((200, 200)) == im.getpixel((200, 200))
    (True, True)
    """
    out = image.copy()
    for b in boxes:
        region = out.crop((b["X"], b["Y"], b["X"] + b["Width"], b["Y"] + b["Height"]))
        block = max(4, round(min(b["Width"], b["Height"]) / 6))
        small = region.resize((max(1, region.width // block), max(1, region.height // block)), Image.Resampling.BOX)
        out.paste(small.resize(region.size, Image.Resampling.NEAREST), (b["X"], b["Y"]))
    return out


def target_rec(inp: ImageInput, *, detect_type: tuple[str, ...], cover: bool = False) -> Answer:
    """CI's ``ImageTargetRec``: the requested targets' boxes, and the picture with them pixelated (``cover=1``).

    Returns
    -------
    Answer
        ``response``: one ``<Type>DetailInfos{<Type>DetailInfo[]{X, Y, Width, Height}}`` block per requested
        type; ``image``: the upright first frame, pixelated where a target was found when ``cover`` is on;
        ``info``: ``counts`` per type, ``covered`` (boxes pixelated), ``models``.

    Raises
    ------
    CIError
        -167 over 20 MB, -447 over 7680 px a side, the decode errors for a bad picture.

    Examples
    --------
    >>> from cinb import ci_process, data
    >>> r = ci_process(data.astronaut(), "ImageTargetRec", **{"detect-type": "face", "cover": 1})
    >>> len(r.response["FaceDetailInfos"]["FaceDetailInfo"]), r.info["covered"], r.format
    (1, 1, 'jpeg')
    """
    h = inp.header()  # not an image / corrupt: its CIError first
    check_input(inp.label, width=h.width, height=h.height, size_bytes=inp.size_bytes, token=inp.label,
                limits=TARGET_LIMITS)
    width, height = objects.upright_size(inp)
    found: dict[str, list[dict]] = {t: [] for t in detect_type}
    used: list[str] = []
    classes = (("person",) if "body" in found else ()) + \
        (tuple(vehicles.VEHICLE_TYPES) if ("car" in found or "plate" in found) else ())
    detections = objects.detect_input(inp, classes=classes)[0] if classes else []
    if classes:
        used.append(objects.MODEL)
    cars = [d for d in detections if d.name in vehicles.VEHICLE_TYPES]
    if "body" in found:
        found["body"] = [b for d in detections if d.name == "person" if (b := _box(*d.box, width, height))]
    if "car" in found:
        found["car"] = [b for d in cars if (b := _box(*d.box, width, height))]
    if "face" in found:
        used.append(faces.MODEL)
        found["face"] = [b for f in faces.find_faces(inp)[0] if (b := _box(*f.box, width, height))]
    if "plate" in found and cars:
        used.append("ocr")
        engine = models.get("ocr")
        image = inp.image(objects.DECODE_SIZE)
        scale = width / image.width
        for d in cars:
            plate = vehicles.read_plate(engine, image, d.box, scale)
            if plate is not None:
                xs, ys = plate["points"][:, 0], plate["points"][:, 1]
                if (b := _box(xs.min(), ys.min(), xs.max(), ys.max(), width, height)):
                    found["plate"].append(b)
    response = {TARGETS[t][0]: {TARGETS[t][1]: found[t]} for t in detect_type}
    boxes = [b for t in detect_type for b in found[t]] if cover else []
    frame = inp.frame()
    picture = pixelate(frame, boxes) if boxes else frame
    return Answer(response, image=picture,
                  info={"counts": {t: len(found[t]) for t in detect_type}, "covered": len(boxes), "models": used})


def _items(response: dict) -> list[tuple[str, dict]]:
    return [(t, b) for t, (block, item) in TARGETS.items() for b in (response.get(block) or {}).get(item) or []]


def flatten(response: dict) -> dict:
    """The ``targets`` analysis columns: how many targets, their types (one word each, CI's block order)
    and boxes ``[type, X, Y, Width, Height]``.

    Examples
    --------
    >>> from cinb.ai.targetrec import flatten
    >>> flatten({"FaceDetailInfos": {"FaceDetailInfo": [{"X": 1, "Y": 2, "Width": 3, "Height": 4}]},
    ...          "PlateDetailInfos": {"PlateDetailInfo": []}})
    {'target_count': 1, 'target_types': 'face', 'target_boxes': [['face', 1, 2, 3, 4]]}
    """
    items = _items(response)
    return {"target_count": len(items), "target_types": ",".join(t for t, _ in items),
            "target_boxes": [[t, b["X"], b["Y"], b["Width"], b["Height"]] for t, b in items]}


def shapes(response: dict) -> list:
    """What ``df.ci.show`` draws: each target's box, labelled with its type.

    Examples
    --------
    >>> from cinb.ai.targetrec import shapes
    >>> shapes({"BodyDetailInfos": {"BodyDetailInfo": [{"X": 1, "Y": 2, "Width": 3, "Height": 4}]}})
    [([(1, 2), (4, 2), (4, 6), (1, 6)], 'body')]
    """
    return [([(b["X"], b["Y"]), (b["X"] + b["Width"], b["Y"]), (b["X"] + b["Width"], b["Y"] + b["Height"]),
              (b["X"], b["Y"] + b["Height"])], t) for t, b in _items(response)]


ENDPOINT = register_endpoint(Endpoint(
    "ImageTargetRec", target_rec, kind="image", root="ImgTargetRecResult", rule="ImageTargetRec",
    params=(Param("detect-type", _detect_types, required=True, doc="comma list of car, face, plate, body"),
            bool_param("cover", doc="1: pixelate every target found (default 0)")),
    models=(objects.MODEL, faces.MODEL, "ocr"), analysis="targets",
    columns={"target_count": int, "target_types": str, "target_boxes": object}, flatten=flatten, shapes=shapes,
    description="people, faces, vehicles and Chinese plates found and pixelated (cover=1)"))

__all__ = ["ENDPOINT", "TARGETS", "TARGET_LIMITS", "flatten", "pixelate", "shapes", "target_rec"]
