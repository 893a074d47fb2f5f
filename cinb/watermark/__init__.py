"""Visible watermarks: ``watermark/1`` (image) and ``watermark/2`` (text), spec §10-11.

Importing this package registers both families with ``parse_rule``. A watermark rule runs like any
other rule: ``cinb.process(src, rule)`` for one image, ``cinb.collection.apply(df, rule, out_dir)``
for a DataFrame of images.

Examples
--------
>>> import cinb
>>> from PIL import Image
>>> from cinb.watermark import TextWatermark
>>> rule = str(TextWatermark(text="© cinb", fontsize=24, fill="#FFFFFF", gravity="south", dy=10))
>>> rule
'watermark/2/text/wqkgY2luYg/fontsize/24/fill/I0ZGRkZGRg/gravity/South/dy/10'
>>> cinb.process(Image.new("RGB", (300, 200), "navy"), rule).width
300
"""

from .fonts import ci_font_names, font_spec, font_table, register_font, resolve_font, use_system_fonts
from .source import set_watermark_dirs, watermark_dirs
from .stages import ImageWatermark, TextWatermark, parse_image_watermark, parse_text_watermark
from .text import render_text

__all__ = ["ImageWatermark", "TextWatermark", "ci_font_names", "font_spec", "font_table", "parse_image_watermark",
           "parse_text_watermark", "register_font", "render_text", "resolve_font", "set_watermark_dirs",
           "use_system_fonts", "watermark_dirs"]
