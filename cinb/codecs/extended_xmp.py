"""Extended XMP in JPEG: an XMP packet larger than one APP1 segment (XMP Specification Part 3, §1.1.3.1).

A JPEG marker segment holds at most 65533 bytes, so the APP1 segment ``http://ns.adobe.com/xap/1.0/\\0``
carries at most 65504 bytes of XMP ("StandardXMP"); Pillow's JPEG saver refuses more ("XMP data is too
long"), and the whole packet used to be dropped with it, the AIGC label included (CI's
``imageMogr2/AIGCMetadata`` on a source whose XMP holds, say, a long Photoshop history). XMP Part 3
splits such a packet: the StandardXMP keeps what must be found first and names the rest by
``xmpNote:HasExtendedXMP="<GUID>"``; the rest ("ExtendedXMP", a complete ``x:xmpmeta`` element without a
packet wrapper) follows in APP1 segments ``http://ns.adobe.com/xmp/extension/\\0`` + the 32-character
GUID (the upper-case hex MD5 of the whole ExtendedXMP) + its full length and this portion's offset
(big-endian 32-bit) + the portion. Readers that know the extension (Adobe's XMP toolkit, ExifTool,
Skia, cinb's ``ImageAIGCMetadata``) join the portions; others still find the StandardXMP.

cinb keeps the TC260 ``AIGC`` label in the StandardXMP (a reader of the labelling rules must find it
without the extension) and moves everything else to the ExtendedXMP.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from xml.parsers import expat

from ..ops.aigc import LabelError, label_in_xmp, with_label_text, without_label

#: The APP1 signature of the StandardXMP, and the most XMP one segment holds after it.
STANDARD_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
STANDARD_MAX = 65533 - len(STANDARD_SIGNATURE)  # 65504
#: The APP1 signature of an ExtendedXMP portion, and the most one segment holds after its 75-byte header.
EXTENDED_SIGNATURE = b"http://ns.adobe.com/xmp/extension/\x00"
PORTION_MAX = 65533 - len(EXTENDED_SIGNATURE) - 32 - 4 - 4  # 65458
#: The namespace of ``xmpNote:HasExtendedXMP``.
NOTE_NS = "http://ns.adobe.com/xmp/note/"

_PI = re.compile(rb"<\?(?:xpacket|xml)\b.*?\?>", re.S)
_NOTE = re.compile(rb"""\s[A-Za-z_][\w.-]*:HasExtendedXMP\s*=\s*(["']).*?\1"""
                   rb"""|<([A-Za-z_][\w.-]*):HasExtendedXMP\b[^>]*?(?:/>|>.*?</\2:HasExtendedXMP\s*>)""", re.S)


def split(xmp: bytes) -> tuple[bytes | None, bytes | None]:
    """``(StandardXMP, ExtendedXMP)`` for a packet: the packet itself and None when it fits one segment.

    The StandardXMP holds the TC260 label (if any) and ``xmpNote:HasExtendedXMP``; the ExtendedXMP the
    rest. A packet that is no XML cannot be split into two valid ones: its label alone is kept (None
    without one), the rest dropped.

    Examples
    --------
    >>> from cinb.codecs.extended_xmp import split, STANDARD_MAX
    >>> from cinb.ops.aigc import xmp_packet, label_in_xmp
    >>> small = xmp_packet({"Label": "1"})
    >>> split(small) == (small, None)
    True
    >>> big = small.replace(b"</rdf:RDF>", b'<rdf:Description xmlns:d="urn:d" d:n="' + b"x" * 70000 + b'"/></rdf:RDF>')
    >>> standard, extended = split(big)
    >>> len(standard) <= STANDARD_MAX, label_in_xmp(standard), label_in_xmp(extended), len(extended) > 70000
    (True, '{"Label":"1"}', None, True)
    """
    if len(xmp) <= STANDARD_MAX:
        return xmp, None
    try:
        label = label_in_xmp(xmp)
    except LabelError:
        label = None
    extended = _serialization(without_label(xmp))
    if extended is None:
        return (None if label is None else with_label_text(None, label)), None
    guid = hashlib.md5(extended).hexdigest().upper()
    standard = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
                '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                f'<rdf:Description rdf:about="" xmlns:xmpNote="{NOTE_NS}" xmpNote:HasExtendedXMP="{guid}"/>'
                '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()
    if label is not None:
        standard = with_label_text(standard, label)
    return standard, extended


def _serialization(xmp: bytes) -> bytes | None:
    """The packet as an ExtendedXMP: its ``x:xmpmeta`` element (wrapped in one if it has none), without
    the packet wrapper or a stale ``HasExtendedXMP`` (a JPEG source's, whose portions are not kept)."""
    body = _NOTE.sub(b"", _PI.sub(b"", xmp)).strip(b"\x00 \t\r\n\xef\xbb\xbf")
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if root.tag != "{adobe:ns:meta/}xmpmeta":
        body = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + body + b"</x:xmpmeta>"
    return body


def segments(extended: bytes) -> list[bytes]:
    """The APP1 marker segments (``FF E1``, length included) carrying an ExtendedXMP.

    Examples
    --------
    >>> from cinb.codecs.extended_xmp import segments, PORTION_MAX
    >>> segs = segments(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>" * 3000)
    >>> len(segs), [len(s) <= 65537 for s in segs], segs[1][4:39]
    (2, [True, True], b'http://ns.adobe.com/xmp/extension/\\x00')
    """
    guid = hashlib.md5(extended).hexdigest().upper().encode("ascii")
    total = len(extended).to_bytes(4, "big")
    out = []
    for offset in range(0, len(extended), PORTION_MAX):
        body = EXTENDED_SIGNATURE + guid + total + offset.to_bytes(4, "big") + extended[offset:offset + PORTION_MAX]
        out.append(b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body)
    return out


def join(standard: bytes, segments) -> bytes:
    """A JPEG's StandardXMP with its ExtendedXMP merged in (XMP Specification Part 3, §1.1.3.1): one packet.

    Pillow reads the StandardXMP only. When it names an extension (``xmpNote:HasExtendedXMP="<GUID>"``),
    the APP1 segments ``http://ns.adobe.com/xmp/extension/\\0`` + that GUID + full length + offset +
    portion (``segments``: Pillow's ``applist``, ``(marker name, body)`` pairs) are joined by offset;
    they must tile the full length exactly, agree on it, and hash (MD5) to the GUID. The ExtendedXMP's
    top-level ``rdf:RDF`` children then join the StandardXMP's, each carrying the namespace
    declarations it had in scope, and ``HasExtendedXMP`` goes (the packet is whole again; a writer
    splits it anew, :mod:`cinb.codecs.extended_xmp`). Anything malformed (no such segments, another
    GUID, a gap, an overlap, a truncated portion, a wrong digest, an extension or standard packet
    that is no XML) leaves ``standard`` as it was.

    Examples
    --------
    >>> import hashlib
    >>> from cinb.codecs.extended_xmp import join
    >>> ext = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
    ...        b' xmlns:dc="http://purl.org/dc/elements/1.1/"><rdf:Description rdf:about="" dc:format="image/jpeg"/>'
    ...        b'</rdf:RDF></x:xmpmeta>')
    >>> guid = hashlib.md5(ext).hexdigest().upper().encode()
    >>> std = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    ...        b'<rdf:Description rdf:about="" xmlns:xmpNote="http://ns.adobe.com/xmp/note/" xmpNote:HasExtendedXMP="'
    ...        + guid + b'"/></rdf:RDF></x:xmpmeta>')
    >>> head = b"http://ns.adobe.com/xmp/extension/\\x00" + guid + len(ext).to_bytes(4, "big")
    >>> parts = [("APP1", head + (0).to_bytes(4, "big") + ext[:100]),
    ...          ("APP1", head + (100).to_bytes(4, "big") + ext[100:])]
    >>> joined = join(std, parts)
    >>> b'dc:format="image/jpeg"' in joined, b"HasExtendedXMP" in joined
    (True, False)
    >>> join(std, parts[:1]) == std  # truncated: the StandardXMP as it was
    True
    """
    found = re.search(rb"""HasExtendedXMP\s*(?:=\s*["']\s*|>\s*)([0-9A-Fa-f]{32})\s*["'<]""", standard)
    if found is None:
        return standard
    guid = found.group(1).upper()
    portions: dict[int, bytes] = {}
    totals = set()
    for name, body in segments:
        if name != "APP1" or not body.startswith(EXTENDED_SIGNATURE):
            continue
        head = body[len(EXTENDED_SIGNATURE):]
        if len(head) < 40 or head[:32].upper() != guid:
            continue
        totals.add(int.from_bytes(head[32:36], "big"))
        offset, chunk = int.from_bytes(head[36:40], "big"), head[40:]
        if portions.setdefault(offset, chunk) != chunk:
            return standard  # two different portions at one offset
    if len(totals) != 1:
        return standard
    joined, end = [], 0
    for offset in sorted(portions):
        if offset != end:
            return standard  # a gap or an overlap
        joined.append(portions[offset])
        end += len(portions[offset])
    extended = b"".join(joined)
    if end != totals.pop() or hashlib.md5(extended).hexdigest().upper().encode("ascii") != guid:
        return standard
    return _merged_xmp(standard, extended) or standard


_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns# RDF"


def _rdf_layout(xml: bytes) -> tuple[int, list[tuple[int, int, dict[str, str]]], dict[str, str]] | None:
    """Where ``xml``'s ``rdf:RDF`` end tag starts, its children's ``(start, stop, own namespace
    declarations)`` (a child runs to the next one or to that end tag: only whitespace or comments lie
    between), and the declarations in scope inside it; None if it is no XML or has no ``rdf:RDF``."""

    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[dict[str, str]] = []
    pending: dict[str, str] = {}
    starts: list[tuple[int, dict[str, str]]] = []
    found: dict = {}

    def declare(prefix, uri):
        pending[prefix or ""] = uri or ""

    def start(name, attrs):
        stack.append(dict(pending))
        pending.clear()
        if "depth" not in found and name == _RDF:
            found["depth"] = len(stack)
            found["scope"] = {k: v for level in stack for k, v in level.items()}
        elif found.get("depth") == len(stack) - 1 and "end" not in found:
            starts.append((parser.CurrentByteIndex, stack[-1]))

    def end(name):
        if found.get("depth") == len(stack) and "end" not in found:
            found["end"] = parser.CurrentByteIndex
        stack.pop()

    parser.StartNamespaceDeclHandler = declare
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(xml, True)
    except expat.ExpatError:
        return None
    if "end" not in found:
        return None
    stops = [at for at, _ in starts[1:]] + [found["end"]]
    return found["end"], [(at, stop, own) for (at, own), stop in zip(starts, stops, strict=True)], found["scope"]


def _merged_xmp(standard: bytes, extended: bytes) -> bytes | None:
    """``standard`` with ``extended``'s ``rdf:RDF`` children appended to its own, ``HasExtendedXMP`` gone;
    None when either is no XML with an ``rdf:RDF``."""

    std = _rdf_layout(standard)
    ext = _rdf_layout(extended)
    if std is None or ext is None:
        return None
    _, children, scope = ext
    moved = []
    for start, stop, own in children:
        element = extended[start:stop]
        tag = re.match(rb"<[^\s/>]+", element)
        if tag is None:
            return None
        extra = b"".join(b" xmlns" + (b":" + p.encode() if p else b"") + b'="' + _attr(uri) + b'"'
                         for p, uri in scope.items() if p not in own)
        moved.append(element[:tag.end()] + extra + element[tag.end():])
    rdf_end = std[0]
    if standard[rdf_end:rdf_end + 2] != b"</":  # an empty <rdf:RDF/>: nowhere to put them
        return None
    head = re.sub(rb"""\s[A-Za-z_][\w.-]*:HasExtendedXMP\s*=\s*(["']).*?\1"""
                  rb"""|<([A-Za-z_][\w.-]*):HasExtendedXMP\b[^>]*?(?:/>|>.*?</\2:HasExtendedXMP\s*>)""",
                  b"", standard[:rdf_end], flags=re.S)
    merged = head + b"".join(moved) + standard[rdf_end:]
    return merged if _rdf_layout(merged) is not None else None


def _attr(value: str) -> bytes:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").encode("utf-8")
