"""GIF output: adaptive palette per frame, transparency, durations and loop kept."""

from __future__ import annotations

from PIL import Image

from ..canvas import Canvas
from ..formats import Format, register_format
from .options import EncodeOptions
from .registry import Codec, pil_save, register_codec


def _to_palette(frame: Image.Image) -> Image.Image:
    if frame.mode in ("RGBA", "LA"):
        rgba = frame.convert("RGBA")
        alpha = rgba.getchannel("A")
        p = rgba.convert("RGB").quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        mask = alpha.point(lambda a: 255 if a < 128 else 0)
        p.paste(255, mask=mask)
        p.info["transparency"] = 255
        return p
    return frame.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def save_gif(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    frames = [_to_palette(f) for f in canvas.frames]
    kw: dict = {}
    if canvas.is_animated:
        kw.update(duration=canvas.durations, loop=canvas.loop or 0, disposal=2)
    if "transparency" in frames[0].info:
        kw["transparency"] = 255
    return pil_save(frames, "GIF", optimize=False, **kw)


register_codec(Codec("gif", save_gif, lossy=False, animated=True, alpha=True))
register_format(Format("gif", tokens=("gif",), pil_names=("GIF",), extensions=(".gif",), extension=".gif",
                       mime="image/gif", writable=True))
