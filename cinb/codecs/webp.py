"""WebP output (lossy at the resolved quality; animated WebP keeps frames, durations, loop)."""

from __future__ import annotations

from ..canvas import Canvas
from ..formats import Format, register_format
from .options import EncodeOptions
from .registry import Codec, pil_save, register_codec, save_kwargs


def save_webp(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    kw = save_kwargs(canvas, opts)
    kw.pop("xmp", None)
    if canvas.is_animated:
        # Without allow_mixed, libwebp's animation encoder drops the alpha of frames it codes lossy
        # (a GIF's transparent background turned opaque black, issue 12).
        kw.update(duration=canvas.durations, loop=canvas.loop or 0, allow_mixed=True)
    return pil_save(canvas.frames, "WEBP", quality=int(quality if quality is not None else 85), method=4, **kw)


register_codec(Codec("webp", save_webp, lossy=True, animated=True, alpha=True))
register_format(Format("webp", tokens=("webp",), pil_names=("WEBP",), extensions=(".webp",), extension=".webp",
                       mime="image/webp", writable=True))
