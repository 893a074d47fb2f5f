"""Blind (invisible) watermarks: CI ``watermark/3`` (embed) and ``watermark/4`` (extract).

Importing this package registers both rule families, so ``cinb.process(src,
"watermark/3/type/3/text/<b64u>/level/2")`` marks and ``cinb.process(src, "watermark/4/type/3")``
reads (``result.response["Text"]``, ``result.response["WatermarkStatus"]``).

The mark is a keyed spread-spectrum pattern added to the luminance: a tile repeated over the image,
made of pilot chips (for synchronisation) and payload chips (a CRC-checked, convolutionally coded
payload). Its strength follows a perceptual (JND) map under a per-image visibility budget, and the tile
is laid out relative to the image size (``embed.CANON``), so thumbnails keep it. Extraction scales the
image to that canonical frame, finds the tile's scale and rotation from the spectrum and
autocorrelation, its orientation (flips, quarter turns) and shift from the pilots (a whitened
correlation), then reads every chip with a filter fitted to the pilots of that picture (what WebP or JPEG
left of the mark, and how the picture's own content folds into the tile, vary from picture to picture) and
decodes; no original is needed. ``Extraction.details`` says which orientation and layout the mark was found in.

Examples
--------
>>> import numpy as np
>>> from PIL import Image
>>> import cinb.blind as blind
>>> y, x = np.mgrid[0:300, 0:400]
>>> img = Image.fromarray((128 + 60 * np.sin(x / 23.0) * np.cos(y / 17.0)).astype(np.uint8)).convert("RGB")
>>> marked = blind.embed(img, text="hello", level=2)
>>> found = blind.extract(marked)
>>> found.text, found.status > 75
('hello', True)
"""

import importlib

from .api import DEFAULT_LEVEL, Extraction, embed, extract
from .stages import BlindEmbed, BlindExtract, parse_blind_embed, parse_blind_extract

#: Collection helpers need pandas: imported on first use, so the rule families load without it.
_LAZY = {"check_collection": "cinb.blind.collection", "embed_collection": "cinb.blind.collection"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["embed", "extract", "Extraction", "DEFAULT_LEVEL", "embed_collection", "check_collection",
           "BlindEmbed", "BlindExtract", "parse_blind_embed", "parse_blind_extract"]
