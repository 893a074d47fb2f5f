"""Find the quality at which an encoder's output crosses a target, in few encodes.

Two features search quality: ``size-limit`` (the highest quality whose bytes fit) and ``imageSlim``
(the lowest quality whose perceptual score stays above a threshold). Both measures grow with quality,
so both are a search for a boundary on a monotonic curve; :func:`find_boundary` does it with a
safeguarded interpolation search: the next probe interpolates the measure (bytes in log space,
scores linearly) between the nearest qualities known to lie on either side, extrapolating until both
sides are known, and falls back to bisection whenever two probes in a row fail to halve the bracket.
On a monotonic curve it returns exactly what bisection would, in fewer encodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Probe:
    """One encode: its quality, measured value (bytes or score) and whatever the caller keeps."""

    quality: int
    value: float
    payload: Any


def find_boundary(probe: Callable[[int], tuple[float, Any]], *, q_high: int, target: float,
                  below: Callable[[float], bool], log_scale: bool = False,
                  first_guess: Callable[[Probe], int] | None = None,
                  q_low: int = 1) -> tuple[Probe, Probe | None] | tuple[Probe | None, Probe]:
    """Search qualities ``q_low..q_high`` for where ``below(value)`` stops holding.

    Parameters
    ----------
    probe : callable
        ``probe(q) -> (value, payload)``; ``value`` must (mostly) grow with ``q``.
    q_high : int
        The highest quality to consider; probed first.
    target : float
        The value at the boundary (used to aim probes).
    below : callable
        True when a value lies on the low-quality side of the boundary (bytes that fit; a score
        that misses the threshold).
    log_scale : bool
        Interpolate ``log(value)`` (file sizes are close to exponential in quality).
    first_guess : callable, optional
        ``first_guess(probe_at_q_high) -> q`` for the second probe, when only one side is known
        and there is only one probe to extrapolate from; default bisection.
    q_low : int
        The lowest quality to consider.

    Returns
    -------
    (low, high) : Probe or None each
        ``low``: the highest quality on the low side; ``high``: the lowest quality on the high
        side (None where no probed quality lies on that side; never both: ``q_high`` is probed).

    Examples
    --------
    >>> from cinb.codecs.quality_search import find_boundary
    >>> calls = []
    >>> def score(q):
    ...     calls.append(q)
    ...     return 40 + 0.5 * q, None
    >>> low, high = find_boundary(score, q_high=90, target=80, below=lambda v: v < 80)
    >>> low.quality, high.quality, len(calls) < 7
    (79, 80, True)
    """
    top = Probe(q_high, *probe(q_high))
    if below(top.value):
        return top, None
    probes = {q_high: top}
    low: Probe | None = None
    high: Probe = top
    low_q = q_low - 1  # a virtual quality below the range, known to be "low" for the loop's sake
    slow = 0  # consecutive probes that did not halve the bracket
    while high.quality - low_q > 1:
        if slow >= 2:
            q = (low_q + high.quality) // 2
        elif low is None and len(probes) == 1 and first_guess is not None:
            q = first_guess(top)
        else:
            q = _aim(probes, low, high, target, log_scale, low_q)
        q = min(max(q, low_q + 1), high.quality - 1)
        bracket = high.quality - low_q
        p = Probe(q, *probe(q))
        probes[q] = p
        if below(p.value):
            low, low_q = p, q
        else:
            high = p
        slow = 0 if slow >= 2 or (high.quality - low_q) <= bracket // 2 else slow + 1
    return low, high


def _aim(probes: dict[int, Probe], low: Probe | None, high: Probe, target: float, log_scale: bool,
         low_q: int) -> int:
    """The quality where the measure should reach ``target``, from the probes nearest the bracket.

    Inverse quadratic interpolation through three probes when there are three (encoder curves bend:
    a score saturates towards 100, so a straight chord keeps aiming too high), else linear.
    """
    def f(v: float) -> float:
        return math.log(max(v, 1e-9)) if log_scale else v

    mid = (low_q + high.quality) // 2
    if low is not None:
        a, b = low, high
    else:  # only the high side is known: extrapolate from its two lowest probes
        pts = sorted(probes.values(), key=lambda p: p.quality)[:2]
        if len(pts) < 2:
            return mid
        a, b = pts
    if f(b.value) <= f(a.value):
        return mid
    linear = a.quality + (f(target) - f(a.value)) * (b.quality - a.quality) / (f(b.value) - f(a.value))
    if low is not None and len(probes) >= 3:
        c = min((p for p in probes.values() if p.quality not in (a.quality, b.quality)),
                key=lambda p: min(abs(p.quality - a.quality), abs(p.quality - b.quality)))
        xs = [f(a.value), f(b.value), f(c.value)]
        if len(set(xs)) == 3:
            quad = _lagrange(xs, [a.quality, b.quality, c.quality], f(target))
            if low_q < quad < high.quality:
                return int(round(quad))
    return int(round(linear))


def _lagrange(xs: list[float], ys: list[float], x: float) -> float:
    """The quadratic through (xs, ys) evaluated at x."""
    total = 0.0
    for i in range(3):
        term = ys[i]
        for j in range(3):
            if i != j:
                term *= (x - xs[j]) / (xs[i] - xs[j])
        total += term
    return total
