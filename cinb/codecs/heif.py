"""HEIF/HEIC through pillow-heif: the one place its Pillow reader and writer are registered."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ..canvas import Canvas
from ..errors import BAD_PARAMETER, UNSUPPORTED_TYPE, CIError
from ..formats import Format, register_format
from .options import EncodeOptions
from .registry import Codec, pil_save, register_codec, save_kwargs

try:  # registers HEIF/HEIC reading and writing with Pillow; AVIF is built into Pillow >= 11.3
    import pillow_heif
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    HAVE_PILLOW_HEIF = False
else:
    HAVE_PILLOW_HEIF = True
    pillow_heif.register_heif_opener()


def save_heif(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    if not HAVE_PILLOW_HEIF:  # pragma: no cover
        raise CIError("HEIF output needs pillow-heif", code=UNSUPPORTED_TYPE)
    kw = save_kwargs(canvas, opts)
    # pillow-heif falls back to the frame's own info (the source's EXIF/XMP) for what is not
    # given, which would undo /strip: say "none" explicitly.
    kw.setdefault("exif", None)
    kw.setdefault("xmp", None)
    frame = canvas.frames[0]
    if frame.mode not in ("RGB", "RGBA", "L"):
        frame = frame.convert("RGBA" if "A" in frame.mode else "RGB")
    return pil_save([frame], "HEIF", quality=int(quality if quality is not None else 85), **kw)


def encode_heif_10bit(frame: Image.Image, quality: int) -> bytes:
    """One still frame as a 10-bit HEIF (HEVC Main 10) with pillow-heif's x265 at ``quality``.

    pillow-heif writes 16-bit input (mode ``RGB;16``) at 10 bits per sample; the 8-bit samples are
    scaled by 257 first. cinb's codec does not use it: at equal SSIMULACRA2 it measured −0.6 % / +1.4 %
    bytes on photos at 80 / 85 (benchmarks/RESULTS.md, "Compression round 2"); :func:`cinb.compression.sweep`
    shows it as format ``heif10``. No metadata is written.

    Raises
    ------
    CIError
        -103 for a quality outside 0-100.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.codecs.heif import encode_heif_10bit
    >>> Image.open(io.BytesIO(encode_heif_10bit(Image.new("RGB", (16, 16), "teal"), 80))).size
    (16, 16)
    """
    if isinstance(quality, bool) or not isinstance(quality, int | np.integer) or not 0 <= quality <= 100:
        raise CIError(f"HEIF quality must be 0-100, got {quality!r}", code=BAD_PARAMETER, token=str(quality))
    if not HAVE_PILLOW_HEIF:  # pragma: no cover - a declared dependency
        raise CIError("HEIF output needs pillow-heif", code=UNSUPPORTED_TYPE)
    mode = "RGBA" if "A" in frame.getbands() else "RGB"
    pixels = np.asarray(frame.convert(mode) if frame.mode != mode else frame, dtype=np.uint16) * 257
    heif = pillow_heif.from_bytes(mode=f"{mode};16", size=frame.size, data=np.ascontiguousarray(pixels).tobytes())
    buf = io.BytesIO()
    heif.save(buf, quality=int(quality))
    return buf.getvalue()


register_codec(Codec("heif", save_heif, lossy=True, animated=False, alpha=True))
# pillow-heif writes HEVC-coded HEIF, whose extension and MIME type are .heic / image/heic (ISO/IEC
# 23008-12 Annex B; .heif is for other codecs); Apple and Windows expect .heic.
register_format(Format("heif", tokens=("heif", "heic"), pil_names=("HEIF",), extensions=(".heic", ".heif"),
                       extension=".heic", mime="image/heic", writable=True))
