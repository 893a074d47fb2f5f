"""CI's pixel limit, not Pillow's: no global is touched, 200 Mpx reads everywhere, > 250 Mpx is -447."""

from __future__ import annotations

import io
import struct
import threading
import warnings
import zlib

import pandas as pd
import pytest
from PIL import Image

import cinb
from cinb.decode import open_canvas, read_header, sniff
from cinb.errors import CIError
from cinb.imageinput import ImageInput
from cinb.info import image_info

PILLOW_DEFAULT = Image.MAX_IMAGE_PIXELS


def _jpeg(size=(64, 32)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "navy").save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _with_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """A JPEG whose frame header claims another size (the pixels are then missing: a corrupt file)."""
    sof = data.index(b"\xff\xc0")
    return data[:sof + 5] + struct.pack(">HH", height, width) + data[sof + 9:]


def _with_png_size(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = bytearray(data[12:29])  # b"IHDR" + 13 bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A real 20000 x 10000 (200 Mpx) greyscale JPEG: over Pillow's 179 Mpx error, within CI's 250 Mpx."""
    folder = tmp_path_factory.mktemp("big")
    path = folder / "big.jpg"
    img = Image.new("L", (20000, 10000), 128)
    img.paste(255, (0, 0, 10000, 10000))
    img.save(path, "JPEG", quality=50)
    del img
    return path


def test_opening_images_in_threads_leaves_pillows_global_alone():
    assert Image.MAX_IMAGE_PIXELS == PILLOW_DEFAULT
    jpeg, png = _jpeg(), _with_png_size(3, 2)
    gif = io.BytesIO()
    Image.new("P", (4, 4)).save(gif, "GIF")
    seen: set = set()
    errors: list = []

    def work():
        try:
            for _ in range(150):
                read_header(jpeg)
                read_header(png)
                open_canvas(jpeg)
                open_canvas(gif.getvalue())
                sniff(png)
                ImageInput(jpeg).image(16)
                seen.add(Image.MAX_IMAGE_PIXELS)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert seen == {PILLOW_DEFAULT}  # no thread ever saw None (the check off) or CI's 250 M
    assert Image.MAX_IMAGE_PIXELS == PILLOW_DEFAULT


def test_200_mpx_reads_on_every_path_without_pillows_bomb_error(big):
    assert 2 * PILLOW_DEFAULT < 200_000_000 < 250_000_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even Pillow's DecompressionBombWarning
        header = read_header(big)
        assert (header.width, header.height) == (20000, 10000)
        assert ImageInput(big).header().width == 20000
        assert ImageInput(big).image(256).size == (256, 128)
        assert ImageInput(big.read_bytes()).image(256).size == (256, 128)
        result = cinb.process(big, "imageMogr2/thumbnail/200x")
        assert (result.width, result.height) == (200, 100)
        assert image_info(big)["width"] == "20000"
    row = cinb.scan([str(big)], progress=False).iloc[0]
    assert (row["width"], row["height"]) == (20000, 10000) and pd.isna(row["error"])
    out = cinb.analyze([str(big)], "dims", "brightness", progress=False).iloc[0]
    assert out["width"] == 20000 and pd.isna(out["error"])
    assert Image.MAX_IMAGE_PIXELS == PILLOW_DEFAULT


@pytest.mark.parametrize("data", [_with_jpeg_size(_jpeg(), 20000, 12600), _with_png_size(20000, 12600)],
                         ids=["jpeg", "png"])
def test_over_250_mpx_is_ci_error_447_on_every_path(tmp_path, data):
    path = tmp_path / "huge.img"
    path.write_bytes(data)
    for call in (lambda: read_header(data), lambda: read_header(path), lambda: open_canvas(data),
                 lambda: open_canvas(path), lambda: cinb.process(path, "imageMogr2/thumbnail/200x"),
                 lambda: ImageInput(path).image(), lambda: ImageInput(data).header(), lambda: image_info(data)):
        with pytest.raises(CIError) as err:
            call()
        assert err.value.code == -447, err.value
    assert "X-ErrNo -447" in cinb.scan([str(path)], progress=False)["error"].iloc[0]
    assert "X-ErrNo -447" in cinb.analyze([str(path)], "brightness", progress=False)["error"].iloc[0]


def test_sniff_reads_a_header_without_checking_limits():
    assert sniff(_with_png_size(20000, 12600)) == ("png", 20000, 12600)
    assert sniff(b"") == ("unknown", 0, 0)
