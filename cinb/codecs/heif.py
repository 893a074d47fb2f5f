"""HEIF/HEIC through pillow-heif: the one place its Pillow reader and writer are registered."""

from __future__ import annotations

from ..canvas import Canvas
from ..errors import UNSUPPORTED_TYPE, CIError
from ..formats import Format, register_format
from .options import EncodeOptions
from .registry import Codec, pil_save, register_codec, save_kwargs

try:  # registers HEIF/HEIC reading and writing with Pillow; AVIF is built into Pillow >= 11.3
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    pillow_heif = None


def save_heif(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    if pillow_heif is None:  # pragma: no cover
        raise CIError("HEIF output needs pillow-heif", code=UNSUPPORTED_TYPE)
    kw = save_kwargs(canvas, opts)
    # pillow-heif falls back to the frame's own info (the source's EXIF/XMP) for what is not
    # given, which would undo /strip: say "none" explicitly.
    kw.setdefault("exif", None)
    kw["xmp"] = None
    frame = canvas.frames[0]
    if frame.mode not in ("RGB", "RGBA", "L"):
        frame = frame.convert("RGBA" if "A" in frame.mode else "RGB")
    return pil_save([frame], "HEIF", quality=int(quality if quality is not None else 85), **kw)


register_codec(Codec("heif", save_heif, lossy=True, animated=False, alpha=True))
# pillow-heif writes HEVC-coded HEIF, whose extension and MIME type are .heic / image/heic (ISO/IEC
# 23008-12 Annex B; .heif is for other codecs); Apple and Windows expect .heic.
register_format(Format("heif", tokens=("heif", "heic"), pil_names=("HEIF",), extensions=(".heic", ".heif"),
                       extension=".heic", mime="image/heic", writable=True))
