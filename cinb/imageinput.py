"""``ImageInput``: one image as the analyses and AI endpoints see it, decoded at most once per size.

CI's analysis endpoints (imageInfo, the AI "detect" family) answer about the picture as displayed:
EXIF orientation applied, transparency over white. ``ImageInput`` gives every consumer that view
from one decode: the header (CI's limits checked), the engine's :class:`~cinb.canvas.Canvas`
(shrink-on-load for JPEG), and upright RGB images and arrays at any working size, each cached, and
failures cached too (ten analyses asking a corrupt file cost one failed decode).
"""

from __future__ import annotations

import errno
import os

import numpy as np
from PIL import Image

from .canvas import Canvas
from .codecs.registry import flatten
from .decode import Header, check_header, header_from_image, open_canvas, read_header, read_source
from .errors import UNSUPPORTED_TYPE, CIError, as_cierror
from .ops.rotation import AutoOrient

#: Long side of the working image most analyses use. Large enough for blur and hashes, small
#: enough that a 12 Mpx JPEG decodes at 1/4 scale (shrink-on-load) in a few milliseconds.
WORK_SIZE = 512

_AUTO_ORIENT = AutoOrient()


class ImageInput:
    """Lazy, cached views of one image: header, canvas, upright RGB images and arrays.

    Constructing never reads or decodes; each accessor does on first use and caches, so ten
    analyses asking for ``image(512)`` cost one decode. Pixel views are oriented as displayed
    (exactly ``open_canvas`` then ``imageMogr2/auto-orient``) and alpha is flattened on white, as
    CI does for opaque outputs.

    Parameters
    ----------
    src : path, bytes-like or PIL.Image.Image
        The image.

    Attributes
    ----------
    path : str or None
        The file, for a path source.
    label : str
        The file name, or ``"input"``.
    mode : str or None
        Mode of the decoded first frame (RGB, RGBA, L or LA), set once ``image()`` ran.

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> from cinb.imageinput import ImageInput
    >>> p = tempfile.mktemp(suffix=".png"); Image.new("RGB", (1000, 500), "red").save(p)
    >>> img = ImageInput(p)
    >>> img.header().width, img.image(256).size, img.gray(256).shape
    (1000, (256, 128), (128, 256))
    """

    def __init__(self, src):
        self._src = src
        self._pil: Image.Image | None = src if isinstance(src, Image.Image) else None
        self._data: bytes | None = None
        if isinstance(src, (bytes, bytearray, memoryview)):
            self._data = bytes(src)
        self.path: str | None = os.fspath(src) if isinstance(src, (str, os.PathLike)) else None
        self.label: str = os.path.basename(self.path) if self.path else "input"
        self._header: Header | Exception | None = None
        self._canvases: dict[int, Canvas | Exception] = {}
        self._images: dict = {}
        self._arrays: dict = {}
        self.mode: str | None = None

    def __repr__(self) -> str:
        return f"ImageInput({self.path or self.label!r})"

    @property
    def source(self):
        """What the image came from, as the engine's functions accept it: the path, the bytes or the PIL image.

        Examples
        --------
        >>> from cinb.imageinput import ImageInput
        >>> ImageInput(b"abc").source
        b'abc'
        """
        if self.path is not None:
            return self.path
        return self._pil if self._pil is not None else self._data

    @property
    def data(self) -> bytes | None:
        """The encoded bytes (read on first use, 32 MB at most); None for a PIL source."""
        if self._data is None and self.path is not None:
            self._data = read_source(self.path)[0]
        return self._data

    @property
    def size_bytes(self) -> int | None:
        """The encoded size (None for a PIL source)."""
        if self._data is not None:
            return len(self._data)
        if self.path is not None:
            try:
                if not os.path.isdir(self.path):
                    return os.path.getsize(self.path)
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), self.path)
            except OSError as exc:
                raise _unreadable(self.path, exc) from None
        return None

    def header(self) -> Header:
        """Header facts (format, size, mode, frames, orientation, EXIF summary); CI's limits checked.

        Raises
        ------
        CIError
            Not an image, corrupt, or over CI's limits; -113 for a path with no file to read (missing,
            a folder, unreadable), as :func:`cinb.decode.read_source` answers. The same error on every call.
        """
        if self._header is None:
            try:
                self._header = self._read_header()
            except Exception as exc:  # noqa: BLE001 - cached and re-raised to every caller
                self._header = exc
        if isinstance(self._header, Exception):
            raise self._header
        return self._header

    def _read_header(self) -> Header:
        if self.path is not None:
            try:
                return read_header(self.path)
            except OSError as exc:  # missing, a folder, unreadable: the decoder's CIError, not the OS's
                raise _unreadable(self.path, exc) from None
        if self._data is not None:
            return read_header(self._data)
        if self._pil is not None:
            return check_header(header_from_image(self._pil), self.label)
        raise CIError(f"cannot read an image from a {type(self._src).__name__}", code=UNSUPPORTED_TYPE)

    def canvas(self, size: int | None = None):
        """The engine's decode (:func:`cinb.decode.open_canvas`): full size, or JPEG shrink-on-load
        to a long side of at least ``size`` px (1/2, 1/4 or 1/8 scale). Frames are RGB, RGBA, L or LA;
        orientation is *not* applied.

        Decodes are cached by the scale they come out at, not by the size asked: ``canvas(2000)`` of a
        picture that cannot be reduced for it *is* ``canvas(None)`` (one decode, one cached copy), as
        is every size of a non-JPEG picture (no reduced decode exists).
        """
        scale, target = self._draft(size)  # reads the header: its error (cached) is the caller's
        if scale not in self._canvases:
            decoded: Canvas | Exception
            try:
                decoded = open_canvas(self.source, draft=target if scale > 1 else None)
            except Exception as exc:  # noqa: BLE001 - remembered: the next caller gets the same error free
                decoded = exc
            self._canvases[scale] = decoded
            if not isinstance(decoded, Exception) and decoded.nominal_size is None:
                self._canvases[1] = decoded  # the decoder could not reduce it after all: the full decode
        found = self._canvases[scale]
        if isinstance(found, Exception):
            raise found
        return found

    def _draft(self, size: int | None) -> tuple[int, tuple[int, int] | None]:
        """The JPEG DCT scale (1, 2, 4 or 8) a decode for ``size`` comes out at (1: the full decode), and
        the size to ask the decoder for.

        The decode keeps the long side at least ``size`` (what :meth:`image` fits within ``size`` x
        ``size``): a 4000 x 3000 photo searched at 2000 px decodes at 1/2, 2000 x 1500, and a 1024 x 683
        one at 512 px at 1/2 too. Only a single-frame JPEG decodes reduced.
        """
        header = self.header()
        if size is None or header.format != "jpeg" or header.frames > 1 or self._pil is not None:
            return 1, None  # a PIL image is already decoded: open_canvas copies it whole
        width, height = header.width, header.height
        if max(width, height) <= size or min(width, height) < 1:
            return 1, None
        # The largest 1/s whose (rounded-up) long side still reaches ``size``; the request is then the
        # picture's own sides divided by s, for which Pillow's draft picks exactly 1/s (fitting the short
        # side instead rounded 683 / 342 down to 1 and decoded a 1024 x 683 photo in full for 512 px).
        long_side, short_side = max(width, height), min(width, height)
        scale = next((s for s in (8, 4, 2) if -(-long_side // s) >= size and short_side >= s), 1)
        if scale == 1:
            return 1, None
        return scale, (width // scale, height // scale)

    def frame(self) -> Image.Image:
        """The first frame at full size, upright, in its own mode (RGB, RGBA, L or LA): what an endpoint
        that answers with a picture starts from (transparency and grey kept; later frames not turned)."""
        canvas = self.canvas(None)
        if canvas.is_animated:
            canvas = canvas.replace(frames=canvas.frames[:1], durations=canvas.durations[:1])
        return _AUTO_ORIENT.apply(canvas).frames[0]

    def frame_count(self) -> int:
        """Frames of the full decode (an endpoint answering with one picture drops ``frame_count() - 1``)."""
        return len(self.canvas(None).frames)

    def image(self, size: int | None = WORK_SIZE) -> Image.Image:
        """First frame as RGB, displayed orientation, alpha on white, fitted within ``size`` x ``size``.

        Never enlarged; ``size=None`` is the full resolution. The pixels are exactly
        ``open_canvas`` + ``auto-orient`` + flattening, then a bilinear fit.
        """
        if size not in self._images:
            canvas = self.canvas(size)  # the full decode when no reduced one exists for this size
            self.mode = canvas.frames[0].mode
            if canvas.is_animated:
                canvas = canvas.replace(frames=canvas.frames[:1], durations=canvas.durations[:1])
            img = _AUTO_ORIENT.apply(canvas).frames[0]
            img = flatten(img)
            if img.mode != "RGB":
                img = img.convert("RGB")
            if size is not None and max(img.size) > size:
                img = img.resize(_fit(img.width, img.height, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
            self._images[size] = img
        return self._images[size]

    def rgb(self, size: int | None = WORK_SIZE) -> np.ndarray:
        """``image(size)`` as a ``uint8`` array of shape (h, w, 3)."""
        key = ("rgb", size)
        if key not in self._arrays:
            self._arrays[key] = np.asarray(self.image(size))
        return self._arrays[key]

    def gray(self, size: int | None = WORK_SIZE) -> np.ndarray:
        """Luma (ITU-R 601, as Pillow's ``L``) of ``image(size)`` as ``float32`` (h, w), 0-255."""
        key = ("gray", size)
        if key not in self._arrays:
            a = self.rgb(size).astype(np.float32)
            self._arrays[key] = a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114
        return self._arrays[key]


def _unreadable(path: str, exc: OSError) -> CIError:
    """The error for a path the OS cannot read: :func:`cinb.decode.read_source`'s (-113 naming the file),
    so a missing file reads the same from ImageInput as from ``cinb.process``."""
    if not path:
        return CIError("no such file: (empty path)", code=UNSUPPORTED_TYPE, token=path)
    try:
        read_source(path)
    except CIError as err:
        return err
    return as_cierror(exc, path)  # it came back meanwhile: still this call's error, in CI's terms


def _fit(width: int, height: int, size: int) -> tuple[int, int]:
    """``width`` x ``height`` fitted within ``size`` x ``size`` (aspect kept, at least 1 px a side)."""
    scale = size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


__all__ = ["WORK_SIZE", "ImageInput"]
