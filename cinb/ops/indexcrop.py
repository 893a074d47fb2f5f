"""Index slicing: ``indexcrop/width/<w>/index/<i>`` and ``indexcrop/height/<h>/index/<i>``.

CI's page (索引切割 / Index Slicing: cloud.tencent.com 436/113297 and 436/104486, tencentcloud.com
436/75060 and 1045/73026) writes ``imageMogr2/indexcrop/width/<width>/height/<height>/index/<index>``
and its table says:

- ``indexcrop/width/<width>``: the length of each region cut in the horizontal direction, in pixels,
  "a positive integer greater than 0 and not exceeding the image width";
- ``indexcrop/height/<height>``: the same vertically, not exceeding the image height; "you may only use
  either the <width> or <height> parameter";
- ``indexcrop/index/<index>``: the index of the region, "default 0, the first block" (optional).

So ``width/<w>`` cuts the picture into columns ``w`` wide from the left edge (the last one narrower
when ``w`` does not divide the width) and keeps column ``index``; ``height/<h>`` does the same with
rows from the top. Every stored copy of CI's page stops before saying what an index past the last
block answers; cinb returns the picture unchanged, as every other service with this operation
documents (Alibaba OSS, Huawei OBS, Volcengine, Baidu BOS: "超过最大的块数则返回原图"), and says so in
``Result.info["indexcrop"]``. A length larger than the picture's side is outside CI's range: -103,
raised when the picture is known (as ``cut``'s offset outside the picture). Every frame of an
animation is cut by the same box.

The value is a run of sub-parameters, not one segment: :func:`pack` folds the run into one segment
before imageMogr2 reads its key/value pairs, and :func:`parse_indexcrop` reads that segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..canvas import Canvas
from ..errors import BAD_PARAMETER, CIError, OutOfRangeError
from .aigc import FIELDS as AIGC_FIELDS
from .aigc import KEY as AIGC_KEY
from .frames import crop

#: The imageMogr2 parameter this module reads, and its sub-parameters.
KEY = "indexcrop"
AXES = ("width", "height")
SUBKEYS = (*AXES, "index")
_WHOLE = re.compile(r"^\d{1,9}$")
#: imageMogr2's parameters that take no value (they shift the key/value pairing by one).
_FLAGS = frozenset({"strip", "auto-orient"})


def _bad(message: str, token: str) -> CIError:
    return CIError(message, code=BAD_PARAMETER, token=token)


@dataclass(frozen=True)
class IndexCrop:
    """Cut the picture into blocks ``length`` px wide (``axis`` width) or high (height); keep ``index``.

    Examples
    --------
    >>> from cinb.ops.indexcrop import IndexCrop
    >>> IndexCrop("width", 100, 2).box(250, 80)
    (200, 0, 250, 80)
    >>> IndexCrop("height", 30).box(250, 80)
    (0, 0, 250, 30)
    >>> IndexCrop("width", 100, 3).box(250, 80) is None  # past the last of 3 blocks
    True
    """

    axis: str
    length: int
    index: int = 0

    def __post_init__(self) -> None:
        if self.axis not in AXES:
            raise ValueError(f"indexcrop cuts along width or height, got {self.axis!r}")
        for name, lo in (("length", 1), ("index", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"indexcrop {name} must be a whole number >= {lo}, got {v!r}")

    def tokens(self) -> list[str]:
        return [KEY, self.axis, str(self.length), "index", str(self.index)]

    def blocks(self, W: int, H: int) -> int:
        """How many blocks the picture is cut into."""
        side = W if self.axis == "width" else H
        return -(-side // self.length)

    def box(self, W: int, H: int) -> tuple[int, int, int, int] | None:
        """The kept block in a ``W`` x ``H`` picture; None when ``index`` is past the last block.

        Raises
        ------
        CIError
            -103 when the length exceeds the picture's side (CI's range).
        """
        side = W if self.axis == "width" else H
        if self.length > side:
            # -103 like cut's offset outside the picture (out of range: ignore-error returns the original)
            raise OutOfRangeError(
                f"indexcrop {self.axis} {self.length} exceeds the picture's {self.axis} {side} "
                f"(CI: 1 to the {self.axis})", code=BAD_PARAMETER, token=str(self.length))
        if self.index >= self.blocks(W, H):
            return None
        a, b = self.index * self.length, min(side, (self.index + 1) * self.length)
        return (a, 0, b, H) if self.axis == "width" else (0, a, W, b)

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        W, H = canvas.size
        box = self.box(W, H)
        info = dict(canvas.info)
        n = self.blocks(W, H)
        if box is None:
            info[KEY] = f"index {self.index} past the last of {n} blocks: original"
            return canvas.replace(info=info)
        info[KEY] = f"block {self.index} of {n}"
        return canvas.map_frames(lambda f: crop(f, box)).replace(info=info)


def pack(segments: list[str]) -> list[str]:
    """Fold each ``indexcrop/<sub>/<n>...`` run of imageMogr2 segments into ``["indexcrop", "<sub>/<n>..."]``.

    The sub-parameters (``width``, ``height``, ``index``) are taken while they follow; anything else
    ends the run. Keys are found the way imageMogr2 pairs them (flags take no value; an
    ``AIGCMetadata`` block is a run of its own), so a value that happens to read ``indexcrop`` is
    left alone.

    Examples
    --------
    >>> from cinb.ops.indexcrop import pack
    >>> pack(["thumbnail", "100x", "indexcrop", "width", "50", "index", "1", "strip"])
    ['thumbnail', '100x', 'indexcrop', 'width/50/index/1', 'strip']
    >>> pack(["style", "indexcrop"])
    ['style', 'indexcrop']
    """
    out: list[str] = []
    i = 0
    while i < len(segments):
        key = segments[i]
        if key == KEY:
            j = i + 1
            while j < len(segments) and segments[j] in SUBKEYS:
                # checked here, before imageMogr2 pairs keys and values: a missing or bad value
                # (``index/format/png``) would otherwise shift every later pair and be reported
                # as some other parameter's fault
                value = segments[j + 1] if j + 1 < len(segments) else ""
                if not _WHOLE.match(value):
                    raise _bad(f"indexcrop {segments[j]} expects a whole number, got {value!r}", value or segments[j])
                j += 2
            out += [KEY, "/".join(segments[i + 1:j])]
            i = j
        elif key == AIGC_KEY:
            j = i + 1
            while j < len(segments) and segments[j] in AIGC_FIELDS:
                j += 2
            out += segments[i:j]
            i = j
        else:
            step = 1 if key in _FLAGS else 2
            out += segments[i:i + step]
            i += step
    return out


def parse_indexcrop(value: str) -> IndexCrop:
    """Parse the folded value ``width/<w>[/index/<i>]`` or ``height/<h>[/index/<i>]`` (see :func:`pack`).

    Raises
    ------
    CIError
        -103 naming the offending token: no length, both width and height, a repeated or unknown
        sub-parameter, a value that is no whole number, a length of 0.

    Examples
    --------
    >>> from cinb.ops.indexcrop import parse_indexcrop
    >>> parse_indexcrop("width/100/index/2")
    IndexCrop(axis='width', length=100, index=2)
    >>> parse_indexcrop("height/40")
    IndexCrop(axis='height', length=40, index=0)
    >>> parse_indexcrop("width/10/height/10")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: indexcrop takes width or height, not both (CI: 只能任选其一) (X-ErrNo -103)
    """
    parts = value.split("/") if value else []
    if not parts:
        raise _bad("indexcrop needs width/<w> or height/<h> (and optionally index/<i>)", KEY)
    seen: dict[str, int] = {}
    for k in range(0, len(parts), 2):
        sub = parts[k]
        if sub not in SUBKEYS:
            raise _bad(f"indexcrop takes width, height and index, got {sub!r}", sub)
        if sub in seen:
            raise _bad(f"indexcrop {sub} is given twice", sub)
        if k + 1 >= len(parts) or not _WHOLE.match(parts[k + 1]):
            got = parts[k + 1] if k + 1 < len(parts) else ""
            raise _bad(f"indexcrop {sub} expects a whole number, got {got!r}", got or sub)
        seen[sub] = int(parts[k + 1])
    axes = [a for a in AXES if a in seen]
    if len(axes) == 2:
        raise _bad("indexcrop takes width or height, not both (CI: 只能任选其一)", "height")
    if not axes:
        raise _bad("indexcrop needs width/<w> or height/<h>", "index")
    axis = axes[0]
    if seen[axis] < 1:
        raise OutOfRangeError(f"indexcrop {axis} must be at least 1, got '0'", code=BAD_PARAMETER, token="0")
    return IndexCrop(axis, seen[axis], seen.get("index", 0))
