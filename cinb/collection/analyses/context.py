"""``ImageContext``: one image, decoded at most once per size, shared by every per-image analysis."""

from __future__ import annotations

import os
from functools import cached_property

import numpy as np
from PIL import Image

from cinb.collection.headers import Header, check_limits, read_header

#: Long side of the working image most analyses use. Large enough for blur and hashes, small
#: enough that a 12 Mpx JPEG decodes at 1/4 scale (shrink-on-load) in a few milliseconds.
WORK_SIZE = 512

_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


class ImageContext:
    """Lazy, cached views of one image file for analyses.

    Every accessor decodes on first use and caches, so ten analyses asking for ``image(512)`` cost
    one decode. Pixel views are oriented as displayed (EXIF orientation applied) and alpha is
    flattened on white, as CI does for opaque outputs.

    Parameters
    ----------
    path : str
        The image file.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.collection.analyses.context import ImageContext
    >>> import tempfile
    >>> p = tempfile.mktemp(suffix=".png"); Image.new("RGB", (1000, 500), "red").save(p)
    >>> ctx = ImageContext(p)
    >>> ctx.header().width, ctx.image(256).size, ctx.gray(256).shape
    (1000, (256, 128), (128, 256))
    """

    def __init__(self, path: str):
        self.path = os.fspath(path)
        self._header: Header | Exception | None = None
        self._canvases: dict = {}
        self._images: dict[int, Image.Image] = {}
        self._arrays: dict = {}
        #: Mode of the decoded first frame (RGB, RGBA, L or LA), set once ``image()`` ran.
        self.mode: str | None = None

    def header(self) -> Header:
        """Header facts (format, size, mode, frames, EXIF summary); CI's limits checked."""
        if self._header is None:
            try:
                header = read_header(self.path)
                check_limits(self.path, header, os.path.getsize(self.path))
                self._header = header
            except Exception as exc:
                self._header = exc
        if isinstance(self._header, Exception):
            raise self._header
        return self._header

    @cached_property
    def size_bytes(self) -> int:
        return os.path.getsize(self.path)

    def canvas(self, size: int | None = None):
        """The engine's decode (``cinb.decode.open_canvas``): full size, or JPEG shrink-on-load to
        at least ``size`` px a side. Frames are RGB, RGBA, L or LA; orientation is *not* applied."""
        if size not in self._canvases:
            from cinb.decode import open_canvas

            try:
                self.header()  # fast limit check and a clear error before any decode
                self._canvases[size] = open_canvas(self.path, draft=(size, size) if size else None)
            except Exception as exc:
                # Remember the failure: the next analysis asking gets the same error at no cost.
                self._canvases[size] = exc
        found = self._canvases[size]
        if isinstance(found, Exception):
            raise found
        return found

    def image(self, size: int = WORK_SIZE) -> Image.Image:
        """First frame as RGB, displayed orientation, fitted within ``size`` x ``size`` (never enlarged)."""
        if size not in self._images:
            # Reuse a full decode if one exists (the result is identical for non-JPEG sources,
            # where shrink-on-load does nothing); otherwise decode small.
            full = self._canvases.get(None) if self.header().format != "jpeg" else None
            canvas = full if full is not None and not isinstance(full, Exception) else self.canvas(size)
            self.mode = canvas.frames[0].mode
            img = canvas.frames[0]
            if max(img.size) > size:  # shrink first: flattening and rotating a small image is cheap
                scale = size / max(img.size)
                fit = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
                img = img.resize(fit, Image.Resampling.BILINEAR, reducing_gap=2.0)
            img = _flatten(img)
            if canvas.orientation in _TRANSPOSE:
                img = img.transpose(_TRANSPOSE[canvas.orientation])
            self._images[size] = img
        return self._images[size]

    def rgb(self, size: int = WORK_SIZE) -> np.ndarray:
        """``image(size)`` as a ``uint8`` array of shape (h, w, 3)."""
        key = ("rgb", size)
        if key not in self._arrays:
            self._arrays[key] = np.asarray(self.image(size))
        return self._arrays[key]

    def gray(self, size: int = WORK_SIZE) -> np.ndarray:
        """Luma (ITU-R 601, as Pillow's ``L``) of ``image(size)`` as ``float32`` (h, w), 0-255."""
        key = ("gray", size)
        if key not in self._arrays:
            a = self.rgb(size).astype(np.float32)
            self._arrays[key] = a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114
        return self._arrays[key]


def _flatten(frame: Image.Image) -> Image.Image:
    if frame.mode in ("RGBA", "LA"):
        background = Image.new("RGB", frame.size, (255, 255, 255))
        background.paste(frame.convert("RGBA"), mask=frame.getchannel("A"))
        return background
    return frame.convert("RGB") if frame.mode != "RGB" else frame
