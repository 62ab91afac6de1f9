"""Profiles of numeric columns: counts on reference bins plus mergeable moments."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from mloop.errors import InvalidInput
from mloop.profiles.binning import Floats, bin_counts, quantile_edges


@dataclass(frozen=True)
class NumericProfile:
    """A numeric column summarised on the reference's bin edges (layout in ``binning``).

    ``count`` holds the non-missing values, infinities included; ``missing`` the NaN / None / NA.
    ``min``, ``max``, ``mean`` and ``squared_deviations`` (the sum of squared deviations from the
    mean) cover the finite values only, and are None / 0.0 when there are none.
    """

    name: str
    count: int
    missing: int
    infinite: int
    min: float | None
    max: float | None
    mean: float | None
    squared_deviations: float
    edges: tuple[float, ...]
    counts: tuple[int, ...]
    kind: Literal["numeric"] = field(default="numeric", init=False)


def float_values(series: pd.Series) -> Floats:
    """A column as float64 with NaN for missing; text that is not a number counts as missing."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        parsed = pd.to_numeric(series, errors="coerce")
    except (TypeError, ValueError):
        parsed = pd.to_numeric(series.map(str), errors="coerce")
    return pd.Series(parsed).to_numpy(dtype=np.float64, na_value=np.nan)


def numeric_profile(name: str, values: Floats, edges: tuple[float, ...]) -> NumericProfile:
    """Profile float ``values`` (NaN = missing) on the given bin ``edges``."""
    present, finite = _present_and_finite(values)
    return _summary(name, values.size, present, finite, edges)


def reference_numeric_profile(name: str, values: Floats, bins: int) -> NumericProfile:
    """Profile float ``values`` (NaN = missing) on equal-frequency edges of their own."""
    present, finite = _present_and_finite(values)
    return _summary(name, values.size, present, finite, quantile_edges(finite, bins))


def merge_numeric(a: NumericProfile, b: NumericProfile) -> NumericProfile:
    """The profile of both columns' values together; both must share the reference edges."""
    if a.edges != b.edges:
        raise InvalidInput(f"column {a.name!r}: profiles on different bin edges", field=a.name)
    mean, squared_deviations = _merged_moments(a, b)
    return NumericProfile(
        name=a.name,
        count=a.count + b.count,
        missing=a.missing + b.missing,
        infinite=a.infinite + b.infinite,
        min=_extreme(min, a.min, b.min),
        max=_extreme(max, a.max, b.max),
        mean=mean,
        squared_deviations=squared_deviations,
        edges=a.edges,
        counts=tuple((np.asarray(a.counts) + np.asarray(b.counts)).tolist()),
    )


def std(column: NumericProfile) -> float | None:
    """Sample standard deviation (ddof=1) of the finite values; None below two of them."""
    finite = column.count - column.infinite
    if finite < 2:
        return None
    return math.sqrt(column.squared_deviations / (finite - 1))


def out_of_range(column: NumericProfile) -> int:
    """Values outside the reference's finite [min, max] (infinities always are)."""
    return column.count - sum(column.counts[1:-1])


def _present_and_finite(values: Floats) -> tuple[Floats, Floats]:
    """The non-missing values, and the finite ones among them (no copy when nothing drops)."""
    present_mask = ~np.isnan(values)
    present = values if present_mask.all() else values[present_mask]
    finite_mask = np.isfinite(present)
    return present, present if finite_mask.all() else present[finite_mask]


def _summary(
    name: str, rows: int, present: Floats, finite: Floats, edges: tuple[float, ...]
) -> NumericProfile:
    mean = float(finite.mean()) if finite.size else None
    deviations = finite - (mean or 0.0)
    return NumericProfile(
        name=name,
        count=int(present.size),
        missing=int(rows - present.size),
        infinite=int(present.size - finite.size),
        min=float(finite.min()) if finite.size else None,
        max=float(finite.max()) if finite.size else None,
        mean=mean,
        squared_deviations=float(np.square(deviations, out=deviations).sum()),
        edges=edges,
        counts=bin_counts(present, edges),
    )


def _merged_moments(a: NumericProfile, b: NumericProfile) -> tuple[float | None, float]:
    """Mean and squared deviations of the union (Chan et al.'s pairwise update)."""
    if a.mean is None or b.mean is None:
        return (a.mean, a.squared_deviations) if b.mean is None else (b.mean, b.squared_deviations)
    n_a, n_b = a.count - a.infinite, b.count - b.infinite
    total = n_a + n_b
    delta = b.mean - a.mean
    mean = a.mean + delta * n_b / total
    return mean, a.squared_deviations + b.squared_deviations + delta * delta * n_a * n_b / total


def _extreme(
    pick: Callable[[float, float], float], a: float | None, b: float | None
) -> float | None:
    if a is None or b is None:
        return b if a is None else a
    return pick(a, b)
