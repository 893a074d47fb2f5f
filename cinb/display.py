"""Inline display in Jupyter: before/after views of a rule, built on ``process``."""

from __future__ import annotations

import base64
import html
import io

from PIL import Image

from .decode import Source, open_canvas
from .engine import Result, process
from .errors import CIError


def thumbnail_uri(img: Image.Image, size: int = 256) -> str:
    """A small data URI of ``img`` for HTML without files on disk: JPEG when opaque (keeps
    notebooks light), PNG when it has transparency (256 colours: a 160 px rounded-corner photo
    takes 17 KB instead of 65 KB, and looks the same at that size)."""
    img = img.copy()
    img.thumbnail((size, size))
    if img.mode not in ("RGB", "RGBA", "L", "LA"):
        img = img.convert("RGBA")
    buf = io.BytesIO()
    if img.mode in ("RGBA", "LA"):
        img.convert("RGBA").quantize(256, method=Image.Quantize.FASTOCTREE).save(buf, "PNG", optimize=True)
        mime = "png"
    else:
        img.save(buf, "JPEG", quality=80)
        mime = "jpeg"
    return f"data:image/{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(uri: str, caption: str, size: int) -> str:
    return (
        f'<figure style="display:inline-block;margin:4px;text-align:center;vertical-align:top">'
        f'<img src="{uri}" style="max-width:{size}px;max-height:{size}px;'
        f'background:repeating-conic-gradient(#ddd 0 25%,#fff 0 50%) 0 0/16px 16px"/>'
        f'<figcaption style="font:11px monospace;max-width:{size}px;overflow-wrap:anywhere">{caption}</figcaption>'
        f"</figure>"
    )


class Comparison:
    """HTML before/after figures for one source and several rules (renders in Jupyter)."""

    def __init__(self, figures: list[str]):
        self.figures = figures

    def _repr_html_(self) -> str:
        return "<div>" + "".join(self.figures) + "</div>"


def compare(src: Source, *rules: str, size: int = 200, styles=None) -> Comparison:
    """Show ``src`` and the result of each rule side by side, with result size, format and bytes.

    A rule that fails shows its CIError instead of an image, so a notebook cell never breaks.

    Examples
    --------
    >>> from cinb.display import compare
    >>> from PIL import Image
    >>> html_ = compare(Image.new("RGB", (64, 32), "red"), "imageMogr2/rotate/90")._repr_html_()
    >>> "imageMogr2/<wbr>rotate/<wbr>90<br>32x64 png" in html_  # the rule, then the result's size and format
    True
    """
    canvas = open_canvas(src)
    figures = [_figure(thumbnail_uri(canvas.frames[0], size), f"original {canvas.width}x{canvas.height}", size)]
    for rule in rules:
        try:
            r: Result = process(src, rule, styles=styles)
        except CIError as exc:
            figures.append(
                f'<figure style="display:inline-block;margin:4px;max-width:{size}px;vertical-align:top">'
                f'<pre style="color:#b00;white-space:pre-wrap">{html.escape(str(exc))}</pre>'
                f'<figcaption style="font:11px monospace">{html.escape(rule)}</figcaption></figure>'
            )
            continue
        if r.format == "json":
            figures.append(f"<pre>{html.escape(r.data.decode('utf-8'))}</pre>")
            continue
        # break a long rule after its slashes, never inside a number (was: word-break:break-all)
        caption = f"{html.escape(rule).replace('/', '/<wbr>')}<br>{r.width}x{r.height} {r.format} {len(r.data):,} B"
        figures.append(_figure(thumbnail_uri(r.image, size), caption, size))
    return Comparison(figures)
