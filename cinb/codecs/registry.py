"""The output-format registry and ``encode``."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from PIL import Image

from ..canvas import Canvas
from ..errors import CORRUPT_IMAGE, UNSUPPORTED_TYPE, CIError
from ..formats import find_format
from ..ops.aigc import XMP_FORMATS, label_only, unsupported_output
from ..ops.animation import reduce_frames
from ..ops.frames import check_output_size
from .options import EncodeOptions
from .quality_search import find_boundary

#: Quality used when the source has none to keep (not a JPEG): Qiniu's default (see docs).
DEFAULT_QUALITY = 85


@dataclass(frozen=True)
class Codec:
    """One output format.

    ``save(canvas, quality, opts) -> bytes`` writes the canvas (frames already in a mode the
    format accepts); ``lossy`` says whether quality applies; ``animated`` whether it keeps frames.
    """

    name: str  # CI's lower-case result format (jpeg, png, ...)
    save: Callable[[Canvas, int | None, EncodeOptions], bytes]
    lossy: bool
    animated: bool
    alpha: bool


_CODECS: dict[str, Codec] = {}


def register_codec(codec: Codec) -> None:
    """Add an output format (plugins call this on import)."""
    _CODECS[codec.name] = codec


def codec_for(token: str) -> Codec:
    """The codec for a ``/format/`` token or a source format name.

    Examples
    --------
    >>> from cinb.codecs.registry import codec_for
    >>> codec_for("jpg").name
    'jpeg'
    """
    fmt = find_format(token)
    name = token if fmt is None else fmt.encodes_as or fmt.name  # TIFF: CI cannot output it; PNG stays lossless
    if name not in _CODECS:
        raise CIError(f"cannot encode {token!r}", code=UNSUPPORTED_TYPE, token=token)
    return _CODECS[name]


def flatten(frame: Image.Image, background=(255, 255, 255)) -> Image.Image:
    """Composite a frame with alpha onto ``background`` (for formats without alpha)."""
    if frame.mode == "RGBA":
        base = Image.new("RGB", frame.size, background)
        base.paste(frame, mask=frame.getchannel("A"))
        return base
    if frame.mode == "LA":
        base = Image.new("L", frame.size, 255)
        base.paste(frame.getchannel("L"), mask=frame.getchannel("A"))
        return base
    return frame


def resolve_quality(canvas: Canvas, opts: EncodeOptions, codec: Codec) -> int | None:
    """Quality to encode with under CI's rules (spec §6; defaults in docs/ci-compatibility.md)."""
    return _lossy_quality(canvas, opts) if codec.lossy else None


def _lossy_quality(canvas: Canvas, opts: EncodeOptions) -> int:
    """The quality a lossy codec encodes ``canvas`` with under CI's rules."""
    if opts.quality is not None:
        return opts.quality.resolve(canvas.source_quality)
    return canvas.source_quality if canvas.source_quality is not None else DEFAULT_QUALITY


_STRATEGIES: dict[str, Callable] = {}


def register_strategy(name: str, fn: Callable) -> None:
    """Let a stage replace the final ``codec.save`` (features call this on import).

    A stage asks for it through its encode options: ``EncodeOptions(strategy=(name, kwargs))``.

    ``fn(canvas, opts, codec, quality, **kwargs) -> (data, quality, info, response)`` receives the
    canvas as the codec would (frames reduced, alpha flattened when needed) and returns the bytes (in
    ``codec``'s format), the quality used, entries to add to ``Result.info`` (cinb's diagnostics) and
    to ``Result.response`` (CI's fields, e.g. ``X-Slimflag``).
    """
    _STRATEGIES[name] = fn


def encode(canvas: Canvas, opts: EncodeOptions) -> tuple[bytes, Codec, int | None]:
    """Encode ``canvas`` with the rule's encoder options.

    Returns
    -------
    (bytes, Codec, quality)
        The encoded image, the codec used, and the quality it was encoded at (None if lossless).
    """
    strategy = opts.strategy
    original = canvas
    check_output_size(canvas.size, "the result")
    codec = codec_for(opts.format or canvas.source_format)
    if codec.name == "heif" and canvas.source_format == "gif":
        raise CIError("CI does not convert GIF to HEIF (its limits page lists it as unsupported)",
                      code=UNSUPPORTED_TYPE, token=opts.format or "heif")
    if canvas.info.get("frames_unreadable") and canvas.is_animated and codec.animated:
        raise CIError(f"{canvas.info['frames_unreadable']} frame(s) of the animation cannot be decoded; only a "
                      "still output (its first frame) can be made from it", code=CORRUPT_IMAGE)
    if opts.cgif is not None and canvas.is_animated:
        canvas = reduce_frames(canvas, opts.cgif)
    if canvas.is_animated and not codec.animated:
        canvas = canvas.replace(frames=canvas.frames[:1], durations=canvas.durations[:1])
    if not codec.alpha:
        canvas = canvas.map_frames(flatten)
    if opts.size_limit is not None and (codec.name != "jpeg" or strategy is not None):
        # CI (1246/109211, 2025-10): size-limit limits JPG outputs only (other formats are converted with
        # /format/jpg first), and with imageSlim only imageSlim takes effect. Said in Result.info.
        original.info["size_limit_ignored"] = strategy[0] if strategy is not None else codec.name
        opts = replace(opts, size_limit=None)
    if canvas.info.get("aigc_written") and codec.name not in XMP_FORMATS:
        raise unsupported_output(codec.name)
    quality = resolve_quality(canvas, opts, codec)
    if strategy is not None:
        name, kwargs = strategy
        if name not in _STRATEGIES:
            raise CIError(f"no encoding strategy {name!r} is registered", code=UNSUPPORTED_TYPE, token=name)
        data, quality, extra, response = _STRATEGIES[name](canvas, opts, codec, quality, **kwargs)
        original.info.update(extra)  # the engine reports the canvas' info once encoding is done
        original.response.update(response)
        return data, codec, quality
    if opts.size_limit is not None:
        return _fit_size(canvas, opts, opts.size_limit.max_bytes, codec, _lossy_quality(canvas, opts), original)
    data = save_dropping_metadata(codec, canvas, quality, opts, original)
    return data, codec, quality


#: Metadata an encoder may choke on, dropped in this order until it succeeds.
_DROPPABLE = ("exif", "xmp", "icc")


def save_dropping_metadata(codec: Codec, canvas: Canvas, quality: int | None, opts: EncodeOptions,
                           report: Canvas | None = None) -> bytes:
    """``codec.save``, retried without the metadata blocks that make it fail.

    Metadata from the wild can be damaged (an EXIF XResolution written as text, which AVIF's saver
    cannot re-serialise: TypeError) or too big for the output (EXIF over JPEG's 64 KB APP1 segment,
    from a HEIC or PNG). CI still returns the image; so does cinb, without the block, and says so in
    ``Result.info["metadata_dropped"]`` (``report``'s info). Blocks are dropped one at a time (EXIF,
    then XMP, then ICC), so a sound one is kept. An XMP packet first shrinks to its AIGC label alone
    (:func:`cinb.ops.aigc.label_only`): the labelling rules forbid losing it with the rest. A failure
    with no metadata left is re-raised.
    """
    dropped: list[str] = []
    while True:
        try:
            data = codec.save(canvas, quality, opts)
        except CIError:
            raise
        except Exception:  # Pillow's savers raise TypeError/ValueError/OSError on bad metadata
            left = [name for name in _DROPPABLE if getattr(canvas, name)]
            if not left:
                raise
            dropped.append(left[0])
            label = label_only(canvas.xmp) if left[0] == "xmp" else None
            canvas = canvas.replace(**{left[0]: label if label != canvas.xmp else None})
            continue
        if dropped and report is not None:
            report.info["metadata_dropped"] = sorted(set(report.info.get("metadata_dropped", [])) | set(dropped))
        return data


def _fit_size(canvas: Canvas, opts: EncodeOptions, limit: int, codec: Codec, quality: int,
              report: Canvas | None = None) -> tuple[bytes, Codec, int]:
    """The highest quality (<= the resolved one) whose output fits ``size-limit``.

    File size is close to exponential in quality, so :func:`~cinb.codecs.quality_search.find_boundary`
    interpolates log(bytes); its first probe below the resolved quality assumes bytes halve every 25
    quality points (JPEG photos). It returns what plain bisection would (the largest q that fits, for
    outputs that grow with q) in fewer encodes (about 5 instead of 7-8 on the sample photos).
    """
    def probe(q: int) -> tuple[float, bytes]:
        data = save_dropping_metadata(codec, canvas, q, opts, report)
        return len(data), data

    found = find_boundary(probe, q_high=quality, target=limit, below=lambda size: size <= limit, log_scale=True,
                          first_guess=lambda p: int(p.quality - 25 * math.log2(p.value / limit)) - 1)
    if found[0] is None:  # even quality 1 is too big: return the smallest we can make
        return found[1].payload, codec, found[1].quality
    return found[0].payload, codec, found[0].quality


def exif_for_output(canvas: Canvas, opts: EncodeOptions) -> bytes | None:
    """The EXIF block to write: none when stripped; the orientation tag updated once applied."""
    if opts.strip or not canvas.exif:
        return None
    if canvas.orientation == 1:
        try:
            exif = Image.Exif()
            exif.load(canvas.exif)
            if exif.get(0x0112, 1) != 1:
                exif[0x0112] = 1
                return exif.tobytes()
        except Exception:  # noqa: BLE001 - an unparsable block is dropped rather than corrupting output
            return None
    return canvas.exif


def save_kwargs(canvas: Canvas, opts: EncodeOptions) -> dict:
    """Metadata keyword arguments Pillow's savers share: exif, icc_profile, xmp."""
    kw: dict = {}
    exif = exif_for_output(canvas, opts)
    if exif:
        kw["exif"] = exif
    if canvas.icc:
        kw["icc_profile"] = canvas.icc
    xmp = label_only(canvas.xmp) if opts.strip else canvas.xmp  # strip keeps the AIGC label (ops.aigc)
    if xmp:
        kw["xmp"] = xmp
    if canvas.dpi:
        kw["dpi"] = canvas.dpi
    return kw


def pil_save(frames: list[Image.Image], fmt: str, **kwargs) -> bytes:
    """Save frames with Pillow into bytes (``save_all`` for several frames)."""
    buf = io.BytesIO()
    if len(frames) > 1:
        frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], **kwargs)
    else:
        frames[0].save(buf, fmt, **kwargs)
    return buf.getvalue()

