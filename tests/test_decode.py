"""Decoding details: JPEGs opened straight from disk, lazily read source bytes, MPO files."""

from __future__ import annotations

import pytest
from PIL import Image

import cinb
from cinb.decode import open_canvas


@pytest.fixture()
def jpeg_file(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (640, 480), (90, 140, 200)).save(path, "JPEG", quality=77)
    return path


def test_jpeg_by_path_reads_bytes_only_when_asked(jpeg_file):
    canvas = open_canvas(jpeg_file, draft=(160, 120))
    assert canvas.source_path == str(jpeg_file) and canvas._source is None
    assert canvas.source_quality == 77 and canvas.nominal_size == (640, 480)
    assert canvas.source_bytes == jpeg_file.read_bytes()  # read on demand, then kept


def test_rules_needing_the_original_get_it_from_disk(jpeg_file):
    data = jpeg_file.read_bytes()
    assert cinb.process(jpeg_file, "imageInfo").json["size"] == str(len(data))
    kept = cinb.process(jpeg_file, "imageMogr2/quality/100!/size-limit/5m!")
    assert kept.data == data and kept.info["size_limit_kept_original"]
    ignored = cinb.process(jpeg_file, "imageMogr2/thumbnail/20000x/ignore-error/1")
    assert ignored.data == data and ignored.info["ignored_error"] == -442


def test_paths_and_bytes_decode_alike(jpeg_file):
    by_path = cinb.process(jpeg_file, "imageMogr2/thumbnail/!25p/format/png")
    by_bytes = cinb.process(jpeg_file.read_bytes(), "imageMogr2/thumbnail/!25p/format/png")
    assert by_path.data == by_bytes.data


def test_truncated_jpeg_on_disk_is_corrupt(jpeg_file, tmp_path):
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(jpeg_file.read_bytes()[:400])
    with pytest.raises(cinb.CIError) as info:
        cinb.process(cut, "imageMogr2/thumbnail/10x")
    assert info.value.code in (-443, -113)


def test_mpo_is_one_picture(tmp_path):
    path = tmp_path / "camera.mpo.jpg"
    first, second = Image.new("RGB", (64, 48), "red"), Image.new("RGB", (64, 48), "blue")
    first.save(path, "MPO", save_all=True, append_images=[second])
    with Image.open(path) as im:
        assert im.n_frames == 2
    r = cinb.process(path, "imageMogr2/format/gif")
    assert r.info["frames"] == 1 and getattr(r.image, "n_frames", 1) == 1
    assert r.image.convert("RGB").getpixel((5, 5))[0] > 200  # the first (red) picture
    assert cinb.image_info(path)["frame_count"] == "1"


@pytest.mark.parametrize("quality", [30, 77, 95])
def test_remembered_source_quality_is_the_estimate_of_each_files_own_tables(tmp_path, quality):
    from cinb.codecs.jpeg_quality import estimate_jpeg_quality
    from cinb.decode import source_jpeg_quality

    path = tmp_path / f"q{quality}.jpg"
    Image.new("RGB", (64, 48), (90, 140, 200)).save(path, "JPEG", quality=quality)
    with Image.open(path) as img:
        tables = img.quantization
    assert source_jpeg_quality(tables) == estimate_jpeg_quality(tables) == quality
    assert open_canvas(path).source_quality == quality  # same tables again: remembered, same answer
    custom = {0: [2] * 64, 1: [300] * 64}  # a 16-bit table: estimated without the cache
    assert source_jpeg_quality(custom) == estimate_jpeg_quality(custom)
