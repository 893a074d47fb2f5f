"""WebP output (lossy at the resolved quality; animated WebP keeps frames, durations, loop).

libwebp ``method`` 4 (Pillow's default); ``EncodeOptions.effort`` (cinb's Python API only, not CI's
grammar: :func:`cinb.codecs.options.check_effort`) is the method itself, 0 (fastest) - 6.
"""

from __future__ import annotations

from ..canvas import Canvas
from ..formats import Format, register_format
from .options import DEFAULT_EFFORT, EncodeOptions
from .registry import Codec, pil_save, register_codec, save_kwargs


def save_webp(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    kw = save_kwargs(canvas, opts)
    if canvas.is_animated:
        # Without allow_mixed, libwebp's animation encoder drops the alpha of frames it codes lossy
        # (a GIF's transparent background turned opaque black, issue 12).
        kw.update(duration=canvas.durations, loop=canvas.loop or 0, allow_mixed=True)
    method = DEFAULT_EFFORT if opts.effort is None else opts.effort
    data = pil_save(canvas.frames, "WEBP", quality=int(quality if quality is not None else 85), method=method, **kw)
    if canvas.is_animated and data[12:16] == b"VP8X" and not data[20] & _ALPHA_FLAG and _any_transparent(canvas):
        # The container spec: the alpha flag is "set if any of the frames contain transparency".
        # libwebp's animation encoder leaves it unset when the first frame is opaque, and readers
        # that trust it (Pillow) then show later frames' transparent pixels black.
        data = data[:20] + bytes([data[20] | _ALPHA_FLAG]) + data[21:]
    return data


_ALPHA_FLAG = 0x10  # VP8X flags byte: L (alpha)


def _any_transparent(canvas: Canvas) -> bool:
    return any(f.mode in ("RGBA", "LA") and any(f.getchannel("A").histogram()[:255]) for f in canvas.frames)


register_codec(Codec("webp", save_webp, lossy=True, animated=True, alpha=True))
register_format(Format("webp", tokens=("webp",), pil_names=("WEBP",), extensions=(".webp",), extension=".webp",
                       mime="image/webp", writable=True))
