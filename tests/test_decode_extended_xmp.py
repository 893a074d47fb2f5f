"""Re-processing a JPEG that carries Extended XMP (XMP Specification Part 3, §1.1.3.1) keeps the whole
packet: ``cinb.decode`` joins the extension segments Pillow does not read (it used to keep the StandardXMP
alone, the label and ``HasExtendedXMP`` pointing at nothing). A malformed extension is ignored, never a crash."""

from __future__ import annotations

import hashlib
import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

import cinb
from cinb import process
from cinb.codecs import extended_xmp
from cinb.codecs.extended_xmp import join as joined_extended_xmp
from cinb.decode import open_canvas
from cinb.ops.aigc import label_in_xmp
from test_xmp_extended import LABEL, _big_xmp, _joined, _png_with_xmp, _xmp_segments


def _source() -> bytes:
    """A JPEG written by cinb with a 150 KB packet: the label in the StandardXMP, the rest in 3 portions."""
    return process(_png_with_xmp(_big_xmp()), f"{LABEL}/format/jpg").data


def _jpeg_with(standard: bytes, portions: list[bytes]) -> bytes:
    """A small JPEG carrying ``standard`` as its StandardXMP and ``portions`` (raw bodies after the
    extension signature: GUID, full length, offset, data) as extension segments."""
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 200)).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    segs = [extended_xmp.STANDARD_SIGNATURE + standard] + [extended_xmp.EXTENDED_SIGNATURE + p for p in portions]
    app1 = b"".join(b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body for body in segs)
    return data[:2] + app1 + data[2:]


def _portion(guid: bytes, total: int, offset: int, chunk: bytes) -> list[bytes]:
    """``chunk`` at ``offset`` as extension bodies, split where one segment is full."""
    step = extended_xmp.PORTION_MAX
    return [guid + total.to_bytes(4, "big") + (offset + i).to_bytes(4, "big") + chunk[i:i + step]
            for i in range(0, len(chunk), step)]


def test_the_decode_joins_the_extension_into_one_packet():
    canvas = open_canvas(_source())
    assert canvas.xmp is not None and len(canvas.xmp) > 150000
    assert canvas.xmp.count(b"step;") == 30000 and b"Ann Author" in canvas.xmp
    assert b"HasExtendedXMP" not in canvas.xmp  # whole again: a writer splits it anew
    assert label_in_xmp(canvas.xmp) == '{"Label":"1","ContentProducer":"cinb-test"}'


@pytest.mark.parametrize("rule", ["imageMogr2/format/jpg", "imageMogr2/thumbnail/50x/format/jpg|imageSlim"])
def test_a_round_trip_through_jpeg_keeps_the_whole_packet(rule):
    r = process(_source(), rule)
    standard, portions = _xmp_segments(r.data)
    _, extended = _joined(portions)
    assert extended.count(b"step;") == 30000 and b"Ann Author" in extended
    assert label_in_xmp(standard) == '{"Label":"1","ContentProducer":"cinb-test"}'
    assert cinb.ci_process(r.data, "ImageAIGCMetadata").json["AIGC"]["Label"] == "1"


def test_a_conversion_to_png_carries_the_whole_packet_in_one_chunk():
    r = process(_source(), "imageMogr2/format/png")
    with Image.open(io.BytesIO(r.data)) as img:
        xmp = img.info["XML:com.adobe.xmp"]
    assert xmp.count("step;") == 30000 and "Ann Author" in xmp and "HasExtendedXMP" not in xmp


def _malformed() -> dict[str, tuple[bytes, list[bytes]]]:
    standard, portions = _xmp_segments(_source())
    assert standard is not None and len(portions) == 3
    guid, extended = _joined(portions)
    g, n = guid.encode(), len(extended)
    other = hashlib.md5(b"another").hexdigest().upper().encode()
    tampered = extended[:-20] + b"x" * 20
    no_xml = b"<x:xmpmeta not xml" * 4000
    no_xml_guid = hashlib.md5(no_xml).hexdigest().upper().encode()
    std_no_xml = standard.replace(g, no_xml_guid)
    return {
        "another GUID": (standard, _portion(other, n, 0, extended)),
        "truncated: last portion missing": (standard, portions[:2]),
        "a gap": (standard, _portion(g, n, 0, extended[:1000]) + _portion(g, n, 2000, extended[2000:])),
        "an overlap": (standard, _portion(g, n, 0, extended[:2000]) + _portion(g, n, 1000, extended[1000:])),
        "offset past the end": (standard, _portion(g, n, 0, extended) + _portion(g, n, n + 10, b"tail")),
        "two lengths": (standard, _portion(g, n, 0, extended[:1000]) + _portion(g, n + 1, 1000, extended[1000:])),
        "wrong digest": (standard, _portion(g, n, 0, tampered)),
        "a header cut short": (standard, [g + b"\x00\x01"]),
        "extension no XML": (std_no_xml, _portion(no_xml_guid, len(no_xml), 0, no_xml)),
        "standard no XML": (b"<x:xmpmeta HasExtendedXMP='" + g + b"'", _portion(g, n, 0, extended)),
        "no segments": (standard, []),
    }


@pytest.mark.parametrize("case", list(_malformed()))
def test_a_malformed_extension_is_ignored_and_the_standard_xmp_kept(case):
    standard, portions = _malformed()[case]
    src = _jpeg_with(standard, portions)
    canvas = open_canvas(src)
    assert canvas.xmp == standard
    r = process(src, "imageMogr2/format/jpg")  # the picture is still written, with what could be read
    assert r.width == 40
    if case != "standard no XML":
        assert cinb.ci_process(r.data, "ImageAIGCMetadata").json["AIGC"]["Label"] == "1"


def test_the_standard_keeps_its_own_properties_and_a_prefix_declared_only_on_the_extensions_rdf_is_carried():
    ext = (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'"
           b" xmlns:e='urn:e'><rdf:Description rdf:about=''><e:v>extended</e:v></rdf:Description>"
           b"<rdf:Description rdf:about='' xmlns:e='urn:other' e:w='own'/></rdf:RDF></x:xmpmeta>")
    guid = hashlib.md5(ext).hexdigest().upper().encode()
    std = (b"<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'>"
           b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' xmlns:e='urn:std'>"
           b"<rdf:Description rdf:about='' xmlns:xmpNote='http://ns.adobe.com/xmp/note/' e:s='standard'>"
           b"<xmpNote:HasExtendedXMP>" + guid + b"</xmpNote:HasExtendedXMP></rdf:Description>"
           b"</rdf:RDF></x:xmpmeta><?xpacket end='w'?>")
    segments = [("APP1", extended_xmp.EXTENDED_SIGNATURE + p) for p in _portion(guid, len(ext), 0, ext)]
    joined = joined_extended_xmp(std, segments)
    root = ET.fromstring(joined.split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])
    values = {el.tag: el.text for el in root.iter() if el.text}
    attrs = {k: v for el in root.iter() for k, v in el.attrib.items()}
    assert values["{urn:e}v"] == "extended"  # declared on the extension's rdf:RDF, carried with its element
    assert attrs["{urn:other}w"] == "own" and attrs["{urn:std}s"] == "standard"
    assert b"HasExtendedXMP" not in joined and joined.endswith(b"<?xpacket end='w'?>")
