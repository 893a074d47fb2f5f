"""One entry point to encode a still image in any format cinb can compare, at a given quality.

Every format except ``guetzli`` goes through the same codec plugins as ``cinb.process``, so what a
sweep measures is exactly what the rule from :func:`rule_for` produces.
"""

from __future__ import annotations

import io
import time

from PIL import Image

from ..canvas import Canvas
from ..codecs.avif import encode_avif_10bit
from ..codecs.heif import encode_heif_10bit
from ..codecs.options import EncodeOptions, check_effort
from ..codecs.registry import codec_for, flatten
from ..errors import BAD_PARAMETER, CIError
from ..formats import canonical_token, find_format
from ..header import open_image
from .guetzli import guetzli_pixels

#: Formats a sweep can compare; ``quality`` is ignored for png. ``avif10`` and ``heif10`` are AVIF and HEIF
#: at 10 bits per sample (:func:`cinb.codecs.avif.encode_avif_10bit`, needs imagecodecs;
#: :func:`cinb.codecs.heif.encode_heif_10bit`): cinb's comparison only, cinb and CI write 8 bits.
FORMATS = ("jpeg", "yjpeg", "webp", "avif", "avif10", "heif", "heif10", "png", "guetzli")
LOSSY = frozenset({"jpeg", "yjpeg", "webp", "avif", "avif10", "heif", "heif10", "guetzli"})
TEN_BIT = {"avif10": "avif", "heif10": "heif"}
#: Formats whose encoder takes an effort (:func:`cinb.codecs.options.check_effort`).
EFFORT_FORMATS = frozenset({"webp", "avif", "avif10"})


def check_format(fmt: str) -> str:
    """Normalise a format name (``jpg`` -> ``jpeg``); CIError -103 naming it when unknown.

    Examples
    --------
    >>> from cinb.compression.encoders import check_format
    >>> check_format("JPG")
    'jpeg'
    """
    name = str(fmt).lower()
    known = find_format(name)
    if known is not None and name not in known.variants:  # yjpeg stays yjpeg: another encoder
        name = known.name
    if name not in FORMATS:
        raise CIError(f"cannot compare format {fmt!r} (choose from {', '.join(FORMATS)})", code=BAD_PARAMETER,
                      token=str(fmt))
    return name


def encode_image(image: Image.Image, fmt: str, quality: int | None = None, *, effort: int | None = None) -> bytes:
    """Encode one still image as cinb's codec for ``fmt`` would, at exactly ``quality``.

    Parameters
    ----------
    image : PIL.Image.Image
        The picture (alpha is flattened onto white for formats without alpha, as in ``process``).
    fmt : str
        One of :data:`FORMATS`.
    quality : int, optional
        0-100 for lossy formats (default 85); ignored for png.
    effort : int, optional
        Encoder effort 0-6 for webp, avif and avif10 (:func:`cinb.codecs.options.check_effort`; default 4,
        higher is slower and smaller); other formats ignore it.

    Raises
    ------
    CIError
        -103 for an unknown format or a bad effort; -163 for ``avif10`` without imagecodecs.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.compression.encoders import encode_image
    >>> data = encode_image(Image.new("RGB", (32, 32), "blue"), "webp", 60)
    >>> data[8:12]
    b'WEBP'
    """
    fmt = check_format(fmt)
    effort = check_effort(effort)
    q = 85 if quality is None else int(quality)
    if fmt == "guetzli":
        return guetzli_pixels(image, q)
    if fmt == "avif10":
        return encode_avif_10bit(image, q, effort=effort)
    if fmt == "heif10":
        return encode_heif_10bit(image, q)
    codec = codec_for(fmt)
    frame = image if image.mode in ("RGB", "RGBA", "L", "LA") else image.convert(
        "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    if not codec.alpha:
        frame = flatten(frame)
    canvas = Canvas(frames=[frame])
    return codec.save(canvas, q if codec.lossy else None, EncodeOptions(format=canonical_token(fmt), effort=effort))


def decode_image(data: bytes) -> Image.Image:
    """Decode encoded bytes to a loaded PIL image (AVIF/HEIF included).

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.compression.encoders import decode_image, encode_image
    >>> decode_image(encode_image(Image.new("RGB", (8, 4)), "png")).size
    (8, 4)
    """
    img = open_image(io.BytesIO(data))  # every format cinb reads, HEIF included
    img.load()
    return img


def timed_roundtrip(image: Image.Image, fmt: str, quality: int | None, *,
                    effort: int | None = None) -> tuple[bytes, Image.Image, float, float, float]:
    """Encode then decode: the bytes, the decoded image, encode and decode wall time, and encode CPU time (ms).

    CPU time is the process's (every encoder thread counted): on a shared machine it is the fairer cost.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    data = encode_image(image, fmt, quality, effort=effort)
    t1, c1 = time.perf_counter(), time.process_time()
    decoded = decode_image(data)
    t2 = time.perf_counter()
    return data, decoded, (t1 - t0) * 1000.0, (t2 - t1) * 1000.0, (c1 - c0) * 1000.0


def rule_for(fmt: str, quality: int | None = None, *, force: bool = False) -> str:
    """The CI rule that gives this setting (``guetzli`` is a bucket switch in CI, not a rule).

    Parameters
    ----------
    fmt : str
        One of :data:`FORMATS`.
    quality : int, optional
        The quality; ignored for png.
    force : bool
        Write ``quality/<q>!`` (exact, even above a JPEG source's own quality) instead of
        ``quality/<q>`` (which CI caps at the source's quality).

    Examples
    --------
    >>> from cinb.compression.encoders import rule_for
    >>> rule_for("webp", 70)
    'imageMogr2/format/webp/quality/70'
    >>> rule_for("jpeg", 90, force=True)
    'imageMogr2/format/jpg/quality/90!'
    """
    fmt = check_format(fmt)
    if fmt == "guetzli":
        return "guetzli (CI: PUT /?guetzli on the bucket; cinb: cinb.compression.guetzli)"
    if fmt in TEN_BIT:
        return f"{fmt} (cinb only: CI writes 8-bit {TEN_BIT[fmt].upper()}; cinb.codecs.{TEN_BIT[fmt]})"
    rule = f"imageMogr2/format/{canonical_token(fmt)}"
    if fmt in LOSSY and quality is not None:
        rule += f"/quality/{int(quality)}{'!' if force else ''}"
    return rule
