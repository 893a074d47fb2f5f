"""RuleExplorer: type a CI rule, see the result, its canonical form and any error, live."""

from __future__ import annotations

import html
import io

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


def _png(img: Image.Image, scale: float) -> bytes:
    if scale < 1:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _show(widget: widgets.Image, img: Image.Image, scale: float) -> None:
    """Draw ``img`` at ``scale`` (never enlarged) and pin the widget to that size, so that the
    browser does not stretch it to its box."""
    widget.value = _png(img, scale)
    widget.width = str(max(1, round(img.width * min(scale, 1.0))))
    widget.height = str(max(1, round(img.height * min(scale, 1.0))))


class RuleExplorer(widgets.VBox):
    """A rule box with presets, the original and the result side by side, and what CI would say.

    Parameters
    ----------
    src : path, bytes or PIL image
        The image to try rules on.
    rule : str
        The starting rule.
    size : int
        Preview size in px: the larger of the original and the result fits in it, and both are drawn
        at that one scale (a thumbnail looks smaller than its source, as it is).

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
        self._original = original
        self.rule_box = widgets.Text(value=rule, description="rule", layout=widgets.Layout(width="100%"))
        self.presets = widgets.Dropdown(options=["(presets)"] + _PRESETS, description="try")
        self.original = widgets.Image(format="png", layout=widgets.Layout(object_fit="contain"))
        self.output = widgets.Image(format="png", layout=widgets.Layout(object_fit="contain"))
        self.canonical = widgets.HTML()
        self.status = widgets.HTML()
        self.rule_box.observe(lambda _: self.update(), names="value")
        self.presets.observe(self._preset, names="value")
        super().__init__([
            self.rule_box, self.presets,
            widgets.HBox([widgets.VBox([widgets.HTML(f"<b>original</b> {original.width}&times;{original.height}"),
                                        self.original]),
                          widgets.VBox([self.status, self.output])], layout=widgets.Layout(align_items="flex-start")),
            self.canonical,
        ])
        # CSS classes: stable handles for styling and for the browser test (tests/test_browser.py)
        self.add_class("cinb-rule-explorer")
        self.rule_box.add_class("cinb-rule")
        self.original.add_class("cinb-original")
        self.output.add_class("cinb-result")
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
            # no stale picture beside the error: the last good result would read as this rule's
            self.error = str(exc)
            self.result = None
            self.status.value = f'<span style="color:#b00">{html.escape(str(exc))}</span>'
            self.canonical.value = ""
            self.output.layout.display = "none"
            _show(self.original, self._original, self.size / max(self._original.size))
            return
        r = self.result
        self.canonical.value = f"<code>{html.escape(canonical)}</code>"
        if r.format == "json":
            self.status.value = f"<pre>{html.escape(r.data.decode('utf-8'))}</pre>"
            self.output.layout.display = "none"
            _show(self.original, self._original, self.size / max(self._original.size))
            return
        self.status.value = (f"<b>result</b> <span style='white-space:nowrap'>{r.width}&times;{r.height} {r.format} "
                             f"{len(r.data):,} bytes</span>")
        scale = self.size / max(*self._original.size, r.width, r.height)
        _show(self.original, self._original, scale)
        _show(self.output, r.image, scale)
        self.output.layout.display = None
