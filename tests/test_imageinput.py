"""ImageInput: one upright RGB view of an image from a path, bytes or a PIL image, decoded once."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cinb import process
from cinb.collection.analyses import ImageContext
from cinb.decode import open_canvas
from cinb.errors import CIError
from cinb.imageinput import ImageInput
from cinb.ops.rotation import AutoOrient

SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "sample"


def _fit(img: Image.Image, size: int) -> Image.Image:
    scale = size / max(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BILINEAR,
                      reducing_gap=2.0)


@pytest.fixture(scope="module")
def oriented(tmp_path_factory):
    """One odd-sized noisy picture saved with each EXIF orientation 1-8."""
    folder = tmp_path_factory.mktemp("orient")
    base = Image.fromarray(np.random.default_rng(0).integers(0, 256, (403, 601, 3), dtype=np.uint8))
    paths = {}
    for value in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = value
        paths[value] = folder / f"o{value}.png"
        base.save(paths[value], exif=exif.tobytes())
    return paths


@pytest.mark.parametrize("value", range(1, 9))
def test_image_is_oriented_exactly_as_open_canvas_then_auto_orient(oriented, value):
    upright = AutoOrient().apply(open_canvas(oriented[value])).frames[0]
    img = ImageInput(oriented[value])
    assert np.array_equal(np.asarray(img.image(None)), np.asarray(upright))
    # the fitted view is the upright picture, fitted: orientation first (the other order moves pixels)
    assert np.array_equal(np.asarray(img.image(100)), np.asarray(_fit(upright, 100)))
    assert img.image(100).size == ((100, 67) if value < 5 else (67, 100))


@pytest.mark.parametrize("value", range(1, 9))
def test_sample_orientations_agree_with_process_auto_orient(value):
    path = SAMPLE / f"orientation-{value}.jpg"
    expected = process(path, "imageMogr2/auto-orient/format/png").image.convert("RGB")
    assert np.array_equal(np.asarray(ImageInput(path).image(None)), np.asarray(expected))


def test_path_bytes_and_pil_sources_give_the_same_views():
    path = SAMPLE / "transparent.png"
    data = path.read_bytes()
    views = [ImageInput(path), ImageInput(str(path)), ImageInput(data), ImageInput(bytearray(data)),
             ImageInput(Image.open(io.BytesIO(data)))]
    first = views[0].rgb(128)
    for view in views:
        assert view.header().width == 451 and view.header().height == 300
        assert np.array_equal(view.rgb(128), first)
        assert view.gray(128).shape == (85, 128) and view.gray(128).dtype == np.float32
    assert [v.label for v in views] == ["transparent.png", "transparent.png", "input", "input", "input"]
    assert views[0].path == str(path) and views[2].path is None
    assert views[0].data == data and views[2].data == data and views[4].data is None
    assert views[0].size_bytes == len(data) == views[2].size_bytes and views[4].size_bytes is None


def test_alpha_is_flattened_on_white_and_never_enlarged():
    img = Image.new("RGBA", (40, 20), (255, 0, 0, 0))
    img.paste((0, 0, 255, 255), (0, 0, 10, 20))
    view = ImageInput(img)
    out = view.image(512)
    assert out.mode == "RGB" and out.size == (40, 20)
    assert out.getpixel((30, 10)) == (255, 255, 255) and out.getpixel((5, 10)) == (0, 0, 255)
    assert view.mode == "RGBA"


def test_views_are_cached_per_size():
    view = ImageInput(SAMPLE / "astronaut.jpg")
    assert view.image(64) is view.image(64) and view.rgb(64) is view.rgb(64)
    assert view.image(64).size == (64, 64) and view.image(None).size == (512, 512)
    assert view.canvas(None) is view.canvas(None)


def test_jpeg_shrinks_on_load():
    view = ImageInput(SAMPLE / "astronaut.jpg")
    assert view.canvas(100).size == (128, 128)  # decoded at 1/4 scale: still >= 100 px a side
    assert view.canvas(None).size == (512, 512)


def test_construction_never_reads_and_failures_are_cached(tmp_path):
    missing = ImageInput(tmp_path / "gone.jpg")  # no error yet
    assert missing.label == "gone.jpg"
    with pytest.raises(CIError) as err:
        missing.header()
    assert err.value.code == -113 and "gone.jpg" in str(err.value)
    garbage = ImageInput(b"definitely not an image")
    with pytest.raises(CIError) as first:
        garbage.image()
    with pytest.raises(CIError) as again:
        garbage.canvas()
    assert first.value is again.value and first.value.code == -113
    with pytest.raises(CIError) as err:
        ImageInput(12).header()
    assert err.value.code == -113


def test_truncated_file_reads_its_header_but_not_its_pixels():
    view = ImageInput(SAMPLE / "truncated.jpg")
    assert view.header().width == 600
    with pytest.raises(CIError) as err:
        view.image()
    assert err.value.code == -443


def test_over_limit_header_is_refused_before_decoding():
    with pytest.raises(CIError) as err:
        ImageInput(Image.new("1", (30001, 1))).header()
    assert err.value.code == -447


def test_image_context_is_image_input():
    assert ImageContext is ImageInput


def test_engine_analyses_read_bytes_and_pil_sources_too():
    from cinb.collection.analyses.engine_info import image_ave, image_info

    path = SAMPLE / "chelsea.png"
    expected = image_info(ImageInput(path))
    assert image_info(ImageInput(path.read_bytes())) == expected
    assert image_ave(ImageInput(Image.open(path)))["ave_rgb"] == image_ave(ImageInput(path))["ave_rgb"]
    assert ImageInput(path).source == str(path) and ImageInput(b"x").source == b"x"


@pytest.fixture
def decodes(monkeypatch):
    """Every decode ImageInput makes, as the draft it asked for (the real open_canvas runs)."""
    import cinb.imageinput as module

    calls = []
    real = module.open_canvas

    def counting(src, *, draft=None, **kw):
        calls.append(draft)
        return real(src, draft=draft, **kw)

    monkeypatch.setattr(module, "open_canvas", counting)
    return calls


def _jpeg(tmp_path, size, name="p.jpg", **save):
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)).resize(size)
    path = tmp_path / name
    img.save(path, quality=90, **save)
    return path


@pytest.mark.parametrize("size", [(1200, 800), (2000, 1500), (640, 2000)])
def test_a_decode_that_comes_out_full_size_serves_the_full_size_too(tmp_path, decodes, size):
    # DetectFace / face-effect: find_faces asks image(2000), the answer's picture frame(): one decode
    from cinb.ai.faces import DETECT_SIDE

    view = ImageInput(_jpeg(tmp_path, size))
    assert view.image(DETECT_SIDE).size == size
    assert view.frame().size == size and view.frame_count() == 1
    assert view.canvas(None) is view.canvas(DETECT_SIDE) and view.image(None).size == size
    assert len(decodes) == 1
    # and the other way round: a full decode first serves a request it could not reduce for
    other = ImageInput(_jpeg(tmp_path, size, "q.jpg"))
    other.frame()
    other.image(max(size))
    other.image(3000)
    assert len(decodes) == 2


def test_face_effect_and_detect_face_decode_a_small_jpeg_once(tmp_path, decodes):
    import cinb
    from cinb import data

    path = tmp_path / "astronaut.jpg"
    Image.open(data.astronaut()).convert("RGB").save(path, quality=92)
    cinb.ci_process(path, "DetectFace")
    assert len(decodes) == 1
    cinb.ci_process(path, "face-effect", type="face-beautify")
    assert len(decodes) == 2


def _photo(size) -> Image.Image:
    from cinb import data

    return Image.open(data.astronaut()).convert("RGB").resize(size, Image.Resampling.BICUBIC)


def _shift_error(a: np.ndarray, b: np.ndarray, dx: int, dy: int) -> float:
    h, w = min(a.shape[0], b.shape[0]) - 4, min(a.shape[1], b.shape[1]) - 4
    return float(np.abs(a[2:2 + h, 2:2 + w].astype(float) - b[2 + dy:2 + dy + h, 2 + dx:2 + dx + w]).mean())


@pytest.mark.parametrize("size, orientation, mode", [
    ((4000, 3000), 1, "RGB"), ((4001, 3001), 6, "RGB"), ((3001, 4001), 8, "RGB"), ((4000, 2250), 3, "CMYK"),
    ((4000, 3000), 1, "L")])
def test_detection_size_decodes_reduced_with_the_full_decodes_geometry(tmp_path, decodes, size, orientation, mode):
    # image(2000) of a 4000 x 3000 JPEG: the 1/2 DCT decode (long side >= 2000), not the full one
    from cinb.ai.faces import DETECT_SIDE

    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "big.jpg"
    _photo(size).convert(mode).save(path, quality=92, exif=exif.tobytes())
    view = ImageInput(path)
    small = view.image(DETECT_SIDE)
    canvas = view.canvas(DETECT_SIDE)
    assert decodes == [(2000, round(2000 * min(size) / max(size))) if size[0] >= size[1]
                       else (round(2000 * min(size) / max(size)), 2000)]
    assert canvas.size == tuple((v + 1) // 2 for v in size) and canvas.nominal_size == size
    full = ImageInput(path)
    upright = full.image(None)
    expected = _fit(upright, DETECT_SIDE)
    assert small.size == expected.size and small.mode == "RGB"
    a, b = np.asarray(small.convert("L")), np.asarray(expected.convert("L"))
    error = _shift_error(a, b, 0, 0)
    assert error < 2.5  # the same picture: DCT scaling against a bilinear reduction
    for dx, dy in ((1, 0), (0, 1), (-1, 0), (0, -1)):  # and in the same place: any 1 px shift is worse
        assert _shift_error(a, b, dx, dy) > error * 1.5
    assert view.canvas(DETECT_SIDE).icc == full.canvas(None).icc


@pytest.mark.parametrize("size, side, scale", [
    ((1024, 683), 512, 2), ((683, 1024), 512, 2), ((1200, 400), 512, 2), ((4000, 3000), 512, 4),
    ((6000, 4000), 512, 8), ((1022, 700), 512, 1), ((1023, 700), 512, 2), ((16, 9), 2, 8), ((3000, 7), 100, 4)])
def test_the_reduced_decode_keeps_the_long_side_and_nothing_more(tmp_path, size, side, scale):
    # the largest DCT scale whose long side still reaches the size asked (a short side that does not divide
    # evenly used to round the scale down to a full decode: 1024 x 683 at 512 px)
    path = tmp_path / "p.jpg"
    _photo(size).save(path, quality=85)
    canvas = ImageInput(path).canvas(side)
    assert canvas.size == tuple(-(-v // scale) for v in size)
    assert max(canvas.size) >= side


def test_reduced_decode_keeps_the_icc_profile(tmp_path):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    path = tmp_path / "icc.jpg"
    _photo((4000, 3000)).save(path, quality=90, icc_profile=icc)
    view = ImageInput(path)
    assert view.canvas(2000).size == (2000, 1500) and view.canvas(2000).icc == icc


@pytest.mark.parametrize("kind", ["missing", "folder", "empty path"])
def test_a_path_that_is_no_file_is_cierror_113_as_the_decoder_says(tmp_path, kind):
    # one answer for a path with nothing to read, whichever accessor asks first (cinb.decode.read_source's)
    from cinb.decode import read_source

    path = {"missing": tmp_path / "gone.jpg", "folder": tmp_path, "empty path": ""}[kind]
    with pytest.raises(CIError) as engine:
        read_source(path) if kind != "empty path" else read_source("")
    for first in ("header", "image", "canvas", "frame", "size_bytes"):
        view = ImageInput(path)
        with pytest.raises(CIError) as err:
            attr = getattr(view, first)
            attr() if callable(attr) else attr
        assert err.value.code == engine.value.code == -113
        assert type(err.value) is CIError and err.value.__cause__ is None
        with pytest.raises(CIError) as again:
            view.header()
        assert again.value.code == -113


def test_a_pil_jpeg_is_copied_once_for_every_size(decodes):
    from cinb import data

    view = ImageInput(Image.open(data.astronaut()).convert("RGB").resize((900, 600)))
    buf = io.BytesIO()
    Image.open(data.astronaut()).convert("RGB").save(buf, "JPEG")
    opened = ImageInput(Image.open(io.BytesIO(buf.getvalue())))  # format "JPEG": still no reduced decode
    for v in (view, opened):
        assert v.image(100).size[0] == 100 and v.image(200).size[0] == 200 and v.image(None) is not None
    assert len(decodes) == 2
