"""What the explorers show: previews at their true size and aspect, no blank dropdowns, no stale result,
and the CI form of an image-watermark rule."""

from __future__ import annotations

import io

import pytest
from PIL import Image

pytest.importorskip("ipywidgets")

from cinb import data
from cinb.rules.grammar import b64u_encode as b64
from cinb.settings import using
from cinb.widgets import RuleExplorer, WatermarkTuner


def _size(image_widget) -> tuple[int, int]:
    return Image.open(io.BytesIO(image_widget.value)).size


def test_tuner_preview_is_pinned_to_the_image_aspect():
    t = WatermarkTuner(data.coffee(), preview_size=360)  # 600x400 -> 360x240
    assert _size(t.preview) == (360, 240)
    assert (t.preview.width, t.preview.height) == ("360", "240")
    assert t.preview.layout.align_self == "flex-start"
    t.fontsize.value = 80
    assert (t.preview.width, t.preview.height) == ("360", "240")


def test_tuner_dropdowns_show_a_label_not_blank():
    t = WatermarkTuner(data.coffee())
    for dd, label in ((t.scatype, "off"), (t.blogo, "unset")):
        assert dd.value is not None and dd.label == label
    assert "scatype" not in t.rule and t.spcent.disabled
    t.scatype.value = 2
    assert "/scatype/2/spcent/100" in t.rule and not t.spcent.disabled
    t.scatype.value = 0
    assert "scatype" not in t.rule


def test_tuner_labels_are_not_cut():
    t = WatermarkTuner(data.coffee())
    assert t.kind.style.button_width == "auto"
    assert t.attack_button.layout.width == "auto"


def test_tuner_image_rule_names_the_cos_url_and_how_cinb_resolves_it(tmp_path):
    (tmp_path / "brand").mkdir()
    logo = tmp_path / "brand" / "logo.png"
    Image.new("RGBA", (60, 20), (255, 0, 0, 200)).save(logo)
    t = WatermarkTuner(data.coffee(), watermark_image=logo, bucket="http://b-1.cos.ap-beijing.myqcloud.com")
    # not in a watermark folder: the key is the file name, and cinb says it would not find it
    assert t.rule == f"watermark/1/image/{b64('http://b-1.cos.ap-beijing.myqcloud.com/logo.png')}"
    assert t.local_rule == f"watermark/1/image/{b64(str(logo))}"
    assert "finds no file" in t.resolution.value and "set_watermark_dirs" in t.resolution.value
    with using(watermark_dirs=[tmp_path]):
        t.bucket.value = "http://b-1.cos.ap-beijing.myqcloud.com/"
        assert t.rule == f"watermark/1/image/{b64('http://b-1.cos.ap-beijing.myqcloud.com/brand/logo.png')}"
        assert f"to <code>{logo}</code>" in t.resolution.value
    t.bucket.value = "https://b-1.cos.ap-beijing.myqcloud.com"  # CI refuses https watermark URLs
    assert t.rule == "" and "http://" in t.error
    t.kind.value = "text"
    assert t.resolution.value == "" and t.rule.startswith("watermark/2/")


def test_rule_explorer_draws_original_and_result_at_one_scale():
    ex = RuleExplorer(data.astronaut(), rule="imageMogr2/thumbnail/!50p", size=200)  # 512 -> 256
    assert _size(ex.original) == (200, 200)
    assert _size(ex.output) == (100, 100)  # half the original, as it is
    assert (ex.output.width, ex.output.height) == ("100", "100")
    ex.rule_box.value = "imageMogr2/thumbnail/1024x"  # larger result: the original shrinks
    assert _size(ex.output) == (200, 200) and _size(ex.original) == (100, 100)


def test_rule_explorer_hides_the_last_result_after_a_bad_rule():
    ex = RuleExplorer(data.astronaut(), rule="imageMogr2/rotate/90", size=120)
    assert ex.output.layout.display is None and ex.output.value
    ex.rule_box.value = "imageMogr2/rotate/x"
    assert ex.result is None and "-103" in ex.status.value
    assert ex.output.layout.display == "none"
    ex.rule_box.value = "imageMogr2/rotate/180"
    assert ex.output.layout.display is None and ex.result.width == 512
