"""A small binding to jpegli's C API: fractional quality or distance, optimised Huffman tables.

pyjpegli's Python API takes only an integer quality and never sets ``optimize_coding``, so its files
carry the standard Huffman tables (4.4 % of the bytes on photos, 9.2 % on screenshots and scans, at q85;
benchmarks/RESULTS.md "Compression round 2"). Its extension module, though, is jpegli itself and exports
the libjpeg-6b-shaped C API (``jpegli_CreateCompress`` ... ``jpegli_finish_compress``). No other
installable package carries jpegli (Debian's libjxl packages do not ship it; pyjpegli is the wheel that
does), so this module drives that API through ctypes.

Why that is safe enough, and where it is not:

- The structure layout is libjpeg 6.2's on LP64 (jpegli is built as ``JPEG_LIB_VERSION`` 62):
  ``jpegli_CreateCompress`` checks the version and the structure size itself.
- jpegli reports errors through ``error_exit``, which cannot unwind a ctypes call; every input is
  therefore validated here first (RGB, 1..65535 px a side, distance 0.01..25, quality 1..100), so
  jpegli has nothing left to refuse but memory.
- Before first use a 16x16 encode must reproduce ``pyjpegli.encode`` bit for bit (same settings,
  standard tables); if it does not (another pyjpegli build, another layout), :func:`available` is
  False and callers fall back to ``pyjpegli.encode`` / libjpeg.
"""

from __future__ import annotations

import ctypes
import functools
import math
import sys

_STRUCT_SIZE = 520  # sizeof(struct jpeg_compress_struct), libjpeg 6.2 on LP64
_ERR_SIZE = 168  # sizeof(struct jpeg_error_mgr)
_OFF_WIDTH, _OFF_HEIGHT, _OFF_COMPONENTS, _OFF_COLOR_SPACE = 48, 52, 56, 60
_OFF_COMP_INFO, _OFF_QUANT_TBL_PTRS, _OFF_OPTIMIZE = 88, 96, 264
_COMP_INFO_SIZE, _OFF_H_SAMP, _OFF_V_SAMP = 96, 8, 12
_JCS_RGB = 2
_JPEG_LIB_VERSION = 62
#: Distances jpegli accepts (``cjpegli --distance``: 0.01 - 25).
MIN_DISTANCE, MAX_DISTANCE = 0.01, 25.0
_MAX_SIDE = 65535
_SAMPLING = {"4:2:0": (2, 2), "4:2:2": (2, 1), "4:4:4": (1, 1)}
# Natural-order index of each zigzag position (ITU T.81 figure A.6): fractional qualities refine the
# highest frequencies first (small steps in bytes and score; the lowest frequencies, DC included, are
# the last and largest step: measured on a 1024 px photo, 84 -> 84.875 adds 1.7 % bytes, 84.875 -> 85
# another 3.4 %).
_ZIGZAG = (0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6,
           7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31,
           39, 46, 53, 60, 61, 54, 47, 55, 62, 63)


def _library():
    try:
        import pyjpegli
    except ImportError:  # optional dependency
        return None
    if ctypes.sizeof(ctypes.c_void_p) != 8 or sys.platform == "win32":
        return None  # the offsets below are LP64's, and free() must be the C library jpegli links
    try:
        lib = ctypes.CDLL(pyjpegli.__file__)
        libc = ctypes.CDLL(None)
    except (OSError, TypeError):  # not loadable as a shared object: no binding
        return None
    p, i, f = ctypes.c_void_p, ctypes.c_int, ctypes.c_float
    sigs = {"jpegli_std_error": (p, [p]), "jpegli_CreateCompress": (None, [p, i, ctypes.c_size_t]),
            "jpegli_mem_dest": (None, [p, ctypes.POINTER(p), ctypes.POINTER(ctypes.c_ulong)]),
            "jpegli_set_defaults": (None, [p]), "jpegli_set_quality": (None, [p, i, i]),
            "jpegli_set_distance": (None, [p, f, i]), "jpegli_enable_adaptive_quantization": (None, [p, i]),
            "jpegli_set_progressive_level": (None, [p, i]), "jpegli_start_compress": (None, [p, i]),
            "jpegli_add_quant_table": (None, [p, i, p, i, i]),
            "jpegli_write_scanlines": (ctypes.c_uint, [p, p, ctypes.c_uint]),
            "jpegli_finish_compress": (None, [p]), "jpegli_destroy_compress": (None, [p])}
    try:
        for name, (res, args) in sigs.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        libc.free.argtypes, libc.free.restype = [p], None
    except AttributeError:  # a pyjpegli build without the C API exported
        return None
    return lib, libc, pyjpegli


def _encode(lib, libc, rgb: bytes, width: int, height: int, *, quality: float | None, distance: float | None,
            optimize_coding: bool, adaptive: bool, sampling: tuple[int, int]) -> bytes:
    cinfo = ctypes.create_string_buffer(_STRUCT_SIZE)
    err = ctypes.create_string_buffer(_ERR_SIZE)
    base = ctypes.addressof(cinfo)
    ctypes.c_void_p.from_address(base).value = lib.jpegli_std_error(err)
    lib.jpegli_CreateCompress(cinfo, _JPEG_LIB_VERSION, _STRUCT_SIZE)
    out, size = ctypes.c_void_p(), ctypes.c_ulong()
    try:
        lib.jpegli_mem_dest(cinfo, ctypes.byref(out), ctypes.byref(size))
        for off, value in ((_OFF_WIDTH, width), (_OFF_HEIGHT, height), (_OFF_COMPONENTS, 3),
                           (_OFF_COLOR_SPACE, _JCS_RGB)):
            ctypes.c_int.from_address(base + off).value = value
        lib.jpegli_set_defaults(cinfo)
        if distance is not None:
            lib.jpegli_set_distance(cinfo, float(distance), 1)  # gives Cr its own table (cjpegli's way)
        else:
            _set_quality(lib, cinfo, float(quality or 1))
        lib.jpegli_enable_adaptive_quantization(cinfo, int(adaptive))
        lib.jpegli_set_progressive_level(cinfo, 0)
        ctypes.c_int.from_address(base + _OFF_OPTIMIZE).value = int(optimize_coding)
        comp = _pointer(base + _OFF_COMP_INFO)
        ctypes.c_int.from_address(comp + _OFF_H_SAMP).value = sampling[0]
        ctypes.c_int.from_address(comp + _OFF_V_SAMP).value = sampling[1]
        for k in (1, 2):
            ctypes.c_int.from_address(comp + k * _COMP_INFO_SIZE + _OFF_H_SAMP).value = 1
            ctypes.c_int.from_address(comp + k * _COMP_INFO_SIZE + _OFF_V_SAMP).value = 1
        lib.jpegli_start_compress(cinfo, 1)
        buf = ctypes.create_string_buffer(rgb, len(rgb))
        stride = width * 3
        rows = (ctypes.c_void_p * height)(*(ctypes.addressof(buf) + y * stride for y in range(height)))
        lib.jpegli_write_scanlines(cinfo, rows, height)
        lib.jpegli_finish_compress(cinfo)
        return ctypes.string_at(_pointer(ctypes.addressof(out)), size.value)
    finally:
        lib.jpegli_destroy_compress(cinfo)
        if out.value:
            libc.free(out)


def _pointer(address: int) -> int:
    value = ctypes.c_void_p.from_address(address).value
    if not value:
        raise RuntimeError("jpegli left a NULL pointer where libjpeg 6.2 has one")
    return value


def _tables(cinfo) -> list[list[int]]:
    base = ctypes.addressof(cinfo)
    out = []
    for k in range(2):
        tbl = _pointer(base + _OFF_QUANT_TBL_PTRS + 8 * k)
        out.append(list((ctypes.c_uint16 * 64).from_address(tbl)))
    return out


def _set_quality(lib, cinfo, quality: float) -> None:
    """jpegli's quality, including fractions between two integer qualities.

    jpegli's quantisation (tables and adaptive field) depends on the quality only through its two
    tables, and neighbouring integer qualities differ by one step in some entries (measured: any
    distance between two qualities' gives one of their two files). A fraction ``t`` takes the
    upper quality's value for a fraction ``t`` of the differing entries, highest frequencies first
    (reverse zigzag order, luma and chroma alternately): an integer quality is exactly
    ``jpegli_set_quality``; a fraction lies between its neighbours in bytes and score.
    """
    lo = math.floor(quality)
    t = quality - lo
    if t == 0:
        lib.jpegli_set_quality(cinfo, int(lo), 1)
        return
    lib.jpegli_set_quality(cinfo, int(lo) + 1, 1)
    high = _tables(cinfo)
    lib.jpegli_set_quality(cinfo, int(lo), 1)
    mixed = _tables(cinfo)
    differing = [(pos, k, _ZIGZAG[pos]) for pos in range(64) for k in range(2)
                 if high[k][_ZIGZAG[pos]] != mixed[k][_ZIGZAG[pos]]]
    for _, k, idx in differing[::-1][:round(t * len(differing))]:
        mixed[k][idx] = high[k][idx]
    for k in range(2):
        lib.jpegli_add_quant_table(cinfo, k, (ctypes.c_uint * 64)(*mixed[k]), 100, 1)


@functools.cache
def _binding():
    found = _library()
    if found is None:
        return None
    lib, libc, pyjpegli = found
    rgb = bytes((x * 16 + y * 7 + c * 50) % 256 for y in range(16) for x in range(16) for c in range(3))
    try:
        mine = _encode(lib, libc, rgb, 16, 16, quality=85, distance=None, optimize_coding=False, adaptive=True,
                       sampling=(2, 2))
    except Exception:  # noqa: BLE001 - any failure of the probe means: do not use the binding
        return None
    return (lib, libc) if mine == pyjpegli.encode(rgb, 16, 16, 85) else None


def available() -> bool:
    """True when jpegli's C API is reachable and reproduces ``pyjpegli.encode`` exactly.

    Examples
    --------
    >>> from cinb.codecs.jpegli import available
    >>> isinstance(available(), bool)
    True
    """
    return _binding() is not None


def quality_to_distance(quality: float) -> float:
    """jpegli's mapping from a libjpeg-style quality to a Butteraugli distance (``cjpegli -q``).

    Examples
    --------
    >>> from cinb.codecs.jpegli import quality_to_distance
    >>> round(quality_to_distance(90), 2), round(quality_to_distance(50), 2)
    (1.0, 4.6)
    """
    q = float(quality)
    if q >= 100:
        return MIN_DISTANCE
    if q >= 30:
        return max(MIN_DISTANCE, 0.1 + (100 - q) * 0.09)
    return 53.0 / 3000.0 * q * q - 23.0 / 20.0 * q + 25.0


def encode(rgb: bytes, width: int, height: int, *, quality: float | None = None, distance: float | None = None,
           optimize_coding: bool = True, adaptive_quantization: bool = True,
           subsampling: str = "4:2:0") -> bytes | None:
    """Encode packed 8-bit RGB as a baseline JPEG with jpegli; None when the binding is unavailable.

    Parameters
    ----------
    rgb : bytes
        ``width * height * 3`` bytes, rows top to bottom.
    width, height : int
        1 - 65535 each.
    quality : float, optional
        jpegli's quality 1-100 (what ``pyjpegli.encode`` takes, as an integer); a fraction lies between
        the two neighbouring integer qualities (see ``_set_quality``).
    distance : float, optional
        Butteraugli distance 0.01-25 instead of a quality (1.0 is jpegli's "visually lossless").
        Exactly one of ``quality`` and ``distance``.
    optimize_coding : bool
        Huffman tables optimised for this image (identical pixels, fewer bytes; still baseline).
    adaptive_quantization : bool
        jpegli's per-block quantisation field (its default).
    subsampling : {"4:2:0", "4:2:2", "4:4:4"}
        Chroma subsampling (4:2:0 is ``pyjpegli.encode``'s and the smaller at SSIMULACRA2 80-85).

    Raises
    ------
    ValueError
        Bad sizes, buffer length, quality, distance or subsampling (checked before jpegli sees them).

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.codecs import jpegli
    >>> data = jpegli.encode(bytes(8 * 8 * 3), 8, 8, distance=1.0)
    >>> data is None or Image.open(io.BytesIO(data)).size == (8, 8)
    True
    """
    if (quality is None) == (distance is None):
        raise ValueError("give exactly one of quality and distance")
    if not (isinstance(width, int) and isinstance(height, int) and 1 <= width <= _MAX_SIDE
            and 1 <= height <= _MAX_SIDE):
        raise ValueError(f"image size must be 1..{_MAX_SIDE} px a side, got {width}x{height}")
    if len(rgb) != width * height * 3:
        raise ValueError(f"expected {width * height * 3} bytes of RGB, got {len(rgb)}")
    if quality is not None and not (isinstance(quality, int | float) and not isinstance(quality, bool)
                                    and math.isfinite(quality) and 1 <= quality <= 100):
        raise ValueError(f"quality must be a number 1-100, got {quality!r}")
    if distance is not None and not (isinstance(distance, int | float) and math.isfinite(distance)
                                     and MIN_DISTANCE <= distance <= MAX_DISTANCE):
        raise ValueError(f"distance must be {MIN_DISTANCE}-{MAX_DISTANCE}, got {distance!r}")
    if subsampling not in _SAMPLING:
        raise ValueError(f"subsampling must be one of {sorted(_SAMPLING)}, got {subsampling!r}")
    binding = _binding()
    if binding is None:
        return None
    lib, libc = binding
    return _encode(lib, libc, bytes(rgb), width, height, quality=quality, distance=distance,
                   optimize_coding=optimize_coding, adaptive=adaptive_quantization,
                   sampling=_SAMPLING[subsampling])
