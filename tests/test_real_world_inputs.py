"""Issue 12: real-world files that broke the CIError contract or decoded wrong, and CI-doc parity.

Each input is built here with Pillow (or by hand where no writer exists), so the tests say exactly
which property of the file matters. Pixel tests check what a viewer would show.
"""

from __future__ import annotations

import io
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cinb
import engine_images as ei
from cinb import CIError
from cinb.header import read_header

M = "imageMogr2/"


def _encode(image: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def _code(call) -> int:
    with pytest.raises(CIError) as info:
        call()
    return info.value.code


def _frames(data: bytes) -> list[Image.Image]:
    im = ei.open_bytes(data)
    out = []
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        out.append(im.convert("RGBA"))
    return out


# ---------------------------------------------------------------------------------------------
# 0x0 images: Pillow opens some non-image formats (GRIB/BUFR/HDF5 stubs) as 0 x 0

GRIB_STUB = b"GRIB\x00\x00\x00\x01" + b"\x00" * 100


@pytest.mark.parametrize("rule", [M + "thumbnail/!50p", "imageView2/2/w/100", "imageView2/1/w/10/h/10",
                                  M + "format/png", "imageInfo", "imageAve", "exif"])
def test_a_zero_pixel_input_is_refused_with_a_ci_code(rule):
    assert _code(lambda: cinb.process(GRIB_STUB, rule)) in (-113, -443)


@pytest.mark.parametrize("fn", ["image_info", "image_ave", "exif"])
def test_info_functions_refuse_a_zero_pixel_input(fn):
    assert _code(lambda: getattr(cinb, fn)(GRIB_STUB)) in (-113, -443)


# ---------------------------------------------------------------------------------------------
# Frames of different sizes: composited onto the first frame's canvas (the logical screen)


def _mixed_size_tiff() -> bytes:
    first = Image.new("RGB", (40, 30), (255, 0, 0))
    second = Image.new("RGB", (20, 50), (0, 0, 255))  # narrower and taller than the first page
    return _encode(first, "TIFF", save_all=True, append_images=[second])


@pytest.mark.parametrize("fmt", ["webp", "gif", "avif"])
def test_pages_of_different_sizes_become_an_animation_the_size_of_the_first(fmt):
    result = cinb.process(_mixed_size_tiff(), M + f"format/{fmt}")
    frames = _frames(result.data)
    assert len(frames) == 2 and {f.size for f in frames} == {(40, 30)}
    assert (result.width, result.height) == (40, 30)
    if fmt == "webp":  # the container says it has alpha (libwebp leaves the flag unset here)
        assert result.data[20] & 0x10
    second = frames[1]
    assert ei.close(second.getpixel((5, 5))[:3], (0, 0, 255)) and second.getpixel((5, 5))[3] == 255
    assert second.getpixel((35, 5))[3] == 0  # outside the second page: transparent, as browsers show GIFs


def test_pages_of_different_sizes_to_a_still_format_keep_the_first_page():
    result = cinb.process(_mixed_size_tiff(), M + "format/png")
    assert result.image.size == (40, 30) and result.image.convert("RGB").getpixel((35, 25)) == (255, 0, 0)


# ---------------------------------------------------------------------------------------------
# Multi-image HEIC: the primary image, not image 0


@pytest.fixture(scope="module")
def heic_primary_second() -> bytes:
    red, blue = Image.new("RGB", (64, 48), (255, 0, 0)), Image.new("RGB", (32, 24), (0, 0, 255))
    data = _encode(red, "HEIF", save_all=True, append_images=[blue], primary_index=1, quality=90)
    assert ei.open_bytes(data).size == (32, 24)  # the fixture: image 1 is the primary
    return data


@pytest.mark.parametrize("fmt", ["png", "webp", "jpg"])
def test_a_multi_image_heic_decodes_its_primary_image(heic_primary_second, fmt):
    result = cinb.process(heic_primary_second, M + f"format/{fmt}")
    assert (result.width, result.height) == (32, 24) == result.image.size
    assert ei.close(result.image.convert("RGB").getpixel((16, 12)), (0, 0, 255), tol=20)


def test_image_ave_of_a_multi_image_heic_is_the_primary_images(heic_primary_second):
    r, g, b = bytes.fromhex(cinb.image_ave(heic_primary_second)["RGB"][2:])
    assert ei.close((r, g, b), (0, 0, 255), tol=20)


# ---------------------------------------------------------------------------------------------
# Damaged metadata is dropped (and said so), never fatal


def _tiff_ifd(entries: list[tuple[int, int, int, bytes]], extra: bytes = b"") -> bytes:
    out = b"II*\x00" + struct.pack("<IH", 8, len(entries))
    for tag, typ, count, value in entries:
        out += struct.pack("<HHI", tag, typ, count) + value
    return out + b"\x00\x00\x00\x00" + extra


def _jpeg_with_text_xresolution() -> bytes:
    """XResolution written as ASCII "72" (a RATIONAL by the spec), with an orientation tag."""
    exif = _tiff_ifd([(0x0112, 3, 1, b"\x01\x00\x00\x00"), (0x011A, 2, 4, b"72\x00\x00"),
                      (0x0128, 3, 1, b"\x02\x00\x00\x00")])
    return _encode(Image.new("RGB", (16, 16), (200, 30, 30)), "JPEG", exif=b"Exif\x00\x00" + exif)


@pytest.mark.parametrize("fmt", ["avif", "webp", "heif", "jpg", "png"])
def test_a_broken_exif_value_is_dropped_not_fatal(fmt):
    result = cinb.process(_jpeg_with_text_xresolution(), M + f"format/{fmt}")
    assert result.image.size == (16, 16)
    if fmt == "avif":  # the one encoder that re-serialises the block (to take the orientation out)
        assert "exif" in result.info["metadata_dropped"]


def test_a_jpeg_pillow_cannot_open_for_its_exif_is_read_without_it():
    # XResolution as a BYTE: Pillow's JPEG plugin fails while reading the DPI (libjpeg reads it)
    exif = _tiff_ifd([(0x011A, 1, 1, b"\x48\x00\x00\x00"), (0x0128, 3, 1, b"\x02\x00\x00\x00")])
    data = _encode(Image.new("RGB", (16, 12), (200, 30, 30)), "JPEG", exif=b"Exif\x00\x00" + exif)
    result = cinb.process(data, M + "format/png")
    assert result.image.size == (16, 12) and ei.close(result.image.getpixel((8, 6)), (200, 30, 30))
    assert result.info["metadata_dropped"] == ["exif"]
    assert cinb.image_info(data)["width"] == "16"


@pytest.mark.parametrize("source", ["PNG", "HEIF"])
def test_exif_too_long_for_a_jpeg_segment_is_dropped(source):
    exif = Image.Exif()
    exif[0x010F] = "cinb"
    exif[0x010E] = "x" * 70_000  # ImageDescription: the block no longer fits JPEG's 64 KB APP1
    src = _encode(Image.new("RGB", (20, 20), "red"), source, exif=exif.tobytes())
    for rule in (M + "format/jpg", M + "format/yjpeg"):
        result = cinb.process(src, rule)
        assert result.format == "jpeg" and result.image.size == (20, 20)
        assert "exif" in result.info["metadata_dropped"]
        assert "exif" not in result.image.info


def test_metadata_that_fits_is_kept_and_no_drop_is_reported():
    result = cinb.process(ei.meta_jpeg(), M + "format/avif")
    assert "metadata_dropped" not in result.info
    assert ei.open_bytes(result.data).getexif()[0x010F] == "cinb-test"


# ---------------------------------------------------------------------------------------------
# Batch errors always carry a CI code


@pytest.fixture(scope="module")
def odd_folder(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("odd")
    (root / "stub.tif").write_bytes(GRIB_STUB)
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.png").write_bytes(b"not an image at all\n" * 20)
    (root / "cut.jpg").write_bytes(ei.photo_jpeg()[:900])
    (root / "good.png").write_bytes(ei.quad_png(64, 48))
    (root / "mixed.tif").write_bytes(_mixed_size_tiff())
    (root / "odd.dds").write_bytes(_unknown_fourcc_dds())  # Pillow's plugin raises NotImplementedError
    return str(root)


def _unknown_fourcc_dds() -> bytes:
    header = bytearray(_encode(Image.new("L", (8, 8)), "DDS")[:128])
    header[80:88] = struct.pack("<I", 0x4) + b"ZZZZ"  # DDPF_FOURCC with a code no decoder knows
    return bytes(header) + bytes(64)


def test_an_unknown_image_variant_is_unsupported_not_a_crash():
    data = _unknown_fourcc_dds()
    assert _code(lambda: cinb.process(data, M + "format/png")) == -113
    assert _code(lambda: read_header(data)) == -113


def test_every_scan_error_carries_a_ci_code(odd_folder):
    df = cinb.scan(odd_folder, progress=False)
    assert len(df) == 6  # odd.dds: not an extension scan reads
    errors = [e for e in df["error"] if isinstance(e, str)]
    assert len(errors) >= 3 and all(re.search(r"X-ErrNo -\d+\)$", e) for e in errors), errors


def test_every_analyze_error_carries_a_ci_code(odd_folder, tmp_path):
    import pandas as pd

    paths = sorted(str(p) for p in Path(odd_folder).iterdir())
    paths.append(str(tmp_path / "missing.jpg"))
    df = cinb.analyze(pd.DataFrame({"path": paths}), "image_info", "phash", "sharpness", "image_ave", pool="inline")
    errors = [part for e in df["error"] if isinstance(e, str) for part in e.split("; ")]
    assert len(errors) >= 5 and all(re.search(r"X-ErrNo -\d+\)$", e) for e in errors), errors
    good = df[df["path"].str.endswith("good.png")].iloc[0]
    assert good["error"] is None or pd.isna(good["error"])


# ---------------------------------------------------------------------------------------------
# Wrong output: pixel tests


def _red_corner_tiff(orientation: int, compression: str | None) -> bytes:
    stored = Image.new("RGB", (40, 20), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 10, 10))  # red in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    params = {"exif": exif}
    if compression:
        params["compression"] = compression
    return _encode(stored, "TIFF", **params)


@pytest.mark.parametrize("compression", [None, "tiff_lzw", "jpeg"])
def test_tiff_orientation_is_applied_once(compression):
    data = _red_corner_tiff(6, compression)  # 6: rotate 90 degrees clockwise to display
    shown = cinb.process(data, M + "auto-orient/format/png").image.convert("RGB")
    assert shown.size == (20, 40)
    assert ei.close(shown.getpixel((15, 3)), (255, 0, 0))  # red now top-right, as a viewer shows it
    # Without auto-orient the output displays the same (no orientation tag left to apply twice).
    plain = cinb.process(data, M + "format/png")
    assert plain.image.size == (20, 40) and plain.image.getexif().get(0x0112, 1) == 1


def test_trns_colour_key_on_rgb_png_stays_transparent():
    im = Image.new("RGB", (20, 10), (10, 200, 30))
    im.paste((255, 0, 255), (0, 0, 10, 10))
    result = cinb.process(_encode(im, "PNG", transparency=(255, 0, 255)), M + "format/png")
    out = result.image.convert("RGBA")
    assert out.getpixel((2, 2))[3] == 0 and out.getpixel((15, 2)) == (10, 200, 30, 255)


@pytest.mark.parametrize("mode,key,other", [("I;16", 1000, 30000), ("L", 50, 200)])
def test_trns_colour_key_on_grey_png_stays_transparent(mode, key, other):
    a = np.full((10, 20), other, "<u2" if mode == "I;16" else "u1")
    a[:, :10] = key
    im = Image.frombytes(mode, (20, 10), a.tobytes())
    result = cinb.process(_encode(im, "PNG", transparency=key), M + "format/png")
    out = result.image.convert("LA")
    assert out.getpixel((2, 2))[1] == 0 and out.getpixel((15, 2))[1] == 255


def _palette_dds() -> bytes:
    """An 8x8 DDS with an 8-bit palette whose entry 0 is transparent red, entry 1 opaque blue.

    Pillow reads such files (DDPF_PALETTEINDEXED8, an RGBA palette) but cannot write them, so the
    file is made from an L DDS: same header, the flags switched, the palette inserted.
    """
    lum = _encode(Image.new("L", (8, 8)), "DDS")
    header = bytearray(lum[:128])
    header[80:84] = struct.pack("<I", 0x20)  # pixel format flags: DDPF_PALETTEINDEXED8
    palette = bytes([255, 0, 0, 0, 0, 0, 255, 255]) + bytes(1016)
    pixels = bytes([0] * 32 + [1] * 32)  # top half index 0, bottom half index 1
    return bytes(header) + palette + pixels


def test_dds_palette_alpha_is_kept():
    data = _palette_dds()
    assert Image.open(io.BytesIO(data)).mode == "P"
    out = cinb.process(data, M + "format/png").image.convert("RGBA")
    assert out.getpixel((1, 1))[3] == 0 and out.getpixel((1, 6)) == (0, 0, 255, 255)


def test_animated_gif_to_animated_webp_keeps_transparency():
    frames = []
    for i in range(3):
        f = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
        f.paste((255, 0, 0, 255), (i * 5, 0, i * 5 + 5, 20))
        frames.append(f)
    gif = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], disposal=2, duration=100, loop=0)
    out = _frames(cinb.process(gif, M + "format/webp").data)
    assert len(out) == 3
    for i, frame in enumerate(out):
        assert frame.getpixel((i * 5 + 2, 10)) == (255, 0, 0, 255)
        assert frame.getpixel((17, 10))[3] == 0, i  # never covered by red: transparent in every frame


@pytest.mark.parametrize("rule", [M + "thumbnail/!200p/size-limit/1m!", M + "rotate/90/thumbnail/!150p/size-limit/1m!"])
def test_size_limit_keeping_the_original_reports_the_originals_size(rule):
    src = _encode(Image.new("RGB", (300, 200), (200, 10, 10)), "JPEG", quality=30)
    result = cinb.process(src, rule)
    assert result.data == src and result.info["size_limit_kept_original"]
    assert (result.width, result.height) == (300, 200) == result.image.size


# ---------------------------------------------------------------------------------------------
# A broken later frame: the frames that decode are kept when the output needs only them


def _gif_with_broken_third_frame() -> bytes:
    data = ei.animated_gif(4, (30, 20))
    starts = [m.start() for m in re.finditer(rb"\x2c\x00\x00\x00\x00", data)]
    return data[:starts[2] + 15]  # cut inside the third frame's LZW data


def test_a_broken_later_frame_still_gives_the_first_frame_as_a_still_image():
    data = _gif_with_broken_third_frame()
    result = cinb.process(data, M + "format/png")
    assert result.image.size == (30, 20)
    assert result.info["frames_unreadable"] >= 1


def test_a_broken_later_frame_is_refused_when_the_output_keeps_every_frame():
    assert _code(lambda: cinb.process(_gif_with_broken_third_frame(), M + "format/webp")) == -443


# ---------------------------------------------------------------------------------------------
# Parity with CI's documentation


@pytest.mark.parametrize("rule,fmt", [("imageView2/format/png", "png"), ("imageView2/q/50/format/jpg", "jpeg"),
                                      ("imageView2/interlace/1", "jpeg")])
def test_imageview2_without_a_mode_only_encodes(rule, fmt):
    result = cinb.process(ei.photo_jpeg(400, 300), rule)
    assert result.format == fmt and result.image.size == (400, 300)
    assert str(cinb.parse_rule(rule)) == str(cinb.parse_rule(str(cinb.parse_rule(rule))))


def test_imageview2_without_a_mode_still_refuses_w_or_h():
    assert _code(lambda: cinb.parse_rule("imageView2/w/100")) == -103


@pytest.mark.parametrize("rule", [M + "bright/150/ignore-error/1", M + "ignore-error/1/rotate/400",
                                  M + "quality/101/ignore-error/1", M + "thumbnail/!1000p/ignore-error/1",
                                  M + "blur/60x60/ignore-error/1", "imageView2/2/w/100/q/200/ignore-error/1"])
def test_an_out_of_range_parameter_under_ignore_error_returns_the_original(rule):
    src = ei.photo_jpeg(80, 60)
    result = cinb.process(src, rule)
    assert result.data == src and result.info["ignored_error"] == -103


@pytest.mark.parametrize("rule", [M + "bright/150", M + "rotate/400/ignore-error/0"])
def test_an_out_of_range_parameter_without_ignore_error_is_still_an_error(rule):
    assert _code(lambda: cinb.process(ei.photo_jpeg(80, 60), rule)) == -103


@pytest.mark.parametrize("rule", [M + "bogus/1/ignore-error/1", M + "rotate/abc/ignore-error/1",
                                  M + "thumbnail/1x2x3/ignore-error/1"])
def test_grammar_errors_under_ignore_error_stay_errors(rule):
    assert _code(lambda: cinb.process(ei.photo_jpeg(80, 60), rule)) == -103


@pytest.mark.parametrize("rule", [M + "format/heif", M + "format/heic", M + "thumbnail/!50p/format/heif"])
def test_gif_to_heif_is_refused_as_ci_does(rule):
    assert _code(lambda: cinb.process(ei.animated_gif(3, (20, 16)), rule)) == -113
    still = _encode(Image.new("RGB", (20, 16), "red"), "GIF")
    assert _code(lambda: cinb.process(still, rule)) == -113


def test_other_sources_to_heif_still_convert():
    assert cinb.process(ei.photo_jpeg(80, 60), M + "format/heif").format == "heif"


def test_a_blind_watermark_image_over_an_eighth_of_the_picture_is_refused(tmp_path):
    import base64

    (tmp_path / "photo.png").write_bytes(ei.encode(Image.fromarray(ei._photo_array(256, 256)), "PNG"))
    mark = Image.new("L", (64, 64), 0)
    mark.paste(255, (0, 0, 32, 64))
    (tmp_path / "big.png").write_bytes(_encode(mark, "PNG"))  # 64 px > 256 / 8
    (tmp_path / "ok.png").write_bytes(_encode(mark.resize((32, 32)), "PNG"))  # exactly 1/8

    def rule(name: str) -> str:
        return "watermark/3/type/1/image/" + base64.urlsafe_b64encode(f"http://b/{name}".encode()).decode()

    assert _code(lambda: cinb.process(tmp_path / "photo.png", rule("big.png"))) == -103
    assert cinb.process(tmp_path / "photo.png", rule("ok.png")).image.size == (256, 256)


@pytest.mark.parametrize("src", [b"", bytearray(), "path"])
def test_empty_input_is_ci_error_40168(src, tmp_path):
    if src == "path":
        src = tmp_path / "empty.jpg"
        src.write_bytes(b"")
    assert _code(lambda: cinb.process(src, M + "thumbnail/!50p")) == -40168
    assert _code(lambda: cinb.image_info(src)) == -40168


def test_pic_operations_original_format_is_upper_case_results_lower_case(tmp_path):
    src = tmp_path / "a.jpg"
    src.write_bytes(ei.photo_jpeg(80, 60))
    ops = {"is_pic_info": 1, "rules": [{"fileid": "b.png", "rule": M + "format/png"}]}
    answer = cinb.pic_operations(src, ops, bucket_dir=tmp_path)
    assert answer["OriginalInfo"]["ImageInfo"]["Format"] == "JPEG"
    assert answer["ProcessResults"]["Object"][0]["Format"] == "png"


# ---------------------------------------------------------------------------------------------
# Memory at CI's resolution limit (benchmarks/bench_memory.py measures every path)


def _solid_png(path: Path, width: int, height: int, colour=(40, 90, 160)) -> None:
    """A PNG of one colour, written row by row (the test never holds the pixels): about 1 s at 250 Mpx."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    z = zlib.compressobj(1)
    first = b"\x00" + bytes(colour) * width
    up = b"\x02" + bytes(3 * width)  # filter "Up": every later row equals the one above
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        idat = [z.compress(first)] + [z.compress(up) for _ in range(height - 1)] + [z.flush()]
        f.write(chunk(b"IDAT", b"".join(idat)) + chunk(b"IEND", b""))


MEMORY_CHILD = """
import resource, sys
import pandas as pd
import cinb
path = sys.argv[1]
assert cinb.image_ave(path) == {"RGB": "0x285aa0"}
df = cinb.analyze(pd.DataFrame({"path": [path]}), "image_ave", "phash", "pixel_hash", "sharpness",
                  pool="inline", progress=False)
assert df["error"].isna().all(), df["error"].iloc[0]
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    _solid_png(path, 15811, 15811)  # 250.0 Mpx, CI's limit
    return path


@pytest.mark.slow
def test_image_ave_and_analyses_of_a_250_mpx_png_stay_under_2_gb(huge_png):
    import subprocess
    import sys

    path = huge_png
    assert cinb.image_info(path)["width"] == "15811"
    proc = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(path)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak_mb = int(proc.stdout.split()[-1])
    assert peak_mb <= 2048, f"peak RSS {peak_mb} MB"


@pytest.mark.slow
@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_a_crop_larger_than_pillows_bomb_limit_is_processed(huge_png):
    # 225 Mpx: over Pillow's 179 Mpx DecompressionBombError, within CI's 250 Mpx input limit
    result = cinb.process(huge_png, M + "cut/15000x15000x10x10/thumbnail/300x/format/png")
    assert result.image.size == (300, 300) and result.image.getpixel((5, 5)) == (40, 90, 160)


@pytest.mark.slow
def test_a_200_mpx_tiff_within_cis_limit_is_decoded(tmp_path):
    # Pillow's TIFF plugin checks its own 179 Mpx limit when it loads the pixels
    path = tmp_path / "big.tif"
    Image.new("L", (16000, 12500), 77).save(path, compression="tiff_adobe_deflate")
    assert cinb.image_ave(path) == {"RGB": "0x4d4d4d"}
    assert cinb.process(path, M + "thumbnail/160x/format/png").image.size == (160, 125)
