"""``process``: decode -> rule -> ops -> encode, with CI's semantics."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from PIL import Image

from . import codecs  # importing it registers the output formats
from .decode import Header, Source, draft_target, open_canvas, sniff
from .errors import LIMIT_CODES, CIError, OutOfRangeError, as_cierror
from .fileio import write_atomic
from .header import read_header
from .ops.rotation import AutoOrient
from .ops.scaling import Thumbnail
from .result import Result
from .rules.model import Context, EncodeOptions, Rule
from .rules.mogr2 import Mogr2Stage, View2Stage
from .rules.registry import parse_rule
from .styles import Styles, expand_styles


def _draft_size(rule: Rule):
    """A function Header -> decode size for shrink-on-load, when the rule starts by shrinking."""
    if not rule.stages:
        return None
    first = rule.stages[0]
    if isinstance(first, View2Stage) and first.view is not None:
        view = first.view

        def size(h: Header):
            scaled, _ = view.plan(h.width, h.height)
            return draft_target(h, scaled)

        return size
    if isinstance(first, Mogr2Stage) and first.ops:
        ops = list(first.ops)
        orient = bool(ops and isinstance(ops[0], AutoOrient))
        if orient:
            ops = ops[1:]
        if not ops or not isinstance(ops[0], Thumbnail) or ops[0].pad:
            return None
        thumb = ops[0]

        def size(h: Header):
            swap = orient and h.orientation >= 5
            W, H = (h.height, h.width) if swap else (h.width, h.height)
            tw, th = thumb.target_size(W, H)
            if tw >= W or th >= H:
                return None
            return draft_target(h, (th, tw) if swap else (tw, th))

        return size
    return None


def _resolve_src(src: Source, rule: Rule, styles: Styles | None) -> tuple[Source, Rule]:
    """``photo.jpg!thumb``: a missing path whose tail names a style means "apply that style"."""
    if styles is None or not isinstance(src, (str, os.PathLike)) or Path(src).exists():
        return src, rule
    key, name = styles.split_key(str(src))
    if name is None:
        return src, rule
    return key, Rule(styles.rule(name).stages + rule.stages)


def process(src: Source, rule: str | Rule = "", *, styles: Styles | None = None) -> Result:
    """Apply a CI processing rule to one image, locally, with CI's semantics.

    Parameters
    ----------
    src : path, bytes or PIL.Image.Image
        The image. With ``styles``, a path like ``photo.jpg!thumb`` applies style ``thumb``.
    rule : str or Rule
        A CI processing string, e.g. ``imageMogr2/thumbnail/!50p/format/webp``; pipelines with
        ``|``; ``style/<name>`` stages; a final ``imageInfo``/``exif``/``imageAve`` stage.
    styles : Styles, optional
        Named styles for ``style/<name>`` and separator keys.

    Returns
    -------
    Result

    Raises
    ------
    CIError
        Bad rule (-103), unknown style (-105), unreadable input (-113, -443), over CI's limits
        (-167, -442, -447; with ``/ignore-error/1`` these return the original instead).

    Examples
    --------
    >>> from cinb.engine import process
    >>> from PIL import Image
    >>> r = process(Image.new("RGB", (400, 300), "red"), "imageMogr2/thumbnail/!50p/format/png")
    >>> r.format, r.width, r.height
    ('png', 200, 150)
    """
    try:
        parsed = parse_rule(rule)
    except OutOfRangeError as exc:
        # CI's pages: with ignore-error, "file too large, parameter over its limit, etc." return the
        # original. A malformed rule (unknown operation, a word for a number) stays an error.
        if isinstance(rule, str) and _asks_ignore_error(rule):
            return _original(src, exc)
        raise
    src, parsed = _resolve_src(src, parsed, styles)
    parsed = expand_styles(parsed, styles)
    opts = parsed.encode_options
    try:
        return _run(src, parsed, opts, Context(styles=styles, base_dir=_base_dir(src)))
    except CIError as exc:
        # a limit, or a parameter found out of range only once the picture is known (cut's offset outside it)
        if opts.ignore_error and (exc.code in LIMIT_CODES or isinstance(exc, OutOfRangeError)):
            return _original(src, exc)
        raise


def _asks_ignore_error(rule: str) -> bool:
    """Whether an imageMogr2/imageView2 stage of ``rule`` says ``ignore-error/1`` (read without parsing).

    Examples
    --------
    >>> from cinb.engine import _asks_ignore_error
    >>> _asks_ignore_error("imageMogr2/rotate/400/ignore-error/1"), _asks_ignore_error("imageMogr2/ignore-error/0")
    (True, False)
    """
    for stage in rule.split("|"):
        parts = stage.strip().split("/")
        if parts[0] not in ("imageMogr2", "imageView2"):
            continue
        if any(a == "ignore-error" and b == "1" for a, b in zip(parts, parts[1:], strict=False)):
            return True
    return False


def _base_dir(src: Source) -> str | None:
    return str(Path(src).parent) if isinstance(src, (str, os.PathLike)) else None


def _run(src: Source, rule: Rule, opts: EncodeOptions, ctx: Context) -> Result:
    canvas = open_canvas(src, draft=_draft_size(rule))
    for stage in rule.stages:
        canvas = stage.apply(canvas, ctx)
    # Only a bare ?imageInfo / ?exif asks for the stored bytes: reading them for every rule would undo
    # decoding a JPEG straight from disk (cinb.decode._open_for_decode).
    bare_info = len(rule.stages) == 1 and rule.stages[0].terminal
    stored = canvas.source_bytes if bare_info else None
    if stored:
        # a bare ?imageInfo / ?exif describes the stored file: nothing to encode
        data, fmt, info = stored, canvas.source_format, dict(canvas.info)
    else:
        data, fmt, info = _encode(canvas, opts)
    response = dict(canvas.response)
    if rule.stages and rule.stages[-1].terminal:
        answer = rule.stages[-1].describe(canvas, data, fmt, ctx)
        return Result(json.dumps(answer, ensure_ascii=False).encode("utf-8"), "json",
                      canvas.width, canvas.height, info, response)
    width, height = canvas.width, canvas.height
    if info.get("size_limit_kept_original"):  # size-limit/...!: .data is the original, so is its size
        _, width, height = sniff(data)
    return Result(data, fmt, width, height, info, response)


def _encode(canvas, opts: EncodeOptions) -> tuple[bytes, str, dict]:
    """Encode with the rule's options; report quality, frames and size-limit outcome in info."""
    data, codec, quality = codecs.encode(canvas, opts)
    info = dict(canvas.info)
    frames = len(canvas.frames) if codec.animated else 1
    if opts.cgif is not None:
        frames = min(frames, 30 if opts.cgif == 1 else opts.cgif)
    info.update(quality=quality, frames=frames)
    fmt = codec.name
    if opts.size_limit is not None and not info.get("size_limit_ignored"):
        # The original cannot stand in for an output that carries a label the original lacks (AIGCMetadata).
        if (opts.size_limit.keep_original and canvas.source_bytes and len(data) >= len(canvas.source_bytes)
                and not canvas.info.get("aigc_written")):
            data, fmt = canvas.source_bytes, canvas.source_format
            del info["quality"]  # the encoder's: the original's, when known, comes with its frames
            info.update(_original_facts(canvas, data), size_limit_kept_original=True)
            info.pop("metadata_dropped", None)  # what the encoder had to drop: the original keeps it all
        info["size_limit_met"] = len(data) <= opts.size_limit.max_bytes
    return data, fmt, info


def _original_facts(canvas, data: bytes) -> dict:
    """``frames`` and ``quality`` of the original bytes ``size-limit/...!`` hands back, in place of the encoder's.

    The quality is the one estimated from a JPEG original's quantisation tables when it was decoded
    (``Canvas.source_quality``, as Guetzli's refusals report it); left out for other originals rather than
    name a quality the bytes were not made with (as ``ignore-error`` reports none).
    """
    try:
        frames = read_header(data, check=False).frames
    except CIError:  # decoded once already, so not expected: the canvas' own count then
        frames = len(canvas.frames)
    facts: dict = {"frames": frames}
    if canvas.source_quality is not None:
        facts["quality"] = canvas.source_quality
    return facts


def _original(src: Source, exc: CIError) -> Result:
    """``/ignore-error/1``: the input, untouched."""
    if isinstance(src, Image.Image):
        buf = io.BytesIO()
        src.save(buf, "PNG")
        return Result(buf.getvalue(), "png", src.width, src.height, {"ignored_error": exc.code})
    try:
        data = Path(src).read_bytes() if isinstance(src, (str, os.PathLike)) else bytes(src)
    except OSError as err:  # the original itself cannot be read: that is the error to report
        raise as_cierror(err, str(src)) from None
    fmt, w, h = sniff(data)
    return Result(data, fmt, w, h, {"ignored_error": exc.code, "ignored_message": exc.message})


__all__ = ["Result", "process", "write_atomic"]
