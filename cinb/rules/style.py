"""``style/<name>`` (and ``imageMogr2/style/<name>``): a reference to a named style (spec §15).

The reference is part of the grammar; :mod:`cinb.styles` holds the named rules and expands the
references before processing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UNKNOWN_STYLE, CIError
from .grammar import bad
from .model import Stage
from .registry import register_family


@dataclass(frozen=True)
class StyleRef(Stage):
    """A ``style/<name>`` stage, expanded by ``process`` from its Styles.

    Examples
    --------
    >>> from cinb.rules.style import StyleRef
    >>> str(StyleRef("thumb"))
    'style/thumb'
    """

    name: str = ""

    def __str__(self) -> str:
        return f"style/{self.name}"

    def apply(self, canvas, ctx):  # pragma: no cover - expanded before processing
        raise CIError(f"style {self.name!r} needs a Styles collection", code=UNKNOWN_STYLE, token=self.name)


def parse_style(segments: list[str]) -> Stage:
    """Parse the segments after ``style/``."""
    if len(segments) != 1 or not segments[0]:
        raise bad("style/ takes exactly one style name", "style/" + "/".join(segments))
    return StyleRef(segments[0])


register_family("style", parse_style)
