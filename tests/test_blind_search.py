"""Blind watermarks, issue 15 round 5: the reader's search (tiny pictures, the comb fallback, a fast negative)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cinb import blind, data
from cinb.blind import attacks, payload
from cinb.blind.api import LIST_Z
from cinb.blind.mark import FINE_GRIDS, TINY_MIN_Z, read_coded
from cinb.blind.pattern import DEFAULT_KEY


@pytest.fixture(scope="module")
def chelsea():
    return np.asarray(Image.open(data.sample_dir() / "chelsea.jpg").convert("RGB"))


def _read(pixels):
    stats: dict = {}

    def accept(r):  # as blind.extract decides: both chip filters, the list decoder where the pilots show a mark
        for soft in (r.soft, getattr(r.soft, "plain", None)):
            if soft is not None and (payload.decode_text(soft, key=DEFAULT_KEY)[0] is not None or (
                    r.z >= LIST_Z and payload.decode_text(soft, key=DEFAULT_KEY, list_size=payload.LIST_SIZE)[0])):
                return True
        return False

    reading = read_coded(pixels, payload.n_text_coded(), key=DEFAULT_KEY, accept=accept, stats=stats)
    return accept(reading), stats


def test_tiny_picture_after_a_03_resize_is_read(chelsea):
    # chelsea (451x300) marked at its own size, resized to 0.3x: 135x90, a 38 px tile of 1.2 px chips. The
    # coherent searches (even on the enlarged picture) miss it; the fold scan of tiny pictures reads it.
    small = attacks.resize(np.asarray(blind.embed(chelsea, text="tiny-03")), 0.3)
    assert small.shape[:2] == (90, 135)
    read, stats = _read(small)
    assert read
    assert 0 < stats["tiny"] <= 12  # the periods nearest a 0.3x resize come first
    found = blind.extract(small)
    assert found.text == "tiny-03" and found.status > 75


def test_tiny_unmarked_picture_is_not_suspected(chelsea):
    for scale in (0.25, 0.3, 0.35):
        found = blind.extract(attacks.resize(chelsea, scale))
        assert found.status < 60 and found.text == "" and found.sync < TINY_MIN_Z


def test_fine_verification_stops_early_without_a_mark(chelsea):
    # An unmarked picture larger than the tiny band: every chance peak stops at the first fine level.
    read, stats = _read(attacks.jpeg(chelsea, 75))
    first = (2 * FINE_GRIDS[0][2] + 1) ** 2
    assert not read and "tiny" not in stats
    assert stats["fine"] % first == 0 and stats["fine"] < 3 * sum((2 * g[2] + 1) ** 2 for g in FINE_GRIDS)
