"""Cropping: ``cut``, gravity ``crop``, ``iradius``, ``rradius`` (spec §3). ``scrop`` needs faces."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw

from ..canvas import Canvas
from ..errors import BAD_PARAMETER, OutOfRangeError
from .frames import crop, with_alpha

_SUPERSAMPLE = 4  # anti-aliased masks: draw 4x larger, then reduce


@dataclass(frozen=True)
class Cut:
    """``cut/<w>x<h>x<dx>x<dy>``: a rectangle from the top-left corner, clipped at the edge.

    Examples
    --------
    >>> from cinb.ops.cropping import Cut
    >>> Cut(100, 50, 10, 10).box(60, 200)
    (10, 10, 60, 60)
    """

    width: int
    height: int
    dx: int
    dy: int

    def tokens(self) -> list[str]:
        return ["cut", f"{self.width}x{self.height}x{self.dx}x{self.dy}"]

    def box(self, W: int, H: int) -> tuple[int, int, int, int]:
        if self.dx >= W or self.dy >= H:
            raise OutOfRangeError(
                f"cut offset {self.dx}x{self.dy} lies outside the {W}x{H} image",
                code=BAD_PARAMETER, token=self.tokens()[1],
            )
        return self.dx, self.dy, min(W, self.dx + self.width), min(H, self.dy + self.height)

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        box = self.box(*canvas.size)
        return canvas.map_frames(lambda f: crop(f, box))


@dataclass(frozen=True)
class Crop:
    """``crop/<spec>`` anchored by ``gravity``; offsets move inward from the anchor (Qiniu form).

    A side larger than the image keeps the image's size; negative offsets push the box past the
    anchor and the part outside the image is dropped.

    Examples
    --------
    >>> from cinb.ops.cropping import Crop
    >>> Crop(100, 100, gravity="SouthEast").box(400, 300)
    (300, 200, 400, 300)
    >>> Crop(100, 100, dx=10, dy=20, gravity="NorthWest").box(400, 300)
    (10, 20, 110, 120)
    """

    width: int | None = None
    height: int | None = None
    dx: int = 0
    dy: int = 0
    gravity: str = "NorthWest"
    offset_form: bool = False

    def value(self) -> str:
        w = "" if self.width is None else str(self.width)
        h = "" if self.height is None else str(self.height)
        if not self.offset_form:
            return f"{w}x{h}"

        def off(n: int) -> str:
            return f"-{-n}" if n < 0 else f"a{n}"

        return f"!{w}x{h}{off(self.dx)}{off(self.dy)}"

    def tokens(self) -> list[str]:
        return ["crop", self.value()]

    def box(self, W: int, H: int) -> tuple[int, int, int, int]:
        w = min(self.width or W, W)
        h = min(self.height or H, H)
        g = self.gravity
        if g.endswith("West"):
            x = self.dx
        elif g.endswith("East"):
            x = W - w - self.dx
        else:  # Center, North, South: dx ignored
            x = (W - w) // 2
        if g.startswith("North"):
            y = self.dy
        elif g.startswith("South"):
            y = H - h - self.dy
        else:  # Center, West, East: dy ignored
            y = (H - h) // 2
        x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
        if x1 <= x0 or y1 <= y0:
            raise OutOfRangeError(
                f"crop/{self.value()} with gravity {g} leaves nothing of the {W}x{H} image",
                code=BAD_PARAMETER, token=self.value(),
            )
        return x0, y0, x1, y1

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        box = self.box(*canvas.size)
        return canvas.map_frames(lambda f: crop(f, box))


def _mask(size: tuple[int, int], draw_shape) -> Image.Image:
    big = Image.new("L", (size[0] * _SUPERSAMPLE, size[1] * _SUPERSAMPLE), 0)
    draw_shape(ImageDraw.Draw(big), big.size)
    return big.resize(size, Image.Resampling.BOX)


def _apply_mask(frame: Image.Image, mask: Image.Image) -> Image.Image:
    out = with_alpha(frame).copy()
    out.putalpha(ImageChops.multiply(out.getchannel("A"), mask))
    return out


@dataclass(frozen=True)
class IRadius:
    """``iradius/<r>``: the inscribed circle of radius r, centred; r is capped at half the short side."""

    radius: int

    def tokens(self) -> list[str]:
        return ["iradius", str(self.radius)]

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        W, H = canvas.size
        r = min(self.radius, min(W, H) // 2) or 1
        x, y = (W - 2 * r) // 2, (H - 2 * r) // 2
        mask = _mask((2 * r, 2 * r), lambda d, s: d.ellipse((0, 0, s[0] - 1, s[1] - 1), fill=255))
        return canvas.map_frames(lambda f: _apply_mask(crop(f, (x, y, x + 2 * r, y + 2 * r)), mask))


@dataclass(frozen=True)
class RRadius:
    """``rradius/<r>``: round the four corners with radius r (capped at half the short side)."""

    radius: int

    def tokens(self) -> list[str]:
        return ["rradius", str(self.radius)]

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        W, H = canvas.size
        r = min(self.radius, min(W, H) // 2)
        mask = _mask(
            (W, H),
            lambda d, s: d.rounded_rectangle((0, 0, s[0] - 1, s[1] - 1), radius=r * _SUPERSAMPLE, fill=255),
        )
        return canvas.map_frames(lambda f: _apply_mask(f, mask))


