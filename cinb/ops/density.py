"""``imageMogr2/density/<dpi>``: the output's resolution metadata (DPI), CI's "图片 DPI" page.

CI's page (cloud.tencent.com/document/product/460/129119, 2026-03) documents one parameter,
``/density/<density>``: an integer 1-1200, "默认为原图 DPI 值" (by default the source's DPI), and
"GIF 动图不支持设置 DPI" (not for animated GIFs). The pixels are not resampled: only the horizontal
and vertical resolution written into the output changes, as ``imageInfo`` then reports it
(``vertical_dpi``/``horizontal_dpi``).

The operation only records the value on the canvas (:attr:`cinb.canvas.Canvas.dpi`); the writers
put it in the formats that carry a resolution (JPEG's JFIF density, PNG's ``pHYs``, BMP, TIFF) and
the others (GIF, WebP) have no field for it. The rule text is read by
:func:`cinb.rules.mogr2.parse_density`: a word is CIError -103, out of range an OutOfRangeError (-103,
so ``/ignore-error/1`` returns the original, as CI's page says of parameters over their limit).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..canvas import Canvas
from ..errors import BAD_PARAMETER, CIError, OutOfRangeError

#: The parameter's name in imageMogr2 (CI's spelling).
KEY = "density"
#: CI's range for the DPI value.
LOWEST, HIGHEST = 1, 1200


@dataclass(frozen=True)
class Density:
    """``density/<dpi>``: write ``dpi`` as the output's horizontal and vertical resolution.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.canvas import Canvas
    >>> from cinb.ops.density import Density
    >>> op = Density(300)
    >>> op.tokens()
    ['density', '300']
    >>> op.apply(Canvas(frames=[Image.new("RGB", (4, 4))])).dpi
    (300, 300)
    """

    dpi: int

    def __post_init__(self) -> None:
        if isinstance(self.dpi, bool) or not isinstance(self.dpi, int):
            raise CIError(f"density must be a whole number, got {self.dpi!r}", code=BAD_PARAMETER,
                          token=str(self.dpi))
        if not LOWEST <= self.dpi <= HIGHEST:
            raise OutOfRangeError(f"density must be between {LOWEST} and {HIGHEST}, got {self.dpi}",
                                  token=str(self.dpi))

    def tokens(self) -> list[str]:
        return [KEY, str(self.dpi)]

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        return canvas.replace(dpi=(self.dpi, self.dpi))

