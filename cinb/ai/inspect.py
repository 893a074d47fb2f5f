"""``ImageInspect``: abnormal-image inspection, a file hiding something else (spec §19.12).

CI looks for three kinds of abnormal "images": a PNG followed by an MPEG-TS stream, a BMP followed
by one, and an MPEG-TS stream whose name merely says it is an image. Such files play as video in
some players while passing as pictures elsewhere (a known way to host video on image CDNs).

cinb reads the bytes only, never the pixels. It walks the container to where the picture really
ends (PNG's ``IEND`` chunk, BMP's ``bfSize``, JPEG's ``EOI`` after the last scan, GIF's trailer, the
RIFF size of WebP, the last top-level box of AVIF/HEIF) and inspects what follows:

- an **MPEG-TS stream** (188-byte packets, each starting with the sync byte 0x47 and a valid header,
  adaptation-field control never 0; at least :data:`MIN_PACKETS` of them, reaching the end of the
  file). Looking only after the picture's end means pixel data never looks like a stream (a grey
  BMP is all 0x47 bytes). A file that is no picture at all is inspected from its first byte: the
  disguised stream;
- a **payload** with known magic bytes (:data:`PAYLOADS`: ZIP, RAR, 7z, ELF, PE, PDF, gzip, HTML,
  script, MP4, another JPEG or PNG), at most :data:`PAYLOAD_WINDOW` bytes into the appended data;
- anything else longer than :data:`TOLERATED_TAIL` bytes (``suspiciousType`` ``unknown``).

Tolerated (ordinary files carry them): zero padding after the picture, the further pictures of a
multi-picture JPEG (an MPF index in APP2: camera MPO files), EXIF thumbnails, ICC and XMP (they sit
inside the container), and short unrecognised trailers. CI names PNG and BMP carriers; the same
abuse after any picture is reported too.

The answer is CI's JSON (its documentation's example): ``picSize``, ``picType`` (upper case, JPEG
as ``JPG``), ``suspicious``, and for a suspicious file ``suspiciousBeginByte``,
``suspiciousEndByte`` (inclusive), ``suspiciousSize`` and ``suspiciousType`` (``MPEG-TS``, ``ZIP``,
...). A clean file's answer leaves the four ``suspicious*`` position fields out (see
docs/ci-compatibility.md).
"""

from __future__ import annotations

import os
import re
import struct

import numpy as np

from ..errors import EMPTY_INPUT, FILE_TOO_LARGE, RESOLUTION_TOO_LARGE, UNSUPPORTED_TYPE, CIError
from ..formats import format_for_extension
from ..imageinput import ImageInput
from .endpoints import Answer, Endpoint, register_endpoint

TS_PACKET = 188
TS_SYNC = 0x47
#: Fewest whole packets that count as a stream: three valid headers in a row at the right stride
#: occur by chance about once in 2**40 offsets of random bytes.
MIN_PACKETS = 3

_PIC_TYPES = {"jpeg": "JPG", "png": "PNG", "bmp": "BMP", "gif": "GIF", "webp": "WEBP", "tiff": "TIFF",
              "avif": "AVIF", "heif": "HEIF"}


def sniff(data: bytes) -> str | None:
    """The image container ``data`` starts with (``png``, ``jpeg``, ...), from its magic bytes.

    Examples
    --------
    >>> from cinb.ai.inspect import sniff
    >>> sniff(b"\\x89PNG\\r\\n\\x1a\\n...."), sniff(b"GIF89a"), sniff(b"\\x47\\x40\\x00\\x10")
    ('png', 'gif', None)
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:2] == b"BM":
        return "bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        return "avif" if brand in (b"avif", b"avis") else "heif"
    return None


def picture_end(data: bytes, fmt: str | None) -> int:
    """Offset just past the picture inside ``data`` (``len(data)`` when the container has no end mark).

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.ai.inspect import picture_end
    >>> buf = io.BytesIO(); Image.new("RGB", (4, 4)).save(buf, "PNG"); png = buf.getvalue()
    >>> picture_end(png + b"tail", "png") == len(png)
    True
    """
    n = len(data)
    try:
        if fmt == "png":
            pos = 8
            while pos + 12 <= n:
                length, kind = struct.unpack(">I4s", data[pos:pos + 8])
                pos += 12 + length
                if kind == b"IEND":
                    return min(pos, n)
            return n
        if fmt == "bmp":
            size = struct.unpack("<I", data[2:6])[0]
            return size if 26 <= size <= n else n
        if fmt == "webp":
            size = struct.unpack("<I", data[4:8])[0] + 8
            return size + (size & 1) if 12 <= size <= n else n
        if fmt == "gif":
            return _gif_end(data)
        if fmt == "jpeg":
            return _jpeg_end(data)
        if fmt in ("avif", "heif"):
            return _bmff_end(data)
    except (struct.error, IndexError):
        return n
    return n


def _gif_end(data: bytes) -> int:
    n = len(data)
    pos = 13
    if data[10] & 0x80:
        pos += 3 * (2 << (data[10] & 7))
    while pos < n:
        block = data[pos]
        if block == 0x3B:  # trailer
            return pos + 1
        if block == 0x2C:
            flags = data[pos + 9]
            pos += 10
            if flags & 0x80:
                pos += 3 * (2 << (flags & 7))
            pos += 1
        elif block == 0x21:
            pos += 2
        else:
            return n
        while pos < n and data[pos]:
            pos += data[pos] + 1
        pos += 1
    return n


#: The end of a JPEG scan: 0xFF followed by a byte that is not a stuffed zero, a restart marker or
#: fill (searched in C: a 5 MB photo has ~20,000 stuffed 0xFF bytes a Python loop would visit).
_SCAN_END = re.compile(rb"\xff(?![\x00\xd0-\xd7\xff])")


def _jpeg_end(data: bytes) -> int:
    n = len(data)
    pos = 2
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return n
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = (data[pos + 2] << 8) | data[pos + 3]
        pos += 2 + length
        if marker == 0xDA:  # entropy-coded data runs to the next real marker
            found = _SCAN_END.search(data, pos)
            if found is None:
                return n
            pos = found.start()
    return n


def _bmff_end(data: bytes) -> int:
    """End of the last well-formed top-level box of an ISO-BMFF file (AVIF, HEIF)."""
    n = len(data)
    pos = 0
    while pos + 8 <= n:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1 and pos + 16 <= n:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            return n
        if size < 8 or pos + size > n or not kind.isascii() or not kind.strip(b" ").isalnum():
            return pos
        pos += size
    return pos


def find_ts_stream(data: bytes, start: int = 0) -> int | None:
    """Where an MPEG-TS stream that runs to the end of ``data`` begins, at or after ``start``.

    Examples
    --------
    >>> from cinb.ai.inspect import find_ts_stream
    >>> packet = bytes([0x47, 0x40, 0x00, 0x10]) + bytes(184)
    >>> find_ts_stream(b"abc" + packet * 4, 0)
    3
    >>> find_ts_stream(bytes([0x47]) * 2000) is None   # all sync bytes: headers are invalid
    True
    """
    n = len(data)
    if n - start < TS_PACKET * MIN_PACKETS:
        return None
    arr = np.frombuffer(data, dtype=np.uint8)
    best: int | None = None
    for q in range(TS_PACKET):
        if q + TS_PACKET > n:
            break
        # Packets q + 188 j that fit whole; the stream must end exactly at the end of the file.
        count = (n - q) // TS_PACKET
        if q + count * TS_PACKET != n:
            continue
        heads = q + TS_PACKET * np.arange(count)
        valid = (arr[heads] == TS_SYNC) & ((arr[heads + 3] & 0x30) != 0)
        bad = np.flatnonzero(~valid)
        first = int(bad[-1]) + 1 if bad.size else 0
        if first < count and heads[first] < start:
            first = int(np.searchsorted(heads, start))
        if count - first >= MIN_PACKETS:
            pos = int(heads[first])
            best = pos if best is None else min(best, pos)
    return best


def null_packets(count: int) -> bytes:
    """A valid MPEG-TS stream of ``count`` null packets (PID 0x1FFF), for tests and demonstrations.

    Examples
    --------
    >>> from cinb.ai.inspect import find_ts_stream, null_packets
    >>> stream = null_packets(5)
    >>> len(stream), find_ts_stream(b"head" + stream)
    (940, 4)
    """
    return b"".join(bytes([TS_SYNC, 0x1F, 0xFF, 0x10 | (i & 0x0F)]) + b"\xff" * 184 for i in range(count))


#: Payloads recognised in data appended after a picture: (type reported, magic bytes).
PAYLOADS: tuple[tuple[str, bytes], ...] = (
    ("ZIP", b"PK\x03\x04"), ("RAR", b"Rar!\x1a\x07"), ("7Z", b"7z\xbc\xaf\x27\x1c"), ("ELF", b"\x7fELF"),
    ("PDF", b"%PDF-"), ("GZIP", b"\x1f\x8b\x08"), ("PE", b"MZ"), ("HTML", b"<!doctype html"), ("HTML", b"<html"),
    ("SCRIPT", b"<script"), ("SCRIPT", b"<?php"), ("JPEG", b"\xff\xd8\xff"), ("PNG", b"\x89PNG\r\n\x1a\n"),
)
#: Unrecognised bytes after a picture up to this size are tolerated: cameras and editors leave short
#: trailers (Samsung's ``SEFT`` block index, a stray newline) that carry nothing.
TOLERATED_TAIL = 1024
#: How far into the appended data a payload's magic bytes are looked for.
PAYLOAD_WINDOW = 4096


def _payload_at(tail: bytes) -> tuple[str, int] | None:
    """The first recognised payload in the start of ``tail``: (type, offset)."""
    window = tail[:PAYLOAD_WINDOW]
    lower = window.lower()
    found = None
    for kind, magic in PAYLOADS:
        pos = (lower if kind in ("HTML", "SCRIPT") else window).find(magic)
        if pos < 0:
            continue
        if kind == "PE" and not _is_pe(tail, pos):
            continue
        if found is None or pos < found[1]:
            found = (kind, pos)
    if window[4:8] == b"ftyp" and (found is None or found[1] > 0):
        found = ("MP4", 0)
    return found


def _is_pe(data: bytes, pos: int) -> bool:
    try:
        offset = struct.unpack("<I", data[pos + 0x3C:pos + 0x40])[0]
    except struct.error:
        return False
    return data[pos + offset:pos + offset + 4] == b"PE\x00\x00"


def _skip_known(data: bytes, fmt: str | None, start: int) -> int:
    """Past what ordinary files carry after the picture: zero padding, and a multi-picture JPEG's
    (MPF, CIPA DC-007) further pictures, which its APP2 index announces."""
    n = len(data)
    mpf = fmt == "jpeg" and b"MPF\x00" in data[:65536]
    while start < n:
        if data[start] == 0:
            nonzero = len(data) - len(data[start:].lstrip(b"\x00"))
            start = nonzero
            continue
        if mpf and data[start:start + 3] == b"\xff\xd8\xff":
            start = start + _jpeg_end(data[start:])
            continue
        break
    return start


def inspect_bytes(data: bytes, *, claimed: str | None = None, image_format: str | None = None) -> dict:
    """CI's ImageInspect answer for the bytes of one file.

    Parameters
    ----------
    data : bytes
        The whole file.
    claimed : str, optional
        The format its name claims (from the extension), reported as ``picType`` when the bytes are
        no image at all.
    image_format : str, optional
        The format a decoder recognised (``ico``, ``ppm``...) when the container has no end mark
        cinb reads: only a stream running to the end of the file is looked for then.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.ai.inspect import inspect_bytes
    >>> buf = io.BytesIO(); Image.new("RGB", (4, 4)).save(buf, "BMP"); bmp = buf.getvalue()
    >>> packet = bytes([0x47, 0x40, 0x00, 0x10]) + bytes(184)
    >>> answer = inspect_bytes(bmp + packet * 5)
    >>> answer["picType"], answer["suspicious"], answer["suspiciousBeginByte"] == len(bmp)
    ('BMP', True, True)
    >>> inspect_bytes(bmp + b"PK\x03\x04" + bytes(100))["suspiciousType"]
    'ZIP'
    """
    fmt = sniff(data)
    end = picture_end(data, fmt) if fmt else 0
    start = _skip_known(data, fmt, end) if fmt else 0
    kind = begin = None
    ts = find_ts_stream(data, start)
    if ts is not None:
        kind, begin = "MPEG-TS", ts
    elif start < len(data) and fmt is not None:
        found = _payload_at(data[start:])
        if found is not None:
            kind, begin = found[0], start + found[1]
        elif len(data) - start > TOLERATED_TAIL:
            kind, begin = "unknown", start
    if fmt is None and begin is None and image_format is None:
        raise CIError("not an image, nor a stream disguised as one", code=UNSUPPORTED_TYPE)
    fmt = fmt or image_format
    pic_type = _PIC_TYPES.get(fmt or "", None) or (fmt or claimed or "unknown").upper()
    answer: dict = {"picSize": len(data), "picType": pic_type, "suspicious": begin is not None}
    if begin is not None:
        answer.update(suspiciousBeginByte=begin, suspiciousEndByte=len(data) - 1,
                      suspiciousSize=len(data) - begin, suspiciousType=kind)
    return answer


def image_inspect(inp: ImageInput) -> Answer:
    """The ``ImageInspect`` endpoint: inspect the stored file's bytes (CI's size limits apply)."""
    image_format = None
    try:
        image_format = inp.header().format
    except CIError as exc:
        if exc.code in (EMPTY_INPUT, FILE_TOO_LARGE, RESOLUTION_TOO_LARGE):
            raise
        # Not a readable image: it may be exactly what this endpoint looks for (a disguised stream).
    data = inp.data
    if data is None:
        raise CIError("ImageInspect inspects a stored file: pass its path or bytes, not a decoded image",
                      code=UNSUPPORTED_TYPE)
    claimed = None
    if inp.path is not None:
        fmt = format_for_extension(inp.path)
        ext = os.path.splitext(inp.path)[1].lstrip(".")
        claimed = _PIC_TYPES.get(fmt.name, fmt.name.upper()) if fmt else (ext or None)
    return Answer(inspect_bytes(data, claimed=claimed, image_format=image_format))


def _flatten(response: dict) -> dict:
    return {"inspect_suspicious": response["suspicious"], "inspect_type": response.get("suspiciousType"),
            "inspect_begin": response.get("suspiciousBeginByte"), "inspect_size": response.get("suspiciousSize")}


ENDPOINT = register_endpoint(Endpoint(
    "ImageInspect", image_inspect, aliases=("imageInspect",), analysis="inspect",
    columns={"inspect_suspicious": bool, "inspect_type": str, "inspect_begin": int, "inspect_size": int},
    flatten=_flatten,
    description="abnormal images: a video (MPEG-TS) stream hidden after a picture, or disguised as one"))

__all__ = ["ENDPOINT", "find_ts_stream", "image_inspect", "inspect_bytes", "null_packets", "picture_end",
           "sniff"]
