"""GIF outputs carry a source's XMP (XMP Specification Part 3, §1.1.2: the ``XMP DataXMP`` Application
Extension and its magic trailer), so a TC260 AIGC label survives ``format/gif``; asking AIGCMetadata for
a GIF output stays -113, as CI lists it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cinb import CIError, process
from cinb.codecs.gif import XMP_HEADER, XMP_TRAILER
from cinb.ops.aigc import label_in_xmp, xmp_packet
from cinb.tokens import b64u_encode as b64

DC = (b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
      b"<dc:source>camera roll \xe7\x85\xa7\xe7\x89\x87</dc:source></rdf:Description></rdf:RDF>")
XMP = xmp_packet({"Label": "1", "ContentProducer": "maker"}).replace(b"</rdf:RDF>", DC)


def _jpeg(xmp: bytes | None = XMP) -> bytes:
    buf = io.BytesIO()
    img = Image.fromarray(np.random.default_rng(3).integers(0, 255, (40, 60, 3), dtype=np.uint8))
    img.save(buf, "JPEG", quality=90, **({"xmp": xmp} if xmp else {}))
    return buf.getvalue()


def _walk(data: bytes) -> tuple[int, list[bytes]]:
    """Walk a GIF as a reader that knows nothing of XMP does (sub-blocks everywhere): (frames, app ids)."""
    assert data[:6] == b"GIF89a"
    pos = 13 + ((3 << ((data[10] & 7) + 1)) if data[10] & 0x80 else 0)
    frames, apps = 0, []

    def sub_blocks(p: int) -> int:
        while data[p]:
            p += data[p] + 1
        return p + 1

    while data[pos] != 0x3B:
        if data[pos] == 0x21:
            if data[pos + 1] == 0xFF:
                apps.append(data[pos + 3:pos + 14])
            pos = sub_blocks(pos + 2)
        elif data[pos] == 0x2C:
            flags = data[pos + 9]
            pos += 10 + ((3 << ((flags & 7) + 1)) if flags & 0x80 else 0) + 1  # descriptor, colours, LZW size
            pos = sub_blocks(pos)
            frames += 1
        else:
            raise AssertionError(f"unexpected byte {data[pos]:#x} at {pos}")
    assert pos == len(data) - 1
    return frames, apps


def _xmp(data: bytes) -> bytes | None:
    """The packet as an XMP-aware reader finds it: after the header, up to the magic trailer."""
    start = data.find(XMP_HEADER)
    if start < 0:
        return None
    end = data.find(XMP_TRAILER, start)
    return data[start + len(XMP_HEADER):end]


def test_a_source_xmp_and_its_label_survive_format_gif():
    out = process(_jpeg(), "imageMogr2/format/gif").data
    packet = _xmp(out)
    assert packet == XMP
    assert label_in_xmp(packet) == '{"Label":"1","ContentProducer":"maker"}' and "照片".encode() in packet
    assert _walk(out) == (1, [b"XMP DataXMP"])


def test_the_xmp_block_changes_no_pixel_and_every_reader_skips_it():
    with_xmp = process(_jpeg(), "imageMogr2/format/gif").data
    without = process(_jpeg(None), "imageMogr2/format/gif").data
    assert _xmp(without) is None
    assert len(with_xmp) - len(without) == len(XMP_HEADER) + len(XMP) + len(XMP_TRAILER) == len(XMP) + 272
    with Image.open(io.BytesIO(with_xmp)) as a, Image.open(io.BytesIO(without)) as b:
        assert np.array_equal(np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))


def test_an_animation_keeps_its_frames_loop_and_xmp():
    frames = [Image.new("RGB", (30, 20), (v, 0, 255 - v)) for v in (0, 120, 240)]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], duration=[50, 60, 70], loop=0,
                   lossless=True, xmp=XMP)
    out = process(buf.getvalue(), "imageMogr2/format/gif").data
    n, apps = _walk(out)
    assert n == 3 and set(apps) == {b"NETSCAPE2.0", b"XMP DataXMP"}
    assert label_in_xmp(_xmp(out)) == '{"Label":"1","ContentProducer":"maker"}'
    with Image.open(io.BytesIO(out)) as img:
        assert img.n_frames == 3 and img.info.get("loop") == 0


def test_strip_keeps_only_the_label():
    out = process(_jpeg(), "imageMogr2/format/gif/strip").data
    packet = _xmp(out)
    assert label_in_xmp(packet) == '{"Label":"1","ContentProducer":"maker"}' and b"camera roll" not in packet
    assert _xmp(process(_jpeg(xmp_packet({"Label": "1"}).replace(b"<TC260", b"<X").replace(b"</TC260", b"</X")),
                        "imageMogr2/format/gif/strip").data) is None


def test_asking_the_label_for_a_gif_output_stays_113():
    # CI lists JPEG, PNG and AVIF for AIGCMetadata; cinb keeps CI's refusal for GIF
    with pytest.raises(CIError) as err:
        process(_jpeg(), f"imageMogr2/AIGCMetadata/Label/{b64('1')}/format/gif")
    assert err.value.code == -113
