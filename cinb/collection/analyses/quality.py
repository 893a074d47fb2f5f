"""Per-image quality signals: sharpness/blur, brightness, entropy, colourfulness, grayscale.

The sharpness and colourfulness measures are shared with ``AssessQuality`` (:mod:`cinb.ai.quality`).
All are computed on the shared 512 px working image, so their values do not depend on the file's
resolution (a 12 Mpx photo and its 2 Mpx copy score alike).
"""

from __future__ import annotations

import numpy as np

from cinb.ai.quality import colourfulness, laplacian_variance
from cinb.collection.analyses.context import ImageContext
from cinb.collection.analyses.registry import register_analysis


def sharpness(ctx: ImageContext, *, blurry_below: float = 50.0) -> dict:
    """Variance of the Laplacian of the 512 px luma; ``blurry`` when below ``blurry_below``.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.collection.analyses.context import ImageContext
    >>> from cinb.collection.analyses.quality import sharpness
    >>> import tempfile; from PIL import Image, ImageFilter
    >>> p = tempfile.mktemp(suffix=".png")
    >>> noise = np.random.default_rng(0).integers(0, 256, (200, 300), dtype=np.uint8)
    >>> Image.fromarray(noise).filter(ImageFilter.GaussianBlur(6)).save(p)
    >>> sharpness(ImageContext(p))["blurry"]
    True
    """
    value = laplacian_variance(ctx.gray())
    return {"sharpness": value, "blurry": value < blurry_below}


def brightness(ctx: ImageContext, *, dark_below: float = 50.0, light_above: float = 215.0) -> dict:
    """Mean luma 0-255; ``dark`` below ``dark_below``, ``light`` above ``light_above``.

    Examples
    --------
    >>> from cinb.collection.analyses.context import ImageContext
    >>> from cinb.collection.analyses.quality import brightness
    >>> import tempfile; from PIL import Image
    >>> p = tempfile.mktemp(suffix=".png"); Image.new("RGB", (20, 20), (10, 10, 10)).save(p)
    >>> brightness(ImageContext(p))
    {'brightness': 10.0, 'dark': True, 'light': False}
    """
    value = round(float(ctx.gray().mean()), 3)
    return {"brightness": value, "dark": value < dark_below, "light": value > light_above}


def entropy(ctx: ImageContext, *, low_below: float = 3.5) -> dict:
    """Shannon entropy (bits, 0-8) of the luma histogram; ``low_information`` below ``low_below``.

    Examples
    --------
    >>> from cinb.collection.analyses.context import ImageContext
    >>> from cinb.collection.analyses.quality import entropy
    >>> import tempfile; from PIL import Image
    >>> p = tempfile.mktemp(suffix=".png"); Image.new("RGB", (20, 20), "white").save(p)
    >>> entropy(ImageContext(p))
    {'entropy': 0.0, 'low_information': True}
    """
    luma = np.clip(np.rint(ctx.gray()), 0, 255).astype(np.uint8)
    hist = np.bincount(luma.ravel(), minlength=256).astype(np.float64)
    p = hist[hist > 0] / hist.sum()
    value = round(float(-(p * np.log2(p)).sum()) + 0.0, 4)
    return {"entropy": value, "low_information": value < low_below}


def colorfulness(ctx: ImageContext) -> dict:
    """Hasler & Suesstrunk (2003) colourfulness: 0 for gray, ~15 "slightly", ~60+ "very" colourful.

    Examples
    --------
    >>> from cinb.collection.analyses.context import ImageContext
    >>> from cinb.collection.analyses.quality import colorfulness
    >>> import tempfile; from PIL import Image
    >>> p = tempfile.mktemp(suffix=".png"); Image.new("RGB", (20, 20), "gray").save(p)
    >>> colorfulness(ImageContext(p))
    {'colorfulness': 0.0}
    """
    value = colourfulness(ctx.rgb())
    return {"colorfulness": round(value, 4)}


def grayscale(ctx: ImageContext, *, tolerance: int = 3) -> dict:
    """True for gray modes and for colour images whose channels are equal within ``tolerance``.

    Examples
    --------
    >>> from cinb.collection.analyses.context import ImageContext
    >>> from cinb.collection.analyses.quality import grayscale
    >>> import tempfile; from PIL import Image
    >>> p = tempfile.mktemp(suffix=".png"); Image.linear_gradient("L").convert("RGB").save(p)
    >>> grayscale(ImageContext(p))
    {'grayscale': True}
    """
    a = ctx.rgb().astype(np.int16)
    if ctx.mode in ("L", "LA"):
        return {"grayscale": True}
    spread = np.maximum(np.abs(a[..., 0] - a[..., 1]), np.abs(a[..., 1] - a[..., 2]))
    return {"grayscale": bool(spread.max() <= tolerance)}


register_analysis("sharpness", sharpness, columns={"sharpness": float, "blurry": bool},
                  defaults={"blurry_below": 50.0}, aliases=("blur", "blurry"),
                  description="variance of the Laplacian at 512 px; blurry flag")
register_analysis("brightness", brightness, columns={"brightness": float, "dark": bool, "light": bool},
                  defaults={"dark_below": 50.0, "light_above": 215.0}, aliases=("dark", "light"),
                  description="mean luma 0-255; dark / light flags")
register_analysis("entropy", entropy, columns={"entropy": float, "low_information": bool},
                  defaults={"low_below": 3.5}, aliases=("low_information",),
                  description="luma histogram entropy in bits; low_information flag")
register_analysis("colorfulness", colorfulness, columns={"colorfulness": float}, aliases=("colourfulness",),
                  description="Hasler-Suesstrunk colourfulness")
register_analysis("grayscale", grayscale, columns={"grayscale": bool}, defaults={"tolerance": 3},
                  aliases=("greyscale",), description="gray mode, or RGB with equal channels")
