"""Scaling ops built directly (the Python API, not a rule string): a form missing the size it needs is a
CIError (-103), as the rule parser would give, not a TypeError from arithmetic on None."""

from __future__ import annotations

import pytest

from cinb.errors import BAD_PARAMETER, CIError
from cinb.ops.scaling import Thumbnail, View2


@pytest.mark.parametrize("op", [
    Thumbnail("percent"), Thumbnail("width_percent"), Thumbnail("height_percent"), Thumbnail("width"),
    Thumbnail("height", width=10), Thumbnail("exact", width=10), Thumbnail("area"), Thumbnail("fit"),
    Thumbnail("cover"),
])
def test_a_thumbnail_without_its_size_is_a_bad_parameter(op):
    with pytest.raises(CIError) as err:
        op.target_size(100, 50)
    assert err.value.code == BAD_PARAMETER


@pytest.mark.parametrize("mode", range(6))
def test_a_view2_without_w_or_h_is_a_bad_parameter(mode):
    with pytest.raises(CIError) as err:
        View2(mode).plan(100, 50)
    assert err.value.code == BAD_PARAMETER


@pytest.mark.parametrize(("op", "size", "expected"), [
    (Thumbnail("percent", percent=50), (1000, 500), (500, 250)),
    (Thumbnail("width_percent", percent=50), (1000, 500), (500, 500)),
    (Thumbnail("height_percent", percent=50), (1000, 500), (1000, 250)),
    (Thumbnail("width", width=300), (1000, 500), (300, 150)),
    (Thumbnail("height", height=100), (1000, 500), (200, 100)),
    (Thumbnail("exact", width=30, height=40), (1000, 500), (30, 40)),
    (Thumbnail("area", area=200), (20, 10), (20, 10)),
    (Thumbnail("area", area=169), (45, 45), (13, 13)),
    (Thumbnail("fit", width=300), (1000, 500), (300, 150)),
    (Thumbnail("cover", width=300, height=300), (1000, 500), (600, 300)),
    (Thumbnail("shrink", width=2000, height=2000), (1000, 500), (1000, 500)),
    (Thumbnail("enlarge", width=300), (1000, 500), (1000, 500)),
    (Thumbnail("fit", width=15), (22, 11), (15, 8)),  # 7.5 exactly: rounds up
])
def test_thumbnail_target_sizes(op, size, expected):
    assert op.target_size(*size) == expected


@pytest.mark.parametrize(("view", "size", "expected"), [
    (View2(0, 500), (1000, 500), ((500, 250), None)),
    (View2(0, None, 100), (1000, 500), ((200, 100), None)),
    (View2(1, 500, 400), (1000, 500), ((800, 400), (500, 400))),
    (View2(1, 500), (1000, 500), ((1000, 500), (500, 500))),
    (View2(2, 500, 400), (1000, 500), ((500, 250), None)),
    (View2(3, 500, 400), (1000, 500), ((800, 400), None)),
    (View2(4, 600, 100), (500, 1000), ((300, 600), None)),
    (View2(5, 600, 100), (500, 1000), ((300, 600), (100, 600))),
    (View2(2, 5000), (1000, 500), ((1000, 500), None)),
])
def test_view2_plans(view, size, expected):
    assert view.plan(*size) == expected
