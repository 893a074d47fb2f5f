"""AVIF output (Pillow >= 11.3 carries libavif with libaom).

Settings, chosen by measurement (benchmarks/RESULTS.md, "Compression"):

- speed 6 (libavif's default): speed 5 is about 5 % smaller at equal SSIMULACRA2 but 4-5x slower, speed 7
  1.6x faster but 4-8 % larger; 6 keeps a 12 Mpx encode in seconds, not minutes.
- chroma 4:4:4 from quality 70 up, 4:2:0 below: at the SSIMULACRA2 levels those qualities reach
  (80 and above) full-resolution chroma is 2-6 % smaller for the same score; at low qualities
  subsampled chroma is the better use of bytes.
- libaom's own tuning otherwise (libavif 1.4 selects ``tune=iq``, the still-image tune).

8 bits per sample, as CI documents (10 bits measured and not adopted: :func:`encode_avif_10bit`).
``EncodeOptions.effort`` (cinb's Python API only, not CI's grammar: :func:`cinb.codecs.options.check_effort`)
sets the speed to ``10 - effort``; the default effort 4 is speed 6.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..canvas import Canvas
from ..errors import BAD_PARAMETER, CONFIGURATION_MISSING, CIError
from ..formats import Format, register_format
from .options import DEFAULT_EFFORT, EncodeOptions
from .registry import Codec, pil_save, register_codec, save_kwargs

#: libavif speed 0 (slowest) - 10: cinb's default, effort 4.
AVIF_SPEED = 10 - DEFAULT_EFFORT
#: Lowest quality encoded with full-resolution (4:4:4) chroma.
FULL_CHROMA_QUALITY = 70


def avif_subsampling(quality: int) -> str:
    """The chroma subsampling cinb uses for an AVIF of ``quality``.

    Examples
    --------
    >>> from cinb.codecs.avif import avif_subsampling
    >>> avif_subsampling(50), avif_subsampling(85)
    ('4:2:0', '4:4:4')
    """
    return "4:4:4" if quality >= FULL_CHROMA_QUALITY else "4:2:0"


def save_avif(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    kw = save_kwargs(canvas, opts)
    if canvas.is_animated:
        kw.update(duration=canvas.durations, loop=canvas.loop or 0)
    frames = [f if f.mode in ("RGB", "RGBA") else f.convert("RGBA" if "A" in f.mode else "RGB") for f in canvas.frames]
    q = int(quality if quality is not None else 85)
    speed = AVIF_SPEED if opts.effort is None else 10 - opts.effort
    return pil_save(frames, "AVIF", quality=q, speed=speed, subsampling=avif_subsampling(q), **kw)


def encode_avif_10bit(frame: Image.Image, quality: int, *, effort: int | None = None) -> bytes:
    """One still frame as a 10-bit AVIF: the same libavif + libaom settings as :func:`save_avif`.

    Pillow's AVIF saver has no bit depth; imagecodecs (``pip install imagecodecs``) carries libavif with
    libaom and takes ``bitspersample=10``. The 8-bit samples are scaled to 10 bits (``v * 1023 / 255``);
    the encoder then quantises in the finer range. cinb's codec does not use it: at equal SSIMULACRA2 it
    measured −1.3 % / +0.3 % bytes at 80 and −3.6 % / −2.4 % at 85 (photos / graphics; benchmarks/RESULTS.md,
    "Compression round 2"), short of what a new dependency and lost metadata would cost: imagecodecs'
    encoder writes no EXIF or ICC. It is here so :func:`cinb.compression.sweep` can show it (``avif10``).

    Raises
    ------
    CIError
        -163 when imagecodecs is not installed; -103 for a quality outside 0-100.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.codecs.avif import encode_avif_10bit
    >>> try:
    ...     data = encode_avif_10bit(Image.new("RGB", (16, 16), "teal"), 80)
    ... except Exception as exc:
    ...     data = None  # imagecodecs not installed
    >>> data is None or Image.open(io.BytesIO(data)).size == (16, 16)
    True
    """
    if isinstance(quality, bool) or not isinstance(quality, int | np.integer) or not 0 <= quality <= 100:
        raise CIError(f"AVIF quality must be 0-100, got {quality!r}", code=BAD_PARAMETER, token=str(quality))
    try:
        import imagecodecs
    except ImportError as exc:  # optional: only the sweep's avif10 variant needs it
        raise CIError("10-bit AVIF needs imagecodecs (pip install imagecodecs)", code=CONFIGURATION_MISSING,
                      token="avif10") from exc
    mode = "RGBA" if "A" in frame.getbands() else "RGB"
    pixels = np.asarray(frame.convert(mode) if frame.mode != mode else frame, dtype=np.uint32)
    ten = ((pixels * 1023 + 127) // 255).astype(np.uint16)
    speed = AVIF_SPEED if effort is None else 10 - effort
    return bytes(imagecodecs.avif_encode(ten, level=int(quality), speed=speed, bitspersample=10,
                                         pixelformat="444" if quality >= FULL_CHROMA_QUALITY else "420"))


register_codec(Codec("avif", save_avif, lossy=True, animated=True, alpha=True))
register_format(Format("avif", tokens=("avif",), pil_names=("AVIF",), extensions=(".avif",), extension=".avif",
                       mime="image/avif", writable=True))
