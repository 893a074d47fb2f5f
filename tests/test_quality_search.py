"""cinb.codecs.quality_search.find_boundary: the search behind size-limit and imageSlim.

Checked against brute force on monotonic curves of the shapes encoders produce (exponential bytes,
saturating scores), for adjacency on non-monotonic ones, and for its encode count against bisection.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cinb.codecs.quality_search import find_boundary


def _bisection_count(values, below, q_high):
    count, lo, hi = 1, 0, q_high  # q_high probed first (known high side here)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        count += 1
        if below(values[mid]):
            lo = mid
        else:
            hi = mid
    return count


@settings(max_examples=200, deadline=None)
@given(st.floats(0.02, 0.12), st.floats(1e3, 1e5), st.floats(0.0, 1.0), st.integers(20, 100))
def test_bytes_curve_matches_brute_force(rate, base, where, q_high):
    values = {q: base * math.exp(rate * q) for q in range(1, 101)}
    limit = values[1] + where * (values[q_high] - values[1])
    below = lambda v: v <= limit  # noqa: E731
    low, high = find_boundary(lambda q: (values[q], q), q_high=q_high, target=limit, below=below, log_scale=True)
    fitting = [q for q in range(1, q_high + 1) if below(values[q])]
    assert (low.quality if low else None) == (max(fitting) if fitting else None)
    if high is not None:
        assert not below(high.value) and (low is None or high.quality == low.quality + 1)


@settings(max_examples=200, deadline=None)
@given(st.floats(20, 95), st.floats(3, 40), st.floats(40, 99), st.integers(30, 100))
def test_score_curve_matches_brute_force(mid, width, threshold, q_high):
    values = {q: 100 / (1 + math.exp(-(q - mid) / width)) for q in range(1, 101)}
    below = lambda v: v < threshold  # noqa: E731
    low, high = find_boundary(lambda q: (values[q], None), q_high=q_high, target=threshold, below=below)
    passing = [q for q in range(1, q_high + 1) if not below(values[q])]
    assert (high.quality if high else None) == (min(passing) if passing else None)


def test_noisy_curve_gives_adjacent_valid_qualities():
    rng = np.random.default_rng(7)
    for _ in range(200):
        values = {q: q + rng.normal(0, 4) for q in range(1, 101)}
        below = lambda v: v < 60  # noqa: E731
        low, high = find_boundary(lambda q: (values[q], None), q_high=100, target=60, below=below)  # noqa: B023 - called now
        if high is None:
            assert below(values[100])
            continue
        assert not below(high.value)
        assert (low is None and high.quality == 1) or (below(low.value) and low.quality == high.quality - 1)


def test_fewer_probes_than_bisection_on_encoder_like_curves():
    ours = theirs = 0
    for mid in range(40, 80, 3):
        values = {q: 100 / (1 + math.exp(-(q - mid) / 12)) for q in range(1, 101)}
        calls = []

        def probe(q, calls=calls, values=values):  # bound now: find_boundary calls it in this iteration
            calls.append(q)
            return values[q], None

        find_boundary(probe, q_high=95, target=80, below=lambda v: v < 80)
        ours += len(calls)
        theirs += _bisection_count(values, lambda v: v < 80, 95)
    assert ours < theirs  # measured on real encoders: 23-37 % fewer (benchmarks/RESULTS.md)


def test_top_quality_already_on_the_low_side():
    low, high = find_boundary(lambda q: (q, "x"), q_high=50, target=80, below=lambda v: v < 80)
    assert (low.quality, low.payload, high) == (50, "x", None)
