"""Pixel helpers shared by the geometry ops: resizing, alpha, output-size guard."""

from __future__ import annotations

from fractions import Fraction

from PIL import Image

from ..errors import OUTPUT_TOO_LARGE, CIError
from ..limits import LIMITS


def round_half_up(x: float | Fraction) -> int:
    """Round a computed size half up, never below 1 px (cinb's rounding choice).

    Examples
    --------
    >>> from cinb.ops.frames import round_half_up
    >>> round_half_up(2.5), round_half_up(0.2)
    (3, 1)
    """
    return max(1, int(x + 0.5))


def crop(frame: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    """``frame.crop(box)`` without Pillow's process-wide decompression-bomb check.

    ``Image.crop`` warns above 89 Mpx and raises ``DecompressionBombError`` above 179 Mpx, although
    CI accepts inputs up to 250 Mpx (checked from the header) and a large crop of one is legal
    (``crop/15000x15000`` then a thumbnail). Pillow's own crop, minus that check.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.ops.frames import crop
    >>> crop(Image.new("RGB", (10, 8)), (2, 2, 6, 5)).size
    (4, 3)
    """
    frame.load()
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return frame._new(frame.im.crop((x0, y0, x1, y1)))  # Image.crop's own body, minus the bomb check


def check_output_size(size: tuple[int, int], what: str) -> None:
    """Refuse, before allocating, a result larger than CI's output limit (-442)."""
    w, h = size
    if max(w, h) > LIMITS.max_output_side:
        raise CIError(
            f"{what} would make a {w}x{h} image; CI's output limit is {LIMITS.max_output_side} px a side",
            code=OUTPUT_TOO_LARGE,
            token=what,
        )


def resize(img: Image.Image, size: tuple[int, int],
           box: tuple[float, float, float, float] | None = None) -> Image.Image:
    """Resize with Lanczos; large reductions first box-reduce to within 1.5x of the target (Pillow's
    reducing_gap, as libvips does before its lanczos3), which halves the cost at no visible loss.

    ``box`` is the region of ``img`` to resize (default: all of it), e.g. a canvas' ``nominal_box``.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.ops.frames import resize
    >>> resize(Image.new("RGB", (327, 580)), (288, 512), (0, 0, 326.25, 580)).size
    (288, 512)
    """
    if box is not None and box == (0, 0, img.width, img.height):
        box = None
    if img.size == size and box is None:
        return img
    shrinking = size[0] <= img.width and size[1] <= img.height
    return img.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=1.5 if shrinking else None)


def with_alpha(img: Image.Image) -> Image.Image:
    """The frame in a mode with an alpha channel (RGB -> RGBA, L -> LA)."""
    if img.mode in ("RGBA", "LA"):
        return img
    return img.convert("LA" if img.mode == "L" else "RGBA")


def transparent(img: Image.Image):
    """A fully transparent fill value for the frame's (alpha) mode."""
    return (0, 0) if img.mode == "LA" else (0, 0, 0, 0)


def fill_for(img: Image.Image, rgb: tuple[int, int, int]):
    """The fill value for ``rgb`` in the frame's mode."""
    if img.mode == "L":
        return int(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] + 0.5)
    if img.mode == "LA":
        return (int(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] + 0.5), 255)
    if img.mode == "RGBA":
        return (*rgb, 255)
    return tuple(rgb)
