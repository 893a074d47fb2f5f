"""``ImageAIGCMetadata``: the AIGC provenance label a picture carries in its metadata (spec §19.13).

China's labelling rules for AI-generated content (GB 45438-2025; the TC260 practice guide
TC260-PG-20258A) require an *implicit label* in the file's metadata: an XMP property ``AIGC`` in
the namespace ``http://www.tc260.org.cn/ns/AIGC/1.0/`` (prefix ``TC260``) whose value is a JSON
object with seven fields. CI reads it back with ``GET /<key>?ci-process=ImageAIGCMetadata`` and
answers ``{"AIGC": {"Label": "1", "ContentProducer": ..., "ProduceID": ..., "ReservedCode1": ...,
"ContentPropagator": ..., "PropagateID": ..., "ReservedCode2": ...}}``, every value a string, or
``{}`` when the picture has no label (CI's documentation, "查询 AIGC 图片元数据标识",
cloud.tencent.com/document/api/460/122025).

cinb reads the bytes only, never the pixels:

- JPEG: the XMP packet of an APP1 segment (``http://ns.adobe.com/xap/1.0/``), joined with its
  extended-XMP segments (``http://ns.adobe.com/xmp/extension/``, for packets over 64 KB);
- PNG: an ``iTXt``/``tEXt``/``zTXt`` chunk ``XML:com.adobe.xmp``, and the TC260 JSON in a text
  chunk named ``AIGC`` (the same seven fields without the XMP wrapper, as some generators write);
- WebP: the ``XMP `` chunk of the RIFF container;
- AVIF and HEIF: the XMP item, as Pillow (and pillow-heif) expose it from the container;
- GIF: the ``XMP DataXMP`` Application Extension (XMP Specification Part 3, §1.1.2), found by walking
  the file's blocks as a GIF reader does: the packet as is, then the 258-byte "magic trailer" that
  brings a sub-block reader to the block terminator (what :mod:`cinb.codecs.gif` writes, so a label
  kept by ``format/gif`` reads back).

CI documents JPEG, PNG and AVIF; WebP, HEIF and GIF carry XMP too and are read. Other formats (BMP,
TIFF...) answer ``{}``. A label that is present but unreadable (XMP that is no
XML, a value that is no JSON object, a truncated segment) also answers ``{}``: the picture carries
no label CI could read, and a collection scan must not stop on it; cinb's ``Result.info`` says what
was wrong (``aigc_problem``). A file that is no image at all is CIError -113, as for every endpoint
(see docs/ci-compatibility.md).

Only the seven TC260 fields are answered, in CI's order; numbers in the JSON (``"Label": 1``) are
answered as CI's strings (``"1"``).

The label is written by ``imageMogr2/AIGCMetadata/...`` (:mod:`cinb.ops.aigc`, which holds the TC260
XMP facts both share: namespace, fields, packet); reading it back answers what was written.
"""

from __future__ import annotations

import io
import json
import struct
import zlib

from ..header import open_image
from ..imageinput import ImageInput
from ..ops.aigc import FIELDS, TC260_NS, LabelError, label_in_xmp, xmp_packet
from .endpoints import Answer, Endpoint, register_endpoint

_XMP_STD = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT = b"http://ns.adobe.com/xmp/extension/\x00"
_PNG_XMP_KEY = b"XML:com.adobe.xmp"
#: Largest inflated PNG text chunk read (Pillow's ``MAX_TEXT_CHUNK``, which the header read already
#: applies): a label is a few hundred bytes; a zTXt bomb must not inflate.
MAX_TEXT = 1024 * 1024


class _Problem(Exception):
    """Metadata present but unreadable: the answer is ``{}`` and the reason goes to ``Result.info``."""


# --- containers -> XMP packets / label texts ---------------------------------------------------------


def _jpeg_xmp(data: bytes) -> list[bytes]:
    """The XMP packets of a JPEG's APP1 segments (extended XMP joined by offset), up to the first scan."""
    packets: list[bytes] = []
    extended: dict[bytes, dict[int, bytes]] = {}
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD9, 0xDA):  # EOI, SOS: metadata segments come before the first scan
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = (data[pos + 2] << 8) | data[pos + 3]
        body = data[pos + 4:pos + 2 + length]
        if length < 2 or pos + 2 + length > n:
            if marker == 0xE1 and body.startswith((_XMP_STD, _XMP_EXT)):
                raise _Problem("the JPEG's XMP segment is truncated")
            break
        if marker == 0xE1:
            if body.startswith(_XMP_STD):
                packets.append(body[len(_XMP_STD):])
            elif body.startswith(_XMP_EXT) and len(body) >= len(_XMP_EXT) + 40:
                head = body[len(_XMP_EXT):]
                guid, offset = head[:32], struct.unpack(">I", head[36:40])[0]
                extended.setdefault(guid, {})[offset] = head[40:]
        pos += 2 + length
    for parts in extended.values():
        packets.append(b"".join(parts[k] for k in sorted(parts)))
    return packets


def _chunks(data: bytes, *, png: bool, wanted: tuple[bytes, ...]):
    """(kind, body) of each chunk of a PNG (big-endian length first, a CRC after) or a RIFF/WebP container
    (little-endian length after the kind, padded to even); a truncated chunk of a ``wanted`` kind is a _Problem."""
    pos, n = 8 if png else 12, len(data)
    while pos + 8 <= n:
        if png:
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        else:
            kind, length = struct.unpack("<4sI", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) < length:
            if kind in wanted:
                raise _Problem(f"the {'PNG' if png else 'WebP'}'s {kind.decode().strip()} chunk is truncated")
            return
        yield kind, body
        pos += 8 + length + (4 if png else length & 1)


def _png_texts(data: bytes) -> tuple[list[bytes], list[bytes]]:
    """(XMP packets, ``AIGC`` text values) of a PNG's text chunks."""
    packets: list[bytes] = []
    labels: list[bytes] = []
    for kind, body in _chunks(data, png=True, wanted=(b"iTXt", b"tEXt", b"zTXt")):
        if kind == b"IEND":
            break
        if kind not in (b"iTXt", b"tEXt", b"zTXt"):
            continue
        key, _, rest = body.partition(b"\x00")
        if key not in (_PNG_XMP_KEY, b"AIGC"):
            continue
        if kind == b"tEXt":
            text = rest
        elif kind == b"zTXt":
            text = _inflate(rest[1:])
        else:  # iTXt: compression flag, method, language tag\0, translated keyword\0, text
            if len(rest) < 2:
                raise _Problem("the PNG's iTXt chunk is truncated")
            compressed, rest = rest[0], rest[2:]
            text = rest.split(b"\x00", 2)[-1] if rest.count(b"\x00") >= 2 else b""
            if compressed:
                text = _inflate(text)
        (packets if key == _PNG_XMP_KEY else labels).append(text)
    return packets, labels


def _inflate(raw: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, MAX_TEXT)
    except zlib.error as exc:
        raise _Problem(f"a compressed PNG text chunk does not inflate: {exc}") from None
    if inflater.unconsumed_tail:
        raise _Problem(f"a compressed PNG text chunk inflates past {MAX_TEXT} bytes")
    return out


def _webp_xmp(data: bytes) -> list[bytes]:
    return [body for kind, body in _chunks(data, png=False, wanted=(b"XMP ",)) if kind == b"XMP "]


#: The Application Extension of XMP in GIF, from its block size on: 11 bytes, "XMP Data" + "XMP".
_GIF_XMP_ID = b"\x0bXMP DataXMP"
#: The magic trailer after the packet, up to (not including) the block terminator a sub-block walk lands on.
_GIF_XMP_TRAILER = bytes([1]) + bytes(range(255, -1, -1))


def _sub_blocks_end(data: bytes, pos: int) -> int | None:
    """The index of the block terminator of the data sub-blocks starting at ``pos`` (None: the file ends first)."""
    n = len(data)
    while pos < n and data[pos]:
        pos += data[pos] + 1
    return pos if pos < n else None


def _gif_xmp(data: bytes) -> list[bytes]:
    """The XMP packets of a GIF's ``XMP DataXMP`` Application Extensions, walking its blocks to the trailer.

    A file that ends or turns to garbage elsewhere gives the packets found before (a GIF reader stops
    there too); one that ends inside the XMP extension, or whose extension lacks the magic trailer, is
    a _Problem.
    """
    n = len(data)
    if n < 13 or data[:6] not in (b"GIF87a", b"GIF89a"):
        return []
    pos = 13 + ((3 << ((data[10] & 7) + 1)) if data[10] & 0x80 else 0)  # header, screen, global colours
    packets: list[bytes] = []
    while pos < n:
        block = data[pos]
        if block == 0x21:  # extension: label, then data sub-blocks
            xmp = data[pos + 1:pos + 2] == b"\xff" and data[pos + 2:pos + 14] == _GIF_XMP_ID
            start = pos + 14 if xmp else pos + 2
            end = _sub_blocks_end(data, start)
            if xmp:
                if end is None:
                    raise _Problem("the GIF's XMP extension is truncated")
                raw = data[start:end]
                if not raw.endswith(_GIF_XMP_TRAILER):
                    raise _Problem("the GIF's XMP extension has no magic trailer")
                packets.append(raw[:-len(_GIF_XMP_TRAILER)])
        elif block == 0x2C:  # image: descriptor, local colours, LZW minimum code size, data sub-blocks
            if pos + 10 > n:
                break
            flags = data[pos + 9]
            end = _sub_blocks_end(data, pos + 11 + ((3 << ((flags & 7) + 1)) if flags & 0x80 else 0))
        else:  # the trailer (0x3B), or garbage a reader stops on
            break
        if end is None:
            break
        pos = end + 1
    return packets


def _pillow_xmp(source) -> list[bytes]:
    """The XMP Pillow exposes (AVIF, HEIF, and decoded images given as PIL objects)."""
    if isinstance(source, bytes):
        try:
            with open_image(io.BytesIO(source)) as img:
                xmp = img.info.get("xmp")
        except Exception as exc:  # noqa: BLE001 - any plugin failure is unreadable metadata, not a crash
            raise _Problem(f"the container's metadata does not read: {exc}") from None
    else:
        xmp = source.info.get("xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    return [xmp] if xmp else []


# --- XMP / JSON -> CI's fields -----------------------------------------------------------------------


def label_fields(text: str) -> dict[str, str]:
    """CI's ``AIGC`` object from the JSON text of a TC260 label.

    Raises
    ------
    ValueError
        Not a JSON object, or none of the seven fields.

    Examples
    --------
    >>> from cinb.ai.aigc import label_fields
    >>> label_fields('{"Label": 1, "ContentProducer": "001191", "Other": "x"}')
    {'Label': '1', 'ContentProducer': '001191'}
    """
    try:
        value = json.loads(text)
    except RecursionError:  # a label of "[" nested past Python's recursion limit, in a file anyone can write
        raise ValueError("the label nests deeper than any TC260 label") from None
    if not isinstance(value, dict):
        raise ValueError(f"the label is a JSON {type(value).__name__}, not an object")
    out = {k: value[k] if isinstance(value[k], str) else json.dumps(value[k], ensure_ascii=False)
           for k in FIELDS if k in value and value[k] is not None}
    if not out:
        raise ValueError("the label has none of the TC260 fields")
    return out


_FORMATS = {"jpeg", "png", "webp", "avif", "heif", "gif"}


def read_aigc(data: bytes, fmt: str) -> tuple[dict, dict]:
    """CI's answer for the encoded bytes of one picture, and cinb's diagnostics.

    Parameters
    ----------
    data : bytes
        The whole file.
    fmt : str
        Its format as cinb names it (``jpeg``, ``png``, ``webp``, ``avif``, ``heif``, ``gif``; others answer ``{}``).

    Returns
    -------
    (dict, dict)
        ``{"AIGC": {...}}`` or ``{}``; and ``{"aigc_source": ...}`` (where the label was found) or
        ``{"aigc_problem": ...}`` (why a label present could not be read).

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.ai.aigc import read_aigc, xmp_packet
    >>> buf = io.BytesIO()
    >>> Image.new("RGB", (8, 8)).save(buf, "JPEG", xmp=xmp_packet({"Label": "1", "ContentProducer": "001191"}))
    >>> read_aigc(buf.getvalue(), "jpeg")
    ({'AIGC': {'Label': '1', 'ContentProducer': '001191'}}, {'aigc_source': 'xmp'})
    >>> read_aigc(b"\\x89PNG\\r\\n\\x1a\\n", "png")
    ({}, {})
    """
    if fmt not in _FORMATS:
        return {}, {}
    try:
        texts: list[bytes] = []
        if fmt == "jpeg":
            packets = _jpeg_xmp(data)
        elif fmt == "png":
            packets, texts = _png_texts(data)
        elif fmt == "webp":
            packets = _webp_xmp(data)
        elif fmt == "gif":
            packets = _gif_xmp(data)
        else:
            packets = _pillow_xmp(data)
        return _answer(packets, texts)
    except _Problem as problem:
        return {}, {"aigc_problem": str(problem)}


def _answer(packets: list[bytes], texts: list[bytes]) -> tuple[dict, dict]:
    """The label of the first XMP packet that has one, else of the first PNG ``AIGC`` text chunk."""
    found = (texts[0], "png-text") if texts else None
    for packet in packets:
        try:
            text = label_in_xmp(packet)
        except LabelError as exc:
            raise _Problem(str(exc)) from None
        if text is not None:
            found = (text.encode("utf-8"), "xmp")
            break
    if found is None:
        return {}, {}
    try:
        fields = label_fields(found[0].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Problem(f"the TC260 label is unreadable: {exc}") from None
    return {"AIGC": fields}, {"aigc_source": found[1]}


def image_aigc_metadata(inp: ImageInput) -> Answer:
    """The ``ImageAIGCMetadata`` endpoint: the TC260 label of the stored file (CI's limits apply)."""
    fmt = inp.header().format  # not an image, empty or over CI's limits: CIError as for every endpoint
    data = inp.data
    if data is None:  # a decoded PIL image: only what Pillow kept of its metadata
        try:
            response, info = _answer(_pillow_xmp(inp.source), [])
        except _Problem as problem:
            response, info = {}, {"aigc_problem": str(problem)}
        return Answer(response, info=info)
    response, info = read_aigc(data, fmt)
    return Answer(response, info=info)


def _flatten(response: dict) -> dict:
    """The analysis columns: whether a label is there, and its main fields.

    Examples
    --------
    >>> from cinb.ai.aigc import _flatten
    >>> _flatten({"AIGC": {"Label": "1", "ContentProducer": "001191"}})["aigc_producer"]
    '001191'
    >>> _flatten({})["aigc"]
    False
    """
    label = response.get("AIGC") or {}
    return {"aigc": bool(label), "aigc_label": label.get("Label"), "aigc_producer": label.get("ContentProducer"),
            "aigc_produce_id": label.get("ProduceID"), "aigc_propagator": label.get("ContentPropagator"),
            "aigc_propagate_id": label.get("PropagateID")}


ENDPOINT = register_endpoint(Endpoint(
    "ImageAIGCMetadata", image_aigc_metadata, analysis="aigc",
    columns={"aigc": bool, "aigc_label": str, "aigc_producer": str, "aigc_produce_id": str,
             "aigc_propagator": str, "aigc_propagate_id": str},
    flatten=_flatten,
    description="the AIGC provenance label (GB 45438-2025 / TC260 XMP) a picture carries in its metadata"))

__all__ = ["ENDPOINT", "FIELDS", "TC260_NS", "image_aigc_metadata", "label_fields", "read_aigc", "xmp_packet"]
