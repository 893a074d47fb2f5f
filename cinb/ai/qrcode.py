"""``QRcode`` and ``qrcode-generate``: read every QR code and barcode in an image, cover them, make new ones
(spec §19.1).

Reading runs zxing-cpp (Apache-2.0, a 1 MB wheel with no model files) on the upright,
full-resolution grey image, first exactly as ``zxingcpp.read_barcodes`` is called with its defaults
(rotations, downscaling and inverted codes included), so cinb never finds fewer codes than the
library called directly on the same pixels. When that first pass finds nothing, or locates a symbol
it cannot decode, cinb retries on altered copies of the image and keeps every new code:

1. the located-but-unread symbols, cut out, enlarged and sharpened;
2. the negative image for 1-D codes (zxing inverts only 2-D codes), the whole image enlarged 1.5x
   (codes of 1-2 px per module), then contrast-stretched (CLAHE) and sharpened (blur, noise, low
   contrast);
3. for 1-D barcodes, the image turned by 30 degrees either way (zxing reads bars only within
   about 15 degrees of horizontal or vertical).

The whole-image retries (2, 3) run only when nothing was read, and stop at the first that reads
something; so a hard code beside an easy one is retried only if zxing located it (1).

A copy's coordinates are mapped back, so every ``Point`` is in the original image's upright pixel
space ("x,y", the symbol's own top-left corner first, then clockwise). Codes found twice (same format
and text, overlapping) are reported once. ``segment=1`` also reads ``size`` px tiles (overlapping
by a quarter), which finds small codes in very large images.

``cover=1`` pixelates each code (its polygon, grown by a margin) with blocks a sixth of the code's
size, coarser than any module, so nothing in the covered image decodes again; the covered image is
returned base64 in ``ResultImage`` (encoded in the input's format) and, in the rule form
``QRcode/cover/1`` of Pic-Operations, stored as the processed image.

``bar-type`` is CI's documented switch: 0 every code, 1 QR codes only (QR, Micro QR, rMQR), 2
barcodes only (the 1-D symbologies). Other 2-D codes (Data Matrix, Aztec, PDF417) are read with 0.

``qrcode-generate`` writes a QR code (``mode=0``) or a Code 128 barcode (``mode=1``) of
``qrcode-content`` as a PNG exactly ``width`` px wide (the height follows: square for QR, 40 % of
the width for barcodes), base64 in ``ResultImage``. It takes no input image.
"""

from __future__ import annotations

import base64
import functools
import importlib
import importlib.util
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from ..errors import BAD_PARAMETER, CIError
from ..imageinput import ImageInput
from . import models
from .endpoints import Answer, Endpoint, bool_param, int_param, register_endpoint, str_param


def _native_library() -> tuple[str, ...]:
    """The compiled zxing-cpp module inside its package folder (no weights: the table shows its size)."""
    spec = importlib.util.find_spec("zxingcpp")
    if spec is None or not spec.submodule_search_locations:
        return ()
    folder = Path(list(spec.submodule_search_locations)[0])
    return tuple(sorted(p.name for p in folder.iterdir() if p.suffix in (".so", ".pyd")))


models.register_model(models.Model(
    "zxing-cpp", "QR code and barcode reading and writing", "zxing-cpp", "zxingcpp", "Apache-2.0",
    load=lambda threads: importlib.import_module("zxingcpp"), files=_native_library()))

#: bar-type values (CI: 0 every code, 1 QR codes, 2 barcodes).
BAR_TYPES = {0: "all", 1: "qr", 2: "barcode"}

#: Largest ``width`` qrcode-generate accepts (px).
MAX_GENERATE_WIDTH = 4096


def _zxing():
    return models.get("zxing-cpp")


def _formats(zx, bar_type: int):
    """The zxing formats to read for ``bar-type`` (None = every readable format, zxing's default)."""
    if bar_type == 1:
        return (zx.BarcodeFormat.QRCode, zx.BarcodeFormat.MicroQRCode, zx.BarcodeFormat.RMQRCode)
    if bar_type == 2:
        return zx.AllLinear
    return None


@dataclass
class Code:
    """One decoded code, in original upright pixels."""

    text: str
    format: str
    linear: bool
    points: list[tuple[float, float]]  # top-left, top-right, bottom-right, bottom-left of the symbol
    found_by: str = "direct"

    @property
    def center(self) -> tuple[float, float]:
        xs, ys = zip(*self.points, strict=True)
        return sum(xs) / 4, sum(ys) / 4

    @property
    def size(self) -> float:
        xs, ys = zip(*self.points, strict=True)
        return max(max(xs) - min(xs), max(ys) - min(ys), 1.0)


def _points(position) -> list[tuple[float, float]]:
    return [(float(p.x), float(p.y)) for p in (position.top_left, position.top_right, position.bottom_right,
                                                position.bottom_left)]


def _read(zx, gray: np.ndarray, formats, **options) -> tuple[list, list]:
    """(valid, located-but-unread) barcodes of one zxing call."""
    kwargs = dict(options)
    if formats is not None:
        kwargs["formats"] = formats
    found = zx.read_barcodes(np.ascontiguousarray(gray), **kwargs)
    return [b for b in found if b.valid], [b for b in found if not b.valid]


class _Collector:
    def __init__(self, zx, linear_formats: set) -> None:
        self.zx = zx
        self.codes: list[Code] = []
        self.linear = linear_formats

    def add(self, barcodes, mapping, found_by: str) -> int:
        new = 0
        for b in barcodes:
            pts = [mapping(x, y) for x, y in _points(b.position)]
            fmt = str(b.format)
            code = Code(b.text, fmt, b.format in self.linear, pts, found_by)
            if not any(_same(code, c) for c in self.codes):
                self.codes.append(code)
                new += 1
        return new


def _same(a: Code, b: Code) -> bool:
    if a.text != b.text or a.format != b.format:
        return False
    (ax, ay), (bx, by) = a.center, b.center
    return ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 < 0.75 * max(a.size, b.size)


def _identity(x, y):
    return x, y


def _scaled(s, ox=0.0, oy=0.0):
    return lambda x, y: (x / s + ox, y / s + oy)


def _clahe(gray):
    import cv2  # noqa: PLC0415 - cv2 only for the retries

    return cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(gray)


def _sharpen(gray, sigma=1.5, amount=1.5):
    import cv2  # noqa: PLC0415

    blur = cv2.GaussianBlur(gray, (0, 0), sigma)
    return cv2.addWeighted(gray, 1 + amount, blur, -amount, 0)


def _otsu(gray):
    import cv2  # noqa: PLC0415

    return cv2.threshold(cv2.GaussianBlur(gray, (3, 3), 0), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]


def _resize(gray, s):
    import cv2  # noqa: PLC0415

    h, w = gray.shape
    return cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))),
                      interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)


def _turned(gray, mapping, angle):
    img, back = _rotated(gray, angle)
    return img, lambda x, y: mapping(*back(x, y))


def _rotated(gray, angle):
    """``gray`` turned by ``angle`` degrees on a canvas that holds it all, and the map back."""
    import cv2  # noqa: PLC0415

    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos + 1), int(h * cos + w * sin + 1)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(gray, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=255)
    inv = cv2.invertAffineTransform(m)
    return out, lambda x, y: (inv[0, 0] * x + inv[0, 1] * y + inv[0, 2], inv[1, 0] * x + inv[1, 1] * y + inv[1, 2])


#: Largest long side the whole-image 1.5x enlargement runs on (beyond it the pass would cost too much).
UPSCALE_LIMIT = 1600
#: Long side above which the rotation retries work on a half-size copy.
ROTATE_LIMIT = 1200


def read_codes(gray: np.ndarray, bar_type: int = 0, *, segment: bool = False, size: int = 1000,
               retries: bool = True) -> list[Code]:
    """Every code zxing-cpp can read in ``gray`` (uint8, h x w), with retries on hard images.

    Parameters
    ----------
    gray : numpy.ndarray
        Grey image, uint8.
    bar_type : {0, 1, 2}
        CI's ``bar-type``: every code, QR codes only, barcodes only.
    segment, size : bool, int
        CI's ``segment``/``size``: also read overlapping tiles of ``size`` px.
    retries : bool
        False reads exactly as ``zxingcpp.read_barcodes(gray)`` does (the benchmark's baseline).

    Returns
    -------
    list of Code
    """
    zx = _zxing()
    formats = _formats(zx, bar_type)
    linear = set(zx.barcode_formats_list(zx.AllLinear))
    out = _Collector(zx, linear)
    if not retries:
        out.add(_read(zx, gray, formats)[0], _identity, "direct")
        return out.codes
    # One call gives both what zxing reads with its defaults and the symbols it located but could
    # not read (return_errors only adds those; tests hold the valid ones equal to a plain call).
    valid, unread = _read(zx, gray, formats, return_errors=True)
    out.add(valid, _identity, "direct")
    h, w = gray.shape
    if segment and max(h, w) > size:
        step = max(1, size * 3 // 4)
        for y0 in range(0, max(1, h - size // 4), step):
            for x0 in range(0, max(1, w - size // 4), step):
                found, _ = _read(zx, gray[y0:y0 + size, x0:x0 + size], formats)
                out.add(found, _scaled(1.0, x0, y0), "segment")
    for b in unread:
        _retry_region(zx, gray, b, formats, out)
    if out.codes:  # found something: the whole-image retries are for images where nothing was read
        return out.codes
    long_side = max(h, w)
    fast = {"try_invert": False, "try_downscale": False}  # the direct pass already tried both
    variants: list[tuple[str, Callable[[], tuple[np.ndarray, Any]], dict[str, Any]]] = []
    if bar_type != 1:  # zxing's try_invert covers 2-D codes only: light-on-dark bars need a negative
        variants.append(("invert", lambda: (255 - gray, _identity), {"formats": zx.AllLinear, **fast}))
    if long_side <= UPSCALE_LIMIT:
        variants.append(("upscale", lambda: (_resize(gray, 1.5), _scaled(1.5)), fast))
    variants.append(("enhance", lambda: (_sharpen(_clahe(gray)), _identity), fast))
    if bar_type != 1:
        # zxing reads bars within about 15 degrees of its rows or (try_rotate) columns: turning the
        # image by +-30 degrees brings codes at 30, 60, 120 and 150 degrees within reach
        base, base_map = (gray, _identity) if long_side <= ROTATE_LIMIT else (_resize(gray, 0.5), _scaled(0.5))
        for angle in (30, -30):
            variants.append((f"rotate{angle}", functools.partial(_turned, base, base_map, angle),
                             {"formats": zx.AllLinear, **fast}))
    for name, make, options in variants:
        img, mapping = make()
        options = {"formats": formats, **options}
        found, _ = _read(zx, img, options.pop("formats"), **options)
        if out.add(found, mapping, name):
            return out.codes
    return out.codes


def _retry_region(zx, gray, barcode, formats, out: _Collector) -> None:
    """Read a located-but-unread symbol again from an enlarged, sharpened cut-out."""
    pts = np.array(_points(barcode.position))
    cx, cy = pts.mean(axis=0)
    for c in out.codes:  # a failed second look at a code already read
        (ox, oy), r = c.center, c.size / 2
        if abs(cx - ox) < r and abs(cy - oy) < r:
            return
    h, w = gray.shape
    span = max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]), 8)
    x0, y0 = (max(0, int(v - span * 0.5)) for v in pts.min(axis=0))
    x1, y1 = int(min(w, pts[:, 0].max() + span * 0.5)), int(min(h, pts[:, 1].max() + span * 0.5))
    crop = gray[y0:y1, x0:x1]
    if crop.size == 0:
        return
    s = min(4.0, max(1.0, 400 / max(crop.shape)))
    big = _resize(crop, s) if s > 1 else crop
    for name, img in (("region", big), ("region-sharpen", _sharpen(big)), ("region-otsu", _otsu(big))):
        found, _ = _read(zx, img, formats)
        if out.add(found, _scaled(s, x0, y0), name):
            return


# --- cover ---------------------------------------------------------------------------------------


def _grown(points, margin: float) -> list[tuple[float, float]]:
    cx = sum(p[0] for p in points) / len(points)
    cy = sum(p[1] for p in points) / len(points)
    out = []
    for x, y in points:
        dx, dy = x - cx, y - cy
        d = max((dx * dx + dy * dy) ** 0.5, 1e-6)
        out.append((x + dx / d * margin, y + dy / d * margin))
    return out


def cover_polygons(codes: list[Code]) -> list[list[tuple[float, float]]]:
    """The areas ``cover=1`` pixelates: each code's polygon grown by its quiet zone.

    A 1-D code's polygon is the band zxing scanned, sometimes a single line: it is widened across
    the bars to half the code's length, the usual height of a barcode.
    """
    polys = []
    for c in codes:
        pts = c.points
        if c.linear:
            (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts
            # direction along the bars' sequence and across it
            ax, ay = (x1 - x0 + x2 - x3) / 2, (y1 - y0 + y2 - y3) / 2
            length = max((ax * ax + ay * ay) ** 0.5, 1.0)
            nx, ny = -ay / length, ax / length
            height = abs((x3 - x0) * nx + (y3 - y0) * ny)
            extra = max(0.0, (0.5 * length - height) / 2)
            ux, uy = ax / length, ay / length
            q = 0.08 * length  # quiet zones at both ends
            pts = [(x0 - nx * extra - ux * q, y0 - ny * extra - uy * q),
                   (x1 - nx * extra + ux * q, y1 - ny * extra + uy * q),
                   (x2 + nx * extra + ux * q, y2 + ny * extra + uy * q),
                   (x3 + nx * extra - ux * q, y3 + ny * extra - uy * q)]
            polys.append(_grown(pts, 2.0))
        else:
            polys.append(_grown(pts, 0.12 * c.size + 2.0))
    return polys


def pixelate(image: Image.Image, codes: list[Code]) -> Image.Image:
    """``image`` with every code's area replaced by a mosaic of blocks a sixth of the code's size."""
    out = image.copy()
    for code, poly in zip(codes, cover_polygons(codes), strict=True):
        xs, ys = zip(*poly, strict=True)
        box = (max(0, int(min(xs))), max(0, int(min(ys))), min(image.width, int(max(xs)) + 1),
               min(image.height, int(max(ys)) + 1))
        if box[2] <= box[0] or box[3] <= box[1]:
            continue
        region = out.crop(box)
        block = max(4, round(code.size / 6))
        small = region.resize((max(1, region.width // block), max(1, region.height // block)), Image.Resampling.BOX)
        mosaic = small.resize(region.size, Image.Resampling.NEAREST)
        mask = Image.new("L", region.size, 0)
        ImageDraw.Draw(mask).polygon([(x - box[0], y - box[1]) for x, y in poly], fill=255)
        region.paste(mosaic, (0, 0), mask)
        out.paste(region, box[:2])
    return out


def _b64_image(image: Image.Image, inp: ImageInput) -> str:
    from ..codecs.registry import encode  # noqa: PLC0415 - only cover=1 encodes
    from ..rules import EncodeOptions  # noqa: PLC0415
    from .process import as_canvas  # noqa: PLC0415

    canvas = as_canvas(image, inp)
    try:
        data, _codec, _quality = encode(canvas, EncodeOptions(format=canvas.source_format))
    except CIError:  # a source with no encodable format (an in-memory picture): PNG
        data, _codec, _quality = encode(canvas, EncodeOptions(format="png"))
    return base64.b64encode(data).decode("ascii")


# --- the endpoints -------------------------------------------------------------------------------


def _point_text(x: float, y: float, w: int, h: int) -> str:
    return f"{min(max(round(x), 0), w - 1)},{min(max(round(y), 0), h - 1)}"


def qrcode(inp: ImageInput, *, cover: bool = False, bar_type: int = 0, segment: bool = False,
           size: int = 1000) -> Answer:
    """CI's ``QRcode`` on one image: ``CodeStatus``, ``QRcodeInfo[]``, ``ResultImage`` when ``cover``."""
    image = inp.image(None)
    gray = np.asarray(image.convert("L"))
    codes = read_codes(gray, bar_type, segment=segment, size=size)
    w, h = image.size
    info = [{"CodeUrl": c.text, "CodeLocation": {"Point": [_point_text(x, y, w, h) for x, y in c.points]}}
            for c in codes]
    response: dict = {"CodeStatus": 1 if codes else 0, "QRcodeInfo": info}
    covered = None
    if cover:
        covered = pixelate(image, codes) if codes else image
        response["ResultImage"] = _b64_image(covered, inp)
    return Answer(response, image=covered,
                  info={"formats": [c.format for c in codes], "found_by": [c.found_by for c in codes]})


def generate(inp, *, qrcode_content: str, mode: int = 0, width: int = 400) -> Answer:
    """CI's ``qrcode-generate``: a QR code or Code 128 barcode of ``qrcode_content``, ``width`` px wide."""
    zx = _zxing()
    fmt = zx.BarcodeFormat.QRCode if mode == 0 else zx.BarcodeFormat.Code128
    try:
        symbol = zx.create_barcode(qrcode_content, fmt)
    except Exception as exc:  # noqa: BLE001 - zxing's own message says what is wrong with the content
        raise CIError(f"qrcode-generate cannot encode {qrcode_content!r} as "
                      f"{'a QR code' if mode == 0 else 'Code 128'}: {exc}", code=BAD_PARAMETER,
                      token="qrcode-content") from None
    bars = np.asarray(symbol.to_image(scale=1, add_quiet_zones=True))
    modules = bars.shape[1]
    if width < modules:
        raise CIError(f"qrcode-generate: width={width} is narrower than the code's {modules} modules",
                      code=BAD_PARAMETER, token="width")
    scale = width // modules
    if mode == 0:
        img = Image.fromarray(bars).resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
        canvas = Image.new("L", (width, width), 255)
    else:
        row = Image.fromarray(bars[bars.shape[0] // 2: bars.shape[0] // 2 + 1])
        height = max(1, round(width * 0.4))
        img = row.resize((modules * scale, height), Image.Resampling.NEAREST)
        canvas = Image.new("L", (width, height), 255)
    canvas.paste(img, ((width - img.width) // 2, (canvas.height - img.height) // 2))
    buf = io.BytesIO()
    canvas.save(buf, "PNG", optimize=True)
    return Answer({"ResultImage": base64.b64encode(buf.getvalue()).decode("ascii")},
                  info={"width": canvas.width, "height": canvas.height, "format": str(fmt)})


def shapes(response: dict) -> list[tuple[list[tuple[float, float]], str]]:
    """What ``df.ci.show`` draws for a QRcode answer: each code's four corners and its text.

    Examples
    --------
    >>> from cinb.ai.qrcode import shapes
    >>> info = [{"CodeUrl": "hi", "CodeLocation": {"Point": ["1,2", "9,2", "9,9", "1,9"]}}]
    >>> shapes({"CodeStatus": 1, "QRcodeInfo": info})
    [([(1.0, 2.0), (9.0, 2.0), (9.0, 9.0), (1.0, 9.0)], 'hi')]
    """
    out: list[tuple[list[tuple[float, float]], str]] = []
    for item in response.get("QRcodeInfo") or []:
        pts = [(float(x), float(y)) for x, y in (p.split(",") for p in item.get("CodeLocation", {}).get("Point", []))]
        out.append((pts, item.get("CodeUrl", "")))
    return out


def _flatten(response: dict, info: dict | None = None) -> dict:
    """The analysis columns: how many codes, their texts (one a line) and formats (comma-separated)."""
    items = response.get("QRcodeInfo") or []
    return {"qr_count": len(items), "qr_text": "\n".join(i["CodeUrl"] for i in items),
            "qr_formats": ",".join((info or {}).get("formats", []))}


ENDPOINT = register_endpoint(Endpoint(
    "QRcode", qrcode,
    params=(bool_param("cover", doc="1: pixelate every code found and return the image in ResultImage"),
            int_param("bar-type", 0, lo=0, hi=2, doc="0 every code, 1 QR codes only, 2 barcodes only"),
            bool_param("segment", doc="1: also read overlapping tiles of `size` px (small codes in large images)"),
            int_param("size", 1000, lo=500, doc="tile size for segment=1 (px, >= 500)")),
    aliases=("qrcode",), rule="QRcode", analysis="qrcode",
    columns={"qr_count": int, "qr_text": str, "qr_formats": str},
    flatten=_flatten, models=("zxing-cpp",), shapes=shapes,
    description="QR codes and barcodes: text and corners of each; cover=1 pixelates them"))

GENERATE = register_endpoint(Endpoint(
    "qrcode-generate", generate,
    params=(str_param("qrcode-content", required=True, doc="the text to encode"),
            int_param("mode", 0, lo=0, hi=1, doc="0 QR code, 1 barcode (Code 128)"),
            int_param("width", 400, lo=1, hi=MAX_GENERATE_WIDTH, doc="image width in px (height follows)")),
    models=("zxing-cpp",), takes_image=False,
    description="make a QR code or Code 128 barcode image (base64 PNG in ResultImage)"))

__all__ = ["BAR_TYPES", "ENDPOINT", "GENERATE", "Code", "cover_polygons", "generate", "pixelate", "qrcode",
           "read_codes", "shapes"]
