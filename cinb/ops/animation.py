"""Animation: ``cgif`` frame reduction (spec §5.2)."""

from __future__ import annotations

from ..canvas import Canvas

#: ``cgif/1`` caps an animation at this many frames.
CGIF_CAP = 30


def reduce_frames(canvas: Canvas, n: int) -> Canvas:
    """Keep ``n`` frames sampled uniformly (``n == 1``: at most 30); total duration is kept.

    Examples
    --------
    >>> from cinb.canvas import Canvas
    >>> from cinb.ops.animation import reduce_frames
    >>> from PIL import Image
    >>> c = Canvas(frames=[Image.new("L", (2, 2))] * 10, durations=[100] * 10)
    >>> r = reduce_frames(c, 4)
    >>> len(r.frames), sum(r.durations)
    (4, 1000)
    """
    target = CGIF_CAP if n == 1 else n
    count = len(canvas.frames)
    if count <= target:
        return canvas
    keep = [int(i * count / target) for i in range(target)]
    durations = canvas.durations or [100] * count
    merged = [sum(durations[a:b]) for a, b in zip(keep, [*keep[1:], count], strict=True)]
    return canvas.replace(frames=[canvas.frames[i] for i in keep], durations=merged)
