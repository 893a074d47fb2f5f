"""Filters: ``blur``, ``sharpen``, ``bright``, ``contrast``, ``grayscale`` (spec §7)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from ..canvas import Canvas
from ..tokens import fmt_float


@dataclass(frozen=True)
class Blur:
    """``blur/<r>x<s>``: Gaussian with kernel radius r px and sigma s (ImageMagick's ``-blur RxS``).

    Examples
    --------
    >>> from cinb.ops.filters import Blur
    >>> Blur(3, 2.0).tokens()
    ['blur', '3x2']
    """

    radius: int
    sigma: float

    def tokens(self) -> list[str]:
        return ["blur", f"{self.radius}x{fmt_float(self.sigma)}"]

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        k = 2 * self.radius + 1

        # OpenCV loads here, not at module top: every rule's parse imports this module, and cv2 costs
        # 17 MB RSS and ~0.1 s in each process that only makes thumbnails (a worker's threads for it come
        # from OPENCV_FOR_THREADS_NUM, which cinb.parallel sets before anything loads it).
        import cv2

        def blur(f: Image.Image) -> Image.Image:
            a = np.asarray(f)
            return Image.fromarray(cv2.GaussianBlur(a, (k, k), self.sigma, borderType=cv2.BORDER_REFLECT), f.mode)

        return canvas.map_frames(blur)


@dataclass(frozen=True)
class Sharpen:
    """``sharpen/<v>`` (10-300): unsharp mask, radius 1.5 px, amount v %."""

    amount: int

    def tokens(self) -> list[str]:
        return ["sharpen", str(self.amount)]

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        flt = ImageFilter.UnsharpMask(radius=1.5, percent=self.amount, threshold=0)

        def sharpen(f: Image.Image) -> Image.Image:
            if f.mode in ("RGBA", "LA"):  # sharpen colour only, keep alpha as is
                bands = f.split()
                colour = Image.merge("RGB" if f.mode == "RGBA" else "L", bands[:-1]).filter(flt)
                return Image.merge(f.mode, (*colour.split(), bands[-1]))
            return f.filter(flt)

        return canvas.map_frames(sharpen)


def brightness_contrast_lut(brightness: int, contrast: int) -> list[int]:
    """ImageMagick's ``-brightness-contrast`` transfer curve as a 256-entry table.

    Examples
    --------
    >>> from cinb.ops.filters import brightness_contrast_lut
    >>> lut = brightness_contrast_lut(0, 0)
    >>> lut[0], lut[128], lut[255]
    (0, 128, 255)
    """
    b, c = brightness / 100.0, contrast / 100.0
    slope = max(0.0, math.tan(math.pi * (c + 1.0) / 4.0))
    intercept = b + (1.0 - b) / 2.0 * (1.0 - slope)
    x = np.arange(256) / 255.0
    y = np.clip(slope * x + intercept, 0.0, 1.0)
    return [int(v) for v in np.rint(y * 255.0)]


def _apply_lut(f: Image.Image, lut: list[int]) -> Image.Image:
    if f.mode in ("RGBA", "LA"):
        bands = f.split()
        return Image.merge(f.mode, [b.point(lut) for b in bands[:-1]] + [bands[-1]])
    return f.point(lut * len(f.getbands()))


@dataclass(frozen=True)
class Bright:
    """``bright/<v>`` (-100..100)."""

    value: int

    def tokens(self) -> list[str]:
        return ["bright", str(self.value)]

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        lut = brightness_contrast_lut(self.value, 0)
        return canvas.map_frames(lambda f: _apply_lut(f, lut))


@dataclass(frozen=True)
class Contrast:
    """``contrast/<v>`` (-100..100)."""

    value: int

    def tokens(self) -> list[str]:
        return ["contrast", str(self.value)]

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        lut = brightness_contrast_lut(0, self.value)
        return canvas.map_frames(lambda f: _apply_lut(f, lut))


@dataclass(frozen=True)
class Grayscale:
    """``grayscale/<0|1>``: 1 converts to greyscale (alpha kept)."""

    on: int

    def tokens(self) -> list[str]:
        return ["grayscale", str(self.on)]

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        if not self.on:
            return canvas
        return canvas.map_frames(lambda f: f.convert("LA" if f.mode in ("RGBA", "LA") else "L"))
