"""Drift statistics on mergeable histograms of a feature.

A histogram over B bins has ``edges`` (sorted, length B+1) and ``counts`` of length B+2: an
underflow bin below ``edges[0]``, the B bins, and an overflow bin above ``edges[-1]``. When
either histogram is empty (all counts zero) the comparison is undefined and every function
returns NaN (statistic and p-value alike) instead of raising.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from mloop.stats._inputs import FloatArray, count_pair, sample
from mloop.stats.drift import NO_RESULT, TestResult, ks_p_value


def psi(reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike, eps: float = 1e-4) -> float:
    """Population Stability Index over bin proportions floored at ``eps``; NaN if one is empty."""
    if eps <= 0:
        raise ValueError(f"eps must be positive, got {eps}")
    proportions = _proportions(reference_counts, current_counts)
    if proportions is None:
        return math.nan
    reference, current = (np.maximum(share, eps) for share in proportions)
    return float(np.sum((current - reference) * np.log(current / reference)))


def jensen_shannon(reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike) -> float:
    """Jensen-Shannon distance (base 2, within [0, 1]) of two histograms; NaN if one is empty."""
    proportions = _proportions(reference_counts, current_counts)
    if proportions is None:
        return math.nan
    reference, current = proportions
    middle = (reference + current) / 2
    divergence = special.rel_entr(reference, middle).sum() + special.rel_entr(current, middle).sum()
    return math.sqrt(max(float(divergence) / (2 * math.log(2)), 0.0))


def chi_square(reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike) -> TestResult:
    """Chi-square homogeneity test of the 2 x k table of two histograms, bins empty in both dropped.

    Statistic 0 and p-value 1 when fewer than two bins are occupied; NaN if one is empty.
    """
    reference, current = count_pair(reference_counts, current_counts)
    if reference.sum() == 0 or current.sum() == 0:
        return NO_RESULT
    occupied = (reference + current) > 0
    table = np.vstack((reference[occupied], current[occupied]))
    degrees_of_freedom = table.shape[1] - 1
    if degrees_of_freedom == 0:
        return TestResult(0.0, 1.0)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return TestResult(statistic, float(stats.chi2.sf(statistic, degrees_of_freedom)))


def ks_binned(reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike) -> TestResult:
    """KS test from two histograms: the largest CDF gap at the bin edges; NaN if one is empty."""
    reference, current = count_pair(reference_counts, current_counts)
    n, m = reference.sum(), current.sum()
    if n == 0 or m == 0:
        return NO_RESULT
    statistic = float(np.abs(np.cumsum(reference) / n - np.cumsum(current) / m).max())
    return TestResult(statistic, ks_p_value(statistic, float(n), float(m)))


def wasserstein_binned(
    edges: npt.ArrayLike,
    reference_counts: npt.ArrayLike,
    current_counts: npt.ArrayLike,
    reference_min: float,
    reference_max: float,
    current_min: float,
    current_max: float,
) -> float:
    """Wasserstein distance of two histograms, mass spread uniformly within each bin.

    The underflow bin spans [min, edges[0]] and the overflow bin [edges[-1], max]; NaN if either
    histogram is empty.
    """
    bin_edges = sample(edges, "edges")
    reference, current = count_pair(reference_counts, current_counts)
    if bin_edges.size == 0 or np.any(np.diff(bin_edges) < 0):
        raise ValueError("edges must be a non-empty sorted vector")
    if reference.size != bin_edges.size + 1:
        raise ValueError(f"counts need len(edges) + 1 = {bin_edges.size + 1} entries")
    if reference.sum() == 0 or current.sum() == 0:
        return math.nan
    reference_knots = _knots(bin_edges, reference_min, reference_max)
    current_knots = _knots(bin_edges, current_min, current_max)
    reference_cdf, current_cdf = _cdf(reference), _cdf(current)
    grid = np.unique(np.concatenate((reference_knots, current_knots)))
    start, end = grid[:-1], grid[1:]
    gap_start = _cdf_limit(reference_knots, reference_cdf, start, "right") - _cdf_limit(
        current_knots, current_cdf, start, "right"
    )
    gap_end = _cdf_limit(reference_knots, reference_cdf, end, "left") - _cdf_limit(
        current_knots, current_cdf, end, "left"
    )
    return float(np.diff(grid) @ mean_abs_linear(gap_start, gap_end))


def _proportions(
    reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike
) -> tuple[FloatArray, FloatArray] | None:
    """Both histograms as proportions, or None when either is empty."""
    reference, current = count_pair(reference_counts, current_counts)
    if reference.sum() == 0 or current.sum() == 0:
        return None
    return reference / reference.sum(), current / current.sum()


def _knots(edges: FloatArray, lowest: float, highest: float) -> FloatArray:
    """Bin boundaries including the outer ends of the underflow and overflow bins."""
    if not (math.isfinite(lowest) and math.isfinite(highest)):
        raise ValueError("the observed min and max must be finite")
    return np.concatenate(([min(lowest, edges[0])], edges, [max(highest, edges[-1])]))


def _cdf(counts: FloatArray) -> FloatArray:
    """Cumulative share of the mass at each knot, starting from 0."""
    cumulative = np.cumsum(counts)
    return np.concatenate(([0.0], cumulative / cumulative[-1]))


def _cdf_limit(
    knots: FloatArray, cdf: FloatArray, points: FloatArray, side: Literal["left", "right"]
) -> FloatArray:
    """The piecewise-linear CDF just left or just right of each point (knots may repeat)."""
    knots = np.concatenate(([-np.inf], knots, [np.inf]))
    cdf = np.concatenate(([0.0], cdf, [1.0]))
    # The segment found is never zero-width: knots[j-1] <= point < knots[j] (or < and <=).
    j = np.searchsorted(knots, points, side=side)
    rise = cdf[j] - cdf[j - 1]
    fraction = np.divide(
        points - knots[j - 1], knots[j] - knots[j - 1], out=np.zeros_like(points), where=rise > 0
    )
    return cdf[j - 1] + rise * fraction


def mean_abs_linear(start: FloatArray, end: FloatArray) -> FloatArray:
    """Mean of |f| over an interval where f is linear, from its values at both ends."""
    total = np.abs(start) + np.abs(end)
    mean = total / 2
    crossing = start * end < 0
    mean[crossing] = (start[crossing] ** 2 + end[crossing] ** 2) / (2 * total[crossing])
    return mean
