"""JPEG output (``jpg``; ``yjpeg`` = the best small baseline encoder; ``interlace/1`` = progressive).

``yjpeg`` goes through Google's jpegli (``pyjpegli``) when it is installed: measured on the sample
photos, at equal SSIMULACRA2 it is 9-12 % smaller than libjpeg with optimised Huffman tables, and as
fast (benchmarks/RESULTS.md, "Compression"). Its Huffman tables are then optimised for each image by a
lossless coefficient-level rewrite (:mod:`cinb.codecs.jpegcoef`: identical pixels, still baseline, 4.4 %
fewer bytes on photos and 9.2 % on graphics than ``pyjpegli.encode``'s standard tables, "Compression
round 2"). The metadata blocks Pillow would write (EXIF, ICC, XMP) are spliced in after jpegli's header.
Greyscale frames, and machines without pyjpegli, use libjpeg with optimised Huffman tables.

An XMP packet over one APP1 segment (65504 bytes) is written as Extended XMP (:mod:`cinb.codecs.extended_xmp`,
XMP Part 3), the AIGC label kept in the first segment, by every encoder here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PIL import Image

from ..canvas import Canvas
from ..formats import Format, register_format
from . import extended_xmp, jpegcoef
from .options import EncodeOptions
from .registry import Codec, pil_save, register_codec, save_kwargs


def encode_jpeg(frame: Image.Image, quality: float, *, encoder: str = "libjpeg", progressive: bool = False,
                optimize: bool = False, subsampling: str | None = None, **metadata) -> bytes:
    """Encode one RGB or L frame as JPEG.

    Parameters
    ----------
    frame : PIL.Image.Image
        Mode RGB or L (anything else is converted to RGB).
    quality : float
        IJG quality 0-100 (jpegli's own scale for ``encoder="jpegli"``, designed to look alike; jpegli
        also takes fractions, see :func:`jpegli_encoder`; libjpeg rounds down).
    encoder : {"libjpeg", "jpegli"}
        ``jpegli`` needs pyjpegli and an RGB frame; otherwise libjpeg is used.
    progressive, optimize : bool
        Progressive scans (libjpeg only); optimised Huffman tables (jpegli's are always optimised when
        :mod:`cinb.codecs.jpegcoef` is built).
    subsampling : {"4:4:4", "4:2:2", "4:2:0"}, optional
        libjpeg only: chroma subsampling (default 4:2:0).
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
    metadata, extended = _standard_xmp(metadata)
    if encoder == "jpegli" and frame.mode == "RGB":
        data = jpegli_encoder(frame)(quality) if frame.width <= 65535 and frame.height <= 65535 else None
        if data is not None:
            return _with_extended(splice_metadata(data, **metadata) if metadata else data, extended)
    quality = max(0, min(100, int(quality)))
    kw = dict(metadata)
    if subsampling is not None:
        kw["subsampling"] = subsampling
    return _with_extended(pil_save([frame], "JPEG", quality=quality, progressive=progressive,
                                   optimize=optimize or progressive, **kw), extended)


def _standard_xmp(metadata: dict) -> tuple[dict, bytes | None]:
    """``metadata`` with an XMP packet over one segment replaced by its StandardXMP, and the ExtendedXMP."""
    xmp = metadata.get("xmp")
    if not xmp or len(xmp) <= extended_xmp.STANDARD_MAX:
        return metadata, None
    standard, extended = extended_xmp.split(xmp)
    metadata = {k: v for k, v in metadata.items() if k != "xmp"}
    if standard:
        metadata["xmp"] = standard
    return metadata, extended


def _with_extended(data: bytes, extended: bytes | None) -> bytes:
    """``data`` with the ExtendedXMP's APP1 segments right after its StandardXMP segment."""
    if extended is None:
        return data
    end, segs = jpeg_segments(data)
    at = next((i + 1 for i, seg in enumerate(segs) if seg[1] == 0xE1
               and seg[4:4 + len(extended_xmp.STANDARD_SIGNATURE)] == extended_xmp.STANDARD_SIGNATURE), len(segs))
    segs[at:at] = extended_xmp.segments(extended)
    return b"\xff\xd8" + b"".join(segs) + data[end:]


def jpegli_encoder(frame: Image.Image) -> Callable[[float], bytes | None]:
    """A function encoding ``frame`` (RGB) with jpegli at any quality 1-100, fractions included.

    Integer qualities are ``pyjpegli.encode``'s, with optimised Huffman tables
    (:func:`cinb.codecs.jpegcoef.optimize`). A fraction lies between its two neighbouring integer
    qualities (:func:`cinb.codecs.jpegcoef.between`), or is rounded down without cinb's extension. The
    function keeps the integer encodes it has made, so a search over fractions encodes each integer
    quality once; it returns None when pyjpegli is not installed.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.codecs.jpeg import jpegli_encoder
    >>> encode = jpegli_encoder(Image.radial_gradient("L").convert("RGB"))
    >>> out = encode(84.5)
    >>> out is None or Image.open(io.BytesIO(out)).size == (256, 256)
    True
    """
    try:
        import pyjpegli
    except ImportError:  # optional: callers fall back to libjpeg
        pyjpegli = None
    if frame.mode != "RGB":
        frame = frame.convert("RGB")
    rgb = frame.tobytes() if pyjpegli is not None else b""
    made: dict[int, bytes] = {}

    def plain(q: int) -> bytes:
        if q not in made:
            made[q] = pyjpegli.encode(rgb, frame.width, frame.height, q)
        return made[q]

    def encode(quality: float) -> bytes | None:
        if pyjpegli is None:
            return None
        q = max(1.0, min(100.0, float(quality)))
        lo = math.floor(q)
        if q > lo and jpegcoef.available():
            mixed = jpegcoef.between(plain(lo), plain(lo + 1), q - lo)
            if mixed is not None:
                return mixed
        return jpegcoef.optimize(plain(lo))

    return encode


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
    """Insert the EXIF/ICC/XMP segments (and the JFIF density of ``dpi``) Pillow would write into another
    encoder's JPEG.

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
    metadata, extended = _standard_xmp(metadata)
    probe = pil_save([Image.new("L", (8, 8))], "JPEG", **metadata)
    _, probed = jpeg_segments(probe)
    extra = [s for s in probed if s[1] != 0xE0]
    end, own = jpeg_segments(data)
    # The encoder's own JFIF header, unless a resolution is asked for: Pillow's then carries its density.
    jfif = [s for s in (probed if "dpi" in metadata else own) if s[1] == 0xE0]
    return _with_extended(b"\xff\xd8" + b"".join(jfif + extra) + data[end:], extended)


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
