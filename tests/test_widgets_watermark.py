"""WatermarkTuner driven from Python: controls -> rule string and preview."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

pytest.importorskip("ipywidgets")

from cinb import parse_rule
from cinb.rules.grammar import b64u_encode as b64
from cinb.widgets import WatermarkTuner


@pytest.fixture()
def photo(tmp_path):
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(90, 160, (600, 800, 3), dtype=np.uint8))
    img.save(tmp_path / "photo.png")
    Image.new("RGBA", (120, 60), (255, 0, 0, 255)).save(tmp_path / "logo.png")
    return tmp_path


def _pixels(tuner) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(tuner.preview.value)).convert("RGB")).astype(int)


def test_importing_cinb_does_not_import_ipywidgets():
    code = "import sys, cinb, cinb.widgets; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_text_controls_drive_the_rule_and_the_preview(photo):
    t = WatermarkTuner(photo / "photo.png", text="cinb")
    assert t.rule == "watermark/2/text/Y2luYg/fontsize/36"
    before = t.preview.value
    t.text.value = "水印"
    t.font.value = "simhei黑体.ttf"
    t.fontsize.value = 60
    t.fill.value = "#ff0000"
    t.shadow.value = 40
    t.gravity.value = "NorthWest"
    t.dx.value = 20
    t.dy.value = 30
    t.dissolve.value = 70
    expected = (f"watermark/2/text/{b64('水印')}/font/{b64('simhei黑体.ttf')}/fontsize/60/fill/{b64('#FF0000')}"
                "/shadow/40/gravity/NorthWest/dx/20/dy/30/dissolve/70")
    assert t.rule == expected == t.rule_box.value
    assert t.preview.value != before
    # the preview shows the mark near the top-left (800 px wide source shown at 480: scale 0.6)
    a = _pixels(t)
    red = (a[..., 0] > 190) & (a[..., 1] < 70) & (a[..., 2] < 70)
    ys, xs = np.nonzero(red)
    assert abs(xs.min() - 12) <= 2 and abs(ys.min() - 18) <= 3
    assert parse_rule(t.rule).stages[0] == t.stage


def test_batch_scatype_and_image_mode(photo):
    t = WatermarkTuner(photo / "photo.png", watermark_image=photo / "logo.png")
    assert t.kind.value == "image" and t.text.layout.display == "none"
    assert t.local_rule == f"watermark/1/image/{b64(str(photo / 'logo.png'))}"
    # the CI rule names the mark by its COS URL; the photo's folder is searched, so cinb finds it
    url = "http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/logo.png"
    assert t.rule == f"watermark/1/image/{b64(url)}"
    assert f"to <code>{photo / 'logo.png'}</code>" in t.resolution.value
    t.batch.value = True
    t.spacing.value = 50
    t.degree.value = 30
    t.scatype.value = 1
    t.spcent.value = 100
    t.blogo.value = 2
    assert t.local_rule == (f"watermark/1/image/{b64(str(photo / 'logo.png'))}/blogo/2/scatype/1/spcent/100"
                            "/batch/1/spacing/50/degree/30")
    assert t.rule == f"watermark/1/image/{b64(url)}/blogo/2/scatype/1/spcent/100/batch/1/spacing/50/degree/30"
    a = _pixels(t)
    red = (a[..., 0] > 190) & (a[..., 1] < 70)
    assert red[: a.shape[0] // 2].any() and red[a.shape[0] // 2:].any()  # tiles everywhere
    t.scatype.value = 3
    assert t.spcent.max == 250 and t.spcent.value <= 250


def test_invalid_settings_show_an_error_and_no_rule(photo):
    t = WatermarkTuner(photo / "photo.png")
    t.text.value = "   "
    assert t.rule == "" and t.error and "text" in t.error
    assert "X-ErrNo -103" in t.message.value
    t.kind.value = "image"
    t.image.value = "missing.png"
    assert t.error and "missing.png" in t.error
    t.text.value = "ok"
    t.kind.value = "text"
    assert t.error is None and t.rule.startswith("watermark/2/text/b2s")


def test_dataframe_rows(photo):
    Image.new("RGB", (300, 200), "white").save(photo / "second.png")
    df = pd.DataFrame({"path": [str(photo / "photo.png"), str(photo / "second.png")]})
    t = WatermarkTuner(df, text="x")
    first = t.preview.value
    t.row.value = str(photo / "second.png")
    assert t.preview.value != first
    assert Image.open(io.BytesIO(t.preview.value)).size == (300, 200)  # never enlarged


def test_blind_section_attack_and_extract(photo):
    t = WatermarkTuner(photo / "photo.png")
    if t._blind is None:
        assert t.blind_box.layout.display == "none"
        pytest.skip("cinb.blind has no embed/extract")
    t.level.value = 3
    t.blind_text.value = "cinb"
    assert t.blind_rule.value == "watermark/3/type/3/text/Y2luYg/level/3"
    rows = t.attack_and_extract(max_side=512)
    assert [r["attack"] for r in rows] == ["none", "jpeg q75", "resize 0.75", "crop 80%", "screenshot"]
    assert rows[0]["present"] and rows[0]["text"] == "cinb"
    assert "WatermarkStatus" in t.blind_result.value
