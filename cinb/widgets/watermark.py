"""WatermarkTuner: every visible-watermark parameter as a control, a live preview, the CI rule.

A blind-watermark section (level slider, "attack and extract") appears when ``cinb.blind`` offers
``embed`` and ``extract``.
"""

from __future__ import annotations

import dataclasses
import html
import io
import os
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from PIL import Image

from ..blind import attacks as _attacks
from ..decode import open_canvas
from ..errors import CIError
from ..rules.grammar import GRAVITIES, b64u_encode
from ..rules.model import Context
from ..watermark.fonts import ci_font_names
from ..watermark.source import object_key, resolve_location, watermark_dirs
from ..watermark.stages import ImageWatermark, TextWatermark

#: Blind-mark attacks the tuner tries, by their name in :data:`cinb.blind.attacks.ATTACKS`.
ATTACKS = ("none", "jpeg q75", "resize 0.75", "crop 80%", "screenshot")

#: The bucket the CI rule's watermark URL names until the user types theirs (CI's documentation example).
EXAMPLE_BUCKET = "http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com"


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
    watermark_image : path or COS URL, optional
        The image for ``watermark/1``. CI needs a URL in the bucket: for a local file the CI rule
        names ``<bucket>/<key>``, the key being the file's path inside a watermark folder
        (``cinb.watermark.set_watermark_dirs``) or else its name; ``resolution`` says which file
        cinb finds for that URL. The preview always uses the file itself.
    bucket : str
        ``http://<bucket>.cos.<region>.myqcloud.com`` for the CI rule (default: CI's example bucket).
    text : str
        Starting text for ``watermark/2``.
    preview_size : int
        Long side of the preview in px; the mark is computed for the full image and reduced with it.

    Attributes
    ----------
    rule : str
        The CI rule for the current settings (also shown in ``rule_box``); in image mode it names the
        watermark by its COS URL.
    local_rule : str
        The rule cinb runs for the preview (image mode: the local path; else the same as ``rule``).
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
                 text: str = "© cinb 水印", preview_size: int = 480, bucket: str = EXAMPLE_BUCKET):
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
        # "auto" button width: the default 150 px cuts "image (watermark/1)" to "image (watermar..."
        self.kind = w.ToggleButtons(options=[("text (watermark/2)", "text"), ("image (watermark/1)", "image")],
                                    value="image" if watermark_image is not None else "text",
                                    style={"button_width": "auto"})
        self.text = w.Textarea(value=text, description="text", style=style, layout=wide(), continuous_update=False)
        self.font = w.Dropdown(options=ci_font_names(), value="tahoma.ttf", description="font", style=style)
        self.fontsize = slider("fontsize", 36, 1, 400)
        self.fill = w.ColorPicker(value="#3D3D3D", description="fill", style=style, concise=False)
        self.shadow = slider("shadow", 0, 0, 100)
        self.image = w.Text(value="" if watermark_image is None else str(watermark_image),
                            description="mark image", placeholder="path, or http://<bucket>.cos...<key>",
                            style=style, layout=wide(), continuous_update=False)
        # 0 stands for "not in the rule": a Dropdown whose value is None shows a blank selection
        self.blogo = w.Dropdown(options=[("unset", 0), ("1 scale to fit", 1), ("2 crop", 2)],
                                value=0, description="blogo", style=style)
        self.bucket = w.Text(value=bucket, description="bucket", placeholder="http://<bucket>.cos.<region>.myqcloud.com",
                             style=style, layout=wide(), continuous_update=False)
        self.gravity = w.Dropdown(options=list(GRAVITIES.values()), value="SouthEast", description="gravity",
                                  style=style)
        self.dx = slider("dx", 0, 0, 1000)
        self.dy = slider("dy", 0, 0, 1000)
        self.dissolve = slider("dissolve", 90, 1, 100)
        self.scatype = w.Dropdown(options=[("off", 0), ("1 width", 1), ("2 height", 2), ("3 area", 3)],
                                  value=0, description="scatype", style=style)
        self.spcent = slider("spcent ‰", 100, 1, 1000)
        self.batch = w.Checkbox(value=False, description="batch (tile)")
        self.spacing = slider("spacing %", 10, 0, 100)
        self.degree = slider("degree", 0, 0, 360)
        # Shown at the PNG's own size: in an HBox a stretched Image takes the controls' height
        # (a 360x240 preview was drawn 360x484), so pin its size and keep it at the top.
        self.preview = w.Image(format="png", layout=w.Layout(align_self="flex-start", object_fit="contain",
                                                             flex="0 0 auto"))
        self.rule_box = w.Textarea(value="", description="CI rule", style=style, layout=wide())
        self.resolution = w.HTML()
        self.message = w.HTML()
        self._text_controls = [self.text, self.font, self.fontsize, self.fill, self.shadow]
        self._image_controls = [self.image, self.bucket, self.blogo]
        self.stage: ImageWatermark | TextWatermark | None = None
        self._rule = ""
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
            w.HBox([w.VBox(controls, layout=w.Layout(width="46%", min_width="360px")), self.preview],
                   layout=w.Layout(align_items="flex-start")),
            self.rule_box, self.resolution, self.message, self.blind_box]
        super().__init__(children)
        # CSS classes: stable handles for styling and for the browser test (tests/test_browser.py)
        self.add_class("cinb-watermark-tuner")
        self.preview.add_class("cinb-preview")
        self.gravity.add_class("cinb-gravity")
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
        common = {"gravity": self.gravity.value, "dx": self.dx.value, "dy": self.dy.value,
                  "dissolve": self.dissolve.value, "batch": int(self.batch.value), "spacing": self.spacing.value,
                  "degree": self.degree.value}
        if self.scatype.value:
            common.update(scatype=self.scatype.value, spcent=self.spcent.value)
        if self.kind.value == "text":
            return TextWatermark(text=self.text.value, font=self.font.value, fontsize=self.fontsize.value,
                                 fill=self.fill.value, shadow=self.shadow.value, **common)
        if not self.image.value.strip():
            raise CIError("give the watermark image's path (or COS URL)", token="image")
        return ImageWatermark(image=self.image.value.strip(), blogo=self.blogo.value or None, **common)

    def watermark_url(self) -> str:
        """The COS URL the CI rule names for the watermark image ('' in text mode or without an image).

        A URL typed as the image is kept. For a local file the key is its path inside the first
        watermark folder holding it (``set_watermark_dirs``, then the source image's folder), else its
        file name; cinb resolves such a URL by the same lookup.
        """
        location = self.image.value.strip()
        if self.kind.value != "image" or not location or object_key(location) is not None:
            return location if self.kind.value == "image" else ""
        path = Path(location).expanduser()
        key = path.as_posix().lstrip("./") if not path.is_absolute() else path.name
        if path.is_absolute():
            for folder in watermark_dirs(self.ctx.base_dir):
                try:
                    key = path.resolve().relative_to(folder.resolve()).as_posix()
                    break
                except ValueError:
                    continue
        return f"{self.bucket.value.strip().rstrip('/')}/{key}"

    @property
    def local_rule(self) -> str:
        """The rule the preview runs ('' while the settings are invalid)."""
        return str(self.stage) if self.stage is not None else ""

    @property
    def rule(self) -> str:
        """The CI rule for the current settings ('' while they are invalid)."""
        return self._rule

    def _ci_rule(self) -> str:
        if isinstance(self.stage, ImageWatermark):
            return str(dataclasses.replace(self.stage, image=self.watermark_url()))
        return str(self.stage)

    def _resolution(self) -> str:
        """HTML: which local file cinb uses for the CI rule's URL, or why it finds none."""
        if self.stage is None or not isinstance(self.stage, ImageWatermark):
            return ""
        url = self.watermark_url()
        try:
            found = resolve_location(url, base_dir=self.ctx.base_dir)
        except CIError as exc:
            folder = Path(self.image.value.strip()).expanduser().parent
            return (f"<small>cinb resolves <code>{html.escape(url)}</code> by key and finds no file "
                    f"({html.escape(exc.message)}); to run this CI rule locally: "
                    f"<code>cinb.watermark.set_watermark_dirs({html.escape(repr(str(folder)))})</code></small>")
        return (f"<small>cinb resolves <code>{html.escape(url)}</code> by key to "
                f"<code>{html.escape(str(found))}</code></small>")

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
        self.spcent.disabled = not self.scatype.value
        for c in (self.spacing, self.degree):
            c.disabled = not self.batch.value
        try:
            self.stage = self.build_stage()
            shown = self.stage.preview(self._small, self._full.size, self.ctx)
            self._rule = self._ci_rule()
            self.error = None
            self.message.value = ""
        except CIError as exc:
            self.stage = None
            self._rule = ""
            self.error = exc.message
            self.message.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            shown = self._small
        self.rule_box.value = self.rule
        self.resolution.value = self._resolution()
        self.preview.value = _png(shown)
        self.preview.width, self.preview.height = str(shown.width), str(shown.height)

    # -- blind section ----------------------------------------------------------------------
    def _blind_section(self) -> widgets.Widget:
        w = widgets
        self.blind_text = w.Text(value="cinb", description="blind text", style={"description_width": "90px"})
        self.level = w.IntSlider(value=1, min=0, max=3, description="level", style={"description_width": "90px"})
        self.attack_button = w.Button(description="attack and extract", icon="shield",
                                      layout=w.Layout(width="auto", min_width="190px"))
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
            for name in ATTACKS:
                found = extract(_attacks.ATTACKS[name](marked), type=3)
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
