"""WatermarkTuner: every visible-watermark parameter as a control, a live preview, the CI rule.

A blind-watermark section (level slider, "attack and extract") appears when ``cinb.blind`` offers
``embed`` and ``extract``.
"""

from __future__ import annotations

import html
import io
import os
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from PIL import Image

from ..decode import open_canvas
from ..errors import CIError
from ..rules.grammar import GRAVITIES, b64u_encode
from ..rules.model import Context
from ..watermark.fonts import ci_font_names
from ..watermark.stages import ImageWatermark, TextWatermark

#: Blind-mark attacks the tuner tries: name -> function(PIL image) -> PIL image.
ATTACKS = {
    "none": lambda im: im,
    "JPEG q75": lambda im: _jpeg(im, 75),
    "resize 75%": lambda im: im.resize((round(im.width * 0.75), round(im.height * 0.75)), Image.Resampling.LANCZOS),
    "crop 80%": lambda im: im.crop((im.width // 10, im.height // 10, im.width - im.width // 10,
                                    im.height - im.height // 10)),
}


def _jpeg(im: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _blind_api():
    """``(embed, extract)`` from cinb.blind, or None when that package does not offer them."""
    try:
        import cinb.blind as blind
    except ImportError:
        return None
    embed, extract = getattr(blind, "embed", None), getattr(blind, "extract", None)
    return (embed, extract) if callable(embed) and callable(extract) else None


def _first_path(df: Any) -> list[str]:
    paths = [str(p) for p in df["path"].tolist()[:500]]
    if not paths:
        raise CIError("the DataFrame has no rows", token="path")
    return paths


class WatermarkTuner(widgets.VBox):
    """Tune a visible watermark on one image (or a DataFrame's images) and copy the CI rule.

    Parameters
    ----------
    image_or_df : path, bytes, PIL image, or DataFrame with a ``path`` column
        What to preview on. With a DataFrame a dropdown picks the row.
    watermark_image : path, optional
        A local image for ``watermark/1`` (written as ``/image/<b64u path>``); the rule's CI form
        needs the COS URL instead, which resolves to the same file by key (see cinb.watermark.source).
    text : str
        Starting text for ``watermark/2``.
    preview_size : int
        Long side of the preview in px; the mark is computed for the full image and reduced with it.

    Attributes
    ----------
    rule : str
        The CI rule for the current settings (also shown in ``rule_box``).
    stage : ImageWatermark or TextWatermark or None
        The current stage (None while the settings are invalid; see ``error``).
    preview : ipywidgets.Image
        The PNG preview.

    Examples
    --------
    >>> from cinb.widgets.watermark import WatermarkTuner
    >>> from PIL import Image
    >>> t = WatermarkTuner(Image.new("RGB", (800, 600), "teal"), text="cinb")
    >>> t.gravity.value = "North"; t.dy.value = 12
    >>> t.rule
    'watermark/2/text/Y2luYg/fontsize/36/gravity/North/dy/12'
    """

    def __init__(self, image_or_df: Any, *, watermark_image: str | os.PathLike | None = None,
                 text: str = "© cinb 水印", preview_size: int = 480):
        self._preview_size = int(preview_size)
        self._paths: list[str] | None = None
        if hasattr(image_or_df, "columns") and "path" in getattr(image_or_df, "columns", ()):
            self._paths = _first_path(image_or_df)
        w = widgets

        def wide():  # one Layout per widget: hiding one must not hide the others
            return w.Layout(width="98%")
        style = {"description_width": "90px"}

        def slider(desc, value, lo, hi):
            return w.IntSlider(value=value, min=lo, max=hi, description=desc, style=style, continuous_update=False)

        self.row = w.Dropdown(options=self._paths or [], description="image", style=style, layout=wide())
        self.kind = w.ToggleButtons(options=[("text (watermark/2)", "text"), ("image (watermark/1)", "image")],
                                    value="image" if watermark_image is not None else "text")
        self.text = w.Textarea(value=text, description="text", style=style, layout=wide(), continuous_update=False)
        self.font = w.Dropdown(options=ci_font_names(), value="tahoma.ttf", description="font", style=style)
        self.fontsize = slider("fontsize", 36, 1, 400)
        self.fill = w.ColorPicker(value="#3D3D3D", description="fill", style=style, concise=False)
        self.shadow = slider("shadow", 0, 0, 100)
        self.image = w.Text(value="" if watermark_image is None else str(watermark_image),
                            description="mark image", placeholder="path, or http://<bucket>.cos...<key>",
                            style=style, layout=wide(), continuous_update=False)
        self.blogo = w.Dropdown(options=[("unset (scale)", None), ("1 scale to fit", 1), ("2 crop", 2)],
                                value=None, description="blogo", style=style)
        self.gravity = w.Dropdown(options=list(GRAVITIES.values()), value="SouthEast", description="gravity",
                                  style=style)
        self.dx = slider("dx", 0, 0, 1000)
        self.dy = slider("dy", 0, 0, 1000)
        self.dissolve = slider("dissolve", 90, 1, 100)
        self.scatype = w.Dropdown(options=[("off", None), ("1 width", 1), ("2 height", 2), ("3 area", 3)],
                                  value=None, description="scatype", style=style)
        self.spcent = slider("spcent ‰", 100, 1, 1000)
        self.batch = w.Checkbox(value=False, description="batch (tile)")
        self.spacing = slider("spacing %", 10, 0, 100)
        self.degree = slider("degree", 0, 0, 360)
        self.preview = w.Image(format="png")
        self.rule_box = w.Textarea(value="", description="CI rule", style=style, layout=wide())
        self.message = w.HTML()
        self._text_controls = [self.text, self.font, self.fontsize, self.fill, self.shadow]
        self._image_controls = [self.image, self.blogo]
        self.stage = None
        self.error: str | None = None
        self._source_path: str | None = None
        self._load_source(image_or_df if self._paths is None else self._paths[0])

        controls = [self.kind, *self._text_controls, *self._image_controls, self.gravity, self.dx, self.dy,
                    self.dissolve, self.scatype, self.spcent, self.batch, self.spacing, self.degree]
        for c in controls + [self.row]:
            c.observe(self._changed, names="value")
        self._blind = _blind_api()
        self.blind_box = self._blind_section()
        children = ([self.row] if self._paths else []) + [
            w.HBox([w.VBox(controls, layout=w.Layout(width="46%")), self.preview]),
            self.rule_box, self.message, self.blind_box]
        super().__init__(children)
        self._update()

    # -- source -----------------------------------------------------------------------------
    def _load_source(self, src: Any) -> None:
        canvas = open_canvas(src)
        frame = canvas.frames[0]
        self._full = frame.convert("RGBA" if frame.mode in ("RGBA", "LA") else "RGB")
        small = self._full.copy()
        small.thumbnail((self._preview_size, self._preview_size), Image.Resampling.LANCZOS)
        self._small = small
        self._source_path = str(src) if isinstance(src, (str, os.PathLike)) else None

    @property
    def ctx(self) -> Context:
        """Where relative watermark paths resolve: the source image's folder."""
        return Context(base_dir=str(Path(self._source_path).parent) if self._source_path else None)

    # -- the stage --------------------------------------------------------------------------
    def build_stage(self):
        """The stage the controls describe (raises CIError when they are not a valid rule)."""
        common = dict(gravity=self.gravity.value, dx=self.dx.value, dy=self.dy.value, dissolve=self.dissolve.value,
                      batch=int(self.batch.value), spacing=self.spacing.value, degree=self.degree.value)
        if self.scatype.value is not None:
            common.update(scatype=self.scatype.value, spcent=self.spcent.value)
        if self.kind.value == "text":
            return TextWatermark(text=self.text.value, font=self.font.value, fontsize=self.fontsize.value,
                                 fill=self.fill.value, shadow=self.shadow.value, **common)
        if not self.image.value.strip():
            raise CIError("give the watermark image's path (or COS URL)", token="image")
        return ImageWatermark(image=self.image.value.strip(), blogo=self.blogo.value, **common)

    @property
    def rule(self) -> str:
        """The CI rule for the current settings ('' while they are invalid)."""
        return str(self.stage) if self.stage is not None else ""

    def _changed(self, change) -> None:
        if change["owner"] is self.row:
            self._load_source(change["new"])
        if change["owner"] is self.scatype:
            self.spcent.max = 250 if change["new"] == 3 else 1000
        self._update()

    def _update(self) -> None:
        text_mode = self.kind.value == "text"
        for c in self._text_controls:
            c.layout.display = None if text_mode else "none"
        for c in self._image_controls:
            c.layout.display = "none" if text_mode else None
        self.spcent.disabled = self.scatype.value is None
        for c in (self.spacing, self.degree):
            c.disabled = not self.batch.value
        try:
            self.stage = self.build_stage()
            shown = self.stage.preview(self._small, self._full.size, self.ctx)
            self.error = None
            self.message.value = ""
        except CIError as exc:
            self.stage = None
            self.error = exc.message
            self.message.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            shown = self._small
        self.rule_box.value = self.rule
        self.preview.value = _png(shown)

    # -- blind section ----------------------------------------------------------------------
    def _blind_section(self) -> widgets.Widget:
        w = widgets
        self.blind_text = w.Text(value="cinb", description="blind text", style={"description_width": "90px"})
        self.level = w.IntSlider(value=1, min=0, max=3, description="level", style={"description_width": "90px"})
        self.attack_button = w.Button(description="attack and extract", icon="shield")
        self.blind_rule = w.Text(value="", description="blind rule", style={"description_width": "90px"},
                                 layout=w.Layout(width="98%"))
        self.blind_result = w.HTML()
        self.attack_button.on_click(lambda _b: self.attack_and_extract())
        for c in (self.blind_text, self.level):
            c.observe(lambda _c: self._blind_rule(), names="value")
        self._blind_rule()
        box = w.VBox([w.HTML("<b>Blind watermark (watermark/3, type 3 text)</b>"),
                      w.HBox([self.blind_text, self.level, self.attack_button]), self.blind_rule, self.blind_result])
        if self._blind is None:
            box.layout.display = "none"
        return box

    def _blind_rule(self) -> None:
        self.blind_rule.value = f"watermark/3/type/3/text/{b64u_encode(self.blind_text.value)}/level/{self.level.value}"

    def attack_and_extract(self, *, max_side: int = 1024) -> list[dict]:
        """Embed the blind text at the chosen level, attack the result, extract from each attack.

        The image is first reduced to ``max_side`` px (for speed). Returns one dict per attack
        (attack, status 0-100, text found, present) and shows them as a table.
        """
        if self._blind is None:
            raise CIError("cinb.blind offers no embed/extract here", token="watermark/3")
        embed, extract = self._blind
        base = self._full.convert("RGB")
        base.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        rows = []
        try:
            marked = embed(base, text=self.blind_text.value, level=self.level.value)
            for name, attack in ATTACKS.items():
                found = extract(attack(marked), type=3)
                rows.append({"attack": name, "status": int(found.status), "text": found.text,
                             "present": found.status > 75})
        except CIError as exc:
            self.blind_result.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            return []
        cells = "".join(
            f"<tr><td>{html.escape(r['attack'])}</td><td>{r['status']}</td><td>{html.escape(str(r['text']))}</td>"
            f"<td>{'present' if r['present'] else ('suspected' if r['status'] >= 60 else 'absent')}</td></tr>"
            for r in rows)
        self.blind_result.value = ("<table><tr><th>attack</th><th>WatermarkStatus</th><th>text</th><th></th></tr>"
                                   f"{cells}</table>")
        return rows


__all__ = ["ATTACKS", "WatermarkTuner"]
