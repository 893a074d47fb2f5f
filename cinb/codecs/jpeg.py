"""JPEG output (``jpg``; ``yjpeg`` = optimised Huffman tables; ``interlace/1`` = progressive)."""

from __future__ import annotations

from ..canvas import Canvas
from ..rules.model import EncodeOptions
from .registry import Codec, pil_save, register_codec, save_kwargs


def save_jpeg(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    frame = canvas.frames[0]
    if frame.mode not in ("RGB", "L"):
        frame = frame.convert("RGB")
    return pil_save(
        [frame], "JPEG",
        quality=int(quality if quality is not None else 85),
        progressive=bool(opts.interlace),
        optimize=opts.format == "yjpeg" or bool(opts.interlace),
        **save_kwargs(canvas, opts),
    )


register_codec(Codec("jpeg", save_jpeg, lossy=True, animated=False, alpha=False))
