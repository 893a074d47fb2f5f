"""``imageMogr2/AIGCMetadata``: write the AIGC implicit label into the output's XMP.

China's labelling rules for AI-generated content (GB 45438-2025; the TC260 practice guide for
pictures, TC260-PG-20259A) put an *implicit label* in the file's metadata: the XMP property ``AIGC``
in the namespace ``http://www.tc260.org.cn/ns/AIGC/1.0/`` (prefix ``TC260``) whose text is a JSON
object of up to seven fields. CI writes it as part of basic processing ("添加 AIGC 图片元数据标识",
cloud.tencent.com/document/product/460/122024, and the API page 436/124900)::

    imageMogr2/AIGCMetadata/Label/<Label>/ContentProducer/<ContentProducer>/ProduceID/<ProduceID>
        /ReservedCode1/<ReservedCode1>/ContentPropagator/<ContentPropagator>/PropagateID/<PropagateID>
        /ReservedCode2/<ReservedCode2>

Every value is URL-safe Base64 of UTF-8 text; ``Label`` is required, the other six are optional
(CI's SDK page 460/123771: "所有参数值需要进行 Base64编码,Label 参数是必填的,其他参数为可选", and
its Java SDK's ``AIGCMetadataRuleBuilder``, which also writes the fields in any order).
``ci-process=ImageAIGCMetadata`` (:mod:`cinb.ai.aigc`) reads the label back.

CI lists JPEG, PNG and AVIF for this function. cinb writes the label into those and into WebP and
HEIF outputs, which carry XMP the same way (:data:`XMP_FORMATS`: JPEG APP1, PNG ``iTXt``, WebP
``XMP `` chunk, AVIF and HEIF XMP items). Any other output is refused with CIError -113
(:func:`unsupported_output`): a GIF output because CI does not list it (a GIF does carry XMP: a
source's label survives ``format/gif``, :mod:`cinb.codecs.gif`, and reads back, :mod:`cinb.ai.aigc`),
a BMP or TIFF output also because it would lose the label silently, the failure the labelling rules
are about. A source's XMP is kept and only the ``AIGC`` property replaced (the
practice guide: update the property, do not overwrite the namespace). Where the rule also says
``strip``, the label is the one piece of XMP kept (:func:`label_only`).

This module is also where the TC260 XMP facts live (:data:`TC260_NS`, :data:`FIELDS`,
:func:`xmp_packet`, :func:`label_in_xmp`), shared with the reader in :mod:`cinb.ai.aigc`.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ..canvas import Canvas
from ..errors import BAD_PARAMETER, UNSUPPORTED_TYPE, CIError
from ..tokens import b64u_encode

#: The TC260 XMP namespace of the practice guide.
TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
#: The label's fields, in the practice guide's (and CI's) order.
FIELDS: tuple[str, ...] = ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator",
                           "PropagateID", "ReservedCode2")
#: The imageMogr2 parameter (CI's spelling; its sub-parameters are :data:`FIELDS`).
KEY = "AIGCMetadata"
#: Output formats AIGCMetadata writes its label into: CI's jpeg, png and avif, and webp and heif, which carry
#: XMP the same way. GIF outputs carry a source's XMP too (:mod:`cinb.codecs.gif`) but are not CI's.
XMP_FORMATS = frozenset({"jpeg", "png", "webp", "avif", "heif"})
#: Longest decoded value accepted: TC260's identifiers are short; a JPEG's XMP segment holds 64 KB.
MAX_VALUE = 4096


class LabelError(ValueError):
    """An XMP packet that is present but whose TC260 label cannot be read (not XML)."""


# --- reading --------------------------------------------------------------------------------------


def label_in_xmp(packet: bytes) -> str | None:
    """The text of the TC260 ``AIGC`` property (element or attribute form) in one XMP packet.

    Raises
    ------
    LabelError
        The packet mentions ``AIGC`` but is no XML.

    Examples
    --------
    >>> from cinb.ops.aigc import label_in_xmp, xmp_packet
    >>> label_in_xmp(xmp_packet({"Label": "1"}))
    '{"Label":"1"}'
    >>> label_in_xmp(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>") is None
    True
    """
    packet = packet.strip(b"\x00 \t\r\n")
    if b"AIGC" not in packet:
        return None
    start, end = packet.find(b"<"), packet.rfind(b">")
    try:
        root = ET.fromstring(packet[start:end + 1])
    except ET.ParseError as exc:
        raise LabelError(f"the XMP packet is not XML: {exc}") from None
    for el in root.iter():
        for name, value in el.attrib.items():
            if _is_tc260(name):
                return value
        if isinstance(el.tag, str) and _is_tc260(el.tag):
            return "".join(el.itertext())
    return None


def _is_tc260(name: str) -> bool:
    """``{namespace}AIGC`` with TC260's namespace (its spelling varies: trailing slash, case)."""
    if not name.startswith("{") or not name.endswith("}AIGC"):
        return False
    return "tc260" in name[1:-len("}AIGC")].lower()


# --- writing --------------------------------------------------------------------------------------


def label_json(fields: dict) -> str:
    """The label's JSON text as the practice guide writes it (compact, fields in its order first).

    Examples
    --------
    >>> from cinb.ops.aigc import label_json
    >>> label_json({"ProduceID": "p-1", "Label": "1"})
    '{"Label":"1","ProduceID":"p-1"}'
    """
    if isinstance(fields, dict):
        fields = {**{k: fields[k] for k in FIELDS if k in fields}, **fields}
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _description(rdf: str, text: str) -> str:
    return (f'<{rdf}Description {rdf}about="" xmlns:TC260="{TC260_NS}">'
            f'<TC260:AIGC>{_escape(text)}</TC260:AIGC></{rdf}Description>')


def _packet(text: str) -> bytes:
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'{_description("rdf:", text)}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


def xmp_packet(fields) -> bytes:
    """An XMP packet carrying a TC260 label (what :class:`AIGCMetadata` writes into a picture without XMP).

    Examples
    --------
    >>> from cinb.ops.aigc import xmp_packet
    >>> b'<TC260:AIGC>{"Label":"1"}</TC260:AIGC>' in xmp_packet({"Label": "1"})
    True
    """
    return _packet(label_json(fields))


_NS_DECL = re.compile(rb"""xmlns:([A-Za-z_][\w.-]*)\s*=\s*(["'])(.*?)\2""", re.S)
_RDF_END = re.compile(rb"</([A-Za-z_][\w.-]*:)?RDF\s*>")


def with_label(xmp: bytes | None, fields: dict) -> bytes:
    """``xmp`` with its TC260 ``AIGC`` property set to ``fields`` (a new packet when there is none).

    The source's other properties are kept: every ``AIGC`` property in a TC260 namespace (element or
    attribute form, any prefix) is removed, and one ``rdf:Description`` holding the new label is added
    to the ``rdf:RDF``. The result is read back; a packet this cannot be done in (no ``rdf:RDF``, not
    XML) is replaced by a packet holding the label alone.

    Examples
    --------
    >>> from cinb.ops.aigc import label_in_xmp, with_label, xmp_packet
    >>> old = xmp_packet({"Label": "2"}).replace(b"</rdf:RDF>", b'<rdf:Description xmlns:dc="d"/></rdf:RDF>')
    >>> new = with_label(old, {"Label": "1"})
    >>> label_in_xmp(new), b'xmlns:dc="d"' in new
    ('{"Label":"1"}', True)
    """
    return with_label_text(xmp, label_json(fields))


def with_label_text(xmp: bytes | None, text: str) -> bytes:
    """:func:`with_label` for a label already in its JSON text (as :func:`label_in_xmp` reads it).

    Examples
    --------
    >>> from cinb.ops.aigc import label_in_xmp, with_label_text
    >>> label_in_xmp(with_label_text(None, '{"Label":"1"}'))
    '{"Label":"1"}'
    """
    if not xmp:
        return _packet(text)
    merged = _merged(xmp, text)
    try:
        if merged is not None and label_in_xmp(merged) == text:
            return merged
    except LabelError:
        pass  # the source packet is no XML: the label goes into a packet of its own
    return _packet(text)


def without_label(xmp: bytes) -> bytes:
    """``xmp`` with every TC260 ``AIGC`` property (element or attribute form, any prefix) removed.

    Examples
    --------
    >>> from cinb.ops.aigc import label_in_xmp, without_label, xmp_packet
    >>> label_in_xmp(without_label(xmp_packet({"Label": "1"}))) is None
    True
    """
    out = xmp
    for m in _NS_DECL.finditer(xmp):
        if b"tc260" not in m.group(3).lower():
            continue
        p = re.escape(m.group(1) + b":AIGC")
        out = re.sub(rb"<" + p + rb"(\s[^>]*)?>.*?</" + p + rb"\s*>", b"", out, flags=re.S)
        out = re.sub(rb"<" + p + rb"\s*/>", b"", out)
        out = re.sub(rb"\s" + p + rb"""\s*=\s*(["']).*?\1""", b"", out, flags=re.S)
    return out


def _merged(xmp: bytes, text: str) -> bytes | None:
    out = without_label(xmp)
    ends = list(_RDF_END.finditer(out))
    if not ends:
        return None
    end = ends[-1]
    rdf = (end.group(1) or b"").decode("ascii")
    return out[:end.start()] + _description(rdf, text).encode("utf-8") + out[end.start():]


def label_only(xmp: bytes | None) -> bytes | None:
    """What ``strip`` keeps of an XMP packet: its TC260 label, alone in a packet (None without one).

    GB 45438-2025's measures forbid removing the implicit label; CI does not say what ``strip`` does
    to it, and a label written by the same rule must not vanish (docs/ci-compatibility.md).

    Examples
    --------
    >>> from cinb.ops.aigc import label_only, xmp_packet
    >>> label_only(xmp_packet({"Label": "1"})) == xmp_packet({"Label": "1"})
    True
    >>> label_only(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>") is None
    True
    """
    if not xmp:
        return None
    try:
        text = label_in_xmp(xmp)
    except LabelError:
        return None
    return None if text is None else _packet(text)


def unsupported_output(fmt: str) -> CIError:
    """The CIError -113 for an ``AIGCMetadata`` rule whose output format is not in :data:`XMP_FORMATS`.

    Examples
    --------
    >>> from cinb.ops.aigc import unsupported_output
    >>> print(unsupported_output("gif").message)
    AIGCMetadata writes its label into JPEG, PNG and AVIF outputs (CI's list; cinb also WebP, HEIF), not GIF
    >>> unsupported_output("gif").code
    -113
    """
    return CIError(f"{KEY} writes its label into JPEG, PNG and AVIF outputs (CI's list; cinb also WebP, HEIF), "
                   f"not {fmt.upper()}", code=UNSUPPORTED_TYPE, token=fmt)


# --- the operation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AIGCMetadata:
    """``AIGCMetadata/Label/<b64>/...``: the label to write, as ``(field, text)`` pairs.

    Parameters
    ----------
    fields : tuple of (str, str)
        Decoded values keyed by CI's field names (:data:`FIELDS`); ``Label`` is required. Kept in
        the practice guide's order whatever order the rule gave.

    Raises
    ------
    CIError
        -103 naming the field: unknown, repeated, empty, over :data:`MAX_VALUE` bytes, or no ``Label``.

    Examples
    --------
    >>> from cinb.ops.aigc import AIGCMetadata
    >>> op = AIGCMetadata((("ProduceID", "p-1"), ("Label", "1")))
    >>> op.label
    {'Label': '1', 'ProduceID': 'p-1'}
    >>> op.tokens()
    ['AIGCMetadata', 'Label', 'MQ', 'ProduceID', 'cC0x']
    >>> AIGCMetadata((("ProduceID", "p-1"),))
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: AIGCMetadata needs Label (CI: Label is required) (X-ErrNo -103)
    """

    fields: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for name, value in self.fields:
            if name not in FIELDS:
                raise CIError(f"unknown {KEY} field {name!r} (CI's are {', '.join(FIELDS)})",
                              code=BAD_PARAMETER, token=name)
            if name in seen:
                raise CIError(f"{KEY} field {name!r} is given twice", code=BAD_PARAMETER, token=name)
            if not isinstance(value, str) or not value.strip():
                raise CIError(f"{KEY} field {name!r} is empty", code=BAD_PARAMETER, token=name)
            if len(value.encode("utf-8")) > MAX_VALUE:
                raise CIError(f"{KEY} field {name!r} is over {MAX_VALUE} bytes", code=BAD_PARAMETER, token=name)
            seen[name] = value
        if "Label" not in seen:
            raise CIError(f"{KEY} needs Label (CI: Label is required)", code=BAD_PARAMETER, token=KEY)
        object.__setattr__(self, "fields", tuple((k, seen[k]) for k in FIELDS if k in seen))

    @property
    def label(self) -> dict[str, str]:
        """The label as ``ci-process=ImageAIGCMetadata`` answers it (``{"Label": ..., ...}``)."""
        return dict(self.fields)

    def tokens(self) -> list[str]:
        out = [KEY]
        for name, value in self.fields:
            out += [name, b64u_encode(value)]
        return out

    def apply(self, canvas: Canvas, ctx: object = None) -> Canvas:
        # The codec registry refuses an output format outside XMP_FORMATS when info says a label was
        # written: a label lost silently is the failure the labelling rules are about.
        return canvas.replace(xmp=with_label(canvas.xmp, self.label),
                              info={**canvas.info, "aigc_written": self.label})


__all__ = ["FIELDS", "KEY", "TC260_NS", "XMP_FORMATS", "AIGCMetadata", "LabelError", "label_in_xmp",
           "label_json", "label_only", "unsupported_output", "with_label", "with_label_text", "without_label",
           "xmp_packet"]
