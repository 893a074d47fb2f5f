"""An XMP packet over one JPEG APP1 segment is written as Extended XMP (XMP Specification Part 3, §1.1.3.1),
the AIGC label kept in the StandardXMP: it used to be dropped whole, the label with it."""

from __future__ import annotations

import hashlib
import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

import cinb
from cinb import process
from cinb.canvas import Canvas
from cinb.codecs import extended_xmp
from cinb.codecs.jpeg import jpeg_segments
from cinb.codecs.options import EncodeOptions
from cinb.codecs.registry import Codec, save_dropping_metadata
from cinb.ops.aigc import label_in_xmp, label_only, xmp_packet
from cinb.tokens import b64u_encode as b64

LABEL = "imageMogr2/AIGCMetadata/Label/" + b64("1") + "/ContentProducer/" + b64("cinb-test")
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def _big_xmp(*, steps: int = 30000, label: bool = False) -> bytes:
    """A 150 KB packet (a long Photoshop history, as edited pictures carry), with a TC260 label if asked."""
    packet = ("<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'>"
              f"<rdf:RDF xmlns:rdf='{RDF}'><rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/'"
              " xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/'>"
              "<dc:creator><rdf:Seq><rdf:li>Ann Author</rdf:li></rdf:Seq></dc:creator>"
              "<photoshop:History>" + "step;" * steps + "</photoshop:History></rdf:Description></rdf:RDF>"
              "</x:xmpmeta><?xpacket end='w'?>").encode()
    if label:
        packet = packet.replace(b"</rdf:RDF>", xmp_packet({"Label": "2"}).split(b"<rdf:RDF")[1].split(b">", 1)[1]
                                .split(b"</rdf:RDF>")[0] + b"</rdf:RDF>")
    return packet


def _png_with_xmp(xmp: bytes, size=(64, 48)) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 60, 30)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _xmp_segments(data: bytes) -> tuple[bytes | None, list[bytes]]:
    """(StandardXMP, ExtendedXMP portions' raw APP1 bodies) of a JPEG, read without cinb's reader."""
    _, segs = jpeg_segments(data)
    standard, ext = None, []
    for seg in segs:
        assert len(seg) <= 65537  # marker + length + at most 65533 bytes
        body = seg[4:]
        if seg[1] == 0xE1 and body.startswith(extended_xmp.STANDARD_SIGNATURE):
            standard = body[len(extended_xmp.STANDARD_SIGNATURE):]
        elif seg[1] == 0xE1 and body.startswith(extended_xmp.EXTENDED_SIGNATURE):
            ext.append(body[len(extended_xmp.EXTENDED_SIGNATURE):])
    return standard, ext


def _joined(portions: list[bytes]) -> tuple[str, bytes]:
    """The ExtendedXMP as XMP Part 3 tells a reader to rebuild it: one GUID, offsets covering the full length."""
    guids = {p[:32] for p in portions}
    assert len(guids) == 1
    total = {int.from_bytes(p[32:36], "big") for p in portions}
    assert len(total) == 1
    parts = sorted((int.from_bytes(p[36:40], "big"), p[40:]) for p in portions)
    joined = b"".join(chunk for _, chunk in parts)
    offset = 0
    for start, chunk in parts:
        assert start == offset
        offset += len(chunk)
    assert offset == total.pop() == len(joined)
    guid = guids.pop().decode("ascii")
    assert guid == hashlib.md5(joined).hexdigest().upper()
    return guid, joined


@pytest.mark.parametrize("fmt", ["jpg", "yjpeg"])
def test_an_oversized_xmp_keeps_the_label_in_the_standard_xmp_and_the_rest_in_extended_xmp(fmt):
    src = _png_with_xmp(_big_xmp())
    r = process(src, f"{LABEL}/format/{fmt}")
    assert "metadata_dropped" not in r.info
    assert cinb.ci_process(r.data, "ImageAIGCMetadata").json == {"AIGC": {"Label": "1", "ContentProducer": "cinb-test"}}
    standard, portions = _xmp_segments(r.data)
    guid, extended = _joined(portions)
    assert len(portions) == 3  # 150 KB in portions of at most 65458 bytes
    root = ET.fromstring(standard.split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])
    notes = [el.get("{http://ns.adobe.com/xmp/note/}HasExtendedXMP") for el in root.iter()]
    assert guid in notes
    assert label_in_xmp(standard) == '{"Label":"1","ContentProducer":"cinb-test"}'
    # the ExtendedXMP: a complete x:xmpmeta, no packet wrapper, everything but the label
    ext_root = ET.fromstring(extended)
    assert ext_root.tag == "{adobe:ns:meta/}xmpmeta" and not extended.startswith(b"<?")
    assert "Ann Author" in "".join(ext_root.itertext()) and extended.count(b"step;") == 30000
    assert label_in_xmp(extended) is None
    with Image.open(io.BytesIO(r.data)) as img:  # Pillow reads the StandardXMP, and the picture decodes
        assert img.info["xmp"] == standard
        assert img.convert("RGB").getpixel((3, 3))[0] > 150


def test_an_oversized_xmp_without_a_label_is_kept_too_and_the_pixels_do_not_change():
    big = _png_with_xmp(_big_xmp())
    plain = _png_with_xmp(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    r = process(big, "imageMogr2/format/jpg/quality/90")
    assert "metadata_dropped" not in r.info
    standard, portions = _xmp_segments(r.data)
    _, extended = _joined(portions)
    assert label_in_xmp(standard) is None and b"HasExtendedXMP" in standard and b"Ann Author" in extended
    same = process(plain, "imageMogr2/format/jpg/quality/90").data
    with Image.open(io.BytesIO(r.data)) as a, Image.open(io.BytesIO(same)) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_a_source_label_in_an_oversized_xmp_survives_a_conversion_and_imageslim():
    src = _png_with_xmp(_big_xmp(label=True), size=(96, 64))
    for rule in ("imageMogr2/format/jpg", "imageMogr2/format/jpg|imageSlim"):
        r = process(src, rule)
        assert cinb.ci_process(r.data, "ImageAIGCMetadata").json == {"AIGC": {"Label": "2"}}, rule
        standard, portions = _xmp_segments(r.data)
        assert portions and len(standard) < 2000, rule


def test_strip_keeps_only_the_label_in_one_segment():
    r = process(_png_with_xmp(_big_xmp()), f"{LABEL}/format/jpg/strip")
    standard, portions = _xmp_segments(r.data)
    assert portions == [] and b"step;" not in standard and b"HasExtendedXMP" not in standard
    assert cinb.ci_process(r.data, "ImageAIGCMetadata").json["AIGC"]["Label"] == "1"


def test_an_oversized_packet_that_is_no_xml_is_dropped_and_the_picture_still_written():
    r = process(_png_with_xmp(b"<x:xmpmeta " + b"not xml " * 10000), "imageMogr2/format/jpg")
    standard, portions = _xmp_segments(r.data)
    assert standard is None and portions == []
    assert r.width == 64


def test_the_split_round_trips_through_the_segments():
    standard, extended = extended_xmp.split(_big_xmp(label=True))
    assert len(standard) <= extended_xmp.STANDARD_MAX
    segs = extended_xmp.segments(extended)
    _, joined = _joined([s[4 + len(extended_xmp.EXTENDED_SIGNATURE):] for s in segs])
    assert joined == extended and b"<?xpacket" not in extended
    small = xmp_packet({"Label": "1"})
    assert extended_xmp.split(small) == (small, None)


def test_an_encoder_refusing_the_xmp_still_writes_the_label():
    # any writer that chokes on a packet (too long, unserialisable) gets the label alone before nothing
    seen: list[bytes | None] = []

    def save(canvas, quality, opts):
        seen.append(canvas.xmp)
        if canvas.xmp and len(canvas.xmp) > 1000:
            raise ValueError("XMP data is too long")
        return canvas.xmp or b""

    codec = Codec("picky", save, lossy=False, animated=False, alpha=False)
    report = Canvas(frames=[Image.new("RGB", (4, 4))])
    big = _big_xmp(label=True)
    out = save_dropping_metadata(codec, Canvas(frames=[Image.new("RGB", (4, 4))], xmp=big), None, EncodeOptions(),
                                 report)
    assert out == label_only(big) and label_in_xmp(out) == '{"Label":"2"}'
    assert report.info["metadata_dropped"] == ["xmp"] and len(seen) == 2
