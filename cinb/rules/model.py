"""Rule, Stage and the encoder options every image-producing stage can carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from ..codecs.options import QUALITY_KINDS, EncodeOptions, Quality, SizeLimit  # noqa: F401  (re-exported)
from ..settings import Settings, get_settings

if TYPE_CHECKING:
    from ..canvas import Canvas

class Stage:
    """One ``|``-separated part of a rule.

    Subclasses are frozen dataclasses with a canonical ``__str__`` and
    ``apply(canvas, ctx) -> Canvas``. ``terminal`` stages (imageInfo, exif, imageAve,
    blind extraction) produce a JSON answer and must come last.
    """

    terminal: ClassVar[bool] = False
    encode: EncodeOptions | None = None

    def apply(self, canvas: Canvas, ctx: Context) -> Canvas:
        raise NotImplementedError

    def describe(self, canvas: Canvas, data: bytes, fmt: str, ctx: Context) -> dict:
        """For terminal stages: the JSON answer, given the encoded image so far."""
        raise NotImplementedError


@dataclass
class Context:
    """What ops may need besides the canvas: the styles, where watermark paths resolve, the settings."""

    styles: object = None
    base_dir: str | None = None
    settings: Settings = field(default_factory=get_settings)


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
