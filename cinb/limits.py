"""CI's processing limits (spec §17, the 2024 CI pages)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import FILE_TOO_LARGE, RESOLUTION_TOO_LARGE, UNSUPPORTED_TYPE, CIError


@dataclass(frozen=True)
class Limits:
    """Input and output limits checked before any pixel is decoded.

    Examples
    --------
    >>> from cinb.limits import Limits
    >>> Limits().max_side
    30000
    """

    max_file_bytes: int = 32 * 1024 * 1024
    max_side: int = 30000
    max_pixels: int = 250_000_000  # w * h * frames
    max_frames: int = 300
    max_output_side: int = 9999
    max_param: int = 10000  # larger w/h parameters are clamped (spec §2 notes)
    max_stages: int = 10


LIMITS = Limits()


def check_base64_size(label: str, size_bytes: int | None, max_base64: int, *, service: str) -> None:
    """Refuse an input whose Base64 text would exceed ``max_base64`` bytes (CI states some AI endpoints'
    limits on the Base64 body: OCR and ID cards 7 MB, AssessQuality 4 MB).

    Raises
    ------
    CIError
        -167 when ``4 * ceil(size_bytes / 3) > max_base64``; nothing when the size is unknown.

    Examples
    --------
    >>> from cinb.limits import check_base64_size
    >>> check_base64_size("a", 3072, 4096, service="OCR")
    >>> check_base64_size("a", 3073, 4096, service="OCR")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: a is 3073 bytes, 4100 in Base64; CI's OCR accepts at most 4096 bytes of Base64 (X-ErrNo -167)
    """
    if size_bytes is None:
        return
    encoded = 4 * -(-size_bytes // 3)
    if encoded > max_base64:
        raise CIError(f"{label} is {size_bytes} bytes, {encoded} in Base64; CI's {service} accepts at most "
                      f"{max_base64} bytes of Base64", code=FILE_TOO_LARGE, token=label)


def check_input(label: str, *, width: int, height: int, frames: int = 1, size_bytes: int | None = None,
                token: str | None = None, limits: Limits = LIMITS) -> None:
    """Refuse an input over CI's limits, from its header alone (the one place they are checked).

    Raises
    ------
    CIError
        -167 over 32 MB; -447 over 30000 px a side, over 250 Mpx counting frames, or over 300 frames;
        -113 no pixels at all (Pillow opens some non-image formats, GRIB/BUFR/HDF5 stubs, as 0 x 0).

    Examples
    --------
    >>> from cinb.limits import check_input
    >>> check_input("big.jpg", width=40000, height=10)
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: big.jpg is 40000x10; CI accepts at most 30000 px a side (X-ErrNo -447)
    """
    if size_bytes is not None and size_bytes > limits.max_file_bytes:
        raise CIError(f"{label} is {size_bytes} bytes; CI's input limit is {limits.max_file_bytes} bytes (32 MB)",
                      code=FILE_TOO_LARGE, token=token)
    if width < 1 or height < 1:
        raise CIError(f"{label} is {width}x{height}: no pixels to process (not an image cinb can read)",
                      code=UNSUPPORTED_TYPE, token=token)
    if max(width, height) > limits.max_side:
        raise CIError(f"{label} is {width}x{height}; CI accepts at most {limits.max_side} px a side",
                      code=RESOLUTION_TOO_LARGE, token=token)
    if width * height * frames > limits.max_pixels:
        raise CIError(f"{label} has {width}x{height}x{frames} pixels; CI accepts at most {limits.max_pixels}",
                      code=RESOLUTION_TOO_LARGE, token=token)
    if frames > limits.max_frames:
        raise CIError(f"{label} has {frames} frames; CI accepts at most {limits.max_frames}",
                      code=RESOLUTION_TOO_LARGE, token=token)
