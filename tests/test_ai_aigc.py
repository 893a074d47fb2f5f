"""ImageAIGCMetadata (spec §19.13): the TC260 AIGC label read from each container, CI's answer shape,
unreadable labels answer {} with the reason in info, bad input is CI's error, analysis and CLI."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib

import pytest
from PIL import Image, PngImagePlugin

import cinb
from cinb import CIError
from cinb.ai.aigc import FIELDS, MAX_TEXT, TC260_NS, read_aigc, xmp_packet

LABEL = {"Label": "1", "ContentProducer": "001191110108MA01KP2T5U00000", "ProduceID": "a1b2c3",
         "ReservedCode1": "ewogICAgIm", "ContentPropagator": "001191110108MA01KP2T5U00000",
         "PropagateID": "p-42", "ReservedCode2": "ewogICAgL"}


def _image(mode="RGB"):
    return Image.new(mode, (24, 16), (40, 120, 200))


def _saved(fmt: str, **options) -> bytes:
    if fmt == "HEIF":
        pytest.importorskip("pillow_heif").register_heif_opener()
    buf = io.BytesIO()
    _image().save(buf, fmt, **options)
    return buf.getvalue()


def _png_with(kind: bytes, key: bytes, text: bytes) -> bytes:
    """A PNG with one extra text chunk written by hand (so broken chunks can be made too)."""
    png = _saved("PNG")
    body = key + b"\x00" + text
    chunk = struct.pack(">I4s", len(body), kind) + body + struct.pack(">I", zlib.crc32(kind + body))
    return png[:33] + chunk + png[33:]  # after the 8-byte signature and the 25-byte IHDR chunk


def _aigc(src):
    return cinb.ci_process(src, "ImageAIGCMetadata")


# --- every container ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "AVIF", "HEIF"])
def test_the_label_is_read_from_the_xmp_of_each_format(fmt):
    r = _aigc(_saved(fmt, xmp=xmp_packet(LABEL)))
    assert r.json == {"AIGC": LABEL} and list(r.json["AIGC"]) == list(FIELDS)
    assert r.info["aigc_source"] == "xmp"


@pytest.mark.parametrize("zip_", [False, True])
def test_png_itxt_xmp_plain_and_compressed(zip_):
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp_packet(LABEL).decode("utf-8"), zip=zip_)
    assert _aigc(_saved("PNG", pnginfo=info)).json == {"AIGC": LABEL}


def test_png_aigc_text_chunk_without_xmp():
    png = _png_with(b"tEXt", b"AIGC", json.dumps(LABEL).encode())
    r = _aigc(png)
    assert r.json == {"AIGC": LABEL} and r.info["aigc_source"] == "png-text"


def test_attribute_form_other_prefix_numbers_and_unknown_keys():
    value = json.dumps({"Label": 2, "ContentProducer": "x&y", "Extra": "dropped"}).replace('"', "&quot;")
    packet = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              f'<rdf:Description rdf:about="" xmlns:aigc="{TC260_NS}" aigc:AIGC="{value.replace("&y", "&amp;y")}"/>'
              '</rdf:RDF></x:xmpmeta>').encode()
    assert _aigc(_saved("JPEG", xmp=packet)).json == {"AIGC": {"Label": "2", "ContentProducer": "x&y"}}


def test_jpeg_extended_xmp_is_joined():
    """A packet over 64 KB continues in extended-XMP segments (XMP spec part 3), in any order."""
    full = xmp_packet(LABEL)
    guid = b"0123456789ABCDEF0123456789ABCDEF"
    ext = b"http://ns.adobe.com/xmp/extension/\x00"
    half = len(full) // 2
    segments = b""
    for offset, piece in ((half, full[half:]), (0, full[:half])):
        body = ext + guid + struct.pack(">II", len(full), offset) + piece
        segments += b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    jpeg = _saved("JPEG")
    assert _aigc(jpeg[:2] + segments + jpeg[2:]).json == {"AIGC": LABEL}


def test_a_decoded_image_keeps_what_pillow_read():
    with Image.open(io.BytesIO(_saved("JPEG", xmp=xmp_packet(LABEL)))) as img:
        assert _aigc(img).json == {"AIGC": LABEL}


# --- no label, unreadable labels -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP"])
def test_no_label_answers_empty(fmt):
    r = _aigc(_saved(fmt))
    assert r.json == {} and r.xml.startswith("<Response") and "AIGC" not in r.xml and "aigc_problem" not in r.info


def test_xmp_without_a_tc260_property_answers_empty():
    packet = xmp_packet(LABEL).replace(TC260_NS.encode(), b"http://purl.org/dc/elements/1.1/")
    r = _aigc(_saved("JPEG", xmp=packet))
    assert r.json == {} and "aigc_problem" not in r.info


@pytest.mark.parametrize("make, problem", [
    (lambda: _saved("JPEG", xmp=b"<x:xmpmeta><TC260:AIGC>{\"Label\": \"1\"}</oops>"), "not XML"),
    (lambda: _saved("JPEG", xmp=xmp_packet(LABEL).replace(b'{"Label"', b'{Label'), ), "unreadable"),
    (lambda: _saved("WEBP", xmp=xmp_packet(["Label", "1"])), "not an object"),  # type: ignore[arg-type]
    (lambda: _saved("JPEG", xmp=xmp_packet({"Producer": "x"})), "none of the TC260 fields"),
    (lambda: _png_with(b"tEXt", b"AIGC", b"\xff\xfe{not utf-8"), "unreadable"),
    (lambda: _png_with(b"zTXt", b"XML:com.adobe.xmp", b"\x00" + b"not zlib data"), "does not inflate"),
])
def test_an_unreadable_label_answers_empty_and_says_why(make, problem):
    r = _aigc(make())
    assert r.json == {} and problem in r.info["aigc_problem"]


def test_a_compressed_chunk_inflating_too_far_is_refused():
    """Pillow's header read refuses a PNG text chunk inflating past 1 MB (-443, as every endpoint);
    the byte reader has its own limit for callers of ``read_aigc``."""
    png = _png_with(b"zTXt", b"XML:com.adobe.xmp", b"\x00" + zlib.compress(b"<" + b" " * 5_000_000 + b">"))
    with pytest.raises(CIError) as err:
        _aigc(png)
    assert err.value.code == -443
    problem = f"a compressed PNG text chunk inflates past {MAX_TEXT} bytes"
    assert read_aigc(png, "png") == ({}, {"aigc_problem": problem})


def test_a_file_cut_inside_its_xmp_segment():
    """Cut before the frame header: the file is corrupt (-443, the header read's answer for every endpoint);
    ``read_aigc`` on the same bytes says the segment is truncated instead of reading past it."""
    jpeg = _saved("JPEG", xmp=xmp_packet(LABEL))
    cut = jpeg[:jpeg.index(b"http://ns.adobe.com/xap/1.0/") + 200]
    with pytest.raises(CIError) as err:
        _aigc(cut)
    assert err.value.code == -443
    assert read_aigc(cut, "jpeg") == ({}, {"aigc_problem": "the JPEG's XMP segment is truncated"})


@pytest.mark.parametrize("raw, code", [(b"not an image at all", -113), (b"", -40168)])
def test_bad_input_is_cierror_with_cis_codes(raw, code):
    with pytest.raises(CIError) as err:
        _aigc(raw)
    assert err.value.code == code


def test_the_endpoint_takes_no_parameters():
    with pytest.raises(CIError, match="has no parameter") as err:
        cinb.ci_process(_saved("JPEG"), "ImageAIGCMetadata", label=1)
    assert err.value.code == -103


# --- analysis, CLI --------------------------------------------------------------------------------------


def test_aigc_analysis_flags_the_labelled_files(tmp_path):
    (tmp_path / "made.jpg").write_bytes(_saved("JPEG", xmp=xmp_packet(LABEL)))
    (tmp_path / "photo.png").write_bytes(_saved("PNG"))
    (tmp_path / "broken.webp").write_bytes(_saved("WEBP", xmp=b"<no xml"))
    df = cinb.analyze(str(tmp_path), "aigc", workers=1, progress=False).set_index("name")
    assert df.loc["made.jpg", "aigc"] and df.loc["made.jpg", "aigc_label"] == "1"
    assert df.loc["made.jpg", "aigc_producer"] == LABEL["ContentProducer"]
    assert df.loc["made.jpg", "aigc_propagate_id"] == "p-42"
    assert not df.loc["photo.png", "aigc"] and not df.loc["broken.webp", "aigc"]
    assert df["error"].isna().all()


def test_cli_prints_cis_json(tmp_path):
    path = tmp_path / "made.jpg"
    path.write_bytes(_saved("JPEG", xmp=xmp_packet(LABEL)))
    out = subprocess.run([sys.executable, "-m", "cinb", "ai", "ImageAIGCMetadata", str(path)], capture_output=True,
                         text=True, check=True)
    assert json.loads(out.stdout) == {"AIGC": LABEL}


@pytest.mark.parametrize("fmt, marker, problem", [("WEBP", b"XMP ", "the WebP's XMP chunk is truncated"),
                                                  ("PNG", b"iTXt", "the PNG's iTXt chunk is truncated")])
def test_read_aigc_says_a_cut_chunk_is_truncated(fmt, marker, problem):
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp_packet(LABEL).decode("utf-8"))
        data = _saved("PNG", pnginfo=info)
    else:
        data = _saved(fmt, xmp=xmp_packet(LABEL))
    cut = data[:data.index(marker) + 40]
    assert read_aigc(cut, fmt.lower()) == ({}, {"aigc_problem": problem})


# --- GIF: the XMP Application Extension (XMP Part 3 §1.1.2), as format/gif keeps it ------------------------


def _gif_with_label(**save) -> bytes:
    from cinb.codecs.gif import with_xmp

    buf = io.BytesIO()
    frames = [Image.new("RGB", (24, 16), (v, 40, 200)) for v in (0, 120, 240)]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], **save)
    return with_xmp(buf.getvalue(), xmp_packet(LABEL))


def test_a_label_kept_by_format_gif_reads_back():
    """The reviewer's case: a label written into a JPEG, the JPEG converted to GIF, the GIF read back."""
    from cinb.ops.aigc import AIGCMetadata

    rule = "imageMogr2/" + "/".join(AIGCMetadata(tuple(LABEL.items())).tokens())
    jpeg = cinb.process(_saved("PNG"), rule + "/format/jpg").data
    gif = cinb.process(jpeg, "imageMogr2/format/gif").data
    r = _aigc(gif)
    assert r.json == {"AIGC": LABEL} and r.info["aigc_source"] == "xmp"
    assert _aigc(cinb.process(jpeg, "imageMogr2/format/gif/strip").data).json == {"AIGC": LABEL}


def _local_tables(gif: bytes) -> int:
    """Image descriptors of the 24x16 frames that say a local colour table follows."""
    return sum(1 for k in range(len(gif) - 10)
               if gif[k] == 0x2C and gif[k + 5:k + 9] == b"\x18\x00\x10\x00" and gif[k + 9] & 0x80)


@pytest.mark.parametrize("where", ["after the loop and a comment", "after the frames", "local colour tables"])
def test_the_gif_xmp_extension_is_found_wherever_the_blocks_put_it(where):
    if where == "after the frames":  # XMP Part 3 allows it anywhere; move the block before the GIF trailer
        gif = _gif_with_label(duration=50, loop=0)
        start = gif.index(b"\x21\xff\x0bXMP DataXMP")
        end = gif.index(bytes(range(255, -1, -1)) + b"\x00", start) + 257
        gif = gif[:start] + gif[end:-1] + gif[start:end] + b"\x3b"
        assert gif.index(b"XMP DataXMP") > gif.rindex(b"\x2c\x00\x00\x00\x00")
    elif where == "local colour tables":  # a palette per frame: colour bytes never read as blocks
        gif = _gif_with_label(duration=50, loop=0, optimize=False, comment=b"\x21\xff\x0bXMP DataXMP")
        assert _local_tables(gif) >= 2
    else:
        gif = _gif_with_label(duration=50, loop=0, comment=b"XMP DataXMP is not here")
    assert read_aigc(gif, "gif") == ({"AIGC": LABEL}, {"aigc_source": "xmp"})
    assert _aigc(gif).json == {"AIGC": LABEL}


def test_a_damaged_gif_never_crashes_the_reader():
    """A cut inside the XMP extension or a lost trailer is a problem said in info; a cut or garbage elsewhere
    gives what was found before it; no cut and no flipped byte raises."""
    gif = _gif_with_label(duration=50, loop=0)
    start = gif.index(b"XMP DataXMP")
    assert read_aigc(gif[:start + 60], "gif") == ({}, {"aigc_problem": "the GIF's XMP extension is truncated"})
    trailer = gif.index(b"\x01\xff\xfe\xfd")
    lost = gif[:trailer + 7] + b"\x00" + gif[trailer + 8:]  # the walk now stops inside the trailer
    assert read_aigc(lost, "gif") == ({}, {"aigc_problem": "the GIF's XMP extension has no magic trailer"})
    assert read_aigc(gif[:-20], "gif") == ({"AIGC": LABEL}, {"aigc_source": "xmp"})  # the last frame cut
    assert read_aigc(gif[:start - 3], "gif") == ({}, {})
    assert read_aigc(gif[:13] + b"\x99" + gif[13:], "gif") == ({}, {})  # garbage before any block
    for cut in range(0, len(gif), 7):
        read_aigc(gif[:cut], "gif")
    rng = __import__("random").Random(5)
    for _ in range(300):
        pos = rng.randrange(len(gif))
        damaged = gif[:pos] + bytes([rng.randrange(256)]) + gif[pos + 1:]
        answer, info = read_aigc(damaged, "gif")
        assert set(answer) <= {"AIGC"} and set(info) <= {"aigc_source", "aigc_problem"}


def test_aigc_analysis_reads_gifs(tmp_path):
    (tmp_path / "kept.gif").write_bytes(_gif_with_label(duration=50, loop=0))
    (tmp_path / "plain.gif").write_bytes(_saved("GIF"))
    df = cinb.analyze(str(tmp_path), "aigc", workers=1, progress=False).set_index("name")
    assert df.loc["kept.gif", "aigc"] and df.loc["kept.gif", "aigc_produce_id"] == LABEL["ProduceID"]
    assert not df.loc["plain.gif", "aigc"] and df["error"].isna().all()
