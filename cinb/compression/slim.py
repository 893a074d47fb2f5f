"""``imageSlim``: visually lossless slimming (spec §16.2).

Per image, cinb searches for the smallest encoding *in the output format* whose SSIMULACRA2 score
against the pixels that would otherwise be encoded stays at or above a threshold (default 80, the
metric authors' "impossible to tell apart side by side at 1:1"):

- JPEG: the lowest jpegli quality (up to the rule's quality or :data:`JPEG_SEARCH_TOP`, whichever is
  higher: the scales differ) that meets the threshold plus :data:`SCORE_MARGIN`, in steps of 1/8
  quality (fractional qualities: :func:`cinb.codecs.jpeg.jpegli_encoder`; integer steps overshoot the
  threshold by up to a point), found by an interpolation search on the score; then the same search on
  the luma quality with chroma :data:`CHROMA_OFFSETS` qualities away (luma from one jpegli encode,
  chroma from another: :func:`cinb.codecs.jpegcoef.with_chroma`), the smallest result kept; then a
  lossless MozJPEG re-optimisation (progressive scans, optimal Huffman tables); an untouched JPEG
  source is also tried losslessly re-optimised as is. Without cinb's C extension
  (:mod:`cinb.codecs.jpegcoef`), and for greyscale, the search is on integer qualities. (Searching
  jpegli's Butteraugli distance instead, and a mozjpeg-trellis candidate, integer or fractional, were
  measured and do not pay: benchmarks/RESULTS.md, "Compression round 2".)
- WebP, AVIF, HEIF: the lowest quality that meets the threshold plus :data:`SCORE_MARGIN`, by the same
  search.
- PNG: the lossless optimum (oxipng), and a 256-colour palette version when it meets the threshold.
- GIF, BMP and animations: the ordinary encoding (nothing safe to gain yet).

The result is the candidate with the fewest bytes, if it is smaller than what the request would give
without ``imageSlim`` (the source file itself when the source is untouched); ``Result.response["X-Slimflag"]``
is CI's header: ``1`` slimmed, ``2`` original returned. With ``size-limit`` only ``imageSlim`` takes
effect (CI 1246/109211; ``Result.info["size_limit_ignored"] == "imageSlim"``).

``imageSlim`` takes no parameters in CI. cinb's Python API :func:`slim` also takes ``threshold`` and
``metric``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from ..canvas import Canvas
from ..codecs import jpegcoef
from ..codecs.jpeg import encode_jpeg, jpegli_encoder, splice_metadata
from ..codecs.options import DEFAULT_EFFORT, check_effort
from ..codecs.quality_search import find_boundary
from ..codecs.registry import Codec, pil_save, register_strategy, save_kwargs
from ..decode import open_canvas
from ..engine import process
from ..errors import CIError
from ..rules.grammar import bad
from ..rules.model import Context, EncodeOptions, Rule, Stage
from ..rules.registry import parse_rule, register_family
from .encoders import decode_image
from .metrics import Reference, get_metric

#: SSIMULACRA2 score imageSlim keeps by default.
DEFAULT_THRESHOLD = 80.0
DEFAULT_METRIC = "ssimulacra2"
SLIMMED, ORIGINAL = 1, 2
#: Score kept above the threshold while searching: the reference ``ssimulacra2`` package differs from
#: cinb's metric by up to 0.04 on JPEG/AVIF outputs (tests/test_compression.py), and a fine quality
#: grid lands within a few hundredths of the threshold.
SCORE_MARGIN = 0.05
#: Steps per jpegli quality in the JPEG search (an integer quality step is 0.5-1 SSIMULACRA2 point and
#: 3-5 % of the bytes near 80).
QUALITY_STEPS = 8
#: Highest jpegli quality the JPEG search may use, whatever the rule's quality: jpegli's scale is not
#: libjpeg's (on noisy scanned pages jpegli q85 scores below 80 where libjpeg q85 scores 81.7, and
#: jpegli reaches 80 at 28 % fewer bytes a few qualities higher). The result is still only used when
#: it is smaller than what the rule gives without imageSlim.
JPEG_SEARCH_TOP = 95
#: Chroma-minus-luma jpegli quality offsets tried after the 1/8-step search: jpegli's balance of luma
#: and chroma precision is tuned for Butteraugli, and on some photos SSIMULACRA2 80 is reached in fewer
#: bytes with chroma a few qualities lower (more luma) or higher (less luma). Each offset is one more
#: search on the luma quality (:func:`_jpeg_chroma_search`); the smallest result wins. Measured
#: (benchmarks/RESULTS.md, "Compression round 2"): 0.7 % fewer bytes on natural photos, 1.4 % on screenshots
#: and scans, for 2.1-3x the search CPU (``effort`` 0-3 skips them).
CHROMA_OFFSETS: tuple[float, ...] = (-3.0, 3.0)
#: How far (jpegli qualities) from the 1-D answer an offset search looks for the luma quality.
CHROMA_SPAN = 4


@dataclass(frozen=True)
class SlimStage(Stage):
    """The ``imageSlim`` stage: asks encoding to search for the smallest output (its encode strategy)."""

    threshold: float = DEFAULT_THRESHOLD
    metric: str = DEFAULT_METRIC
    #: Search effort (cinb's Python API, not CI's grammar: ``str`` stays ``imageSlim``): AVIF/WebP encoder
    #: effort; for JPEG, below the default the chroma-offset searches are skipped.
    effort: int | None = None

    def __post_init__(self) -> None:
        check_effort(self.effort)

    def __str__(self) -> str:
        return "imageSlim"

    @property
    def encode(self) -> EncodeOptions:  # type: ignore[override]
        return EncodeOptions(strategy=("imageSlim", {"threshold": self.threshold, "metric": self.metric}),
                             effort=self.effort)

    def apply(self, canvas: Canvas, ctx: Context) -> Canvas:
        return canvas


def parse_slim(segments: list[str]) -> Stage:
    """``imageSlim`` takes no parameters (CI)."""
    if segments and segments != [""]:
        raise bad(f"imageSlim takes no parameters, got {'/'.join(segments)!r}", "/".join(segments))
    return SlimStage()


def _untouched_source(canvas: Canvas, codec: Codec) -> bytes | None:
    """The source file when the canvas is exactly the decoded source, to be written in its format; else None."""
    source = canvas.source_bytes
    if source is None or codec.name != canvas.source_format:
        return None
    try:
        fresh = open_canvas(source)
    except CIError:
        return None
    if len(fresh.frames) != len(canvas.frames) or list(fresh.durations) != list(canvas.durations):
        return None
    same = all(a.size == b.size and a.mode == b.mode and np.array_equal(np.asarray(a), np.asarray(b))
               for a, b in zip(fresh.frames, canvas.frames, strict=True))
    return source if same else None


def _jpeg_candidate(canvas: Canvas, opts: EncodeOptions, q: int) -> bytes:
    return encode_jpeg(canvas.frames[0], q, encoder="jpegli", optimize=True, **save_kwargs(canvas, opts))


def _jpeg_fine_search(canvas: Canvas, opts: EncodeOptions, quality: int, ref: Reference, metric: str,
                      threshold: float, *, encode=None):
    """The lowest jpegli quality in steps of ``1 / QUALITY_STEPS`` (fractions: :func:`jpegli_encoder`)."""
    encode = encode or jpegli_encoder(canvas.frames[0])
    top = max(1, min(100, int(quality))) * QUALITY_STEPS
    found = _search(lambda k: encode(max(1.0, k / QUALITY_STEPS)), decode_image, ref, metric, threshold, top)
    if found is None:
        return None
    data, k, s = found
    data = splice_metadata(data, **save_kwargs(canvas, opts))
    return data, k / QUALITY_STEPS, s  # Result.quality is its integer part; info["slim_quality"] exact


def _jpeg_chroma_search(canvas: Canvas, opts: EncodeOptions, encode, luma: float, offset: float, top: int,
                        ref: Reference, metric: str, threshold: float):
    """The lowest luma quality meeting the threshold with chroma ``offset`` jpegli qualities away from it.

    Searched in 1/8 steps within :data:`CHROMA_SPAN` qualities of ``luma`` (the 1-D search's answer), on
    the side the offset pushes it to (lower chroma needs more luma). Returns (data, luma, score,
    chroma) or None when nothing in that bracket meets the threshold.
    """
    def split(k: int) -> bytes:
        q = max(1.0, k / QUALITY_STEPS)
        return jpegcoef.with_chroma(encode(q), encode(max(1.0, min(100.0, q + offset)))) or encode(q)

    k0 = round(luma * QUALITY_STEPS)
    span = CHROMA_SPAN * QUALITY_STEPS
    lo, hi = (k0, min(top * QUALITY_STEPS, k0 + span)) if offset < 0 else (max(QUALITY_STEPS, k0 - span), k0)
    if hi <= lo:
        return None
    found = _search(split, decode_image, ref, metric, threshold, hi, q_lo=lo)
    if found is None:
        return None
    data, k, s = found
    q = k / QUALITY_STEPS
    return splice_metadata(data, **save_kwargs(canvas, opts)), q, s, max(1.0, min(100.0, q + offset))


def _has_jpegli() -> bool:
    try:
        import pyjpegli  # noqa: F401
    except ImportError:  # optional: the search then runs on libjpeg's integer qualities
        return False
    return True


def _lossless_jpeg(data: bytes) -> bytes | None:
    try:
        import mozjpeg_lossless_optimization as mlo
    except ImportError:  # optional
        return None
    try:
        return mlo.optimize(data, copy=mlo.COPY_MARKERS.ALL)
    except ValueError:
        return None


def _optimise_png(data: bytes) -> bytes:
    try:
        import oxipng
    except ImportError:  # optional
        return data
    try:
        return oxipng.optimize_from_memory(data, level=2)
    except Exception:  # noqa: BLE001 - oxipng.PngError: keep the input
        return data


def _palette(canvas: Canvas, opts: EncodeOptions) -> bytes | None:
    frame = canvas.frames[0]
    if frame.mode in ("L", "LA"):
        return None  # greyscale PNGs are already one channel; a palette rarely helps
    if frame.mode == "RGBA":
        pal = frame.quantize(256, method=Image.Quantize.FASTOCTREE)
    else:
        pal = frame.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    return pil_save([pal], "PNG", optimize=True, **save_kwargs(canvas, opts))


def _search(encode, decode, ref: Reference, metric: str, threshold: float, q_hi: int, *, q_lo: int = 1):
    """Lowest quality in [q_lo, q_hi] whose decoded output scores >= threshold.

    An interpolation search on the score (:func:`cinb.codecs.quality_search.find_boundary`): the
    same answer as bisection where the score grows with quality, in fewer encodes and scores.
    Returns (data, quality, score) or None when even ``q_hi`` misses the threshold.
    """
    def probe(q: int) -> tuple[float, bytes]:
        data = encode(q)
        return float(ref.score(decode(data), (metric,))[metric]), data

    _, passing = find_boundary(probe, q_high=q_hi, target=threshold, below=lambda score: score < threshold, q_low=q_lo)
    if passing is None:
        return None
    return passing.payload, passing.quality, passing.value


def slim_encode(canvas: Canvas, opts: EncodeOptions, codec: Codec, quality: int | None, *,
                threshold: float = DEFAULT_THRESHOLD,
                metric: str = DEFAULT_METRIC) -> tuple[bytes, int | None, dict[str, Any], dict[str, int]]:
    """The imageSlim encoding strategy (registered with the codec registry).

    ``quality`` is the codec registry's, resolved for every lossy codec (None for PNG).
    """
    get_metric(metric)
    source = _untouched_source(canvas, codec)
    if source is not None:
        baseline, base_q = source, canvas.source_quality if codec.lossy else None
    else:
        baseline, base_q = codec.save(canvas, quality, opts), quality
    candidates: list[tuple] = []  # (data, quality, score[, extra info])
    if not canvas.is_animated:
        ref = Reference(canvas.frames[0])
        if codec.name == "jpeg" and quality is not None:
            if source is not None:
                lossless = _lossless_jpeg(source)
                if lossless:
                    candidates.append((lossless, base_q, 100.0))
            top = max(int(quality), JPEG_SEARCH_TOP)
            if jpegcoef.available() and canvas.frames[0].mode != "L" and _has_jpegli():
                encode = jpegli_encoder(canvas.frames[0])
                found = _jpeg_fine_search(canvas, opts, top, ref, metric, threshold + SCORE_MARGIN, encode=encode)
                thorough = opts.effort is None or opts.effort >= DEFAULT_EFFORT
                for offset in CHROMA_OFFSETS if found and thorough else ():
                    split = _jpeg_chroma_search(canvas, opts, encode, found[1], offset, top, ref, metric,
                                                threshold + SCORE_MARGIN)
                    if split:
                        data, q, s, chroma = split
                        candidates.append((_lossless_jpeg(data) or data, q, s, {"slim_chroma_quality": chroma}))
            else:
                found = _search(lambda q: _jpeg_candidate(canvas, opts, q), decode_image, ref, metric,
                                threshold + SCORE_MARGIN, top)
            if found:
                data, q, s = found
                candidates.append((_lossless_jpeg(data) or data, q, s))
        elif codec.lossy and quality is not None:
            found = _search(lambda q: codec.save(canvas, q, opts), decode_image, ref, metric,
                            threshold + SCORE_MARGIN, int(quality))
            if found:
                candidates.append(found)
        elif codec.name == "png":
            candidates.append((_optimise_png(baseline if source is None else codec.save(canvas, None, opts)),
                               None, 100.0))
            pal = _palette(canvas, opts)
            if pal is not None:
                s = float(ref.score(decode_image(pal), (metric,))[metric])
                if s >= threshold:
                    candidates.append((_optimise_png(pal), None, s))
    info: dict[str, Any] = {"slim_metric": metric, "slim_threshold": threshold}
    if candidates:
        data, q, s, *extra = min(candidates, key=lambda c: len(c[0]))
        if len(data) < len(baseline):
            info.update({"slim_score": s, "slim_saving": 1.0 - len(data) / len(baseline)})
            info.update(*extra)  # slim_chroma_quality for a chroma-offset result
            if isinstance(q, float):
                info["slim_quality"] = q
                q = max(1, int(q))
            return data, q, info, {"X-Slimflag": SLIMMED}
    info.update({"slim_score": 100.0 if source is not None else None, "slim_saving": 0.0})
    return baseline, base_q, info, {"X-Slimflag": ORIGINAL}


def slim(src: Any, rule: str = "", *, threshold: float = DEFAULT_THRESHOLD, metric: str = DEFAULT_METRIC,
         styles=None, effort: int | None = None):
    """``rule|imageSlim`` on one image, with a chosen threshold and metric.

    Parameters
    ----------
    src : path, bytes or PIL.Image.Image
        The image.
    rule : str
        Processing to run first (``imageMogr2/...``); empty for plain ``?imageSlim``.
    threshold : float
        Lowest acceptable metric value (SSIMULACRA2 default 80).
    metric : {"ssimulacra2", "ssim", "psnr"}
        The metric from :mod:`cinb.compression.metrics`.
    styles : cinb.Styles, optional
        For ``style/<name>`` stages in ``rule``.
    effort : int, optional
        0-6 (:func:`cinb.codecs.options.check_effort`; default 4; higher is slower and smaller at the
        same score: measured in benchmarks/RESULTS.md, "Compression round 2", and
        notebooks/31-compression.ipynb). AVIF and WebP: the encoder effort of the search (4 is CI's
        speed). JPEG: 0-3 skip the chroma-offset searches (:data:`CHROMA_OFFSETS`): less than half the
        CPU, 0.7 % more bytes on photos. cinb's own setting, not part of CI's grammar. Other formats
        ignore it.

    Raises
    ------
    CIError
        -103 for a bad metric or effort.

    Returns
    -------
    cinb.Result
        ``response["X-Slimflag"]`` 1 (slimmed) or 2 (original kept), ``info["slim_score"]``,
        ``info["slim_saving"]`` (fraction of the bytes the request would otherwise give).

    Examples
    --------
    >>> from cinb.compression.slim import slim
    >>> from PIL import Image
    >>> r = slim(Image.new("RGB", (64, 64), "white"), "imageMogr2/format/jpg")
    >>> r.format, r.response["X-Slimflag"] in (1, 2)
    ('jpeg', True)
    """
    get_metric(metric)
    stage = SlimStage(float(threshold), metric, check_effort(effort))
    base = parse_rule(rule) if rule else Rule(())
    return process(src, Rule(base.stages + (stage,)), styles=styles)


register_family("imageSlim", parse_slim)
register_strategy("imageSlim", slim_encode)
