"""Pictures in a saved notebook: compare() captions wrap at slashes and spaces, never inside a number;
transparent thumbnails stay PNG but small; galleries keep their layout untrusted (inline styles)."""

from __future__ import annotations

import re

from cinb import data
from cinb.display import compare, thumbnail_uri
from cinb.engine import process


def test_captions_break_after_slashes_not_inside_numbers():
    html = compare(data.astronaut(), "imageMogr2/thumbnail/300x/format/png", size=120)._repr_html_()
    assert "break-all" not in html and "overflow-wrap:anywhere" in html
    assert "imageMogr2/<wbr>thumbnail/<wbr>300x/<wbr>format/<wbr>png<br>300x300 png" in html
    assert re.search(r"png \d{2,3},\d{3} B", html)  # the byte count is one token


def test_transparent_thumbnail_is_a_small_png():
    rounded = process(data.astronaut(), "imageMogr2/iradius/200/format/png").image
    uri = thumbnail_uri(rounded, 160)
    assert uri.startswith("data:image/png;base64,")
    assert len(uri) < 30_000  # full-colour PNG: about 85,000


def test_gallery_is_styled_inline_so_untrusted_notebooks_keep_it():
    import cinb

    markup = cinb.scan(data.sample_dir()).head(3).ci.show(["name"], progress=False)._repr_html_()
    assert "<style" not in markup  # JupyterLab drops style blocks from untrusted outputs
    assert '<div class="cinb-grid" style="display:flex;flex-wrap:wrap;' in markup
    assert markup.count('class="cinb-cell"') == 3
    assert markup.count('style="border:1px solid #ddd;') == 3
