"""CI's processing limits (spec §17, the 2024 CI pages)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Input and output limits checked before any pixel is decoded.

    Examples
    --------
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
