"""Blind (invisible) watermarks: CI ``watermark/3`` (embed) and ``watermark/4`` (extract).

Examples
--------
>>> import cinb.blind as blind
>>> callable(blind.embed) and callable(blind.extract)
True
"""

from .api import DEFAULT_LEVEL, Extraction, embed, extract

__all__ = ["embed", "extract", "Extraction", "DEFAULT_LEVEL"]
