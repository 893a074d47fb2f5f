"""Jupyter helpers: compare() and RuleExplorer show results and errors without raising."""

from __future__ import annotations

import pytest
from PIL import Image

from cinb.display import compare, thumbnail_uri


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    img = Image.new("RGB", (320, 200), (20, 120, 200))
    img.paste((250, 30, 30), (0, 0, 160, 100))
    return img


def test_compare_shows_original_results_and_errors(picture):
    html = compare(picture, "imageMogr2/thumbnail/!50p", "imageMogr2/rotate/999", "imageInfo")._repr_html_()
    assert "original 320x200" in html
    assert "160x100 png" in html  # a PIL source has no format of its own: PNG out
    assert "X-ErrNo -103" in html and "rotate" in html  # the bad rule shows its CIError
    assert '&quot;width&quot;: &quot;320&quot;' in html  # the info stage shows its JSON (escaped)


def test_thumbnail_uri_keeps_transparency_as_png(picture):
    assert thumbnail_uri(picture).startswith("data:image/jpeg;base64,")
    assert thumbnail_uri(picture.convert("RGBA")).startswith("data:image/png;base64,")


def test_rule_explorer_follows_the_rule_box(picture):
    pytest.importorskip("ipywidgets")
    from cinb.widgets import RuleExplorer

    ex = RuleExplorer(picture, rule="imageMogr2/thumbnail/!50p")
    assert (ex.result.width, ex.result.height) == (160, 100)
    first = ex.output.value
    ex.rule_box.value = "imageMogr2/gravity/center/crop/100x50"
    assert (ex.result.width, ex.result.height) == (100, 50)
    assert ex.output.value != first
    assert "imageMogr2/gravity/Center/crop/100x50" in ex.canonical.value
    ex.rule_box.value = "imageMogr2/thumbnail/300x300^"
    assert ex.result is None and "X-ErrNo -103" in ex.error
    ex.presets.value = "imageMogr2/rotate/30"
    assert ex.rule_box.value == "imageMogr2/rotate/30" and ex.result.width > 320
