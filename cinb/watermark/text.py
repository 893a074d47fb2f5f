"""Rendering watermark text to an RGBA image, with a CJK fallback and an optional shadow."""

from __future__ import annotations

import threading
import unicodedata

from PIL import Image, ImageDraw, ImageFilter, features

from ..errors import BAD_PARAMETER, CIError
from ..limits import LIMITS
from ..settings import Settings
from .fonts import DEFAULT_FONT, FontSpec, covered, fallback_spec, font_spec

#: Cached FreeType faces are shared; one thread at a time draws with them (Dask may use threads).
_DRAW_LOCK = threading.Lock()

#: Han characters take their Simplified-Chinese forms (CI's fonts are mainland ones; the packaged
#: Noto Sans CJK defaults to Traditional forms). Needs libraqm, as Pillow's wheels have.
LANGUAGE = "zh-Hans" if features.check("raqm") else None

#: Extra space between lines of a multi-line text, as a fraction of the font size.
LINE_GAP = 0.2


def _runs(line: str, primary: FontSpec, fallback: FontSpec) -> list[tuple[str, FontSpec]]:
    """Split a line into runs drawn with one face each: the requested font where it has the glyph,
    the CJK fallback where only it has it. Combining marks stay with the character before them."""
    have = covered(str(primary.path), primary.index)
    have_fb = covered(str(fallback.path), fallback.index)
    runs: list[tuple[str, FontSpec]] = []
    for ch in line:
        cp = ord(ch)
        if runs and unicodedata.category(ch).startswith("M"):
            face = runs[-1][1]
        else:
            face = fallback if (cp not in have and cp in have_fb) else primary
        if runs and runs[-1][1] == face:
            runs[-1] = (runs[-1][0] + ch, face)
        else:
            runs.append((ch, face))
    return runs


def text_mask(text: str, *, font: str = DEFAULT_FONT, size: int = 13,
              settings: Settings | None = None) -> Image.Image:
    """The text's coverage as an ``L`` image cropped to the ink (``size`` is the em size in px).

    ``settings`` (default: the current ones) choose the font files, see :func:`.fonts.font_spec`.

    Examples
    --------
    >>> from cinb.watermark.text import text_mask
    >>> m = text_mask("水印 cinb", font="simhei", size=40)
    >>> m.mode, m.height < 60 < m.width
    ('L', True)
    """
    primary, fallback = font_spec(font, settings=settings), fallback_spec()
    lines = text.split("\n")
    line_runs = [_runs(line, primary, fallback) for line in lines]
    faces = {face for runs in line_runs for _, face in runs} or {primary}
    metrics = [face.load(size).getmetrics() for face in faces]
    ascent = max(a for a, _ in metrics)
    descent = max(d for _, d in metrics)
    gap = round(size * LINE_GAP)
    widths = [sum(face.load(size).getlength(run, language=LANGUAGE) for run, face in runs) for runs in line_runs]
    pad = size // 2 + 2  # room for glyphs that overhang their advance
    width = int(max(widths, default=0)) + 2 * pad
    height = len(lines) * (ascent + descent) + (len(lines) - 1) * gap + 2 * pad
    if max(width, height) > LIMITS.max_side:
        raise CIError(f"watermark text at fontsize {size} would be {width}x{height} px, larger than CI's "
                      f"{LIMITS.max_side} px limit", code=BAD_PARAMETER, token=str(size))
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    with _DRAW_LOCK:
        for i, runs in enumerate(line_runs):
            x = float(pad)
            baseline = pad + i * (ascent + descent + gap) + ascent
            for run, face in runs:
                f = face.load(size)
                draw.text((x, baseline), run, font=f, fill=255, anchor="ls", language=LANGUAGE)
                x += f.getlength(run, language=LANGUAGE)
    box = mask.getbbox()
    if box is None:
        raise CIError(f"watermark text {text!r} has no visible glyphs", code=BAD_PARAMETER, token=text)
    return mask.crop(box)


def render_text(text: str, *, font: str = DEFAULT_FONT, size: int = 13,
                fill: tuple[int, int, int] = (0x3D, 0x3D, 0x3D), shadow: int = 0,
                settings: Settings | None = None) -> Image.Image:
    """The text as an RGBA image: ``fill`` coloured glyphs over a black shadow of opacity ``shadow`` %.

    The shadow is offset down-right by about 1/16 of the font size (at least 1 px) and softened
    slightly, so it reads as a drop shadow at every size.

    Examples
    --------
    >>> from cinb.watermark.text import render_text
    >>> img = render_text("cinb", size=30, fill=(255, 0, 0), shadow=50)
    >>> img.mode, img.getpixel((img.width // 2, 0))[3] >= 0
    ('RGBA', True)
    """
    mask = text_mask(text, font=font, size=size, settings=settings)
    glyphs = Image.new("RGBA", mask.size, (*fill, 0))
    glyphs.putalpha(mask)
    if not shadow:
        return glyphs
    off = max(1, round(size / 16))
    soft = max(0.0, size / 40)
    out = Image.new("RGBA", (mask.width + off, mask.height + off), (0, 0, 0, 0))
    shade = Image.new("L", out.size, 0)
    shade.paste(mask, (off, off))
    if soft >= 0.5:
        shade = shade.filter(ImageFilter.GaussianBlur(soft))
    shade = shade.point(lambda v: v * shadow // 100)
    out.putalpha(shade)
    out.alpha_composite(glyphs, (0, 0))
    return out


__all__ = ["render_text", "text_mask"]
