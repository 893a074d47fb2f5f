"""PNG output (lossless; APNG when the canvas is animated)."""

from __future__ import annotations

from PIL.PngImagePlugin import PngInfo

from ..canvas import Canvas
from ..formats import Format, register_format
from .options import EncodeOptions
from .registry import Codec, pil_save, register_codec, save_kwargs


def save_png(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    kw = save_kwargs(canvas, opts)
    xmp = kw.pop("xmp", None)
    if xmp:  # Pillow's PNG saver takes no xmp=: the iTXt chunk XMP's specification names for PNG
        kw["pnginfo"] = PngInfo()
        kw["pnginfo"].add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace"))
    if canvas.is_animated:
        kw.update(duration=canvas.durations, loop=canvas.loop or 0)
    return pil_save(canvas.frames, "PNG", compress_level=6, **kw)


# CI lists PNG among the static formats: an animation converted to PNG keeps its first frame
# (spec §5.1), so no APNG output.
register_codec(Codec("png", save_png, lossy=False, animated=False, alpha=True))
register_format(Format("png", tokens=("png",), pil_names=("PNG",), extensions=(".png",), extension=".png",
                       mime="image/png", writable=True))
