"""``watermark/1`` (image) and ``watermark/2`` (text) stages: parsing, canonical text, applying.

Both are frozen dataclasses whose constructor validates every value (so a stage built from Python,
e.g. by the WatermarkTuner, is as checked as one parsed from a rule). ``str(stage)`` is the
canonical rule text: parameters in a fixed order, defaults omitted, b64u unpadded; it parses back to
an equal stage.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from PIL import Image, ImageColor

from ..canvas import Canvas
from ..errors import BAD_PARAMETER, CIError
from ..limits import LIMITS
from ..ops.frames import resize
from ..rules.grammar import (
    GRAVITIES,
    b64u_encode,
    b64u_text,
    color_token,
    keyed_values,
    parse_color,
    parse_gravity,
    parse_int,
)
from ..rules.model import Context, Stage
from ..rules.registry import register_family
from . import layout
from .fonts import DEFAULT_FONT, canonical_font_name
from .source import check_location, load_watermark, resolve_location
from .text import render_text

#: CI's default text colour.
DEFAULT_FILL = (0x3D, 0x3D, 0x3D)


def _bad(message: str, token: object) -> CIError:
    return CIError(message, code=BAD_PARAMETER, token=None if token is None else str(token))


def _check_int(value: object, key: str, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise _bad(f"{key} must be a whole number from {lo} to {hi}, got {value!r}", value)


@dataclass(frozen=True, kw_only=True)
class _Placement(Stage):
    """Parameters both visible watermarks share (spec §10-11)."""

    gravity: str = "SouthEast"
    dx: int = 0
    dy: int = 0
    dissolve: int = 90
    scatype: int | None = None
    spcent: int | None = None
    batch: int = 0
    spacing: int = 10
    degree: int = 0

    family: ClassVar[str] = ""

    def __post_init__(self) -> None:
        g = GRAVITIES.get(str(self.gravity).lower())
        if g is None:
            raise _bad(f"gravity must be one of {', '.join(GRAVITIES.values())}, got {self.gravity!r}", self.gravity)
        object.__setattr__(self, "gravity", g)
        _check_int(self.dx, "dx", 0, LIMITS.max_param)
        _check_int(self.dy, "dy", 0, LIMITS.max_param)
        _check_int(self.dissolve, "dissolve", 1, 100)
        _check_int(self.batch, "batch", 0, 1)
        _check_int(self.spacing, "spacing", 0, 100)
        _check_int(self.degree, "degree", 0, 360)
        if (self.scatype is None) != (self.spcent is None):
            raise _bad("scatype and spcent go together: give both or neither",
                       "scatype" if self.scatype is None else "spcent")
        if self.scatype is not None:
            _check_int(self.scatype, "scatype", 1, 3)
            _check_int(self.spcent, "spcent", 1, 250 if self.scatype == 3 else 1000)

    # -- canonical text -----------------------------------------------------------------------
    def _head_tokens(self) -> list[str]:
        raise NotImplementedError

    def _placement_tokens(self) -> list[str]:
        out: list[str] = []
        defaults = {f.name: f.default for f in fields(_Placement)}
        for name in ("gravity", "dx", "dy", "scatype", "spcent", "dissolve", "batch", "spacing", "degree"):
            value = getattr(self, name)
            if value != defaults[name]:
                out += [name, str(value)]
        return out

    def __str__(self) -> str:
        return "/".join([self.family, *self._head_tokens(), *self._placement_tokens()])

    @property
    def rule(self) -> str:
        """The canonical rule text (same as ``str(stage)``)."""
        return str(self)

    # -- pixels -------------------------------------------------------------------------------
    def mark(self, image_size: tuple[int, int], ctx: Context | None) -> Image.Image:
        """The watermark as RGBA, sized for an image of ``image_size`` (before oversize handling)."""
        raise NotImplementedError

    def _fit(self, mark: Image.Image, size: tuple[int, int]) -> Image.Image:
        """An oversized mark: cropped with blogo/2, otherwise scaled down to fit (blogo/1, cinb's default)."""
        if mark.width <= size[0] and mark.height <= size[1]:
            return mark
        if getattr(self, "blogo", None) == 2:
            return layout.crop_to(mark, size, self.gravity)
        return resize(mark, layout.fit_inside(mark.size, size))

    def layer(self, image_size: tuple[int, int], ctx: Context | None = None, *,
              full_size: tuple[int, int] | None = None) -> tuple[Image.Image, tuple[int, int]]:
        """The RGBA layer to composite and its top-left corner, for an image of ``image_size``.

        With ``full_size``, ``image_size`` is a reduced preview of a ``full_size`` source: sizes are
        computed for the full image, then mark, margins and tiles shrink with the preview.
        """
        full = full_size or image_size
        scale = image_size[0] / full[0]
        mark = self.mark(full, ctx)
        if full != image_size:
            mark = resize(mark, (max(1, round(mark.width * scale)), max(1, round(mark.height * scale))))
        mark = layout.dissolve(self._fit(mark, image_size), self.dissolve)
        if self.batch:
            return layout.tile_pattern(mark, image_size, spacing=self.spacing, degree=self.degree), (0, 0)
        dx, dy = round(self.dx * scale), round(self.dy * scale)
        return mark, layout.position(self.gravity, dx, dy, image_size, mark.size)

    def apply(self, canvas: Canvas, ctx: Context | None = None) -> Canvas:
        layer, xy = self.layer(canvas.size, ctx)
        return layout.composite(canvas, layer, xy)

    def preview(self, image: Image.Image, full_size: tuple[int, int], ctx: Context | None = None) -> Image.Image:
        """``image`` (a reduced copy of a ``full_size`` source) with the mark as it would look, reduced.

        Examples
        --------
        >>> from PIL import Image
        >>> from cinb.watermark.stages import TextWatermark
        >>> small = Image.new("RGB", (200, 100), "white")
        >>> TextWatermark(text="cinb", fontsize=40).preview(small, (2000, 1000)).size
        (200, 100)
        """
        width, height = full_size
        layer, xy = self.layer(image.size, ctx, full_size=(width, height))
        return layout.composite(Canvas(frames=[image]), layer, xy).frames[0]


@dataclass(frozen=True, kw_only=True)
class ImageWatermark(_Placement):
    """``watermark/1``: an image laid over the source (spec §10).

    Parameters
    ----------
    image : str, optional
        What ``/image/`` carries: a COS URL ``http://<bucket>.cos.<region>.myqcloud.com/<key>`` or a
        local path (see ``cinb.watermark.source``).
    image_key : str, optional
        An object key (``/image_key/``), instead of ``image``.
    blogo : int, optional
        For a mark larger than the image: 1 scale it to fit, 2 crop it. Unset behaves as 1.
    gravity, dx, dy, dissolve, scatype, spcent, batch, spacing, degree
        As in CI; defaults SouthEast, 0, 0, 90, none, none, 0, 10, 0.

    Examples
    --------
    >>> from cinb.watermark.stages import ImageWatermark
    >>> s = ImageWatermark(image="logo.png", gravity="center", dissolve=50)
    >>> str(s)
    'watermark/1/image/bG9nby5wbmc/gravity/Center/dissolve/50'
    """

    image: str | None = None
    image_key: str | None = None
    blogo: int | None = None

    family: ClassVar[str] = "watermark/1"

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.image is None) == (self.image_key is None):
            raise _bad("watermark/1 needs exactly one of image or image_key", "image")
        location = self.image if self.image is not None else self.image_key
        if not isinstance(location, str) or not location.strip():
            raise _bad("the watermark image location is empty", location)
        if self.image is not None:
            check_location(self.image, "image")
        if self.blogo is not None:
            _check_int(self.blogo, "blogo", 1, 2)

    def _location(self) -> tuple[str, str]:
        """``("image", url or path)`` or ``("image_key", key)``: the one the constructor checked was given."""
        if self.image is not None:
            return "image", self.image
        if self.image_key is not None:
            return "image_key", self.image_key
        raise _bad("watermark/1 needs exactly one of image or image_key", "image")

    def _head_tokens(self) -> list[str]:
        key, location = self._location()
        out = [key, b64u_encode(location)]
        if self.blogo is not None:
            out += ["blogo", str(self.blogo)]
        return out

    def source_path(self, ctx: Context | None = None):
        """The local file the watermark resolves to (CIError -103 naming it when missing)."""
        base, settings = getattr(ctx, "base_dir", None), getattr(ctx, "settings", None)
        key, location = self._location()
        return resolve_location(location, is_key=key == "image_key", base_dir=base, settings=settings)

    def mark(self, image_size: tuple[int, int], ctx: Context | None) -> Image.Image:
        mark = load_watermark(self.source_path(ctx))
        if self.scatype is not None and self.spcent is not None:  # both or neither (the constructor checks)
            mark = resize(mark, layout.scaled_size(mark.size, image_size, self.scatype, self.spcent))
        return mark


@dataclass(frozen=True, kw_only=True)
class TextWatermark(_Placement):
    """``watermark/2``: text laid over the source (spec §11).

    ``fontsize`` is in points rendered at 72 dpi, so 1 pt = 1 px of em size (13 = small text, as CI).

    Examples
    --------
    >>> from cinb.watermark.stages import TextWatermark
    >>> s = TextWatermark(text="水印", font="simhei", fontsize=40, fill=(255, 0, 0), shadow=30)
    >>> str(s)
    'watermark/2/text/5rC05Y2w/font/c2ltaGVp6buR5L2TLnR0Zg/fontsize/40/fill/I0ZGMDAwMA/shadow/30'
    """

    text: str
    font: str = DEFAULT_FONT
    fontsize: int = 13
    fill: tuple[int, int, int] = DEFAULT_FILL
    shadow: int = 0

    family: ClassVar[str] = "watermark/2"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.text, str) or not self.text.strip():
            raise _bad("watermark/2 needs a non-empty text", self.text)
        object.__setattr__(self, "font", canonical_font_name(self.font))
        _check_int(self.fontsize, "fontsize", 1, LIMITS.max_param)
        _check_int(self.shadow, "shadow", 0, 100)
        fill = self.fill
        if isinstance(fill, str):
            fill = _hex_color(fill)
        if (not isinstance(fill, (tuple, list)) or len(fill) != 3
                or not all(isinstance(c, int) and 0 <= c <= 255 for c in fill)):
            raise _bad(f"fill must be an (r, g, b) colour or '#RRGGBB', got {self.fill!r}", self.fill)
        object.__setattr__(self, "fill", tuple(fill))

    def _head_tokens(self) -> list[str]:
        out = ["text", b64u_encode(self.text)]
        if self.font != DEFAULT_FONT:
            out += ["font", b64u_encode(self.font)]
        if self.fontsize != 13:
            out += ["fontsize", str(self.fontsize)]
        if self.fill != DEFAULT_FILL:
            out += ["fill", color_token(self.fill)]
        if self.shadow:
            out += ["shadow", str(self.shadow)]
        return out

    def mark(self, image_size: tuple[int, int], ctx: Context | None) -> Image.Image:
        def draw(size: int) -> Image.Image:
            return render_text(self.text, font=self.font, size=size, fill=self.fill, shadow=self.shadow,
                               settings=getattr(ctx, "settings", None))

        mark = draw(self.fontsize)
        if self.scatype is not None and self.spcent is not None:  # both or neither (the constructor checks)
            # Re-render at the scaled size for crisp glyphs, then settle the exact target size.
            target = layout.scaled_size(mark.size, image_size, self.scatype, self.spcent)
            size = max(1, round(self.fontsize * target[0] / mark.width))
            if size <= LIMITS.max_param:
                mark = draw(size)
            mark = resize(mark, target)
        return mark


def _hex_color(text: str) -> tuple[int, int, int]:
    """``#RRGGBB`` (what CI takes), or from Python also a CSS colour name such as ``white``."""
    t = text.strip().lstrip("#")
    if len(t) == 6 and all(c in "0123456789abcdefABCDEF" for c in t):
        return (int(t[0:2], 16), int(t[2:4], 16), int(t[4:6], 16))
    try:
        rgb = ImageColor.getrgb(text.strip())
    except ValueError:
        raise _bad(f"fill must be '#RRGGBB' or a colour name, got {text!r}", text) from None
    return rgb[0], rgb[1], rgb[2]


_PLACEMENT_KEYS = {
    "gravity": lambda v: parse_gravity(v),
    "dx": lambda v: parse_int(v, "dx", lo=0, hi=LIMITS.max_param),
    "dy": lambda v: parse_int(v, "dy", lo=0, hi=LIMITS.max_param),
    "dissolve": lambda v: parse_int(v, "dissolve", lo=1, hi=100),
    "scatype": lambda v: parse_int(v, "scatype", lo=1, hi=3),
    "spcent": lambda v: parse_int(v, "spcent", lo=1, hi=1000),
    "batch": lambda v: parse_int(v, "batch", lo=0, hi=1),
    "spacing": lambda v: parse_int(v, "spacing", lo=0, hi=100),
    "degree": lambda v: parse_int(v, "degree", lo=0, hi=360),
}

_IMAGE_KEYS = {
    "image": lambda v: b64u_text(v, "image"),
    "image_key": lambda v: b64u_text(v, "image_key"),
    "blogo": lambda v: parse_int(v, "blogo", lo=1, hi=2),
}

_TEXT_KEYS = {
    "text": lambda v: b64u_text(v, "text"),
    "font": lambda v: canonical_font_name(b64u_text(v, "font")),
    "fontsize": lambda v: parse_int(v, "fontsize", lo=1, hi=LIMITS.max_param),
    "fill": lambda v: parse_color(v, "fill"),
    "shadow": lambda v: parse_int(v, "shadow", lo=0, hi=100),
}


def _parse(segments: list[str], family: str, own: dict, cls):
    return cls(**keyed_values(segments, family, {**own, **_PLACEMENT_KEYS}))


def parse_image_watermark(segments: list[str]) -> ImageWatermark:
    """Parse the segments after ``watermark/1/``.

    Examples
    --------
    >>> from cinb.watermark.stages import parse_image_watermark
    >>> parse_image_watermark(["image", "bG9nby5wbmc", "dissolve", "50"]).dissolve
    50
    """
    return _parse(segments, "watermark/1", _IMAGE_KEYS, ImageWatermark)


def parse_text_watermark(segments: list[str]) -> TextWatermark:
    """Parse the segments after ``watermark/2/``.

    Examples
    --------
    >>> from cinb.watermark.stages import parse_text_watermark
    >>> parse_text_watermark(["text", "Y2luYg"]).text
    'cinb'
    """
    if "text" not in segments[::2]:
        raise _bad("watermark/2 needs /text/<b64u>", "watermark/2")
    return _parse(segments, "watermark/2", _TEXT_KEYS, TextWatermark)


register_family("watermark/1", parse_image_watermark)
register_family("watermark/2", parse_text_watermark)

__all__ = ["DEFAULT_FILL", "ImageWatermark", "TextWatermark", "parse_image_watermark", "parse_text_watermark"]
