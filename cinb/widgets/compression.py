"""CompressionTuner: pick a format and quality by eye and by numbers, and copy the CI rule.

Side-by-side zoomed crops of the original and the encoded image (one crop box drives both, so they
stay in sync), bytes / bits per pixel / PSNR / SSIM / SSIMULACRA2 updated live, the setting marked
on the image's rate-distortion curve for the chosen format, and the rule that gives it on CI.
"""

from __future__ import annotations

import html
import io
from typing import Any

import ipywidgets as widgets
from PIL import Image

from ..compression.encoders import LOSSY, check_format, decode_image, encode_image, rule_for
from ..compression.metrics import Reference
from ..compression.sweep import load_reference
from ..errors import CIError

#: Qualities of the rate-distortion curve drawn for the current format.
CURVE_QUALITIES = (20, 35, 50, 65, 75, 85, 92, 98)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


class CompressionTuner(widgets.VBox):
    """Tune format and quality on one image (or a collection's images) against the original.

    Parameters
    ----------
    image_or_df : path, bytes, PIL image, or DataFrame with a ``path`` column
        What to tune on; with a DataFrame a dropdown picks the image.
    formats : sequence of str
        Formats offered (from ``cinb.compression.FORMATS``; guetzli is too slow for live use).
    quality : int
        Starting quality.
    crop : int
        Side of the zoomed crop, in source pixels.
    zoom : int
        Starting magnification of the crops (nearest neighbour, so pixels stay visible).
    max_side : int, optional
        Work on a copy downscaled to this long side (keeps the tuner live on camera photos).

    Attributes
    ----------
    format, quality, zoom, center_x, center_y, image_select : ipywidgets controls
        Set their ``.value`` from Python to drive the tuner (tests do).
    data : bytes
        The current encoding.
    scores : dict
        ``{"psnr": ..., "ssim": ..., "ssimulacra2": ...}`` of the current encoding.
    rule : str
        The CI rule for the current setting.

    Examples
    --------
    >>> from cinb.widgets.compression import CompressionTuner
    >>> from PIL import Image
    >>> t = CompressionTuner(Image.radial_gradient("L").convert("RGB"), formats=["jpeg", "webp"])
    >>> t.quality.value = 60
    >>> t.rule
    'imageMogr2/format/jpg/quality/60'
    """

    def __init__(self, image_or_df: Any, *, formats=("jpeg", "yjpeg", "webp", "avif", "heif"), quality: int = 80,
                 crop: int = 128, zoom: int = 2, max_side: int | None = 1024):
        formats = [check_format(f) for f in formats]
        if "guetzli" in formats:
            raise CIError("guetzli is too slow for a live tuner: use cinb.compression.guetzli", token="guetzli")
        self.crop_size = int(crop)
        self.max_side = max_side
        self._curves: dict = {}
        paths = None
        if hasattr(image_or_df, "columns"):
            if "path" not in image_or_df.columns or not len(image_or_df):
                raise CIError("CompressionTuner needs a DataFrame with rows and a 'path' column", token="path")
            paths = [str(p) for p in image_or_df["path"].tolist()[:500]]
        self.image_select = widgets.Dropdown(options=paths or ["image"], value=(paths or ["image"])[0],
                                             description="image", layout=widgets.Layout(width="420px"))
        self.image_select.layout.display = None if paths else "none"
        self.format = widgets.Dropdown(options=formats, value=formats[0], description="format")
        self.quality = widgets.IntSlider(value=int(quality), min=1, max=100, description="quality",
                                         continuous_update=False)
        self.zoom = widgets.IntSlider(value=int(zoom), min=1, max=8, description="zoom", continuous_update=False)
        self.center_x = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.01, description="crop x",
                                            continuous_update=False)
        self.center_y = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.01, description="crop y",
                                            continuous_update=False)
        self.original_view = widgets.Image(format="png")
        self.encoded_view = widgets.Image(format="png")
        self.stats = widgets.HTML()
        self.rule_box = widgets.Text(description="CI rule", layout=widgets.Layout(width="640px"))
        self.rd_plot = widgets.Image(format="png", layout=widgets.Layout(width="480px"))
        views = widgets.HBox([
            widgets.VBox([widgets.HTML("<b>original</b>"), self.original_view]),
            widgets.VBox([widgets.HTML("<b>encoded</b>"), self.encoded_view]),
        ])
        super().__init__([
            self.image_select,
            widgets.HBox([self.format, self.quality]),
            widgets.HBox([self.center_x, self.center_y, self.zoom]),
            views, self.stats, self.rule_box, self.rd_plot,
        ])
        # CSS classes: stable handles for styling and for the browser test (tests/test_browser.py)
        self.add_class("cinb-compression-tuner")
        self.encoded_view.add_class("cinb-preview")
        self.format.add_class("cinb-format")
        self._load(image_or_df if paths is None else paths[0])
        self.image_select.observe(self._image_changed, names="value")
        for w in (self.format, self.quality, self.zoom, self.center_x, self.center_y):
            w.observe(lambda _change: self._update(), names="value")
        self._update()

    # -- state -----------------------------------------------------------------------------------
    def _load(self, src: Any) -> None:
        self.source, facts = load_reference(src, max_side=self.max_side)
        self.source_quality = facts["source_quality"]
        self.reference = Reference(self.source)

    def _image_changed(self, change) -> None:
        self._load(change["new"])
        self._curves.clear()
        self._update()

    @property
    def rule(self) -> str:
        q = self.quality.value if self.format.value in LOSSY else None
        force = q is not None and self.source_quality is not None and q > self.source_quality
        return rule_for(self.format.value, q, force=force)

    def _crop_box(self) -> tuple[int, int, int, int]:
        w, h = self.source.size
        side_w, side_h = min(self.crop_size, w), min(self.crop_size, h)
        left = int(round(self.center_x.value * (w - side_w)))
        top = int(round(self.center_y.value * (h - side_h)))
        return left, top, left + side_w, top + side_h

    def _zoomed(self, img: Image.Image) -> bytes:
        part = img.convert("RGB").crop(self._crop_box())
        z = self.zoom.value
        return _png(part.resize((part.width * z, part.height * z), Image.Resampling.NEAREST))

    def curve(self, fmt: str | None = None) -> list[tuple[int, float, float]]:
        """``[(quality, bpp, ssimulacra2), ...]`` of the current image for ``fmt`` (cached)."""
        fmt = fmt or self.format.value
        key = (self.image_select.value, fmt)
        if key not in self._curves:
            pts = []
            px = self.source.width * self.source.height
            for q in (CURVE_QUALITIES if fmt in LOSSY else (None,)):
                data = encode_image(self.source, fmt, q)
                pts.append((q, 8.0 * len(data) / px, self.reference.ssimulacra2(decode_image(data))))
            self._curves[key] = pts
        return self._curves[key]

    def _plot(self, bpp: float, score: float) -> bytes:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(4.8, 3.0), dpi=80)
        ax = fig.add_subplot()
        pts = self.curve()
        ax.plot([p[1] for p in pts], [p[2] for p in pts], marker="o", ms=3, label=self.format.value)
        ax.scatter([bpp], [score], s=120, facecolors="none", edgecolors="red", linewidths=2, zorder=5,
                   label=f"q{self.quality.value}")
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel("SSIMULACRA2")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()

    def _update(self) -> None:
        fmt, q = self.format.value, self.quality.value
        self.data = encode_image(self.source, fmt, q)
        decoded = decode_image(self.data)
        self.scores = self.reference.score(decoded)
        px = self.source.width * self.source.height
        self.bytes = len(self.data)
        bpp = 8.0 * self.bytes / px
        self.original_view.value = self._zoomed(self.source)
        self.encoded_view.value = self._zoomed(decoded)
        s = self.scores
        self.stats.value = (
            f"<b>{html.escape(fmt)}</b> q{q}: <b>{self.bytes:,} bytes</b> ({bpp:.2f} bpp) &nbsp; "
            f"PSNR {s['psnr']:.2f} dB &nbsp; SSIM {s['ssim']:.4f} &nbsp; SSIMULACRA2 <b>{s['ssimulacra2']:.1f}</b>"
            f" &nbsp; <small>({self.source.width}x{self.source.height} px)</small>")
        self.rule_box.value = self.rule
        self.rd_plot.value = self._plot(bpp, s["ssimulacra2"])
