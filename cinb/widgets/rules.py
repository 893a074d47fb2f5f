"""RuleExplorer: type a CI rule, see the result, its canonical form and any error, live."""

from __future__ import annotations

import ipywidgets as widgets
from PIL import Image

from ..decode import Source, open_canvas
from ..engine import Result, process
from ..errors import CIError
from ..rules.registry import parse_rule

_PRESETS = [
    "imageMogr2/thumbnail/!50p",
    "imageMogr2/thumbnail/300x300/pad/1/color/I0NDQ0NDQw",
    "imageMogr2/gravity/center/crop/300x300",
    "imageMogr2/iradius/150/format/png",
    "imageMogr2/rotate/30",
    "imageMogr2/auto-orient/flip/horizontal",
    "imageMogr2/blur/8x4",
    "imageMogr2/grayscale/1/contrast/40",
    "imageView2/1/w/300/h/200",
    "imageMogr2/format/webp/quality/60!",
]


def _png(img: Image.Image, size: int) -> bytes:
    import io

    img = img.copy()
    img.thumbnail((size, size))
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


class RuleExplorer(widgets.VBox):
    """A rule box with presets, the original and the result side by side, and what CI would say.

    Parameters
    ----------
    src : path, bytes or PIL image
        The image to try rules on.
    rule : str
        The starting rule.
    size : int
        Preview size in px.

    Examples
    --------
    >>> from cinb.widgets.rules import RuleExplorer
    >>> from PIL import Image
    >>> ex = RuleExplorer(Image.new("RGB", (320, 200), "teal"), rule="imageMogr2/thumbnail/!50p")
    >>> ex.result.width
    160
    >>> ex.rule_box.value = "imageMogr2/thumbnail/bad"
    >>> ex.error
    "unrecognised thumbnail value 'bad' (X-ErrNo -103)"
    """

    def __init__(self, src: Source, rule: str = _PRESETS[0], *, size: int = 320, styles=None):
        self.src = src
        self.styles = styles
        self.size = size
        self.result: Result | None = None
        self.error: str | None = None
        original = open_canvas(src).frames[0]
        self.rule_box = widgets.Text(value=rule, description="rule", layout=widgets.Layout(width="100%"))
        self.presets = widgets.Dropdown(options=["(presets)"] + _PRESETS, description="try")
        self.original = widgets.Image(value=_png(original, size), format="png")
        self.output = widgets.Image(format="png")
        self.canonical = widgets.HTML()
        self.status = widgets.HTML()
        self.rule_box.observe(lambda _: self.update(), names="value")
        self.presets.observe(self._preset, names="value")
        super().__init__([
            self.rule_box, self.presets,
            widgets.HBox([widgets.VBox([widgets.HTML(f"<b>original</b> {original.width}x{original.height}"),
                                        self.original]),
                          widgets.VBox([self.status, self.output])]),
            self.canonical,
        ])
        self.update()

    def _preset(self, change) -> None:
        if change["new"] and change["new"] != "(presets)":
            self.rule_box.value = change["new"]

    def update(self) -> None:
        """Re-run the rule (called on every edit)."""
        rule = self.rule_box.value
        try:
            canonical = str(parse_rule(rule))
            self.result = process(self.src, rule, styles=self.styles)
            self.error = None
        except CIError as exc:
            self.error = str(exc)
            self.result = None
            self.status.value = f'<span style="color:#b00">{exc}</span>'
            self.canonical.value = ""
            return
        r = self.result
        self.canonical.value = f"<code>{canonical}</code>"
        if r.format == "json":
            self.status.value = f"<pre>{r.data.decode('utf-8')}</pre>"
            return
        self.status.value = f"<b>result</b> {r.width}x{r.height} {r.format} {len(r.data):,} bytes"
        self.output.value = _png(r.image, self.size)
