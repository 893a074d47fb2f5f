"""AVIF output (Pillow >= 11.3 carries libavif with libaom).

Settings, chosen by measurement (benchmarks/RESULTS.md, "Compression"):

- speed 6 (libavif's default): speed 5 is about 5 % smaller at equal SSIMULACRA2 but 4-5x slower, speed 7
  1.6x faster but 4-8 % larger; 6 keeps a 12 Mpx encode in seconds, not minutes.
- chroma 4:4:4 from quality 70 up, 4:2:0 below: at the SSIMULACRA2 levels those qualities reach
  (80 and above) full-resolution chroma is 2-6 % smaller for the same score; at low qualities
  subsampled chroma is the better use of bytes.
- libaom's own tuning otherwise (libavif 1.4 selects ``tune=iq``, the still-image tune).
"""

from __future__ import annotations

from ..canvas import Canvas
from ..formats import Format, register_format
from .options import EncodeOptions
from .registry import Codec, pil_save, register_codec, save_kwargs

#: libavif speed 0 (slowest) - 10.
AVIF_SPEED = 6
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
    return pil_save(frames, "AVIF", quality=q, speed=AVIF_SPEED, subsampling=avif_subsampling(q), **kw)


register_codec(Codec("avif", save_avif, lossy=True, animated=True, alpha=True))
register_format(Format("avif", tokens=("avif",), pil_names=("AVIF",), extensions=(".avif",), extension=".avif",
                       mime="image/avif", writable=True))
