"""Small synthetic inputs for the engine tests (built with Pillow, cached per session).

Every builder returns encoded ``bytes`` and is memoised, so the test modules share one copy of each
image without a conftest fixture. The helpers at the bottom read things back out of encoded outputs
(JPEG quality from the quantisation tables, progressive/baseline, frame durations) independently of
the engine's own code, so the tests never check the engine against itself.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache

import numpy as np
from PIL import Image, ImageCms, ImageOps, TiffImagePlugin

# Colours chosen far apart so that even a JPEG round trip keeps them recognisable.
RED = (220, 20, 20)
GREEN = (20, 200, 20)
BLUE = (20, 20, 220)
YELLOW = (230, 230, 20)

#: 3x3 grid colours, row-major from the top-left cell (NorthWest) to the bottom-right (SouthEast).
GRID_COLOURS = [
    (255, 0, 0), (0, 255, 0), (0, 0, 255),
    (255, 255, 0), (255, 0, 255), (0, 255, 255),
    (128, 0, 0), (0, 128, 0), (0, 0, 128),
]
#: Gravity name -> (row, column) of the grid cell it anchors to.
GRAVITY_CELLS = {
    "NorthWest": (0, 0), "North": (0, 1), "NorthEast": (0, 2),
    "West": (1, 0), "Center": (1, 1), "East": (1, 2),
    "SouthWest": (2, 0), "South": (2, 1), "SouthEast": (2, 2),
}


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    """Encode a PIL image to bytes."""
    buf = io.BytesIO()
    image.save(buf, format=fmt, **params)
    return buf.getvalue()


def open_bytes(data: bytes) -> Image.Image:
    """Open encoded bytes with Pillow (HEIF/AVIF included)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    return Image.open(io.BytesIO(data))


def _photo_array(width: int, height: int, seed: int = 7) -> np.ndarray:
    """A smooth colour field plus mild noise: compresses like a photograph."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 128 + 100 * np.sin(x / 37.0) * np.cos(y / 53.0)
    g = 128 + 100 * np.cos(x / 23.0 + y / 41.0)
    b = 128 + 90 * np.sin((x + y) / 61.0)
    arr = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (height, width, 3))
    return np.clip(arr, 0, 255).astype(np.uint8)


def quadrants(width: int, height: int) -> Image.Image:
    """RGB image: red top-left, green top-right, blue bottom-left, yellow bottom-right."""
    im = Image.new("RGB", (width, height), RED)
    hw, hh = width // 2, height // 2
    im.paste(GREEN, (hw, 0, width, hh))
    im.paste(BLUE, (0, hh, hw, height))
    im.paste(YELLOW, (hw, hh, width, height))
    return im


@cache
def photo_jpeg(width: int = 400, height: int = 300, quality: int = 80) -> bytes:
    """A photo-like baseline JPEG written by libjpeg at a known quality."""
    return encode(Image.fromarray(_photo_array(width, height)), "JPEG", quality=quality)


@cache
def quad_png(width: int = 400, height: int = 300) -> bytes:
    """Four-colour quadrant PNG (exact colours, for direction checks)."""
    return encode(quadrants(width, height), "PNG")


@cache
def plain_png(width: int, height: int, colour=(90, 120, 150)) -> bytes:
    """A flat-colour RGB PNG of any size."""
    return encode(Image.new("RGB", (width, height), colour), "PNG")


@cache
def grid_png(cell: int = 100) -> bytes:
    """3x3 grid of distinct colours, each cell ``cell`` px square (for gravity checks)."""
    im = Image.new("RGB", (3 * cell, 3 * cell))
    for i, colour in enumerate(GRID_COLOURS):
        row, col = divmod(i, 3)
        im.paste(colour, (col * cell, row * cell, (col + 1) * cell, (row + 1) * cell))
    return encode(im, "PNG")


@cache
def half_transparent_png(width: int = 200, height: int = 100) -> bytes:
    """RGBA PNG: left half fully transparent *black*, right half opaque blue.

    Flattening that ignores alpha turns the left half black; flattening onto white makes it white.
    """
    im = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    im.paste((0, 0, 255, 255), (width // 2, 0, width, height))
    return encode(im, "PNG")


@cache
def solid_png(colour=(0x12, 0x34, 0x56), size: int = 50) -> bytes:
    """A flat colour PNG with a known average."""
    return encode(Image.new("RGB", (size, size), colour), "PNG")


def _exif(orientation: int | None = None, make: str = "cinb-test") -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = make  # Make
    if orientation is not None:
        exif[0x0112] = orientation
    # ExposureTime lives in the Exif sub-IFD; 1/200 s must read back as "1/200".
    exif.get_ifd(0x8769)[0x829A] = TiffImagePlugin.IFDRational(1, 200)
    return exif


@cache
def srgb_icc() -> bytes:
    """An sRGB ICC profile built by LittleCMS."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@cache
def meta_jpeg(orientation: int = 1) -> bytes:
    """400x300 JPEG (q90) carrying EXIF (Make, Orientation, ExposureTime) and an sRGB ICC profile."""
    im = Image.fromarray(_photo_array(400, 300, seed=3))
    return encode(im, "JPEG", quality=90, exif=_exif(orientation).tobytes(), icc_profile=srgb_icc())


#: Pillow transpose that *displays* a stored image of the given orientation (as exif_transpose).
_DISPLAY = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}
#: Its inverse: how to *store* an upright picture so that it displays correctly.
_STORE = {**_DISPLAY, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}

UPRIGHT_SIZE = (80, 60)


@cache
def oriented_jpeg(orientation: int) -> bytes:
    """The same upright 80x60 quadrant picture, stored for EXIF orientation 1..8."""
    upright = quadrants(*UPRIGHT_SIZE)
    stored = upright if orientation == 1 else upright.transpose(_STORE[orientation])
    data = encode(stored, "JPEG", quality=95, exif=_exif(orientation).tobytes())
    # Sanity check of the fixture itself, independent of cinb: Pillow displays it upright.
    shown = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    assert shown.size == UPRIGHT_SIZE
    return data


@cache
def animated_gif(frames: int = 5, size=(120, 90), loop: int = 2) -> bytes:
    """Animated GIF with distinct frames, durations 100, 150, ... ms and a non-default loop count."""
    images = []
    for i in range(frames):
        im = Image.new("RGB", size, (40 + (i * 37) % 200, 200 - (i * 53) % 180, (i * 91) % 256))
        # A moving white bar keeps consecutive frames different (Pillow merges equal frames).
        x = (i * 7) % size[0]
        im.paste((255, 255, 255), (x, 0, min(x + 5, size[0]), size[1]))
        images.append(im)
    durations = [100 + 50 * (i % 5) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=durations, loop=loop, disposal=1)
    return buf.getvalue()


def gif_durations(data: bytes) -> list[int]:
    im = Image.open(io.BytesIO(data))
    out = []
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        out.append(im.info.get("duration"))
    return out


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, with a tiny (wrong) IDAT: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# ---------------------------------------------------------------------------------------------
# Reading results back


@cache
def _libjpeg_luma_tables() -> dict[int, tuple[int, ...]]:
    """libjpeg's luminance table for every quality 1..100, as Pillow writes it."""
    tile = Image.new("L", (8, 8), 128)
    tables = {}
    for q in range(1, 101):
        im = Image.open(io.BytesIO(encode(tile, "JPEG", quality=q)))
        tables[q] = tuple(im.quantization[0])
    return tables


def jpeg_quality(data: bytes) -> int:
    """Estimate a JPEG's IJG quality by matching its luminance quantisation table.

    Exact for files written by libjpeg-compatible encoders; otherwise the closest table wins.
    """
    table = tuple(Image.open(io.BytesIO(data)).quantization[0])
    tables = _libjpeg_luma_tables()
    for q, ref in tables.items():
        if ref == table:
            return q
    return min(tables, key=lambda q: sum(abs(a - b) for a, b in zip(tables[q], table, strict=True)))


def jpeg_markers(data: bytes) -> list[int]:
    """The marker bytes (0xC0 = baseline SOF0, 0xC2 = progressive SOF2, ...) up to start of scan."""
    markers, i = [], 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        i += 2 + length
    return markers


def mean_colour(image: Image.Image, box) -> tuple[float, float, float]:
    """Mean RGB inside a box (left, top, right, bottom)."""
    arr = np.asarray(image.convert("RGB").crop(box), dtype=np.float64)
    return tuple(arr.reshape(-1, 3).mean(axis=0))


def close(colour, expected, tol: float = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(colour, expected, strict=False))
