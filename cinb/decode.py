"""Decode: limits first (from the header, :mod:`cinb.header`), then pixels, EXIF orientation, ICC;
shrink-on-load.

Nothing here writes Pillow's globals: images are opened with :func:`cinb.header.open_image`, which
skips Pillow's process-wide decompression-bomb check, and CI's limits (spec §17) are checked from
the header through :func:`cinb.limits.check_input` before any pixel is decoded.
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path

from PIL import Image, ImageCms

from .caches import register_cache
from .canvas import Canvas
from .codecs.extended_xmp import join as join_extended
from .codecs.jpeg_quality import estimate_jpeg_quality
from .errors import CORRUPT_IMAGE, EMPTY_INPUT, FILE_TOO_LARGE, UNSUPPORTED_TYPE, CIError
from .formats import ci_name
from .header import Header, check_header, gif_frame_count, header_from_image, open_image, orientation_of, read_header  # noqa: F401
from .limits import LIMITS, Limits
from .ops.rotation import xmp_upright

Source = str | os.PathLike | bytes | bytearray | memoryview | Image.Image

#: Most encoded bytes handed to Pillow's JPEG decoder at once (see open_canvas).
_FEED_BYTES = 8 << 20


@register_cache
@functools.lru_cache(maxsize=64)
def _quality_of(tables: tuple[tuple[int, bytes], ...]) -> int | None:
    return estimate_jpeg_quality({index: list(table) for index, table in tables})


def source_jpeg_quality(quantization: dict | None) -> int | None:
    """:func:`~cinb.codecs.jpeg_quality.estimate_jpeg_quality`, remembered per set of tables.

    The photos of one camera share their tables, and the estimate (0.2-0.5 ms) is a few percent
    of a small thumbnail's time; a batch pays for it once per camera and quality setting.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.decode import source_jpeg_quality
    >>> buf = io.BytesIO(); Image.new("RGB", (16, 16)).save(buf, "JPEG", quality=77)
    >>> source_jpeg_quality(Image.open(buf).quantization), source_jpeg_quality(None)
    (77, None)
    """
    if not quantization:
        return None
    try:
        key = tuple(sorted((int(i), bytes(bytearray(t))) for i, t in quantization.items()))
    except (TypeError, ValueError):  # entries over 255 (16-bit tables): not worth a cache key
        return estimate_jpeg_quality(quantization)
    return _quality_of(key)


def read_source(src: Source, *, limits: Limits = LIMITS) -> tuple[bytes, str | None]:
    """The encoded bytes of ``src`` (a path or bytes) and its name, refusing files over 32 MB.

    Examples
    --------
    >>> from cinb.decode import read_source
    >>> read_source(b"abc")
    (b'abc', None)
    """
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        name = None
    elif isinstance(src, (str, os.PathLike)):
        path = Path(src)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise CIError(f"no such file: {path}", code=UNSUPPORTED_TYPE, token=str(path)) from None
        except OSError as exc:
            raise CIError(f"cannot read {path}: {exc.strerror or exc}", code=UNSUPPORTED_TYPE,
                          token=str(path)) from None
        if path.is_dir():
            raise CIError(f"{path} is a directory, not an image", code=UNSUPPORTED_TYPE, token=str(path))
        if size > limits.max_file_bytes:
            raise CIError(
                f"{path.name} is {size} bytes; CI's input limit is {limits.max_file_bytes} bytes (32 MB)",
                code=FILE_TOO_LARGE, token=str(path),
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CIError(f"cannot read {path}: {exc.strerror or exc}", code=UNSUPPORTED_TYPE,
                          token=str(path)) from None
        name = path.name
    else:
        raise CIError(f"cannot read an image from a {type(src).__name__}", code=UNSUPPORTED_TYPE)
    if len(data) > limits.max_file_bytes:
        raise CIError(
            f"input is {len(data)} bytes; CI's input limit is {limits.max_file_bytes} bytes (32 MB)",
            code=FILE_TOO_LARGE, token=name,
        )
    if not data:
        raise CIError(f"{name or 'input'} is empty (0 bytes)", code=EMPTY_INPUT, token=name)
    return data, name


def open_header(data: bytes, name: str | None = None, *, limits: Limits = LIMITS) -> tuple[Image.Image, Header]:
    """Open encoded bytes lazily (no pixels decoded) and read their header, CI's limits checked.

    Raises
    ------
    CIError
        -113 not an image, -447 over CI's resolution or frame limits.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.decode import open_header
    >>> import io
    >>> buf = io.BytesIO(); Image.new("RGB", (30, 20)).save(buf, "PNG")
    >>> img, header = open_header(buf.getvalue()); header.width, img.mode
    (30, 'RGB')
    """
    img = _open(data, name)
    try:
        return img, _checked_header(img, data, name, limits=limits)
    except Exception:
        img.close()
        raise


def sniff(data: bytes) -> tuple[str, int, int]:
    """``(format, width, height)`` of encoded bytes, limits unchecked; ``("unknown", 0, 0)`` if unreadable.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.decode import sniff
    >>> import io
    >>> buf = io.BytesIO(); Image.new("RGB", (3, 2)).save(buf, "GIF")
    >>> sniff(buf.getvalue()), sniff(b"garbage")
    (('gif', 3, 2), ('unknown', 0, 0))
    """
    try:
        with open_image(io.BytesIO(data)) as img:
            return ci_name(img.format), img.width, img.height
    except Exception:  # noqa: BLE001 - the bytes may not even be an image Pillow knows
        return "unknown", 0, 0


def _open(data: bytes, name: str | None) -> Image.Image:
    try:
        return open_image(io.BytesIO(data))
    except CIError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for garbage
        raise CIError(
            f"{name or 'input'} is not an image cinb can read ({type(exc).__name__})",
            code=UNSUPPORTED_TYPE, token=name,
        ) from None


def _checked_header(img: Image.Image, data: bytes | None, name: str | None, *, limits: Limits = LIMITS,
                    size_bytes: int | None = None) -> Header:
    """The header of an opened image with CI's limits checked (``data`` None: a JPEG opened by path)."""
    try:
        header = header_from_image(img, data, size_bytes=size_bytes, strict=False)
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for a damaged header
        raise CIError(f"{name or 'input'} is truncated or corrupt: {exc}", code=CORRUPT_IMAGE, token=name) from None
    return check_header(header, name or "input", token=name, limits=limits)


_SRGB = None


def _profile_for_frames(icc: bytes | None) -> bytes | None:
    """The profile to keep with the working frames: a CMYK profile is not (None).

    CMYK frames become sRGB (through that profile when it reads, :func:`_to_working_mode`), so a
    CMYK profile written beside them would describe data that is not there: colour managers refuse
    it (LittleCMS, libvips) and browsers ignore or misread it. Without a profile the pixels read as
    sRGB, which they are.

    Examples
    --------
    >>> from cinb.decode import _profile_for_frames
    >>> _profile_for_frames(bytes(16) + b"CMYK" + bytes(108)) is None
    True
    >>> _profile_for_frames(bytes(16) + b"RGB " + bytes(108)) is not None
    True
    """
    if icc and icc[16:20] == b"CMYK":
        return None
    return icc or None


def _to_working_mode(img: Image.Image) -> Image.Image:
    """Normalise a decoded frame to RGB, RGBA, L or LA."""
    global _SRGB
    mode = img.mode
    key = img.info.get("transparency")
    if key is not None and mode in ("RGB", "L", "I;16", "I;16B", "I;16L", "I"):
        return _keyed(img, key)
    if mode in ("RGB", "RGBA", "L", "LA"):
        return img
    if mode == "CMYK":
        icc = img.info.get("icc_profile")
        if icc:
            try:
                if _SRGB is None:
                    _SRGB = ImageCms.createProfile("sRGB")
                src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                converted = ImageCms.profileToProfile(img, src, _SRGB, outputMode="RGB")
                if converted is not None:  # None only when converting in place, which this does not ask
                    return converted
            except Exception:  # noqa: BLE001 - a broken profile: fall back to the naive conversion
                pass
        return img.convert("RGB")
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        import numpy as np

        a = np.asarray(img, dtype=np.uint32 if mode == "I" else np.uint16)
        return Image.fromarray(np.right_shift(a, 8).clip(0, 255).astype("uint8"), "L")
    if mode == "F":
        return img.convert("L")
    if mode == "1":
        return img.convert("L")
    if mode in ("P", "PA"):
        # An RGBA palette (DDS, some TGAs) carries alpha without a "transparency" entry.
        rgba_palette = img.palette is not None and img.palette.mode == "RGBA"
        return img.convert("RGBA" if (key is not None or mode == "PA" or rgba_palette) else "RGB")
    if mode in ("La",):
        return img.convert("LA")
    if mode in ("RGBa",):
        return img.convert("RGBA")
    return img.convert("RGB")


def _keyed(img: Image.Image, key) -> Image.Image:
    """A colour-keyed frame (PNG tRNS on RGB or grey) with its key colour transparent: RGBA or LA."""
    if img.mode == "RGB":
        return img.convert("RGBA")  # Pillow applies an RGB key itself
    import numpy as np

    if not isinstance(key, int):  # a damaged tRNS: no usable key
        return _to_working_mode(img.convert("L")) if img.mode != "L" else img
    a = np.asarray(img)
    alpha = np.where(a == key, 0, 255).astype(np.uint8)
    grey = a if img.mode == "L" else (a.astype(np.uint32) >> 8).clip(0, 255).astype(np.uint8)
    return Image.merge("LA", (Image.fromarray(grey), Image.fromarray(alpha)))


#: For each JPEG DCT scale (1/s), the least reduction the resize must still make from the scaled
#: decode for the thumbnail to match one made from the full decode. Measured against an exact
#: area-average of the full image in linear light (SSIMULACRA2; benchmarks/bench_thumbnail.py,
#: RESULTS.md "Thumbnails"), on 37 photos x 3 target sizes: at 1/2 and 1/4 a margin of 1.4 or more
#: costs at most 0.6 points (often it gains: the scaled IDCT is a good low-pass), 1.25 costs 1-5;
#: at 1/8 (the DC coefficient only, i.e. 8x8 block means) 1.9 still cost up to 2.6 points, 2.0
#: and more at most 0.5. So 1/2 and 1/4 need 1.5x, 1/8 needs 2x (the old rule asked 2x of all,
#: which sent most 4:3 photos, 1.95-1.97x from 1/4, to the slower 1/2 decode).
DCT_MARGINS: dict[int, float] = {8: 2.0, 4: 1.5, 2: 1.5}


def draft_target(header: Header, target: tuple[int, int] | None) -> tuple[int, int] | None:
    """The size to request from the JPEG decoder for a ``target``-sized result (None: full).

    The smallest DCT scale 1/s whose decode is still :data:`DCT_MARGINS` ``[s]`` times the target on
    both sides. The request is ``(W // s, H // s)``, which Pillow's ``draft`` turns into exactly 1/s.

    Examples
    --------
    >>> from cinb.decode import Header, draft_target
    >>> draft_target(Header("jpeg", 4032, 3024), (512, 384))  # 1/4 gives 1008x756, 1.97x
    (1008, 756)
    >>> draft_target(Header("jpeg", 4032, 3024), (256, 192))  # 1/8 gives 504x378, 1.97x < 2
    (1008, 756)
    >>> draft_target(Header("jpeg", 1000, 800), (600, 480)) is None  # less than 1.5x from 1/2
    True
    """
    if target is None or header.format != "jpeg" or header.frames > 1:
        return None
    W, H = header.width, header.height
    tw, th = target
    for s in (8, 4, 2):
        margin = DCT_MARGINS[s]
        if W >= margin * s * tw and H >= margin * s * th:
            return W // s, H // s
    return None


def open_canvas(src: Source, *, draft=None, limits: Limits = LIMITS) -> Canvas:
    """Decode ``src`` into a Canvas after checking CI's limits.

    Parameters
    ----------
    src : path, bytes or PIL.Image.Image
        The image.
    draft : (int, int) or callable, optional
        For JPEG sources: decode at a reduced scale that is still at least this size
        (shrink-on-load); a callable receives the Header and returns the size or None.
        The canvas then records the full size in ``nominal_size``.

    Raises
    ------
    CIError
        -167 file too large, -447 resolution or frames over CI's limits, -113 not an image,
        -443 truncated or corrupt.

    Examples
    --------
    >>> from cinb.decode import open_canvas
    >>> from PIL import Image
    >>> open_canvas(Image.new("RGB", (8, 8))).size
    (8, 8)
    """
    if isinstance(src, Image.Image):
        return _canvas_from_pil(src)
    img, data, name, path = _open_for_decode(src, limits)
    try:
        header = _checked_header(img, data, name, limits=limits,
                                 size_bytes=os.path.getsize(path) if data is None else None)
    except CIError:
        img.close()  # opened by path: do not leave the file handle to the garbage collector
        raise
    if callable(draft):
        draft = draft(header)
    label = name or "input"
    exif = img.info.get("exif")
    icc = img.info.get("icc_profile")
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    quality = None
    nominal = nominal_box = None
    try:
        if header.format == "jpeg":
            quality = source_jpeg_quality(getattr(img, "quantization", None))
            if header.size_bytes:
                # Pillow feeds libjpeg 64 KB at a time, and each refill suspends and resumes the
                # decoder: feeding the whole file (at most 8 MB) saves 2 % of a 12 Mpx thumbnail's
                # instructions (callgrind, RESULTS.md "Thumbnails").
                img.decodermaxblock = max(img.decodermaxblock, min(header.size_bytes, _FEED_BYTES))
            if draft and header.frames == 1:
                img.draft("RGB" if img.mode == "RGB" else img.mode, draft)
                if img.size != (header.width, header.height):
                    nominal = (header.width, header.height)
                    scale = img.decoderconfig[0]  # Pillow's ceil(W / scale) x ceil(H / scale)
                    nominal_box = (0.0, 0.0, header.width / scale, header.height / scale)
        frames: list[Image.Image] = []
        durations: list[int] = []
        unreadable = 0
        # A multi-image HEIF is a collection (bursts, depth maps, thumbnails), not an animation:
        # viewers and CI show its primary image, which is what pillow-heif opens; image 0 may differ.
        if header.frames > 1 and header.format != "heif":
            frames, durations, unreadable = _decode_frames(img, header.frames)
            frames = _same_size(_same_mode(frames))
        else:
            _allocate_without_bomb_check(img)
            img.load()
            frames.append(_to_working_mode(img))
    except CIError:
        img.close()  # opened by path: do not leave the file handle to the garbage collector
        raise
    except Exception as exc:  # noqa: BLE001 - truncated data, bad Huffman codes, zlib errors...
        img.close()
        raise CIError(f"{label} is truncated or corrupt: {exc}", code=CORRUPT_IMAGE, token=name) from None
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    if xmp and b"HasExtendedXMP" in xmp and header.format == "jpeg":
        xmp = join_extended(xmp, getattr(img, "applist", ()))
    if header.format in ("tiff", "heif"):  # decoded upright (cinb.header): no orientation is pending
        xmp = xmp_upright(xmp)
    icc = _profile_for_frames(icc)
    info: dict = {"frames_unreadable": unreadable} if unreadable else {}
    if img.info.get("metadata_dropped"):  # a block Pillow could not open the file with (cinb.header)
        info["metadata_dropped"] = list(img.info["metadata_dropped"])
    return Canvas(
        frames=frames,
        durations=durations,
        loop=img.info.get("loop") if header.frames > 1 else None,
        source_format=header.format,
        exif=exif if isinstance(exif, bytes) and exif else None,
        icc=icc or None,
        xmp=xmp or None,
        orientation=header.orientation,
        source_quality=quality,
        dpi=_dpi_of(img),
        _source=data,
        source_path=path if data is None else None,
        nominal_size=nominal,
        nominal_box=nominal_box,
        info=info,
    )


def _decode_frames(img: Image.Image, count: int) -> tuple[list[Image.Image], list[int], int]:
    """Every frame that decodes, with its duration, and how many of ``count`` did not.

    A damaged later frame ends the sequence (Pillow cannot resync after it), as libvips and browsers
    do; the first frame failing is a corrupt file. What an output needing every frame makes of a
    shortened sequence is the encoder's call (:func:`cinb.codecs.registry.encode` refuses it).
    """
    frames: list[Image.Image] = []
    durations: list[int] = []
    unreadable = 0
    for index in range(count):
        try:
            img.seek(index)
            _allocate_without_bomb_check(img)
            img.load()  # WebP/GIF update info["duration"] only once the frame is loaded
            frame = img.convert("RGBA") if img.mode == "P" else img.copy()
        except EOFError:
            break  # fewer frames than the header counted: nothing is missing from what exists
        except Exception:  # truncated data, bad LZW codes, zlib errors...: re-raised for the first frame
            if not frames:
                raise
            unreadable = count - len(frames)
            break
        durations.append(int(img.info.get("duration", 100) or 100))
        frames.append(_to_working_mode(frame))
    return frames, durations, unreadable


def _allocate_without_bomb_check(img: Image.Image) -> None:
    """Allocate a TIFF frame as Pillow's ``TiffImageFile.load_prepare`` does, minus its bomb check.

    That check compares with Pillow's global limit (179 Mpx) at load, so a 200 Mpx TIFF, within CI's
    250 Mpx (checked from the header before this), failed as "corrupt" (-443). Changing the global
    is not thread-safe (see :func:`cinb.header.open_image`); allocating the frame first is.
    """
    if img.format == "TIFF" and getattr(img, "_im", None) is None and hasattr(img, "_tile_size"):
        img.im = Image.core.new(img.mode, img._tile_size)


def _same_size(frames: list[Image.Image]) -> list[Image.Image]:
    """Frames of different sizes (multi-page TIFF, pyramids) on the first frame's canvas.

    The first frame's size is what the header reports (a GIF's logical screen); later frames are
    placed at its top-left corner and clipped to it, transparent where they do not reach, as
    browsers show a GIF whose frames overflow or underfill the screen.
    """
    size = frames[0].size
    if all(f.size == size for f in frames):
        return frames
    out = []
    for f in frames:
        if f.size != size:
            base = Image.new("RGBA" if f.mode in ("RGB", "RGBA") else "LA", size, 0)
            base.paste(f.convert(base.mode), (0, 0))
            f = base
        out.append(f)
    return _same_mode(out)


def _open_for_decode(src: Source, limits: Limits):
    """(image, bytes or None, name, path): JPEG files are decoded straight from disk.

    Reading a 5 MB photo into memory first costs an allocation and two copies (about 5 % of a
    thumbnail's time); the Canvas reads the bytes later only if a rule needs them. Other formats
    are read whole: the GIF frame count walks the bytes, and they are rarely large.
    """
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        try:
            is_file = path.is_file()
            with open(path, "rb") as fh:
                magic = fh.read(3) if is_file else b""
        except OSError:
            magic = b""
        if magic == b"\xff\xd8\xff":
            size = path.stat().st_size
            if size > limits.max_file_bytes:
                read_source(src, limits=limits)  # raises CI's -167 with its message
            try:
                img = open_image(path)
            except Exception:  # noqa: BLE001 - let the in-memory path report it the usual way
                img = None
            if img is not None and img.format in ("JPEG", "MPO"):
                return img, None, path.name, str(path)
            if img is not None:
                img.close()
    data, name = read_source(src, limits=limits)
    return _open(data, name), data, name, None


def _same_mode(frames: list[Image.Image]) -> list[Image.Image]:
    modes = {f.mode for f in frames}
    if len(modes) == 1:
        return frames
    return [f.convert("RGBA") for f in frames]


def _dpi_of(img: Image.Image) -> tuple[float, float] | None:
    """The source's resolution in dots per inch (JFIF, EXIF, pHYs, BMP, TIFF), None when absent."""
    dpi = img.info.get("dpi")
    if not isinstance(dpi, tuple | list) or len(dpi) < 2:
        return None
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError):
        return None
    return (x, y) if x > 0 and y > 0 else None


def _canvas_from_pil(img: Image.Image) -> Canvas:
    fmt = ci_name(img.format) if img.format else "png"
    check_header(Header(fmt, img.width, img.height), "image")
    exif = img.info.get("exif")
    return Canvas(
        frames=[_to_working_mode(img.copy())],
        source_format=fmt,
        exif=exif if isinstance(exif, bytes) and exif else None,
        icc=_profile_for_frames(img.info.get("icc_profile")),
        orientation=orientation_of(img) if exif else 1,
        source_quality=source_jpeg_quality(getattr(img, "quantization", None)) if fmt == "jpeg" else None,
        dpi=_dpi_of(img),
    )
