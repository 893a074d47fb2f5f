"""cinb.scan: header-only rows, errors in rows, fast JPEG path agreeing with Pillow."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct

import pandas as pd
import pytest
from PIL import Image

import cinb
from cinb.collection.scan import SCAN_COLUMNS
from cinb.errors import BAD_PARAMETER, CIError
from cinb.header import exif_summary, read_header
from collection_data import BAD, GOOD, SAMPLE


def test_scan_matches_the_sample_manifest():
    manifest = json.loads((SAMPLE / "MANIFEST.json").read_text())["files"]
    df = cinb.scan(SAMPLE, progress=False).set_index("name")
    assert sorted(df.index) == sorted(manifest)
    for name, expected in manifest.items():
        row = df.loc[name]
        got = (row["format"], row["mode"], row["width"], row["height"], row["frames"], row["bytes"])
        assert got == (expected["format"], expected["mode"], expected["width"], expected["height"],
                       expected["frames"], expected["bytes"]), name
    assert df["error"].isna().all()  # the truncated JPEG has a readable header: apply/analyze report it


def test_scan_reads_exif_summary():
    df = cinb.scan(SAMPLE, progress=False).set_index("name")
    assert [df.loc[f"orientation-{i}.jpg", "orientation"] for i in range(1, 9)] == list(range(1, 9))
    assert df.loc["astronaut.jpg", "camera"] == "NIKON D850"
    assert df.loc["astronaut.jpg", "captured"] == pd.Timestamp("2019-03-14 09:26:53")
    assert df.loc["photo.heic", "camera"] == "Apple iPhone 15 Pro"  # EXIF outside JPEG, via Pillow
    assert bool(df.loc["cmyk.jpg", "has_icc"]) and not bool(df.loc["cmyk-no-icc.jpg", "has_icc"])
    assert pd.isna(df.loc["camera.png", "orientation"]) and not df.loc["camera.png", "has_exif"]


def test_fast_jpeg_path_agrees_with_pillow():
    for path in sorted(SAMPLE.glob("*.jpg")):
        with Image.open(path) as im:
            exif = im.getexif()
            if im.format not in ("JPEG", "MPO"):
                continue
            expected = (im.size, im.mode, exif.get(0x0112), bool(im.info.get("icc_profile")))
        h = read_header(str(path))
        assert ((h.width, h.height), h.mode, h.exif_orientation, h.has_icc) == expected, path.name


def test_big_endian_exif_block():
    # Pillow writes little-endian EXIF; cameras (Nikon, Canon raw-derived) often write "MM".
    entries = [(0x010F, 2, 6, b"Nikon\x00"), (0x0112, 3, 1, struct.pack(">HH", 8, 0))]
    ifd = struct.pack(">H", len(entries))
    data_offset = 8 + 2 + 12 * len(entries) + 4
    tail = b""
    for tag, typ, count, value in entries:
        if len(value) > 4:
            ifd += struct.pack(">HHII", tag, typ, count, data_offset + len(tail))
            tail += value
        else:
            ifd += struct.pack(">HHI", tag, typ, count) + value.ljust(4, b"\x00")
    tiff = b"MM\x00*" + struct.pack(">I", 8) + ifd + b"\x00\x00\x00\x00" + tail
    out = exif_summary(tiff)
    assert (out["exif_orientation"], out["camera"]) == (8, "Nikon")


def test_mixed_folder_gives_rows_not_exceptions(mixed):
    df = cinb.scan(mixed, progress=False)
    names = df["name"].tolist()
    assert "notes.txt" not in names and "inner.jpg" in names  # walked into album.jpg/
    assert set(GOOD) | set(BAD) <= set(names)
    by = df.set_index("name")
    assert by.loc["empty.jpg", "error"].startswith("empty file")
    assert "X-ErrNo -113" in by.loc["random.png", "error"]
    assert "X-ErrNo -447" in by.loc["huge.png", "error"] and by.loc["huge.png", "width"] == 40000
    assert by.loc["not-really.jpg", "format"] == "gif" and pd.isna(by.loc["not-really.jpg", "error"])
    assert by.loc[GOOD, "error"].isna().all()
    assert list(df.columns) == ["path", *SCAN_COLUMNS, "error"]


def test_non_recursive_lists_a_directory_named_like_an_image(mixed):
    df = cinb.scan(mixed, recursive=False, progress=False).set_index("name")
    assert "inner.jpg" not in df.index
    assert df.loc["album.jpg", "error"].startswith("is a directory")


def test_lists_and_globs_keep_missing_and_odd_paths(mixed):
    paths = [mixed / "coffee.jpg", mixed / "gone.jpg", mixed / "album.jpg", str(mixed / "notes.txt")]
    df = cinb.scan(paths, progress=False)
    assert df["error"].tolist()[0] is None
    assert df["error"][1] == f"no such file: {mixed / 'gone.jpg'} (X-ErrNo -113)"
    assert df["error"][2].startswith("is a directory")
    assert "X-ErrNo -113" in df["error"][3]
    globbed = cinb.scan(str(mixed / "chelsea*"), progress=False)
    assert sorted(globbed["name"]) == ["chelsea-copy.bmp", "chelsea-small.jpg", "chelsea.jpg", "chelsea.png"]


def test_md5_only_when_asked(mixed):
    assert "md5" not in cinb.scan(mixed / "coffee.jpg", progress=False).columns
    df = cinb.scan(mixed / "coffee.jpg", md5=True, progress=False)
    assert df["md5"][0] == hashlib.md5((mixed / "coffee.jpg").read_bytes()).hexdigest()


def test_scan_pool_equals_single_process(mixed):
    one = cinb.scan(mixed, workers=1, progress=False)
    two = cinb.scan(mixed, workers=2, progress=False)
    pd.testing.assert_frame_equal(one, two)


@pytest.mark.parametrize("pool", ["inline", "fork", "spawn"])
def test_scan_pool_choice_gives_the_same_table(mixed, pool):
    one = cinb.scan(mixed, max_workers=1, progress=False)
    pd.testing.assert_frame_equal(one, cinb.scan(mixed, max_workers=2, pool=pool, progress=False))


def test_scan_bad_pool_and_workers_are_cierrors(mixed):
    with pytest.raises(CIError) as err:
        cinb.scan(mixed, pool="threads", progress=False)
    assert err.value.code == BAD_PARAMETER
    with pytest.raises(CIError) as err:
        cinb.scan(mixed, workers=1, max_workers=2, progress=False)
    assert err.value.code == BAD_PARAMETER


def test_rescan_a_table_and_empty_inputs(mixed):
    table = pd.DataFrame({"path": [str(mixed / "rocket.jpg")], "label": ["x"]})
    rescanned = cinb.scan(table, progress=False)
    assert rescanned["width"].tolist() == [640] and rescanned["label"].tolist() == ["x"]
    empty = cinb.scan([], progress=False)
    assert len(empty) == 0 and list(empty.columns) == ["path", *SCAN_COLUMNS, "error"]


def test_truncated_exif_does_not_break_the_row(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (33, 22)).save(buf, "JPEG", exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff")
    (tmp_path / "bad-exif.jpg").write_bytes(buf.getvalue())
    row = cinb.scan(tmp_path, progress=False).iloc[0]
    assert (row["width"], row["height"], row["has_exif"], row["error"]) == (33, 22, True, None)
    assert os.path.exists(row["path"])
