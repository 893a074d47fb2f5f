"""``embedding``: each image's EfficientNet-Lite3 pooled features (1280 floats, L2-normalised), for search
by image and for grouping similar pictures; the classifier detect-label runs (``cinb.ai.tagging``).

The dot product of two rows is their cosine similarity. An image the model cannot take (under 32 px a
side, unreadable) gets an error, not a vector.
"""

from __future__ import annotations

from cinb.ai.tagging import embed
from cinb.collection.analyses.registry import register_analysis


def embedding(ctx) -> dict:
    """The ``embedding`` column of one image: a float32 numpy array of shape (1280,)."""
    return {"embedding": embed(ctx)}


register_analysis("embedding", embedding, columns={"embedding": object},
                  description="EfficientNet-Lite3 pooled features (1280-d, unit length) for search by image; "
                              "offline model of detect-label")
