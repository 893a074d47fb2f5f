"""Blind watermarks, issue 15 round 4: read speed. The reader's work is counted (``read_coded(stats=)``)
rather than timed: a time bound is fragile on a shared machine, the number of geometries tried is not."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from PIL import Image

from cinb import blind, data
from cinb.blind import attacks, payload
from cinb.blind.mark import (
    ANGLE_RANGE,
    COARSE_ANGLE,
    COARSE_PEAKS,
    COARSE_STEP,
    COMB_SPAN,
    FINE_GRIDS,
    _geometries,
    _periods,
    read_coded,
    working_frame,
)
from cinb.blind.pattern import DEFAULT_KEY, TILE

TEXT = "spin-r4"
#: Geometries one fine verification tries (3x3 per level).
FINE_PER_PEAK = sum((2 * g[2] + 1) ** 2 for g in FINE_GRIDS)


@pytest.fixture(scope="module")
def marked():
    # 1200x800: larger than the canonical frame (a crop or a straighten changes the tile's size).
    a = np.asarray(Image.open(data.coffee()).convert("RGB"))
    row = np.concatenate([a, a[:, ::-1]], axis=1)
    return np.asarray(blind.embed(np.ascontiguousarray(np.concatenate([row, row[::-1]], axis=0)), text=TEXT))


def _read(pixels: np.ndarray) -> tuple[str | None, dict]:
    stats: dict = {}

    def accept(r):
        return payload.decode_text(r.soft, key=DEFAULT_KEY)[0] is not None

    reading = read_coded(pixels, payload.n_text_coded(), key=DEFAULT_KEY, accept=accept, stats=stats)
    return payload.decode_text(reading.soft, key=DEFAULT_KEY)[0], stats


def _upright(pixels: np.ndarray) -> int:
    return len(_periods(working_frame(pixels).shape, COARSE_STEP))


def test_untouched_mark_needs_no_search(marked):
    text, stats = _read(attacks.jpeg(marked, 75))
    assert text == TEXT
    assert stats == {"guesses": 1}


@pytest.mark.parametrize("degrees", [3.0, -3.0, 6.5])
def test_straightened_photo_is_found_by_the_first_candidate(marked, degrees):
    attacked = attacks.rotate_crop(marked, degrees)
    text, stats = _read(attacked)
    assert text == TEXT
    # One coarse pass (at most every geometry), one peak verified, one fold; the combs never ran.
    assert stats["coarse"] <= len(_geometries(attacked.shape[:2], working_frame(attacked).shape)[0])
    assert stats["fine"] == FINE_PER_PEAK and stats["folds"] == 1
    assert "combs" not in stats


def test_crop_stops_before_the_rotations(marked):
    attacked = attacks.crop_area(marked, 0.8)
    text, stats = _read(attacked)
    assert text == TEXT
    assert stats["coarse"] <= _upright(attacked)  # rotations not scanned
    assert stats["fine"] == FINE_PER_PEAK and stats["folds"] == 1 and "combs" not in stats


def test_rotation_on_an_enlarged_canvas(marked):
    # CI's imageMogr2/rotate turns the picture on a canvas large enough to hold it (the tile shrinks in
    # the working frame, as the picture's extent grew).
    h, w = marked.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 4.0, 1.0)
    t = math.radians(4.0)
    nw, nh = int(round(w * math.cos(t) + h * math.sin(t))), int(round(w * math.sin(t) + h * math.cos(t)))
    m[:, 2] += ((nw - w) / 2, (nh - h) / 2)
    attacked = cv2.warpAffine(marked, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))
    text, stats = _read(attacked)
    assert text == TEXT
    assert stats["folds"] <= COARSE_PEAKS and "combs" not in stats


def test_straighten_geometries_cover_the_largest_box():
    # A 16:9 picture straightened by a on each side keeps 1 / (cos a + 16/9 sin a) of each side: the tile
    # (TILE in the frame of a picture larger than the frame) grows by the inverse. Every angle of the range
    # has a coarse geometry within half a coarse step of it.
    shape = (1080, 1920)
    periods, angles = _geometries(shape, (576, 1024))
    for deg in np.arange(0.5, ANGLE_RANGE, 0.7):
        for sign in (1, -1):
            a = math.radians(deg)
            p = TILE * (math.cos(a) + 16 / 9 * math.sin(a))
            near = (np.abs(np.log(periods / p)) <= COARSE_STEP / 2 + 1e-9) & (
                np.abs(angles - sign * a) <= math.radians(COARSE_ANGLE) / 2 + 1e-9)
            assert near.any(), (deg, sign)


def test_unmarked_picture_is_searched_in_full(marked):
    # An unmarked picture costs the whole joint search and the combs, and is still not taken as
    # marked; its chance peaks stop at the first fine level (issue 15 round 5: a fast negative answer).
    a = np.asarray(Image.open(data.coffee()).convert("RGB"))
    flat = attacks.rotate_crop(np.ascontiguousarray(np.concatenate([a, a[:, ::-1]], axis=1)), 3)
    text, stats = _read(flat)
    assert text is None
    joint = len(_geometries(flat.shape[:2], working_frame(flat).shape)[0])
    comb = (2 * COMB_SPAN + 1) ** 2
    assert joint < stats["coarse"] <= joint + 12 * comb and (stats["coarse"] - joint) % comb == 0
    first = (2 * FINE_GRIDS[0][2] + 1) ** 2
    assert stats["fine"] == COARSE_PEAKS * first and stats.get("combs") == 1 and "folds" not in stats


def test_first_layout_rotations_keep_the_fixed_tile():
    # Marks of the first layout (a fixed 128 px tile, read unscaled): a rotation of any kind leaves the tile
    # at TILE, so each angle costs one coarse geometry, not one per rotation family.
    shape = (1080, 1920)
    periods, angles = _geometries(shape, shape, fixed=True)
    turned = angles != 0
    assert np.all(periods[turned] == TILE)
    assert turned.sum() == 2 * len(np.unique(np.abs(angles[turned])))
    assert np.array_equal(periods[~turned], _geometries(shape, shape)[0][~(_geometries(shape, shape)[1] != 0)])
