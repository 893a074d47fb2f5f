"""Animated-frame extraction: ``frame/<N>`` (CI's 动图截帧 / GIF Frame Extraction page).

CI's page (436/86527, 1246/109200; English 436/75062, 1045/73028) gives ``/frame/<N>``: "extract the
Nth frame of the GIF, where N is a positive integer (1, 2, 3...). If N exceeds the maximum frame number
of the GIF, the last frame will be taken. For example, to extract the 1st frame of a GIF, the parameter
is /frame/1." The page names GIF and WebP sources. The answer is that one frame, a still picture; a
still source has one frame, so every N gives it back. CI allows it when processing on download only;
cinb has no download/upload distinction and applies it wherever the rule runs. The rule text is read
by :func:`cinb.rules.mogr2.parse_frame` (-103 for a word or 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..canvas import Canvas

#: The imageMogr2 parameter this module reads.
KEY = "frame"


@dataclass(frozen=True)
class FrameExtract:
    """``frame/<N>``: keep frame N (counted from 1) of an animation; past the last frame, the last.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.canvas import Canvas
    >>> from cinb.ops.frame_extract import FrameExtract
    >>> c = Canvas(frames=[Image.new("L", (2, 2), v) for v in (10, 20, 30)], durations=[40, 50, 60])
    >>> out = FrameExtract(2).apply(c)
    >>> len(out.frames), out.frames[0].getpixel((0, 0)), out.durations
    (1, 20, [50])
    >>> FrameExtract(99).apply(c).frames[0].getpixel((0, 0))
    30
    """

    n: int

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"frame counts from 1, got {self.n!r}")

    def tokens(self) -> list[str]:
        return [KEY, str(self.n)]

    def index(self, count: int) -> int:
        """The 0-based frame kept out of ``count`` frames."""
        return min(self.n, count) - 1

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        i = self.index(len(canvas.frames))
        durations = [canvas.durations[i]] if len(canvas.durations) > i else []
        info = dict(canvas.info)
        info["frame"] = f"{i + 1} of {len(canvas.frames)}"
        return canvas.replace(frames=[canvas.frames[i]], durations=durations, info=info)

