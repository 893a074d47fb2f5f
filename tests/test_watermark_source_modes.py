"""load_watermark gives RGBA whatever the file's mode; a palette's transparent index becomes alpha 0."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cinb.watermark.source import load_watermark


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_a_palette_mark_with_a_transparent_index_is_transparent_there(tmp_path, suffix):
    im = Image.new("P", (4, 2), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.putpixel((0, 0), 0)
    path = tmp_path / f"mark{suffix}"
    im.save(path, transparency=0)
    mark = np.asarray(load_watermark(path))
    assert load_watermark(path).mode == "RGBA"
    assert mark[0, 0, 3] == 0 and tuple(mark[1, 3]) == (255, 0, 0, 255)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "P"])
def test_every_mode_loads_as_rgba(tmp_path, mode):
    path = tmp_path / f"mark-{mode}.png"
    Image.new(mode, (3, 3)).save(path)
    assert load_watermark(path).mode == "RGBA"
