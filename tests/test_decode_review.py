"""Review of the decode and thumbnail path (shrink-on-load, source bytes, rule cache): each test is a
case that failed before its fix, or a check against the reference path (full decode + the same ops)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import cinb


@pytest.fixture()
def jpeg_file(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (640, 480), (90, 140, 200)).save(path, "JPEG", quality=77)
    return path


def test_a_thumbnail_of_a_jpeg_file_does_not_read_the_file_into_memory(jpeg_file, monkeypatch):
    # open_canvas decodes a JPEG straight from disk so that a 5 MB photo is not copied into memory
    # first; the engine then read the whole file anyway, to see whether a bare imageInfo could
    # answer with the stored bytes.
    reads = []
    real = Path.read_bytes

    def counting(self):
        reads.append(self)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    r = cinb.process(jpeg_file, "imageMogr2/thumbnail/!25p/format/png")
    assert (r.width, r.height) == (160, 120)
    assert reads == []
    assert cinb.process(jpeg_file, "imageInfo").json["size"] == str(jpeg_file.stat().st_size)
