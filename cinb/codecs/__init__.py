"""Output formats: one plugin module per format behind one registry (Pillow's habit)."""

from .registry import Codec, codec_for, encode, register_codec  # noqa: F401
from . import bmp, gif, heif, jpeg, png, webp, avif, readonly  # noqa: F401  (plugins register on import)
