"""Lossless JPEG rewrites at the coefficient level: optimised Huffman tables and fractional qualities.

pyjpegli (jpegli, what ``yjpeg`` and imageSlim encode with) takes only an integer quality and writes
jpegli's standard Huffman tables: 4.4 % of the bytes on photos and 9.2 % on screenshots and scans at q85
(benchmarks/RESULTS.md, "Compression round 2"). Both are fixed here *after* jpegli, without touching a
decoded pixel, by cinb's one C extension ``cinb.codecs._jpegcoef`` (``src/jpegcoef.c``), built at install
time against libjpeg(-turbo)'s public transcoding API, the one ``jpegtran`` uses
(``jpeg_read_coefficients`` → ``jpeg_copy_critical_parameters`` → ``jpeg_write_coefficients``):

- :func:`optimize`: the same coefficients and quantisation tables (identical decoded pixels), Huffman
  tables optimised for the image, still baseline; APPn and COM segments (JFIF, EXIF, ICC, XMP) copied
  verbatim and in order. About 5 ms of CPU for a 1024 px photo.
- :func:`with_chroma`: the luma of one encode and the chroma of another (same image, same geometry):
  imageSlim also searches luma and chroma qualities a few steps apart, which on some photos reaches
  the same score in fewer bytes than jpegli's own balance ("Compression round 2", third session).
- :func:`between`: a JPEG between two integer jpegli qualities. jpegli quantises each coefficient with
  its table entry (and its per-block adaptive field), so the coefficients at the positions where the two
  qualities' tables differ can be taken from the higher one: highest frequencies first, a fraction of
  the differing positions. An integer quality is exactly pyjpegli's output; a fraction lies between its
  neighbours in bytes and score (imageSlim searches in 1/8 steps: the gain of "Compression round 2").

Why not drive jpegli itself: its C API (distance, ``optimize_coding``, custom tables) is reachable only
as private symbols of pyjpegli's extension module, and building jpegli from pyjpegli's sdist (jpegli +
Highway + skcms through CMake and pybind11) is far beyond a reasonable install step on two cores. What
that loses is Butteraugli-distance control, measured not to pay (searching distance gave 1.4 % *more*
bytes than the fractional-quality search on photos, "Compression round 2").

Without the extension (no compiler or libjpeg headers at install time) :func:`available` is False,
:func:`optimize` returns its input and :func:`between` returns None: callers keep jpegli's own bytes
and integer qualities.
"""

from __future__ import annotations

import math

try:
    import cinb.codecs._jpegcoef as _jpegcoef  # the extension itself, not the package (no import cycle)
except ImportError:  # optional: built at install time when a compiler and libjpeg's headers exist
    _jpegcoef = None

# Natural-order index of each zigzag position (ITU T.81 figure A.6). DQT segments list zigzag order.
ZIGZAG = (0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6,
          7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31,
          39, 46, 53, 60, 61, 54, 47, 55, 62, 63)
_SLOTS = 4  # quantisation table slots in a JPEG


def available() -> bool:
    """True when cinb's C extension was built (``pip install`` with a C compiler and ``libjpeg-dev``).

    Examples
    --------
    >>> from cinb.codecs.jpegcoef import available
    >>> isinstance(available(), bool)
    True
    """
    return _jpegcoef is not None


def optimize(data: bytes) -> bytes:
    """The same JPEG with Huffman tables optimised for it: identical decoded pixels, fewer bytes.

    Sequential (baseline for 8-bit Huffman sources), markers kept verbatim. Returns ``data`` itself when
    the extension is unavailable, when libjpeg refuses or warns about the stream (a rewrite of a damaged
    stream would not be lossless), or when the rewrite is not smaller.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.codecs.jpegcoef import optimize
    >>> buf = io.BytesIO(); Image.radial_gradient("L").convert("RGB").save(buf, "JPEG", quality=90)
    >>> out = optimize(buf.getvalue())
    >>> len(out) <= len(buf.getvalue()), Image.open(io.BytesIO(out)).size
    (True, (256, 256))
    >>> optimize(b"not a jpeg")
    b'not a jpeg'
    """
    if _jpegcoef is None:
        return data
    try:
        out = _jpegcoef.optimize(data)
    except ValueError:  # not a JPEG, damaged, or libjpeg warned: keep the input
        return data
    return out if len(out) < len(data) else data


def quantization_tables(data: bytes) -> dict[int, list[int]]:
    """The quantisation tables of a JPEG's DQT segments, by slot, in natural (row-major) order.

    Raises
    ------
    ValueError
        Not a JPEG stream, or a truncated DQT segment.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.codecs.jpegcoef import quantization_tables
    >>> buf = io.BytesIO(); Image.new("RGB", (8, 8)).save(buf, "JPEG", quality=50)
    >>> tables = quantization_tables(buf.getvalue())
    >>> sorted(tables), tables[0][:3]
    ([0, 1], [16, 11, 10])
    """
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG stream")
    tables: dict[int, list[int]] = {}
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xDA, 0xD9):  # start of scan / end of image: no DQT after the headers matter here
            break
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if marker == 0xDB:
            seg, i = data[pos + 4:pos + 2 + length], 0
            while i < len(seg):
                precision, slot = seg[i] >> 4, seg[i] & 15
                width = 2 if precision else 1
                body = seg[i + 1:i + 1 + 64 * width]
                if len(body) != 64 * width or slot >= _SLOTS:
                    raise ValueError("truncated or invalid DQT segment")
                zz = [int.from_bytes(body[k * width:(k + 1) * width], "big") for k in range(64)]
                natural = [0] * 64
                for k, v in enumerate(zz):
                    natural[ZIGZAG[k]] = v
                tables[slot] = natural
                i += 1 + 64 * width
        pos += 2 + length
    return tables


def component_tables(data: bytes) -> list[int]:
    """The quantisation table slot of each component, in frame order (from the SOFn segment).

    Raises
    ------
    ValueError
        Not a JPEG stream, or no complete frame header.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.codecs.jpegcoef import component_tables
    >>> buf = io.BytesIO(); Image.new("RGB", (8, 8)).save(buf, "JPEG")
    >>> component_tables(buf.getvalue())
    [0, 1, 1]
    """
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG stream")
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xDA, 0xD9):
            break
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # SOFn (not DHT, JPG, DAC)
            seg = data[pos + 4:pos + 2 + length]
            n = seg[5] if len(seg) > 5 else 0
            if n == 0 or len(seg) < 6 + 3 * n:
                break
            return [seg[6 + 3 * c + 2] for c in range(n)]
        pos += 2 + length
    raise ValueError("no complete frame header (SOFn)")


def with_chroma(luma: bytes, chroma: bytes) -> bytes | None:
    """``luma``'s Y coefficients and table with ``chroma``'s Cb/Cr coefficients and table: one JPEG.

    Both must be encodes of the same image with the same geometry, sampling and table slots (two jpegli
    qualities, fractional or not), and the chroma components must have a table of their own (slot not
    shared with Y). Markers come from ``luma``; Huffman tables are optimised.

    Returns None when the extension is unavailable, the inputs do not fit together, are damaged, or
    have a single component or a single table.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.codecs.jpegcoef import available, quantization_tables, with_chroma
    >>> def jpeg(q):
    ...     buf = io.BytesIO(); Image.radial_gradient("L").convert("RGB").save(buf, "JPEG", quality=q)
    ...     return buf.getvalue()
    >>> out = with_chroma(jpeg(90), jpeg(40))
    >>> out is None or quantization_tables(out) == {0: quantization_tables(jpeg(90))[0],
    ...                                               1: quantization_tables(jpeg(40))[1]}
    True
    """
    if _jpegcoef is None:
        return None
    try:
        slots = component_tables(luma)
    except ValueError:  # not a JPEG, or damaged
        return None
    chroma_slots = set(slots[1:]) - {slots[0]}
    if len(slots) < 2 or not chroma_slots:
        return None
    take = bytearray(64 * (max(slots) + 1))
    for slot in chroma_slots:
        take[64 * slot:64 * (slot + 1)] = b"\x01" * 64
    try:
        return _jpegcoef.merge(luma, chroma, bytes(take))
    except ValueError:  # different geometry, sampling or slots, or a damaged stream
        return None


def between(low: bytes, high: bytes, fraction: float) -> bytes | None:
    """A JPEG ``fraction`` of the way from ``low`` to ``high``: two jpegli encodes of the same image.

    The positions where the two files' quantisation tables differ are ordered highest frequency first
    (reverse zigzag order, slots alternating); the first ``round(fraction * n)`` take ``high``'s table
    entry and coefficients, the rest keep ``low``'s. ``fraction`` 0 is ``low`` and 1 is ``high``, both
    with optimised Huffman tables. Measured on a 1024 px photo, jpegli 84 → 84.875 adds 1.7 % of the
    bytes and 84.875 → 85 another 3.4 %: the last, lowest-frequency entries (DC included) are the largest
    step, which no fraction splits.

    Returns None when the extension is unavailable or the two files do not share geometry, sampling and
    table slots (libjpeg's message is dropped: the caller keeps an integer quality).

    Raises
    ------
    ValueError
        ``fraction`` outside 0-1.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.codecs.jpegcoef import available, between
    >>> def jpeg(q):
    ...     buf = io.BytesIO(); Image.radial_gradient("L").convert("RGB").save(buf, "JPEG", quality=q)
    ...     return buf.getvalue()
    >>> mid = between(jpeg(70), jpeg(80), 0.5)
    >>> mid is None or Image.open(io.BytesIO(mid)).size == (256, 256)
    True
    """
    if not (isinstance(fraction, int | float) and math.isfinite(fraction) and 0 <= fraction <= 1):
        raise ValueError(f"fraction must be 0-1, got {fraction!r}")
    if _jpegcoef is None:
        return None
    try:
        if fraction in (0, 1):  # exactly the neighbour (a merge keeps low's coefficients where tables agree)
            return _jpegcoef.optimize(high if fraction else low)
        lo_tables, hi_tables = quantization_tables(low), quantization_tables(high)
    except ValueError:  # not a JPEG, or damaged
        return None
    slots = sorted(set(lo_tables) & set(hi_tables))
    if not slots:
        return None
    differing = [(slot, ZIGZAG[k]) for k in range(64) for slot in slots
                 if lo_tables[slot][ZIGZAG[k]] != hi_tables[slot][ZIGZAG[k]]]
    take = bytearray(64 * (max(slots) + 1))
    for slot, idx in differing[::-1][:round(fraction * len(differing))]:
        take[64 * slot + idx] = 1
    try:
        return _jpegcoef.merge(low, high, bytes(take))
    except ValueError:  # different geometry or sampling, or a damaged stream
        return None
