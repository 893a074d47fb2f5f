"""One formats table: every registered format's facts agree with what cinb reads, writes and names."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from PIL import Image

import cinb
from cinb.cli import main
from cinb.codecs.registry import codec_for
from cinb.collection.apply import output_name
from cinb.collection.sources import is_image_name
from cinb.decode import open_canvas, sniff
from cinb.errors import CIError
from cinb.formats import (
    Format,
    canonical_token,
    ci_name,
    file_extension,
    find_format,
    format_for_extension,
    format_for_pil,
    formats,
    get_format,
    read_extensions,
    register_format,
)
from cinb.header import read_header

FORMATS = formats()


def _small(fmt: Format) -> bytes:
    """A tiny image in ``fmt``: through cinb's codec when it writes the format, else Pillow's saver."""
    img = Image.new("RGB", (24, 16), (200, 30, 60))
    if fmt.writable:
        return cinb.process(img, f"imageMogr2/format/{fmt.tokens[0]}").data
    buf = io.BytesIO()
    img.save(buf, fmt.pil_names[0])
    return buf.getvalue()


def test_the_built_in_formats_are_registered():
    names = {f.name for f in FORMATS}
    assert {"jpeg", "png", "gif", "webp", "bmp", "avif", "heif", "tiff", "ico", "ppm", "tpg"} <= names
    assert {f.name for f in FORMATS if f.writable} == {"jpeg", "png", "gif", "webp", "bmp", "avif", "heif"}


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_every_format_round_trips_its_facts(fmt):
    assert get_format(fmt.name) is fmt and find_format(fmt.name.upper()) is fmt
    for token in (*fmt.tokens, *fmt.variants):
        assert get_format(token) is fmt
        assert canonical_token(token) == (token if token in fmt.variants else fmt.tokens[0])
    for pil_name in fmt.pil_names:
        assert format_for_pil(pil_name) is fmt and ci_name(pil_name) == fmt.name
    for ext in fmt.extensions:
        assert format_for_extension(ext) is fmt and format_for_extension("IMG_1" + ext.upper()) is fmt
        assert ext in read_extensions() and is_image_name("x" + ext)
    if fmt.extension:
        assert fmt.extension in fmt.extensions
        assert file_extension(fmt.name) == fmt.extension[1:]
    if fmt.writable:
        assert fmt.tokens and fmt.pil_names and fmt.extension and fmt.mime
        assert codec_for(fmt.tokens[0]).name == fmt.name
    if fmt.encodes_as:
        assert get_format(fmt.encodes_as).writable and codec_for(fmt.name).name == fmt.encodes_as
    if fmt.pil_names:  # a file in the format reads back as it
        data = _small(fmt)
        assert read_header(data).format == fmt.name
        assert sniff(data)[0] == fmt.name
        assert open_canvas(data).source_format == fmt.name
    if fmt.writable:
        result = cinb.process(Image.new("RGB", (8, 8)), f"imageMogr2/format/{fmt.tokens[0]}")
        assert result.format == fmt.name and result.extension == fmt.extension[1:]


def test_read_extensions_are_exactly_the_registered_ones():
    assert read_extensions() == {e for f in FORMATS for e in f.extensions}
    assert {".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".dib", ".heic", ".heif", ".tif", ".tiff"} <= read_extensions()


def test_unknown_names():
    with pytest.raises(CIError) as err:
        get_format("jpeg2000")
    assert err.value.code == -113 and err.value.token == "jpeg2000"
    assert find_format("jpeg2000") is None and canonical_token("jpeg2000") is None
    assert format_for_pil("PCX") is None and ci_name("PCX") == "pcx"
    assert format_for_extension(".txt") is None and not is_image_name("notes.txt")
    assert file_extension("json") == "json"


def test_a_plugin_cannot_claim_another_formats_names():
    with pytest.raises(ValueError, match="'.jpg' already belongs to format 'jpeg'"):
        register_format(Format("jpegxl", tokens=("jxl",), extensions=(".jxl", ".jpg")))
    assert find_format("jxl") is None  # nothing of the refused format was registered
    with pytest.raises(ValueError):
        Format("JPEG")
    with pytest.raises(ValueError):
        Format("x", extensions=("jpg",))


def test_a_new_format_is_one_registration():
    register_format(Format("qoi-test", tokens=("qoi-test",), pil_names=("QOI-TEST",), extensions=(".qoi-test",),
                           extension=".qoi-test", mime="image/qoi"))
    try:
        assert get_format("qoi-test").mime == "image/qoi"
        assert is_image_name("a.QOI-TEST") and file_extension("qoi-test") == "qoi-test"
    finally:  # leave the table as the plugins made it
        import cinb.formats as table

        for index in (table._FORMATS, table._BY_TOKEN, table._BY_PIL, table._BY_EXTENSION):
            for key in [k for k, v in index.items() if v.name == "qoi-test"]:
                del index[key]
    assert find_format("qoi-test") is None


# The two bugs of issue 9.

def test_heif_output_gets_the_same_extension_from_process_and_apply(capsys, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (32, 24), "teal").save(src / "a.png")
    assert main(["process", str(src), "imageMogr2/format/heif", "-o", str(tmp_path / "out")]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.heic"]
    assert output_name("{stem}.{ext}", {"path": str(src / "a.png")}, "heif") == "a.heic"
    assert cinb.process(src / "a.png", "imageMogr2/format/heic").extension == "heic"
    applied = cinb.apply([str(src / "a.png")], "imageMogr2/format/heif", tmp_path / "applied", progress=False)
    assert applied["out_path"].iloc[0].endswith("a.heic")


def test_process_dir_reads_every_extension_scan_reads(capsys, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    img = Image.new("RGB", (20, 10), "orange")
    for name in ("a.jfif", "b.jpe", "c.JPG"):
        img.save(src / name, "JPEG")
    img.save(src / "d.dib", "BMP")
    img.save(src / "e.tif", "TIFF")
    (src / "notes.txt").write_text("not an image")
    assert main(["process", str(src), "imageMogr2/thumbnail/!50p", "-o", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg", "b.jpg", "c.jpg", "d.bmp", "e.png"]
    scanned = cinb.scan(src, progress=False)
    assert sorted(scanned["name"]) == ["a.jfif", "b.jpe", "c.JPG", "d.dib", "e.tif"]


def test_the_table_is_complete_after_import_cinb_in_a_fresh_process():
    code = ("import cinb; from cinb.formats import get_format, read_extensions; "
            "print(get_format('heic').extension, '.jfif' in read_extensions())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == [".heic", "True"]
