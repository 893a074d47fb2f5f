"""Encoder options: what a rule asks of the output file, acted on once, at encode time (spec §6, §16).

Every image-producing stage may carry ``EncodeOptions`` (``/format/``, ``/quality/``, ``/strip``,
``/size-limit/`` ...); the rule merges them and :func:`cinb.codecs.encode` applies the result. They
live with the codecs, which read them, and the grammar (:mod:`cinb.rules`) builds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import BAD_PARAMETER, CIError

QUALITY_KINDS = ("quality", "quality!", "rquality", "lquality")


@dataclass(frozen=True)
class Quality:
    """A quality request: ``kind`` is quality, quality! (forced), rquality or lquality."""

    kind: str
    value: int

    def resolve(self, source_quality: int | None) -> int:
        """The quality to encode with, given the source's (None: a lossless source).

        Examples
        --------
        >>> from cinb.codecs.options import Quality
        >>> Quality("rquality", 80).resolve(80)
        64
        >>> Quality("quality", 90).resolve(80)
        80
        """
        q0 = 100 if source_quality is None else source_quality
        if self.kind == "quality!":
            return self.value
        if self.kind == "quality":
            return min(q0, self.value)
        if self.kind == "rquality":
            # CI's range is 0-100 for all three kinds (1045/33717): rquality/0 is 0, as quality/0
            return int(q0 * self.value / 100 + 0.5)
        return max(q0, self.value) if source_quality is not None else self.value



#: Encoder effort levels (:func:`check_effort`) and cinb's default.
MIN_EFFORT, MAX_EFFORT, DEFAULT_EFFORT = 0, 6, 4


def check_effort(effort: Any) -> int | None:
    """Validate an encoder effort: None (cinb's default) or an integer 0-6, higher = slower and smaller.

    One scale for both encoders that have one: WebP's ``method`` is the effort itself (Pillow's and
    cinb's default 4), and AVIF's libaom speed is ``10 - effort`` (cinb's default speed 6 is effort 4;
    effort 6 is speed 4, effort 0 speed 10). Other formats ignore it.

    Raises
    ------
    CIError
        -103 naming ``effort`` for anything else (bools and floats included).

    Examples
    --------
    >>> from cinb.codecs.options import check_effort
    >>> check_effort(None), check_effort(6)
    (None, 6)
    >>> check_effort(7)
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: effort must be an integer 0-6 (higher: slower, smaller), got 7 (X-ErrNo -103)
    """
    if effort is None:
        return None
    if isinstance(effort, bool) or not isinstance(effort, int) or not MIN_EFFORT <= effort <= MAX_EFFORT:
        raise CIError(f"effort must be an integer {MIN_EFFORT}-{MAX_EFFORT} (higher: slower, smaller), got {effort!r}",
                      code=BAD_PARAMETER, token=f"effort={effort!r}")
    return int(effort)


@dataclass(frozen=True)
class SizeLimit:
    """``size-limit/<n>k|m[!]``: the largest output in bytes; ``keep_original`` is the ``!``."""

    limit: int
    unit: str  # "k" or "m"
    keep_original: bool = False

    @property
    def max_bytes(self) -> int:
        return self.limit * (1024 if self.unit == "k" else 1024 * 1024)

    def __str__(self) -> str:
        return f"{self.limit}{self.unit}{'!' if self.keep_original else ''}"



@dataclass(frozen=True)
class EncodeOptions:
    """Encoder parameters; they act once, at encode time, wherever they were written."""

    format: str | None = None
    quality: Quality | None = None
    interlace: int | None = None
    strip: bool = False
    cgif: int | None = None
    size_limit: SizeLimit | None = None
    ignore_error: bool = False
    #: ``(name, kwargs)`` of an encoding strategy registered with
    #: :func:`cinb.codecs.registry.register_strategy` that replaces the final save (imageSlim's
    #: perceptual search). Not a path token: the stage that sets it prints itself. Left out of the
    #: hash because kwargs is a dict.
    strategy: tuple[str, dict[str, Any]] | None = field(default=None, hash=False)
    #: Encoder effort 0-6 for AVIF and WebP (:func:`check_effort`); None is cinb's default (4). cinb's
    #: own setting, not CI's grammar: only the Python API (``cinb.compression``) sets it, so it is no token.
    effort: int | None = None

    def merged(self, later: EncodeOptions | None) -> EncodeOptions:
        """Options of a later stage override this one's, key by key."""
        if later is None:
            return self
        changes = {}
        for f in fields(self):
            value = getattr(later, f.name)
            if value not in (None, False):
                changes[f.name] = value
        return EncodeOptions(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **changes})

    def tokens(self, *, short_quality: bool = False) -> list[str]:
        """Canonical path segments (imageView2 writes quality as q/rq/lq)."""
        out: list[str] = []
        if self.format:
            out += ["format", self.format]
        if self.cgif is not None:
            out += ["cgif", str(self.cgif)]
        if self.quality is not None:
            kind, bang = self.quality.kind.rstrip("!"), "!" if self.quality.kind.endswith("!") else ""
            if short_quality:
                kind = {"quality": "q", "rquality": "rq", "lquality": "lq"}[kind]
            out += [kind, f"{self.quality.value}{bang}"]
        if self.interlace is not None:
            out += ["interlace", str(self.interlace)]
        if self.strip:
            out.append("strip")
        if self.size_limit is not None:
            out += ["size-limit", str(self.size_limit)]
        if self.ignore_error:
            out += ["ignore-error", "1"]
        return out

