"""Scaling: imageMogr2 ``thumbnail`` (11 forms, with ``pad``) and imageView2 modes 0-5."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from PIL import Image

from ..canvas import Canvas
from ..errors import BAD_PARAMETER, CIError
from ..tokens import color_token
from .frames import check_output_size, fill_for, resize, round_half_up
from .frames import crop as crop_frame

WHITE = (255, 255, 255)


@dataclass(frozen=True)
class Thumbnail:
    """``thumbnail/<spec>``; ``kind`` names the form, see spec §2.

    kinds: ``percent`` (!Pp), ``width_percent`` (!Ppx), ``height_percent`` (!xPp), ``width`` (Wx),
    ``height`` (xH), ``fit`` (WxH), ``cover`` (!WxHr), ``exact`` (WxH!), ``shrink`` (WxH>),
    ``enlarge`` (WxH<), ``area`` (A@). ``pad``/``pad_color`` apply to ``fit`` only.

    Examples
    --------
    >>> from cinb.ops.scaling import Thumbnail
    >>> Thumbnail("fit", width=300, height=300).target_size(1000, 500)
    (300, 150)
    """

    kind: str
    width: int | None = None
    height: int | None = None
    percent: int | None = None
    area: int | None = None
    pad: bool = False
    pad_color: tuple[int, int, int] | None = None

    def value(self) -> str:
        w = "" if self.width is None else str(self.width)
        h = "" if self.height is None else str(self.height)
        return {
            "percent": f"!{self.percent}p",
            "width_percent": f"!{self.percent}px",
            "height_percent": f"!x{self.percent}p",
            "width": f"{w}x",
            "height": f"x{h}",
            "fit": f"{w}x{h}",
            "cover": f"!{w}x{h}r",
            "exact": f"{w}x{h}!",
            "shrink": f"{w}x{h}>",
            "enlarge": f"{w}x{h}<",
            "area": f"{self.area}@",
        }[self.kind]

    def tokens(self) -> list[str]:
        out = ["thumbnail", self.value()]
        if self.pad:
            out += ["pad", "1"]
            if self.pad_color is not None:
                out += ["color", color_token(self.pad_color)]
        return out

    def target_size(self, W: int, H: int) -> tuple[int, int]:
        """The result size for a W x H source (before the animation rule)."""
        k, w, h = self.kind, self.width, self.height
        if k == "percent":
            p = self._given(self.percent, "percent")
            return round_half_up(W * p / 100), round_half_up(H * p / 100)
        if k == "width_percent":
            return round_half_up(W * self._given(self.percent, "percent") / 100), H
        if k == "height_percent":
            return W, round_half_up(H * self._given(self.percent, "percent") / 100)
        if k == "width":
            w = self._given(w, "width")
            return w, round_half_up(H * w / W)
        if k == "height":
            h = self._given(h, "height")
            return round_half_up(W * h / H), h
        if k == "exact":
            return self._given(w, "width"), self._given(h, "height")
        if k == "area":
            area = self._given(self.area, "area")
            if W * H <= area:
                return W, H
            # floor(W * sqrt(A / (W H))) computed exactly: with floats 45 * sqrt(169 / 225) is 38.999...
            return max(1, math.isqrt(W * area // H)), max(1, math.isqrt(H * area // W))
        # exact factors: with floats 11 * (15 / 22) is 7.4999... and a 7.5 would round down
        factors = [Fraction(side, whole) for side, whole in ((w, W), (h, H)) if side]
        if not factors:
            raise self._missing("width or height")
        s = max(factors) if k == "cover" else min(factors)
        if (k == "shrink" and s >= 1) or (k == "enlarge" and s < 1):
            return W, H
        return round_half_up(W * s), round_half_up(H * s)

    def _given(self, value: int | None, name: str) -> int:
        """``value``, which this form needs: a CIError if it was left out (the rule parser never does)."""
        if value is None:
            raise self._missing(name)
        return value

    def _missing(self, name: str) -> CIError:
        return CIError(f"thumbnail form {self.kind!r} needs a {name}", code=BAD_PARAMETER, token="thumbnail")

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        W, H = canvas.nominal_size or canvas.size
        tw, th = self.target_size(W, H)
        if canvas.is_animated and (tw > W or th > H):
            tw, th = W, H  # CI never enlarges animations
        box = None
        if self.kind == "fit" and self.pad:
            box = (self._given(self.width, "width"), self._given(self.height, "height"))
        check_output_size(box or (tw, th), f"thumbnail/{self.value()}")
        region = canvas.nominal_box if canvas.nominal_size else None
        out = canvas.map_frames(lambda f: resize(f, (tw, th), region))
        if box is not None:
            out = out.map_frames(lambda f: pad_to(f, box, self.pad_color or WHITE))
        out.nominal_size = out.nominal_box = None
        return out


def pad_to(img: Image.Image, box: tuple[int, int], rgb: tuple[int, int, int]) -> Image.Image:
    """Centre the frame on a ``box``-sized canvas filled with ``rgb``."""
    if img.size == box:
        return img
    canvas = Image.new(img.mode, box, fill_for(img, rgb))
    canvas.paste(img, ((box[0] - img.width) // 2, (box[1] - img.height) // 2))
    return canvas


@dataclass(frozen=True)
class View2:
    """imageView2 ``mode`` with ``w``/``h`` limits (spec §14). It never enlarges (cinb's choice).

    Examples
    --------
    >>> from cinb.ops.scaling import View2
    >>> View2(1, 500, 400).plan(1000, 500)
    ((800, 400), (500, 400))
    >>> View2(2, 500, 400).plan(1000, 500)
    ((500, 250), None)
    """

    mode: int
    width: int | None = None
    height: int | None = None

    def tokens(self) -> list[str]:
        out = [str(self.mode)]
        if self.width is not None:
            out += ["w", str(self.width)]
        if self.height is not None:
            out += ["h", str(self.height)]
        return out

    def plan(self, W: int, H: int) -> tuple[tuple[int, int], tuple[int, int] | None]:
        """(scaled size, centre-crop size or None) for a W x H source."""
        m = self.mode
        long_, short = max(W, H), min(W, H)
        F = Fraction  # exact factors, so that sizes of exactly n + 0.5 round up
        if m in (0, 2):
            edges = ((self.width, long_), (self.height, short)) if m == 0 else ((self.width, W), (self.height, H))
            factors = [F(side, edge) for side, edge in edges if side]
            if not factors:
                raise self._needs_w_or_h()
            s = min(*factors, F(1))
            return (round_half_up(W * s), round_half_up(H * s)), None
        w, h = self.width or self.height, self.height or self.width  # a missing minimum equals the given value
        if w is None or h is None:
            raise self._needs_w_or_h()
        if m in (1, 3):
            s = max(F(w, W), F(h, H))
        else:  # 4, 5: long edge >= w, short edge >= h
            s = max(F(w, long_), F(h, short))
        s = min(s, F(1))
        scaled = (round_half_up(W * s), round_half_up(H * s))
        crop = None
        if m == 1:
            crop = (min(w, scaled[0]), min(h, scaled[1]))
        elif m == 5:
            cw, ch = (w, h) if W >= H else (h, w)
            crop = (min(cw, scaled[0]), min(ch, scaled[1]))
        if crop == scaled:
            crop = None
        return scaled, crop

    def _needs_w_or_h(self) -> CIError:
        token = f"imageView2/{self.mode}"
        return CIError(f"{token} needs w or h", code=BAD_PARAMETER, token=token)

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        W, H = canvas.nominal_size or canvas.size
        scaled, crop = self.plan(W, H)
        check_output_size(scaled, f"imageView2/{self.mode}")
        region = canvas.nominal_box if canvas.nominal_size else None
        out = canvas.map_frames(lambda f: resize(f, scaled, region))
        if crop is not None:
            x, y = (scaled[0] - crop[0]) // 2, (scaled[1] - crop[1]) // 2
            out = out.map_frames(lambda f: crop_frame(f, (x, y, x + crop[0], y + crop[1])))
        out.nominal_size = out.nominal_box = None
        return out
