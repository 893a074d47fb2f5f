"""Rotation and mirroring: ``rotate``, ``auto-orient``, ``flip`` (spec §4)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from PIL import Image

from ..canvas import Canvas
from .frames import check_output_size, transparent, with_alpha

T = Image.Transpose
#: EXIF orientation -> the transpose that makes the picture upright (None: already upright).
ORIENTATION_TRANSPOSE = {
    1: None, 2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM,
    5: T.TRANSPOSE, 6: T.ROTATE_270, 7: T.TRANSVERSE, 8: T.ROTATE_90,
}


@dataclass(frozen=True)
class Rotate:
    """``rotate/<deg>``: clockwise; other than multiples of 90 the canvas grows to the rotated box
    and the new corners are transparent (white once encoded to a format without alpha).

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.canvas import Canvas
    >>> from cinb.ops.rotation import Rotate
    >>> Rotate(90).apply(Canvas(frames=[Image.new("RGB", (4, 2))])).size
    (2, 4)
    """

    degrees: int

    def tokens(self) -> list[str]:
        return ["rotate", str(self.degrees)]

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        deg = self.degrees % 360
        if deg == 0:
            return canvas
        exact = {90: T.ROTATE_270, 180: T.ROTATE_180, 270: T.ROTATE_90}
        if deg in exact:
            return canvas.map_frames(lambda f: f.transpose(exact[deg]))
        W, H = canvas.size
        rad = math.radians(deg)
        c, s = abs(math.cos(rad)), abs(math.sin(rad))
        # The rotated bounding box, rounded half up like every computed size (Pillow's expand=True
        # rounds its corners outward and can be 2 px larger, e.g. 498 instead of 496.41).
        size = (max(1, math.floor(W * c + H * s + 0.5)), max(1, math.floor(W * s + H * c + 0.5)))
        check_output_size(size, f"rotate/{self.degrees}")

        def turn(f: Image.Image) -> Image.Image:
            f = with_alpha(f)
            out = f.rotate(-deg, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=transparent(f))
            if out.size == size:
                return out
            box = Image.new(out.mode, size, transparent(f))
            box.paste(out, ((size[0] - out.width) // 2, (size[1] - out.height) // 2))
            return box

        return canvas.map_frames(turn)


@dataclass(frozen=True)
class AutoOrient:
    """``auto-orient``: apply the pending EXIF orientation; the output's tag becomes 1."""

    def tokens(self) -> list[str]:
        return ["auto-orient"]

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        op = ORIENTATION_TRANSPOSE.get(canvas.orientation)
        if op is None:
            return canvas.replace(orientation=1) if canvas.orientation != 1 else canvas
        out = canvas.map_frames(lambda f: f.transpose(op))
        out.orientation = 1
        out.xmp = xmp_upright(canvas.xmp)
        if canvas.nominal_size and canvas.orientation >= 5:
            out.nominal_size = canvas.nominal_size[::-1]
        if canvas.nominal_size and canvas.nominal_box:
            out.nominal_box = transpose_box(canvas.nominal_box, canvas.size, op)
        return out


#: XMP's copy of the EXIF orientation (``tiff:Orientation``), attribute or element form, any prefix.
_XMP_ORIENTATION = (
    re.compile(rb"""(\b[\w.-]+:Orientation\s*=\s*["'])\s*[1-8]\s*(["'])"""),
    re.compile(rb"(<[\w.-]+:Orientation\s*>)\s*[1-8]\s*(</)"),
)


def xmp_upright(xmp: bytes | None) -> bytes | None:
    """``xmp`` with its ``tiff:Orientation`` set to 1, once the orientation is applied to the pixels.

    Lightroom, exiftool and Windows read the orientation from XMP as well as EXIF: left at 6 beside
    upright pixels, they would turn the picture a second time.

    Examples
    --------
    >>> from cinb.ops.rotation import xmp_upright
    >>> xmp_upright(b'<d tiff:Orientation="6"/><tiff:Orientation>8</tiff:Orientation>')
    b'<d tiff:Orientation="1"/><tiff:Orientation>1</tiff:Orientation>'
    """
    if not xmp or b"Orientation" not in xmp:
        return xmp
    for pattern in _XMP_ORIENTATION:
        xmp = pattern.sub(rb"\g<1>1\g<2>", xmp)
    return xmp


def transpose_box(box: tuple[float, float, float, float], size: tuple[int, int],
                  op: Image.Transpose) -> tuple[float, float, float, float]:
    """Where ``box`` (x0, y0, x1, y1) of a ``size`` image lies once the image is turned by ``op``.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.ops.rotation import transpose_box
    >>> transpose_box((0, 0, 326.25, 580), (327, 580), Image.Transpose.ROTATE_180)
    (0.75, 0, 327, 580)
    """
    w, h = size
    x0, y0, x1, y1 = box
    return {
        T.FLIP_LEFT_RIGHT: (w - x1, y0, w - x0, y1),
        T.FLIP_TOP_BOTTOM: (x0, h - y1, x1, h - y0),
        T.ROTATE_180: (w - x1, h - y1, w - x0, h - y0),
        T.TRANSPOSE: (y0, x0, y1, x1),
        T.ROTATE_90: (y0, w - x1, y1, w - x0),  # counter-clockwise: (x, y) -> (y, w - x)
        T.ROTATE_270: (h - y1, x0, h - y0, x1),  # clockwise: (x, y) -> (h - y, x)
        T.TRANSVERSE: (h - y1, w - x1, h - y0, w - x0),
    }[op]


@dataclass(frozen=True)
class Flip:
    """``flip/vertical`` (top-bottom mirror) or ``flip/horizontal`` (left-right mirror)."""

    direction: str

    def tokens(self) -> list[str]:
        return ["flip", self.direction]

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        op = T.FLIP_TOP_BOTTOM if self.direction == "vertical" else T.FLIP_LEFT_RIGHT
        return canvas.map_frames(lambda f: f.transpose(op))
