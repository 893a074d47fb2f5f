"""Rule, Stage and the encoder options every image-producing stage can carry."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ..canvas import Canvas

#: Canonical output format names accepted by ``/format/`` and what they encode as.
FORMAT_ALIASES = {
    "jpg": "jpg", "jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif", "bmp": "bmp",
    "avif": "avif", "heif": "heif", "heic": "heif", "yjpeg": "yjpeg", "tpg": "tpg",
}

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
            return max(1, int(q0 * self.value / 100 + 0.5))
        return max(q0, self.value) if source_quality is not None else self.value


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

    def merged(self, later: "EncodeOptions | None") -> "EncodeOptions":
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


class Stage:
    """One ``|``-separated part of a rule.

    Subclasses are frozen dataclasses with a canonical ``__str__`` and
    ``apply(canvas, ctx) -> Canvas``. ``terminal`` stages (imageInfo, exif, imageAve,
    blind extraction) produce a JSON answer and must come last.
    """

    terminal: ClassVar[bool] = False
    encode: EncodeOptions | None = None

    def apply(self, canvas: "Canvas", ctx: "Context") -> "Canvas":
        raise NotImplementedError

    def describe(self, canvas: "Canvas", data: bytes, fmt: str, ctx: "Context") -> dict:
        """For terminal stages: the JSON answer, given the encoded image so far."""
        raise NotImplementedError


@dataclass
class Context:
    """What ops may need besides the canvas: the styles, and where watermark paths resolve."""

    styles: object = None
    base_dir: str | None = None


@dataclass(frozen=True)
class Rule:
    """A parsed processing rule: a tuple of stages.

    ``str(rule)`` is the canonical text, which parses back to an equal Rule.

    Examples
    --------
    >>> from cinb import parse_rule
    >>> str(parse_rule("imageMogr2/thumbnail/!50p/format/PNG"))
    'imageMogr2/thumbnail/!50p/format/png'
    """

    stages: tuple[Stage, ...]

    def __str__(self) -> str:
        return "|".join(str(s) for s in self.stages)

    def __len__(self) -> int:
        return len(self.stages)

    def __iter__(self):
        return iter(self.stages)

    @property
    def encode_options(self) -> EncodeOptions:
        opts = EncodeOptions()
        for s in self.stages:
            opts = opts.merged(s.encode)
        return opts
