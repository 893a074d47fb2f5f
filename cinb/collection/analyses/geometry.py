"""Shape analyses from headers (no pixel decode): dimensions, odd aspect ratio, odd size."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cinb.collection.analyses.context import ImageContext
from cinb.collection.analyses.registry import register_analysis


def dims(ctx: ImageContext) -> dict:
    """``width`` and ``height`` as stored (the same columns ``scan`` gives), from the header."""
    h = ctx.header()
    return {"width": h.width, "height": h.height}


def aspect(ctx: ImageContext, *, max_ratio: float = 3.0) -> dict:
    """Displayed width / height (EXIF orientation applied); ``odd_aspect`` when the long side is
    more than ``max_ratio`` times the short side.

    Examples
    --------
    >>> from cinb.collection.analyses.context import ImageContext
    >>> from cinb.collection.analyses.geometry import aspect
    >>> import tempfile; from PIL import Image
    >>> p = tempfile.mktemp(suffix=".png"); Image.new("RGB", (400, 100)).save(p)
    >>> aspect(ImageContext(p))
    {'aspect_ratio': 4.0, 'odd_aspect': True}
    """
    h = ctx.header()
    w, hh = (h.height, h.width) if (h.orientation or 1) >= 5 else (h.width, h.height)
    ratio = w / hh
    return {"aspect_ratio": round(ratio, 4), "odd_aspect": max(ratio, 1 / ratio) > max_ratio}


def odd_size(df: pd.DataFrame, *, min_side: int = 64, ratio: float = 4.0) -> pd.DataFrame:
    """``odd_size``: a side under ``min_side`` px, or a linear size (sqrt of the area) more than
    ``ratio`` times away from the collection's median.

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.collection.analyses.geometry import odd_size
    >>> df = pd.DataFrame({"width": [1000, 1200, 900, 30, 9000], "height": [800, 900, 700, 30, 8000]})
    >>> odd_size(df)["odd_size"].tolist()
    [False, False, False, True, True]
    """
    w = pd.to_numeric(df["width"], errors="coerce").astype("float64")
    h = pd.to_numeric(df["height"], errors="coerce").astype("float64")
    linear = np.sqrt(w * h)
    median = float(np.nanmedian(linear)) if linear.notna().any() else np.nan
    odd = (np.minimum(w, h) < min_side) | (linear > median * ratio) | (linear < median / ratio)
    return pd.DataFrame({"odd_size": pd.Series(odd, index=df.index, dtype="boolean").where(linear.notna())},
                        index=df.index)


register_analysis("dims", dims, columns={"width": int, "height": int}, description="stored width and height")
register_analysis("aspect", aspect, columns={"aspect_ratio": float, "odd_aspect": bool},
                  defaults={"max_ratio": 3.0}, aliases=("odd_aspect", "odd_aspect_ratio", "aspect_ratio"),
                  description="displayed aspect ratio; odd_aspect flag")
register_analysis("odd_size", odd_size, columns={"odd_size": bool}, kind="group", requires=("dims",),
                  defaults={"min_side": 64, "ratio": 4.0},
                  description="tiny images or sizes far from the collection's median")
