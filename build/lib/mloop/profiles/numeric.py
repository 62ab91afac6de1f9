"""Profiles of numeric columns: counts on reference bins plus mergeable moments."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from mloop.errors import InvalidInput
from mloop.profiles.binning import (
    Floats,
    bin_counts,
    fingerprint_edges,
    quantile_edges,
    summed_counts,
)


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

    @cached_property
    def edges_fingerprint(self) -> str:
        """The digest of ``edges`` that compact serialised profiles carry instead of them."""
        return fingerprint_edges(self.edges)


def is_time(series: pd.Series) -> bool:
    """Whether a column holds datetimes (naive or with a time zone) or durations."""
    return bool(
        pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series)
    )


def float_values(series: pd.Series) -> Floats:
    """A column as float64 with NaN for missing; text that is not a number counts as missing.

    Datetimes become seconds since the Unix epoch (UTC for zoned ones), durations seconds.
    """
    if is_time(series):
        return _seconds(series)
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        parsed = pd.to_numeric(series, errors="coerce")
    except (TypeError, ValueError):
        parsed = pd.to_numeric(series.map(str), errors="coerce")
    return pd.Series(parsed).to_numpy(dtype=np.float64, na_value=np.nan)


def _seconds(series: pd.Series) -> Floats:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    nanoseconds = series.to_numpy(dtype="int64", na_value=0).astype(np.float64)
    nanoseconds[series.isna().to_numpy()] = np.nan
    return nanoseconds / 1e9


def numeric_profile(name: str, values: Floats, edges: tuple[float, ...]) -> NumericProfile:
    """Profile float ``values`` (NaN = missing) on the given bin ``edges``."""
    present, finite = _present_and_finite(values)
    return _summary(name, values.size, present, finite, edges)


def reference_numeric_profile(name: str, values: Floats, bins: int) -> NumericProfile:
    """Profile float ``values`` (NaN = missing) on equal-frequency edges of their own."""
    present, finite = _present_and_finite(values)
    return _summary(name, values.size, present, finite, quantile_edges(finite, bins))


def merge_numeric(columns: Sequence[NumericProfile]) -> NumericProfile:
    """The profile of all columns' values together; all must share the reference edges."""
    first = columns[0]
    for column in columns[1:]:
        if not same_edges(column, first):
            raise InvalidInput(
                f"column {first.name!r}: profiles on different bin edges", field=first.name
            )
    mean, squared_deviations = _pooled_moments([c for c in columns if c.mean is not None])
    return NumericProfile(
        name=first.name,
        count=sum(column.count for column in columns),
        missing=sum(column.missing for column in columns),
        infinite=sum(column.infinite for column in columns),
        min=min((c.min for c in columns if c.min is not None), default=None),
        max=max((c.max for c in columns if c.max is not None), default=None),
        mean=mean,
        squared_deviations=squared_deviations,
        edges=first.edges,
        counts=summed_counts([column.counts for column in columns]),
    )


def same_edges(a: NumericProfile, b: NumericProfile) -> bool:
    """Whether two columns are counted on the same bin edges."""
    return a.edges is b.edges or a.edges == b.edges


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


def _pooled_moments(columns: Sequence[NumericProfile]) -> tuple[float | None, float]:
    """Mean and squared deviations of the union of columns with finite values (Chan et al.).

    The mean moves from the first column's by the others' weighted mean offset; the squared
    deviations add the spread of the column means around it.
    """
    if len(columns) < 2:
        return (columns[0].mean, columns[0].squared_deviations) if columns else (None, 0.0)
    sizes = np.array([column.count - column.infinite for column in columns], dtype=np.float64)
    means = np.array([column.mean for column in columns], dtype=np.float64)
    offsets = means - means[0]
    mean = float(means[0] + (offsets * sizes).sum() / sizes.sum())
    spread = float((sizes * np.square(means - mean)).sum())
    return mean, math.fsum(column.squared_deviations for column in columns) + spread
