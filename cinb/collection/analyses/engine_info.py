"""CI's information APIs as analyses: ``image_info``, ``exif``, ``image_ave`` (the engine's answers)."""

from __future__ import annotations

from cinb.collection.analyses.context import ImageContext
from cinb.collection.analyses.registry import register_analysis
from cinb.info import average_rgb
from cinb.info import exif as ci_exif
from cinb.info import image_info as ci_image_info

#: imageInfo keys, kept as CI's strings, in columns prefixed ``info_``.
INFO_KEYS = ("format", "width", "height", "size", "md5", "dynamic_range", "frame_count", "bit_depth",
             "vertical_dpi", "horizontal_dpi")


def image_info(ctx: ImageContext) -> dict:
    """CI ``imageInfo`` (all values strings, as CI returns them) as ``info_<key>`` columns.

    Examples
    --------
    >>> from cinb.collection.analyses.context import ImageContext
    >>> from cinb.collection.analyses.engine_info import image_info
    >>> import tempfile; from PIL import Image
    >>> p = tempfile.mktemp(suffix=".png"); Image.new("RGB", (7, 5)).save(p)
    >>> image_info(ImageContext(p))["info_width"]
    '7'
    """
    info = ci_image_info(ctx.source)
    return {f"info_{k}": info.get(k) for k in INFO_KEYS}


def exif(ctx: ImageContext) -> dict:
    """CI ``exif`` answer (``{tag: {"val": str}}``) in one ``exif`` column; None without EXIF.

    Examples
    --------
    >>> from cinb.collection.analyses.context import ImageContext
    >>> from cinb.collection.analyses.engine_info import exif
    >>> import tempfile; from PIL import Image
    >>> p = tempfile.mktemp(suffix=".png"); Image.new("RGB", (7, 5)).save(p)
    >>> exif(ImageContext(p))
    {'exif': None}
    """
    answer = ci_exif(ctx.source)
    if not answer or set(answer) == {"error"}:
        return {"exif": None}
    return {"exif": answer}


def image_ave(ctx: ImageContext) -> dict:
    """CI ``imageAve`` average colour ``0xRRGGBB`` in the ``ave_rgb`` column.

    Examples
    --------
    >>> from cinb.collection.analyses.context import ImageContext
    >>> from cinb.collection.analyses.engine_info import image_ave
    >>> import tempfile; from PIL import Image
    >>> p = tempfile.mktemp(suffix=".png"); Image.new("RGB", (7, 5), (255, 0, 16)).save(p)
    >>> image_ave(ImageContext(p))
    {'ave_rgb': '0xff0010'}
    """
    # The engine's decode (open_canvas with the same shrink-on-load as cinb.image_ave), shared
    # with the other analyses of the row instead of a decode of its own.
    return {"ave_rgb": average_rgb(ctx.canvas(256).frames[0])}


register_analysis("image_info", image_info, columns={f"info_{k}": object for k in INFO_KEYS},
                  description="CI imageInfo (format, size, md5, frames, bit depth, dpi) as info_* columns",
                  aliases=("imageInfo", "info"))
register_analysis("exif", exif, columns={"exif": object}, description="CI exif answer as a dict (None without EXIF)")
register_analysis("image_ave", image_ave, columns={"ave_rgb": object},
                  description="CI imageAve average colour 0xRRGGBB", aliases=("imageAve", "ave"))
