"""HEIF/HEIC output through pillow-heif."""

from __future__ import annotations

from ..canvas import Canvas
from ..errors import UNSUPPORTED_TYPE, CIError
from .options import EncodeOptions
from .registry import Codec, pil_save, register_codec, save_kwargs


def save_heif(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    try:
        import pillow_heif  # noqa: F401  (registers the HEIF saver)
    except ImportError as exc:  # pragma: no cover
        raise CIError("HEIF output needs pillow-heif", code=UNSUPPORTED_TYPE) from exc
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
