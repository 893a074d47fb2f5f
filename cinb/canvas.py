"""The in-memory image between decode and encode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image


@dataclass
class Canvas:
    """Frames plus the metadata that must survive processing.

    Attributes
    ----------
    frames : list of PIL.Image.Image
        One image per frame, each in mode RGB, RGBA, L or LA, all the same size.
    durations : list of int
        Frame durations in milliseconds (empty for still images).
    loop : int or None
        Animation loop count (0 = forever).
    source_format : str
        Lower-case format of the decoded source (``jpeg``, ``png``, ...).
    exif : bytes or None
        Raw EXIF block to write back, unless the rule strips it.
    icc : bytes or None
        ICC profile to write back.
    xmp : bytes or None
        XMP packet to write back, unless stripped.
    orientation : int
        EXIF orientation still pending (1 once applied or when absent).
    source_quality : int or None
        Estimated JPEG quality of the source, None for other formats.
    source_bytes : bytes or None
        The encoded source, for ``ignore-error`` and ``size-limit/...!`` (a property: when the
        canvas was decoded straight from a file, the file is read only if this is asked for).
    info : dict
        cinb's diagnostics of processing (snake_case; reported in ``Result.info``).
    response : dict
        CI's fields produced by processing, with CI's names (``WatermarkStatus``, ``X-Slimflag``,
        an AI endpoint's answer): reported in ``Result.response``.
    dpi : tuple of float or None
        Resolution (horizontal, vertical) in dots per inch for the output's metadata.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.canvas import Canvas
    >>> c = Canvas(frames=[Image.new("RGB", (4, 3))], source_format="png")
    >>> c.width, c.height, c.is_animated
    (4, 3, False)
    """

    frames: list[Image.Image]
    durations: list[int] = field(default_factory=list)
    loop: int | None = None
    source_format: str = "png"
    exif: bytes | None = None
    icc: bytes | None = None
    xmp: bytes | None = None
    orientation: int = 1
    source_quality: int | None = None
    _source: bytes | None = field(default=None, repr=False)
    #: The file the canvas was decoded from, when it was opened by path.
    source_path: str | None = None
    info: dict = field(default_factory=dict)
    response: dict = field(default_factory=dict)
    #: Size the frames stand for when they were decoded reduced (JPEG shrink-on-load);
    #: the first resize computes its target from it. None once geometry has changed.
    nominal_size: tuple[int, int] | None = None
    #: With ``nominal_size``: the region of the frames that the nominal image covers, in frame
    #: pixels, e.g. ``(0, 0, 326.25, 580)`` for a 2610x4640 JPEG decoded at 1/8 into 327x580 (the
    #: last column stands for 2 columns of the image plus the JPEG's block padding). Resizing this box,
    #: not the whole frame, keeps the geometry exact; auto-orient turns it with the frames.
    nominal_box: tuple[float, float, float, float] | None = None
    #: Horizontal and vertical resolution (dots per inch) to write into the output: the source's
    #: (CI keeps it: "默认为原图 DPI 值", 460/129119) or what ``imageMogr2/density`` set; None: none.
    dpi: tuple[float, float] | None = None

    @property
    def source_bytes(self) -> bytes | None:
        if self._source is None and self.source_path is not None:
            self._source = Path(self.source_path).read_bytes()
        return self._source

    @property
    def width(self) -> int:
        return self.frames[0].width

    @property
    def height(self) -> int:
        return self.frames[0].height

    @property
    def size(self) -> tuple[int, int]:
        return self.frames[0].size

    @property
    def is_animated(self) -> bool:
        return len(self.frames) > 1

    @property
    def has_alpha(self) -> bool:
        return self.frames[0].mode in ("RGBA", "LA")

    def map_frames(self, fn: Callable[[Image.Image], Image.Image]) -> Canvas:
        """Return a canvas whose frames are ``fn(frame)``; metadata is kept."""
        return replace(self, frames=[fn(f) for f in self.frames], info=dict(self.info),
                       response=dict(self.response))

    def replace(self, **changes) -> Canvas:
        """Return a copy with some fields changed (``dataclasses.replace``)."""
        changes.setdefault("info", dict(self.info))
        changes.setdefault("response", dict(self.response))
        return replace(self, **changes)
