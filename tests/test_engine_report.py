"""What Result.info reports: quality used, frames written, size-limit outcome, ignored errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import cinb
from cinb.codecs.jpeg_quality import estimate_jpeg_quality


@pytest.fixture(scope="module")
def noisy_jpeg() -> bytes:
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def animation() -> bytes:
    frames = [Image.new("RGB", (60, 40), (i * 20, 50, 90)) for i in range(12)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return buf.getvalue()


def test_size_limit_reports_whether_it_was_met(noisy_jpeg):
    ok = cinb.process(noisy_jpeg, "imageMogr2/size-limit/40k")
    assert ok.info["size_limit_met"] and len(ok.data) <= 40 * 1024 and ok.info["quality"] < 90
    impossible = cinb.process(noisy_jpeg, "imageMogr2/size-limit/1k")
    assert impossible.info["size_limit_met"] is False and impossible.info["quality"] == 1


def test_size_limit_bang_keeps_a_smaller_original(noisy_jpeg):
    r = cinb.process(noisy_jpeg, "imageMogr2/quality/100!/size-limit/5m!")
    assert r.info["size_limit_kept_original"] and r.data == noisy_jpeg


def test_a_kept_original_reports_its_own_quality(noisy_jpeg):
    """The quality the original's tables say (made at 90), not the encoder's 95 or 100 it was no smaller than."""
    for rule in ("imageMogr2/quality/100!/size-limit/5m!", "imageMogr2/quality/95!/size-limit/5m!"):
        r = cinb.process(noisy_jpeg, rule)
        assert r.data == noisy_jpeg and r.info["quality"] == 90 and r.info["frames"] == 1
    coffee = cinb.data.coffee()
    r = cinb.process(coffee, "imageMogr2/quality/95!/size-limit/500k!")
    with Image.open(coffee) as img:
        tables = estimate_jpeg_quality(img.quantization)
    assert r.data == coffee.read_bytes() and r.info["size_limit_kept_original"] and r.info["quality"] == tables == 90


def test_a_kept_original_that_is_no_jpeg_reports_its_frames_its_size_and_no_quality():
    """A flat 3-frame GIF is smaller than any JPEG of it: the GIF comes back, so info describes the GIF."""
    frames = [Image.new("RGB", (600, 400), (i * 20, 50, 90)) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    gif = buf.getvalue()
    encoded = cinb.process(gif, "imageMogr2/format/jpg/size-limit/3k")
    assert len(encoded.data) > 3 * 1024 >= len(gif) and encoded.info["size_limit_met"] is False
    r = cinb.process(gif, "imageMogr2/format/jpg/size-limit/3k!")
    assert r.data == gif and r.format == "gif" and r.info["size_limit_kept_original"]
    assert "quality" not in r.info and r.info["frames"] == 3 and r.info["size_limit_met"] is True


@pytest.mark.parametrize("rule, frames", [
    ("imageMogr2/cgif/5", 5), ("imageMogr2/cgif/1", 12), ("imageMogr2/thumbnail/!50p", 12),
    ("imageMogr2/format/webp/cgif/3", 3), ("imageMogr2/format/jpg", 1),
])
def test_frames_reported_match_the_file(animation, rule, frames):
    r = cinb.process(animation, rule)
    assert r.info["frames"] == frames == getattr(r.image, "n_frames", 1)


def test_bare_info_stage_describes_the_stored_file_without_reencoding(noisy_jpeg):
    info = cinb.process(noisy_jpeg, "imageInfo").json
    assert info["size"] == str(len(noisy_jpeg))
    piped = cinb.process(noisy_jpeg, "imageMogr2/thumbnail/!50p|imageInfo").json
    assert (piped["width"], piped["height"]) == ("200", "150")
