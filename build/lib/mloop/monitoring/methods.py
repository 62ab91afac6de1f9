"""The drift method table: one row per test or distance, what it applies to and how it decides.

A row names a method, the column kinds it fits, the function that measures a column of the
current window against the reference, whether that yields a p-value (drift when it falls below
the threshold) or a distance (drift when it reaches the threshold), and its default threshold.
Adding a method is adding a row to ``METHODS``; ``DriftOptions`` rules name a row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import numpy as np

from mloop import stats
from mloop.errors import InvalidInput
from mloop.profiles import ColumnProfile, NumericProfile, std

NUMERIC = "numeric"
CATEGORICAL = "categorical"

Samples = tuple[np.ndarray, np.ndarray]
"""Finite raw values of a numeric column in the reference and in the current window."""

Measure = Callable[[ColumnProfile, ColumnProfile, Samples | None], tuple[float, float | None]]
"""(reference, current, samples or None) -> (statistic, p-value or None)."""


class Yields(StrEnum):
    """What a method's statistic is, and so what its threshold means."""

    P_VALUE = "p_value"
    """A test: the column drifted when the (corrected) p-value is below the threshold."""
    DISTANCE = "distance"
    """An effect size: the column drifted when the distance is at or above the threshold."""


@dataclass(frozen=True)
class DriftMethod:
    """One row of the method table."""

    name: str
    kinds: frozenset[str]
    measure: Measure
    yields: Yields
    default_threshold: float
    uses_samples: bool = False

    def fits(self, column: ColumnProfile) -> bool:
        """Whether the method applies to the column's kind."""
        return column.kind in self.kinds

    def drifted(self, statistic: float, p_value: float | None, threshold: float) -> bool:
        """The verdict: p-value below, or finite distance at or above, the threshold."""
        if self.yields is Yields.P_VALUE:
            return p_value is not None and p_value < threshold
        return bool(math.isfinite(statistic) and statistic >= threshold)


@contextmanager
def statistics_on(column: str) -> Iterator[None]:
    """Turn a statistic's ValueError on a column's values into InvalidInput naming the column."""
    try:
        yield
    except ValueError as exc:
        raise InvalidInput(f"column {column!r}: {exc}", field=column) from exc


def counts(column: ColumnProfile) -> np.ndarray:
    """Bin counts (numeric) or category counts then the unseen count (categorical)."""
    if isinstance(column, NumericProfile):
        return np.asarray(column.counts, dtype=np.float64)
    unseen = column.count - sum(column.frequencies.values())
    return np.asarray([*column.frequencies.values(), unseen], dtype=np.float64)


def reference_counts(column: ColumnProfile) -> np.ndarray:
    """The reference's counts as ``counts`` gives them, with a categorical reference's unseen
    slot raised to its Good-Turing estimate: as many rows as categories seen exactly once
    (Good 1953). A reference that saw a category once is likely to have missed others like it,
    so a window drawing such rare categories is not mistaken for drift."""
    found = counts(column)
    if isinstance(column, NumericProfile):
        return found
    singletons = sum(1 for n in column.frequencies.values() if n == 1)
    found[-1] = max(found[-1], float(singletons))
    return found


def _ks(ref: ColumnProfile, cur: ColumnProfile, samples: Samples | None) -> tuple[float, float]:
    """The exact two-sample KS test on raw values when given, else on the shared bins."""
    if samples is not None:
        result = stats.ks_test(*samples)
    else:
        result = stats.ks_binned(counts(ref), counts(cur))
    return float(result.statistic), float(result.p_value)


def _chi_square(ref: ColumnProfile, cur: ColumnProfile, _: Samples | None) -> tuple[float, float]:
    """Chi-square test of homogeneity on groups pooled so each expects at least
    ``MIN_EXPECTED`` rows of the smaller sample (Cochran's rule), so sparse categories or bins
    of a small window do not inflate the statistic."""
    reference, current = reference_counts(ref), counts(cur)
    groups = max(2, int(min(reference.sum(), current.sum()) // MIN_EXPECTED))
    pooled = stats.merge_bins(reference, current, groups, ordered=isinstance(ref, NumericProfile))
    result = stats.chi_square(*pooled)
    return float(result.statistic), float(result.p_value)


def _wasserstein(ref: ColumnProfile, cur: ColumnProfile, _: Samples | None) -> tuple[float, None]:
    """Wasserstein distance on the bins, in units of the reference's standard deviation."""
    if not isinstance(ref, NumericProfile) or not isinstance(cur, NumericProfile):
        raise ValueError("wasserstein needs numeric profiles")
    if ref.min is None or cur.min is None or ref.max is None or cur.max is None:
        return math.nan, None
    distance = stats.wasserstein_binned(
        ref.edges, counts(ref), counts(cur), ref.min, ref.max, cur.min, cur.max
    )
    return float(distance) / max(std(ref) or 0.0, 1e-3), None


def _wasserstein_rank(
    ref: ColumnProfile, cur: ColumnProfile, _: Samples | None
) -> tuple[float, None]:
    """Wasserstein distance on the reference's rank scale (shares of the population)."""
    return float(stats.wasserstein_rank(counts(ref), counts(cur))), None


def _merged(ref: ColumnProfile, cur: ColumnProfile, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts on at most ``groups`` groups of equal reference mass (see ``stats.merge_bins``)."""
    return stats.merge_bins(
        reference_counts(ref), counts(cur), groups, ordered=isinstance(ref, NumericProfile)
    )


def _psi(ref: ColumnProfile, cur: ColumnProfile, _: Samples | None) -> tuple[float, None]:
    """PSI on ``PSI_GROUPS`` quantile bins of the reference (categories: rare ones pooled)."""
    return float(stats.psi(*_merged(ref, cur, PSI_GROUPS))), None


def _jensen_shannon(
    ref: ColumnProfile, cur: ColumnProfile, _: Samples | None
) -> tuple[float, None]:
    """Bias-corrected Jensen-Shannon distance on ``JS_GROUPS`` groups of the reference."""
    return float(stats.jensen_shannon_corrected(*_merged(ref, cur, JS_GROUPS))), None


MIN_EXPECTED = 5
"""The chi-square test pools bins until each expects at least this many rows (Cochran 1954)."""
PSI_GROUPS = 10
"""PSI compares this many quantile bins of the reference: its no-change value stays near
(PSI_GROUPS - 1)(1/n + 1/m), under 0.01 from 2,000 rows on."""
JS_GROUPS = 20
"""Jensen-Shannon compares at most this many groups of the reference's bins or categories."""

BOTH = frozenset({NUMERIC, CATEGORICAL})
METHODS: Mapping[str, DriftMethod] = MappingProxyType(
    {
        row.name: row
        for row in (
            DriftMethod("ks", frozenset({NUMERIC}), _ks, Yields.P_VALUE, 0.05, uses_samples=True),
            DriftMethod("chi_square", BOTH, _chi_square, Yields.P_VALUE, 0.05),
            DriftMethod(
                "wasserstein_rank", frozenset({NUMERIC}), _wasserstein_rank, Yields.DISTANCE, 0.02
            ),
            DriftMethod("wasserstein", frozenset({NUMERIC}), _wasserstein, Yields.DISTANCE, 0.1),
            DriftMethod("psi", BOTH, _psi, Yields.DISTANCE, 0.2),
            DriftMethod("jensen_shannon", BOTH, _jensen_shannon, Yields.DISTANCE, 0.1),
        )
    }
)


def methods_for(kind: str) -> list[str]:
    """Names of the methods that apply to columns of ``kind``, in table order."""
    return [name for name, row in METHODS.items() if kind in row.kinds]


def method_for(column: ColumnProfile, name: str) -> DriftMethod:
    """The row named ``name``; InvalidInput naming the column when it is unknown or does not fit."""
    row = METHODS.get(name)
    if row is None or not row.fits(column):
        fitting = ", ".join(methods_for(column.kind))
        raise InvalidInput(
            f"drift method {name!r} does not apply to {column.kind} column {column.name!r}; "
            f"use one of {fitting}",
            field=column.name,
        )
    return row


def measure(
    row: DriftMethod, ref: ColumnProfile, cur: ColumnProfile, samples: Samples | None
) -> tuple[float, float | None]:
    """(statistic, p-value or None) of the column; InvalidInput naming it for bad values."""
    with statistics_on(ref.name):
        return row.measure(ref, cur, samples)
