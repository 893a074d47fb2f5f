"""Information APIs: ``imageInfo``, ``exif``, ``imageAve`` (spec §13), CI's JSON shapes."""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from PIL import ExifTags, Image, TiffImagePlugin

from .decode import Source, open_canvas, open_header, read_source
from .rules.grammar import bad
from .rules.model import Stage
from .rules.registry import register_family

_BIT_DEPTH = {"1": 1, "L": 8, "LA": 8, "P": 8, "PA": 8, "RGB": 8, "RGBA": 8, "CMYK": 8, "YCbCr": 8,
              "I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}
#: EXIF enumerations CI renders as names (its example shows ColorSpace as "sRGB").
_NAMED = {"ColorSpace": {1: "sRGB", 0xFFFF: "Uncalibrated"}}
_SKIP_TAGS = {"MakerNote", "PrintImageMatching", "ExifOffset", "GPSInfo", "InteropOffset", "UserComment"}


def _dpi(img: Image.Image) -> tuple[str, str]:
    dpi = img.info.get("dpi")
    if not dpi:
        return "72", "72"
    try:
        return str(int(round(float(dpi[1])))), str(int(round(float(dpi[0]))))
    except (TypeError, ValueError, IndexError):
        return "72", "72"


def _bit_depth(img: Image.Image, fmt: str, data: bytes = b"") -> int:
    """The depth the file stores (Pillow decodes 16-bit RGB PNG/TIFF and 10-bit AVIF/HEIF to 8 bits)."""
    if fmt == "png" and (img.mode in ("I", "I;16", "I;16B") or data[24:25] == b"\x10"):  # IHDR bit depth
        return 16
    if fmt == "tiff":
        bits = getattr(img, "tag_v2", {}).get(258)  # BitsPerSample
        if isinstance(bits, tuple) and bits and all(isinstance(b, int) for b in bits):
            return max(bits)
    if fmt in ("heif", "avif"):
        depth = _pixi_depth(_isobmff_box(data, b"meta")) or img.info.get("bit_depth")
        if isinstance(depth, int) and depth > 0:
            return depth
    return _BIT_DEPTH.get(img.mode, 8)


def _pixi_depth(meta: bytes) -> int | None:
    """Bits per channel from the first ISO-BMFF ``pixi`` property (HEIF/AVIF), or None."""
    at = meta.find(b"pixi")
    if at < 4 or len(meta) < at + 9:
        return None
    channels = meta[at + 8]  # after the type: version/flags (4 bytes), then num_channels
    bits = meta[at + 9:at + 9 + channels]
    return max(bits) if channels and len(bits) == channels else None


#: H.273 transfer characteristics of HDR signals: 16 SMPTE ST 2084 (PQ), 18 ARIB STD-B67 (HLG).
_HDR_TRANSFERS = frozenset({16, 18})
#: Gain-map declarations: Adobe/Ultra HDR XMP namespace (JPEG, also in HEIF/AVIF XMP), ISO 21496-1
#: (JPEG APP2, AVIF/HEIF), Apple's HEIC auxiliary gain-map image.
_GAIN_MAP_MARKERS = (b"http://ns.adobe.com/hdr-gain-map/1.0/", b"urn:iso:std:iso:ts:21496:-1",
                     b"urn:com:apple:photo:2020:aux:hdrgainmap")


def dynamic_range(data: bytes, fmt: str) -> str:
    """imageInfo's ``dynamic_range`` (CI 460/6927): ``gainmap hdr``, ``hdr`` or ``sdr``, read from the bytes.

    ``gainmap hdr``: an SDR picture carrying a gain map (Ultra HDR / Adobe gain-map XMP, ISO 21496-1,
    Apple's HEIC gain map, an AVIF ``tmap`` item). ``hdr``: a PQ or HLG transfer declared by a PNG
    ``cICP`` chunk or a HEIF/AVIF ``nclx`` colour box. Anything else: ``sdr`` (CI also documents
    ``unknow``; cinb reads every picture it decodes, so it never answers it).

    Examples
    --------
    >>> from cinb.info import dynamic_range
    >>> import io; from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (8, 8)).save(buf, "PNG")
    >>> dynamic_range(buf.getvalue(), "png")
    'sdr'
    """
    if fmt == "jpeg" and any(m in _jpeg_header(data) for m in _GAIN_MAP_MARKERS):
        return "gainmap hdr"  # the primary image's XMP (hdrgm:Version) or APP2 (ISO 21496-1) declares it
    if fmt in ("heif", "avif"):
        meta = _isobmff_box(data, b"meta")
        if b"tmap" in meta or any(m in meta for m in _GAIN_MAP_MARKERS):  # tone-map item, Apple's auxC
            return "gainmap hdr"
        at = meta.find(b"colrnclx")
        if at >= 0 and len(meta) >= at + 12 and struct.unpack(">H", meta[at + 10:at + 12])[0] in _HDR_TRANSFERS:
            return "hdr"
    elif fmt == "png":
        cicp = _png_chunk(data, b"cICP")
        if len(cicp) >= 2 and cicp[1] in _HDR_TRANSFERS:
            return "hdr"
    return "sdr"


def _jpeg_header(data: bytes) -> bytes:
    """A JPEG's marker segments before its first scan (where APPn metadata lives), without the scan data."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan
            break
        if marker in (0x01, 0xFF) or 0xD0 <= marker <= 0xD8:  # no length field
            pos += 1 if marker == 0xFF else 2
            continue
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return data[:pos]


def _isobmff_box(data: bytes, kind: bytes) -> bytes:
    """The body of the first top-level ISO-BMFF box of type ``kind`` (b"" when there is none)."""
    pos, end = 0, len(data)
    while pos + 8 <= end:
        size, box = struct.unpack(">I4s", data[pos:pos + 8])
        head = 8
        if size == 1 and pos + 16 <= end:
            size, head = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        if size < head:
            break
        if box == kind:
            return data[pos + head:pos + size]
        pos += size
    return b""


def _png_chunk(data: bytes, kind: bytes) -> bytes:
    """The data of the first PNG chunk of type ``kind`` before the image data (b"" when there is none)."""
    pos = 8
    while pos + 8 <= len(data):
        length, chunk = struct.unpack(">I4s", data[pos:pos + 8])
        if chunk == kind:
            return data[pos + 8:pos + 8 + length]
        if chunk in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    return b""


def image_info(src: Source) -> dict[str, str]:
    """CI's ``imageInfo``: format, size, md5, frames, bit depth, dpi; every value a string.

    Examples
    --------
    >>> from cinb.info import image_info
    >>> import io; from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (40, 30)).save(buf, "PNG")
    >>> info = image_info(buf.getvalue())
    >>> info["format"], info["width"], info["height"], info["frame_count"]
    ('png', '40', '30', '1')
    """
    data, name = read_source(src) if not isinstance(src, Image.Image) else (_pil_bytes(src), None)
    img, header = open_header(data, name)
    vdpi, hdpi = _dpi(img)
    return {
        "format": header.format,
        "width": str(header.width),
        "height": str(header.height),
        "size": str(len(data)),
        "md5": hashlib.md5(data).hexdigest(),
        "dynamic_range": dynamic_range(data, header.format),
        "frame_count": str(header.frames),
        "bit_depth": str(_bit_depth(img, header.format, data)),
        "vertical_dpi": vdpi,
        "horizontal_dpi": hdpi,
    }


def _pil_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _value(tag: str, value) -> str:
    """Render an EXIF value CI's way: rationals ``num/den``, bytes as decimal bytes."""
    if tag in _NAMED and value in _NAMED[tag]:
        return _NAMED[tag][value]
    if isinstance(value, TiffImagePlugin.IFDRational):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, bytes):
        return " ".join(str(b) for b in value[:256])
    if isinstance(value, tuple):
        return " ".join(_value(tag, v) for v in value)
    if isinstance(value, str):
        return value.rstrip("\x00").strip()
    return str(value)


def exif(src: Source) -> dict:
    """CI's ``exif``: ``{TagName: {"val": "..."}}``, or ``{"error": "no exif data"}``.

    Examples
    --------
    >>> from cinb.info import exif
    >>> import io; from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (8, 8)).save(buf, "PNG")
    >>> exif(buf.getvalue())
    {'error': 'no exif data'}
    """
    data, name = read_source(src) if not isinstance(src, Image.Image) else (_pil_bytes(src), None)
    img, _ = open_header(data, name)
    try:
        ex = img.getexif()
        tags: dict = dict(ex)
        for ifd in (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo, ExifTags.IFD.Interop):
            try:
                sub = ex.get_ifd(ifd)
            except Exception:  # noqa: BLE001
                continue
            names = ExifTags.GPSTAGS if ifd == ExifTags.IFD.GPSInfo else ExifTags.TAGS
            # Pillow's GPS names already start with "GPS" (GPSLatitude); an unknown GPS tag gets the prefix.
            tags.update({names.get(k, f"GPS{k}") if ifd == ExifTags.IFD.GPSInfo else names.get(k, k): v
                         for k, v in sub.items()})
    except Exception:  # noqa: BLE001 - a damaged EXIF block reads as no EXIF
        tags = {}
    if "original_orientation" in img.info and img.info["original_orientation"]:
        tags[0x0112] = int(img.info["original_orientation"])  # HEIC: pillow-heif moved it
    out: dict = {}
    for key, value in tags.items():
        name_ = key if isinstance(key, str) else ExifTags.TAGS.get(key, f"Tag{key:#06x}")
        if name_ in _SKIP_TAGS:
            continue
        out[name_] = {"val": _value(name_, value)}
    return dict(sorted(out.items())) if out else {"error": "no exif data"}


def image_ave(src: Source) -> dict[str, str]:
    """CI's ``imageAve``: the average colour as ``{"RGB": "0xrrggbb"}``.

    Examples
    --------
    >>> from cinb.info import image_ave
    >>> from PIL import Image
    >>> image_ave(Image.new("RGB", (4, 4), (255, 0, 16)))
    {'RGB': '0xff0010'}
    """
    canvas = open_canvas(src, draft=(256, 256))
    return {"RGB": average_rgb(canvas.frames[0])}


#: Pixels per strip in :func:`average_rgb`: a few MB of int64 sums at a time, whatever the image size.
_STRIP_PIXELS = 1 << 20


def average_rgb(frame: Image.Image) -> str:
    """The mean colour of a frame (alpha-weighted) as ``0xrrggbb``, rounded half up.

    Exact integer sums, from Pillow's histogram for opaque frames and in strips of rows with alpha,
    so a 250 Mpx image costs its decoded frame plus a few MB (a float64 RGBA copy of the whole frame
    needed 13 GB at 200 Mpx, issue 12).

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.info import average_rgb
    >>> average_rgb(Image.new("RGBA", (2, 1), (200, 0, 0, 0)))  # fully transparent: the plain mean
    '0xc80000'
    """
    if frame.mode not in ("RGB", "RGBA", "L", "LA"):
        frame = frame.convert("RGBA")
    alpha = frame.mode in ("RGBA", "LA")
    width, height = frame.size
    if not alpha:  # band sums from Pillow's histogram: exact, one C pass, no copy
        hist = np.asarray(frame.histogram(), dtype=np.int64).reshape(-1, 256)
        sums = hist @ np.arange(256, dtype=np.int64)
        num = sums if len(sums) == 3 else np.repeat(sums[:1], 3)
        return _hex_mean(num, width * height)
    rows = max(1, _STRIP_PIXELS // max(1, width))
    weighted = np.zeros(3, dtype=np.int64)
    plain = np.zeros(3, dtype=np.int64)
    total = 0
    for top in range(0, height, rows):
        strip = np.asarray(frame.crop((0, top, width, min(height, top + rows))), dtype=np.int64)
        colour = strip[..., :3] if strip.shape[-1] >= 3 else np.repeat(strip[..., :1], 3, axis=-1)
        plain += colour.sum(axis=(0, 1))
        a = strip[..., -1:]
        weighted += (colour * a).sum(axis=(0, 1))
        total += int(a.sum())
    return _hex_mean(weighted, total) if total else _hex_mean(plain, width * height)


def _hex_mean(sums, count: int) -> str:
    r, g, b = ((2 * int(v) + count) // (2 * count) for v in sums)  # round half up, exactly
    return f"0x{r:02x}{g:02x}{b:02x}"


@dataclass(frozen=True)
class InfoStage(Stage):
    """A terminal ``imageInfo`` / ``exif`` / ``imageAve`` stage: describes the image so far."""

    kind: str = "imageInfo"
    terminal = True

    def __str__(self) -> str:
        return self.kind

    def apply(self, canvas, ctx):
        return canvas

    def describe(self, canvas, data: bytes, fmt: str, ctx) -> dict:
        if self.kind == "imageAve":
            return {"RGB": average_rgb(canvas.frames[0])}
        return (image_info if self.kind == "imageInfo" else exif)(data)


def _info_parser(kind: str):
    def parse(segments: list[str]) -> Stage:
        if segments and segments != [""]:
            raise bad(f"{kind} takes no parameters, got {'/'.join(segments)!r}", "/".join(segments))
        return InfoStage(kind)

    return parse


for _kind in ("imageInfo", "exif", "imageAve"):
    register_family(_kind, _info_parser(_kind))
