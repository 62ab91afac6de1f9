"""Drift statistics on two raw samples of a numeric feature: KS test and Wasserstein distance.

Both samples must be finite. When either sample is empty the comparison is undefined and every
function returns NaN (statistic and p-value alike) instead of raising.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import stats

from mloop.stats._inputs import FloatArray, sample

EXACT_KS_MAX_SIZE = 10_000
"""Up to this sample size the KS p-value comes from scipy's exact two-sample distribution."""

KOLMOGOROV_MAX_SIZE = 10_000
"""Up to this effective size the Kolmogorov distribution is evaluated exactly (scipy.kstwo)."""

EVIDENTLY_STD_FLOOR = 0.001
"""Smallest reference standard deviation used to normalise the Wasserstein distance."""


class TestResult(NamedTuple):
    """A test statistic and its p-value."""

    statistic: float
    p_value: float


NO_RESULT = TestResult(math.nan, math.nan)


def ks_test(reference: npt.ArrayLike, current: npt.ArrayLike) -> TestResult:
    """Two-sided two-sample Kolmogorov-Smirnov test; NaN if a sample is empty."""
    reference_values = sample(reference, "reference")
    current_values = sample(current, "current")
    n, m = reference_values.size, current_values.size
    if n == 0 or m == 0:
        return NO_RESULT
    if max(n, m) <= EXACT_KS_MAX_SIZE:
        result = stats.ks_2samp(reference_values, current_values)
        return TestResult(float(result.statistic), float(result.pvalue))
    values, gap = _cdf_gap(np.sort(reference_values), np.sort(current_values))
    last_of_ties = np.append(values[1:] != values[:-1], True)
    statistic = float(np.abs(gap[last_of_ties]).max()) / (n * m)
    return TestResult(statistic, ks_p_value(statistic, n, m))


def ks_p_value(statistic: float, n_reference: float, n_current: float) -> float:
    """Two-sided p-value of a two-sample KS statistic at the effective size n*m/(n+m)."""
    if n_reference <= 0 or n_current <= 0:
        return math.nan
    effective = max(round(n_reference * n_current / (n_reference + n_current)), 1)
    if effective <= KOLMOGOROV_MAX_SIZE:
        return float(stats.kstwo.sf(statistic, effective))
    # scipy's exact tail is slow for large sizes; Stephens' corrected limit is within ~2%.
    root = math.sqrt(effective)
    return float(stats.kstwobign.sf((root + 0.12 + 0.11 / root) * statistic))


def wasserstein(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Exact first Wasserstein (earth mover's) distance between two samples; NaN if one is empty."""
    reference_values = sample(reference, "reference")
    current_values = sample(current, "current")
    n, m = reference_values.size, current_values.size
    if n == 0 or m == 0:
        return math.nan
    values, gap = _cdf_gap(np.sort(reference_values), np.sort(current_values))
    return float(np.abs(gap[:-1]) @ np.diff(values)) / (n * m)


def wasserstein_normed(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Wasserstein distance over the reference std (floored at 0.001 as Evidently); NaN if empty."""
    reference_values = sample(reference, "reference")
    distance = wasserstein(reference_values, current)
    if math.isnan(distance):
        return math.nan
    return distance / max(float(np.std(reference_values)), EVIDENTLY_STD_FLOOR)


def _cdf_gap(
    reference_sorted: FloatArray, current_sorted: FloatArray
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Merged sorted values and n*m*(F_reference - F_current) just after each of them."""
    n, m = reference_sorted.size, current_sorted.size
    values = np.concatenate((reference_sorted, current_sorted))
    order = np.argsort(values, kind="stable")  # merges two sorted runs in linear time
    steps = np.where(order < n, np.int64(m), np.int64(-n))
    return values[order], np.cumsum(steps)
