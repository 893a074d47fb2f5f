"""Output formats: one plugin module per format behind one registry (Pillow's habit)."""

from . import avif, bmp, gif, heif, jpeg, png, readonly, webp  # noqa: F401  (plugins register on import)
from .registry import Codec, codec_for, encode, register_codec  # noqa: F401
