"""JPEG output (``jpg``; ``yjpeg`` = the best small baseline encoder; ``interlace/1`` = progressive).

``yjpeg`` goes through Google's jpegli (``pyjpegli``) when it is installed: measured on the sample
photos, at equal SSIMULACRA2 it is 9-12 % smaller than libjpeg with optimised Huffman tables, and as
fast (benchmarks/RESULTS.md, "Compression"). Its Huffman tables are optimised for each image
(:mod:`cinb.codecs.jpegli`; identical pixels, 4-9 % fewer bytes than ``pyjpegli.encode``'s standard
tables, "Compression round 2"). jpegli's output is baseline; the metadata blocks
Pillow would write (EXIF, ICC, XMP) are spliced in after its header. Greyscale frames, and machines
without pyjpegli, use libjpeg with optimised Huffman tables.
"""

from __future__ import annotations

from PIL import Image

from ..canvas import Canvas
from ..formats import Format, register_format
from . import jpegli
from .options import EncodeOptions
from .registry import Codec, pil_save, register_codec, save_kwargs


def encode_jpeg(frame: Image.Image, quality: float, *, encoder: str = "libjpeg", progressive: bool = False,
                optimize: bool = False, subsampling: str | None = None, distance: float | None = None,
                **metadata) -> bytes:
    """Encode one RGB or L frame as JPEG.

    Parameters
    ----------
    frame : PIL.Image.Image
        Mode RGB or L (anything else is converted to RGB).
    quality : float
        IJG quality 0-100 (jpegli's own scale for ``encoder="jpegli"``, designed to look alike; jpegli
        also takes fractions, see :mod:`cinb.codecs.jpegli`; libjpeg rounds down).
    encoder : {"libjpeg", "jpegli"}
        ``jpegli`` needs pyjpegli and an RGB frame; otherwise libjpeg is used.
    progressive, optimize : bool
        Progressive scans (libjpeg only); optimised Huffman tables (jpegli always optimises them
        when its C API is reachable, see :mod:`cinb.codecs.jpegli`).
    subsampling : {"4:4:4", "4:2:2", "4:2:0"}, optional
        libjpeg only: chroma subsampling (default 4:2:0).
    distance : float, optional
        jpegli only: Butteraugli distance (0.01-25) instead of ``quality``, when the jpegli C API is
        reachable (otherwise ``quality`` is used).
    **metadata
        ``exif``, ``icc_profile``, ``xmp`` as Pillow's JPEG saver takes them.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.codecs.jpeg import encode_jpeg
    >>> data = encode_jpeg(Image.new("RGB", (32, 16), "red"), 80, subsampling="4:4:4")
    >>> data[:2], Image.open(io.BytesIO(data)).size
    (b'\\xff\\xd8', (32, 16))
    """
    if frame.mode not in ("RGB", "L"):
        frame = frame.convert("RGB")
    if encoder == "jpegli" and frame.mode == "RGB":
        data = _jpegli(frame, max(0.0, min(100.0, float(quality))), distance)
        if data is not None:
            return splice_metadata(data, **metadata) if metadata else data
    quality = max(0, min(100, int(quality)))
    kw = dict(metadata)
    if subsampling is not None:
        kw["subsampling"] = subsampling
    return pil_save([frame], "JPEG", quality=quality, progressive=progressive, optimize=optimize or progressive,
                    **kw)


def _jpegli(frame: Image.Image, quality: float, distance: float | None = None) -> bytes | None:
    if frame.width > 65535 or frame.height > 65535:
        return None  # beyond baseline JPEG's 16-bit sizes: libjpeg refuses it with Pillow's error
    if jpegli.available():
        if distance is not None:
            return jpegli.encode(frame.tobytes(), frame.width, frame.height, distance=distance)
        q = max(1.0, quality)
        return jpegli.encode(frame.tobytes(), frame.width, frame.height, quality=int(q) if q == int(q) else q)
    try:
        import pyjpegli
    except ImportError:  # optional: fall back to libjpeg
        return None
    return pyjpegli.encode(frame.tobytes(), frame.width, frame.height, max(1, int(quality)))


def jpeg_segments(data: bytes) -> tuple[int, list[bytes]]:
    """The APPn/COM segments at the start of a JPEG and the offset where the rest begins.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.codecs.jpeg import encode_jpeg, jpeg_segments
    >>> end, segs = jpeg_segments(encode_jpeg(Image.new("L", (8, 8)), 90))
    >>> [s[:2] for s in segs]
    [b'\\xff\\xe0']
    """
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG stream")
    pos, segs = 2, []
    while pos + 4 <= len(data) and data[pos] == 0xFF and (0xE0 <= data[pos + 1] <= 0xEF or data[pos + 1] == 0xFE):
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        segs.append(data[pos:pos + 2 + length])
        pos += 2 + length
    return pos, segs


def splice_metadata(data: bytes, **metadata) -> bytes:
    """Insert the EXIF/ICC/XMP segments Pillow would write into another encoder's JPEG.

    The segments come from Pillow itself (a 8x8 JPEG saved with the same keywords), so their layout
    (ICC chunking, XMP header) is exactly Pillow's. Existing APPn segments other than JFIF are dropped.

    Examples
    --------
    >>> import io
    >>> from cinb.codecs.jpeg import encode_jpeg, splice_metadata
    >>> from PIL import Image
    >>> exif = Image.Exif(); exif[0x010F] = "cinb"
    >>> out = splice_metadata(encode_jpeg(Image.new("RGB", (8, 8)), 80), exif=exif.tobytes())
    >>> Image.open(io.BytesIO(out)).getexif()[0x010F]
    'cinb'
    """
    metadata = {k: v for k, v in metadata.items() if v}
    if not metadata:
        return data
    probe = pil_save([Image.new("L", (8, 8))], "JPEG", **metadata)
    _, extra = jpeg_segments(probe)
    extra = [s for s in extra if s[1] != 0xE0]
    end, own = jpeg_segments(data)
    jfif = [s for s in own if s[1] == 0xE0]
    return b"\xff\xd8" + b"".join(jfif + extra) + data[end:]


def save_jpeg(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    frame = canvas.frames[0]
    q = int(quality if quality is not None else 85)
    meta = save_kwargs(canvas, opts)
    if opts.format == "yjpeg" and not opts.interlace:
        return encode_jpeg(frame, q, encoder="jpegli", optimize=True, **meta)
    return encode_jpeg(frame, q, progressive=bool(opts.interlace), optimize=opts.format == "yjpeg", **meta)


register_codec(Codec("jpeg", save_jpeg, lossy=True, animated=False, alpha=False))
register_format(Format("jpeg", tokens=("jpg", "jpeg"), variants=("yjpeg",), pil_names=("JPEG", "MPO"),
                       extensions=(".jpg", ".jpeg", ".jpe", ".jfif"), extension=".jpg", mime="image/jpeg",
                       writable=True))
