"""BMP output (no alpha: frames are flattened onto white before)."""

from __future__ import annotations

from ..canvas import Canvas
from ..formats import Format, register_format
from .options import EncodeOptions
from .registry import Codec, pil_save, register_codec


def save_bmp(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    return pil_save(canvas.frames[:1], "BMP", **({"dpi": canvas.dpi} if canvas.dpi else {}))


register_codec(Codec("bmp", save_bmp, lossy=False, animated=False, alpha=False))
register_format(Format("bmp", tokens=("bmp",), pil_names=("BMP", "DIB"), extensions=(".bmp", ".dib"),
                       extension=".bmp", mime="image/bmp", writable=True))
