"""Pixel helpers shared by the geometry ops: resizing, alpha, output-size guard."""

from __future__ import annotations

from PIL import Image

from ..errors import OUTPUT_TOO_LARGE, CIError
from ..limits import LIMITS


def round_half_up(x: float) -> int:
    """Round a computed size half up, never below 1 px (cinb's rounding choice).

    Examples
    --------
    >>> from cinb.ops.frames import round_half_up
    >>> round_half_up(2.5), round_half_up(0.2)
    (3, 1)
    """
    return max(1, int(x + 0.5))


def check_output_size(size: tuple[int, int], what: str) -> None:
    """Refuse, before allocating, a result larger than CI's output limit (-442)."""
    w, h = size
    if max(w, h) > LIMITS.max_output_side:
        raise CIError(
            f"{what} would make a {w}x{h} image; CI's output limit is {LIMITS.max_output_side} px a side",
            code=OUTPUT_TOO_LARGE,
            token=what,
        )


def resize(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize with Lanczos; large reductions first box-reduce to within 1.5x of the target (Pillow's
    reducing_gap, as libvips does before its lanczos3), which halves the cost at no visible loss."""
    if img.size == size:
        return img
    shrinking = size[0] <= img.width and size[1] <= img.height
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=1.5 if shrinking else None)


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
