"""Formats cinb reads but does not write (CI decodes them; its outputs are the seven codecs).

TIFF re-encodes losslessly as PNG when no ``/format/`` is given; ICO and PPM are known by Pillow's
name only (``scan`` does not list their extensions); ``tpg`` (Tencent's proprietary format) is a
``/format/`` token CI accepts and cinb refuses with -113 (docs/ci-compatibility.md).
"""

from __future__ import annotations

from ..formats import Format, register_format

register_format(Format("tiff", pil_names=("TIFF",), extensions=(".tif", ".tiff"), extension=".tiff",
                       mime="image/tiff", encodes_as="png"))
register_format(Format("ico", pil_names=("ICO",), mime="image/vnd.microsoft.icon"))
register_format(Format("ppm", pil_names=("PPM",), mime="image/x-portable-pixmap"))
register_format(Format("tpg", tokens=("tpg",)))
