"""Animation: ``cgif`` frame reduction (spec §5.2; CI's format page 1045/33716, 436/36369).

CI's page gives ``cgif/<FrameNumber>`` two cases in different words: ``1`` "cuts the input GIF to the
default number of frames (30); if the original number of frames is greater than 30, the exceeded
frames will be cut" (则截取), while ``(1, 100]`` "compresses the image to the specified number of
frames" (压缩到指定帧数). So ``cgif/1`` keeps the first 30 frames as they are (the animation
ends sooner), and ``cgif/n`` keeps ``n`` frames spread over the whole animation, each lasting as
long as the frames it stands for (the animation keeps its length).
"""

from __future__ import annotations

from ..canvas import Canvas

#: ``cgif/1`` caps an animation at this many frames.
CGIF_CAP = 30


def reduce_frames(canvas: Canvas, n: int) -> Canvas:
    """``cgif/n``: keep ``n`` frames sampled uniformly, total duration kept; ``n == 1``: the first 30.

    Examples
    --------
    >>> from cinb.canvas import Canvas
    >>> from cinb.ops.animation import reduce_frames
    >>> from PIL import Image
    >>> c = Canvas(frames=[Image.new("L", (2, 2))] * 10, durations=[100] * 10)
    >>> r = reduce_frames(c, 4)
    >>> len(r.frames), sum(r.durations)
    (4, 1000)
    >>> long = Canvas(frames=[Image.new("L", (2, 2))] * 40, durations=list(range(40)))
    >>> r = reduce_frames(long, 1)
    >>> len(r.frames), r.durations == list(range(30))
    (30, True)
    """
    target = CGIF_CAP if n == 1 else n
    count = len(canvas.frames)
    if count <= target:
        return canvas
    if n == 1:
        return canvas.replace(frames=canvas.frames[:CGIF_CAP],
                              durations=list(canvas.durations[:CGIF_CAP]) if canvas.durations else [])
    keep = [int(i * count / target) for i in range(target)]
    durations = canvas.durations or [100] * count
    merged = [sum(durations[a:b]) for a, b in zip(keep, [*keep[1:], count], strict=True)]
    return canvas.replace(frames=[canvas.frames[i] for i in keep], durations=merged)
