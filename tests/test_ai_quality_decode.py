"""AssessQuality's one decode: a JPEG decodes at the smallest 1/2^n whose long side still reaches
DECODE_SIZE (2 x WORK_SIZE), whatever its shape, and is Lanczos-reduced to WORK_SIZE; the block grid is
read on the stored picture at full resolution (its 8 px blocks), in a centre box of at most GRID_BOX px."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cinb.ai.quality import DECODE_SIZE, GRID_BOX, WORK_SIZE, working
from cinb.imageinput import ImageInput


def _jpeg(width: int, height: int) -> bytes:
    rng = np.random.default_rng(width * 7 + height)
    img = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


@pytest.mark.parametrize(("width", "height"), [
    (4000, 3000),  # 1/4: 1000 x 750
    (1024, 683),  # 1/2: 512 x 342 (a request fitted on the short side, 683 // 342 = 1, decoded it in full)
    (1920, 1080),
    (683, 1024),  # portrait
    (1000, 500),  # 1/2 would be 500 px: in full
    (1200, 400),  # 1/2: 600 x 200 (not 1/4, 300 x 100)
    (3000, 600),  # 1/4: 750 x 150 (3000 // 8 = 375 < 512)
    (600, 400),
    # the decoder rounds a scaled side up: 1023 / 2 -> 512, 2047 / 4 -> 512, 4095 / 8 -> 512, all reaching
    # WORK_SIZE (a floor division took these one scale larger and resized)
    (1023, 700),
    (2047, 1500),
    (4095, 3000),
    (1022, 700),  # 1/2 would be 511 px: in full
])
def test_a_jpeg_decodes_at_the_smallest_scale_whose_long_side_reaches_work_size(width, height):
    inp = ImageInput(_jpeg(width, height))
    work = working(inp)
    # the 8 px blocks of the stored picture at full resolution, whatever scale the measures' decode came at
    assert work.period == 8 and work.grid.shape == (min(height, GRID_BOX), min(width, GRID_BOX))
    assert max(work.rgb.shape[:2]) == max(work.gray.shape) == min(WORK_SIZE, max(width, height))
    decoded = max(inp.canvas(DECODE_SIZE).frames[0].size)  # the decode the measures were reduced from
    assert decoded >= min(DECODE_SIZE, max(width, height))
    assert decoded < 2 * DECODE_SIZE or decoded == max(width, height)

