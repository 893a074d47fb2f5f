"""``ImageInspect``: abnormal-image inspection, a file hiding a video stream (spec §19.12).

CI looks for three kinds of abnormal "images": a PNG followed by an MPEG-TS stream, a BMP followed
by one, and an MPEG-TS stream whose name merely says it is an image. Such files play as video in
some players while passing as pictures elsewhere (a known way to host video on image CDNs).

cinb reads the container of the image to find where the picture really ends (PNG's ``IEND``
chunk, BMP's ``bfSize``, JPEG's ``EOI`` after the last scan, GIF's trailer, the RIFF size of WebP)
and looks for an MPEG-TS stream from there to the end of the file: 188-byte packets, each starting
with the sync byte 0x47 and a valid header (adaptation-field control never 0), at least
:data:`MIN_PACKETS` of them and reaching the end of the file. Searching only after the picture's
end means pixel data can never look like a stream (a grey BMP is all 0x47 bytes). JPEG, GIF and
WebP carriers are inspected too: CI names PNG and BMP, but a stream after any picture is the same
abuse.

The answer is CI's JSON (its documentation's example): ``picSize``, ``picType`` (upper case, JPEG
as ``JPG``), ``suspicious``, and for a suspicious file ``suspiciousBeginByte``,
``suspiciousEndByte`` (inclusive), ``suspiciousSize`` and ``suspiciousType`` (``MPEG-TS``). A clean
file's answer leaves the four ``suspicious*`` position fields out (see docs/ci-compatibility.md).
"""

from __future__ import annotations

import os
import struct

import numpy as np

from ..errors import FILE_TOO_LARGE, RESOLUTION_TOO_LARGE, UNSUPPORTED_TYPE, CIError
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
        if marker == 0xDA:  # entropy-coded data runs to the next marker that is not a stuffed 0 or RSTn
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    return n
                nxt = data[pos + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    pos += 1 if nxt == 0xFF else 2
                    continue
                break
    return n


def find_ts_stream(data: bytes, start: int = 0) -> int | None:
    """Where an MPEG-TS stream that runs to the end of ``data`` begins, at or after ``start``.

    Examples
    --------
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


def inspect_bytes(data: bytes, *, claimed: str | None = None) -> dict:
    """CI's ImageInspect answer for the bytes of one file.

    Parameters
    ----------
    data : bytes
        The whole file.
    claimed : str, optional
        The format its name claims (from the extension), reported as ``picType`` when the bytes are
        no image at all.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (4, 4)).save(buf, "BMP"); bmp = buf.getvalue()
    >>> packet = bytes([0x47, 0x40, 0x00, 0x10]) + bytes(184)
    >>> answer = inspect_bytes(bmp + packet * 5)
    >>> answer["picType"], answer["suspicious"], answer["suspiciousBeginByte"] == len(bmp)
    ('BMP', True, True)
    """
    fmt = sniff(data)
    start = picture_end(data, fmt) if fmt else 0
    begin = find_ts_stream(data, start)
    if fmt is None and begin is None:
        raise CIError("not an image, nor a stream disguised as one", code=UNSUPPORTED_TYPE)
    pic_type = _PIC_TYPES.get(fmt or "", None) or (claimed or "unknown").upper()
    answer: dict = {"picSize": len(data), "picType": pic_type, "suspicious": begin is not None}
    if begin is not None:
        answer.update(suspiciousBeginByte=begin, suspiciousEndByte=len(data) - 1,
                      suspiciousSize=len(data) - begin, suspiciousType="MPEG-TS")
    return answer


def image_inspect(inp: ImageInput) -> Answer:
    """The ``ImageInspect`` endpoint: inspect the stored file's bytes (CI's size limits apply)."""
    try:
        inp.header()
    except CIError as exc:
        if exc.code in (FILE_TOO_LARGE, RESOLUTION_TOO_LARGE):
            raise
        # Not a readable image: it may be exactly what this endpoint looks for (a disguised stream).
    data = inp.data
    if data is None:
        raise CIError("ImageInspect inspects a stored file: pass its path or bytes, not a decoded image",
                      code=UNSUPPORTED_TYPE)
    claimed = None
    if inp.path is not None:
        ext = os.path.splitext(inp.path)[1].lstrip(".").lower()
        claimed = {"jpg": "jpeg", "jpeg": "jpeg", "heic": "heif"}.get(ext, ext) or None
        claimed = _PIC_TYPES.get(claimed or "", claimed)
    return Answer(inspect_bytes(data, claimed=claimed))


def _flatten(response: dict) -> dict:
    return {"inspect_suspicious": response["suspicious"], "inspect_type": response.get("suspiciousType"),
            "inspect_begin": response.get("suspiciousBeginByte"), "inspect_size": response.get("suspiciousSize")}


ENDPOINT = register_endpoint(Endpoint(
    "ImageInspect", image_inspect, aliases=("imageInspect",), analysis="inspect",
    columns={"inspect_suspicious": bool, "inspect_type": str, "inspect_begin": int, "inspect_size": int},
    flatten=_flatten,
    description="abnormal images: a video (MPEG-TS) stream hidden after a picture, or disguised as one"))

__all__ = ["ENDPOINT", "find_ts_stream", "image_inspect", "inspect_bytes", "picture_end", "sniff"]
