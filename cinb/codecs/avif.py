"""AVIF output (Pillow >= 11.3 carries libavif)."""

from __future__ import annotations

from ..canvas import Canvas
from ..rules.model import EncodeOptions
from .registry import Codec, pil_save, register_codec, save_kwargs

#: libavif speed 0 (slowest) - 10; 6 keeps a 12 Mpx encode in seconds, not minutes.
AVIF_SPEED = 6


def save_avif(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    kw = save_kwargs(canvas, opts)
    if canvas.is_animated:
        kw.update(duration=canvas.durations, loop=canvas.loop or 0)
    frames = [f if f.mode in ("RGB", "RGBA") else f.convert("RGBA" if "A" in f.mode else "RGB") for f in canvas.frames]
    return pil_save(frames, "AVIF", quality=int(quality if quality is not None else 85), speed=AVIF_SPEED, **kw)


register_codec(Codec("avif", save_avif, lossy=True, animated=True, alpha=True))
