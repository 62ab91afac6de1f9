"""Dataset profiles: a reference profile per model version and mergeable window profiles."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from mloop.errors import InvalidInput
from mloop.profiles.categorical import (
    CategoricalProfile,
    categorical_profile,
    merge_categorical,
    top_categories,
    unseen_count,
    value_counts,
)
from mloop.profiles.numeric import (
    NumericProfile,
    float_values,
    is_time,
    merge_numeric,
    numeric_profile,
    reference_numeric_profile,
    same_edges,
)

ColumnProfile = NumericProfile | CategoricalProfile

MAX_DISCRETE_VALUES = 5
"""A numeric column with at most this many distinct values is profiled as categorical."""


@dataclass(frozen=True)
class DatasetProfile:
    """Row count and per-column profiles of a frame."""

    n_rows: int
    columns: dict[str, ColumnProfile]


def reference_profile(
    frame: pd.DataFrame,
    *,
    bins: int = 1000,
    max_categories: int = 1000,
    categorical: Collection[str] = (),
    numeric: Collection[str] = (),
) -> DatasetProfile:
    """Profile a reference frame, choosing each column's kind, bin edges and categories."""
    if bins < 1 or max_categories < 1:
        raise InvalidInput("bins and max_categories must be at least 1")
    named = _named_columns(frame)
    _check_overrides(named, categorical, numeric)
    columns = {
        name: _reference_column(name, series, bins, max_categories, categorical, numeric)
        for name, series in named.items()
    }
    return DatasetProfile(n_rows=len(frame), columns=columns)


def window_profile(reference: DatasetProfile, frame: pd.DataFrame) -> DatasetProfile:
    """Profile a frame on the reference's bins; absent columns are all missing, extra ignored."""
    named = _named_columns(frame)
    absent = pd.Series(np.full(len(frame), np.nan))
    columns = {
        name: _window_column(column, named.get(name, absent))
        for name, column in reference.columns.items()
    }
    return DatasetProfile(n_rows=len(frame), columns=columns)


def merge_profiles(a: DatasetProfile, b: DatasetProfile) -> DatasetProfile:
    """The profile of both frames' rows together."""
    return merge_all([a, b])


def merge_all(profiles: Iterable[DatasetProfile]) -> DatasetProfile:
    """Merge one or more profiles built on the same reference, column by column in one pass."""
    parts = list(profiles)
    if not parts:
        raise InvalidInput("no profiles to merge")
    first = parts[0]
    if len(parts) == 1:
        return first
    names = list(first.columns)
    if any(list(part.columns) != names for part in parts[1:]):
        raise InvalidInput("profiles of different columns cannot be merged")
    columns = {name: _merge_columns([part.columns[name] for part in parts]) for name in names}
    return DatasetProfile(sum(part.n_rows for part in parts), columns)


def on_reference(profile: DatasetProfile, reference: DatasetProfile) -> bool:
    """Whether a profile has the reference's columns, kinds, bin edges and categories."""
    if list(profile.columns) != list(reference.columns):
        return False
    return all(
        _same_bins(column, reference.columns[name]) for name, column in profile.columns.items()
    )


def proportions(column: ColumnProfile) -> npt.NDArray[np.float64]:
    """Share of non-missing values per bin (numeric) or per category then unseen (categorical)."""
    if isinstance(column, NumericProfile):
        counts = np.asarray(column.counts, dtype=np.float64)
    else:
        counts = np.array([*column.frequencies.values(), unseen_count(column)], dtype=np.float64)
    return counts / column.count if column.count else np.zeros_like(counts)


def missing_rate(column: ColumnProfile) -> float:
    """Share of missing values among all rows (0.0 for no rows)."""
    rows = column.count + column.missing
    return column.missing / rows if rows else 0.0


def _named_columns(frame: pd.DataFrame) -> dict[str, pd.Series]:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"a profile needs a DataFrame, got {type(frame).__name__}")
    names = [str(label) for label in frame.columns]
    if len(set(names)) != len(names):
        raise InvalidInput("a profiled frame needs unique column names")
    return {name: frame.iloc[:, position] for position, name in enumerate(names)}


def _check_overrides(
    named: dict[str, pd.Series], categorical: Collection[str], numeric: Collection[str]
) -> None:
    if isinstance(categorical, str) or isinstance(numeric, str):
        raise InvalidInput("pass the columns to override as a list of names")
    for name in [*categorical, *numeric]:
        if name not in named:
            raise InvalidInput(f"no column {name!r} to override the kind of", field=name)
        if name in categorical and name in numeric:
            raise InvalidInput(f"column {name!r} is both categorical and numeric", field=name)


def _reference_column(
    name: str,
    series: pd.Series,
    bins: int,
    max_categories: int,
    categorical: Collection[str],
    numeric: Collection[str],
) -> ColumnProfile:
    numeric_dtype = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if name in numeric or ((numeric_dtype or is_time(series)) and name not in categorical):
        values = float_values(series)
        if name in numeric or is_time(series) or _has_many_values(values):
            return reference_numeric_profile(name, values, bins)
    counts, missing = value_counts(series)
    return categorical_profile(name, counts, missing, top_categories(counts, max_categories))


def _has_many_values(values: npt.NDArray[np.float64]) -> bool:
    """More than MAX_DISCRETE_VALUES distinct non-missing values (the head usually decides)."""
    head = values[:1000]
    if np.unique(head[~np.isnan(head)]).size > MAX_DISCRETE_VALUES:
        return True
    distinct = pd.unique(values)
    return int(np.count_nonzero(~np.isnan(distinct))) > MAX_DISCRETE_VALUES


def _window_column(reference: ColumnProfile, series: pd.Series) -> ColumnProfile:
    if isinstance(reference, NumericProfile):
        return numeric_profile(reference.name, float_values(series), reference.edges)
    counts, missing = value_counts(series)
    return categorical_profile(reference.name, counts, missing, list(reference.frequencies))


def _merge_columns(columns: list[ColumnProfile]) -> ColumnProfile:
    numeric = [column for column in columns if isinstance(column, NumericProfile)]
    if len(numeric) == len(columns):
        return merge_numeric(numeric)
    categorical = [column for column in columns if isinstance(column, CategoricalProfile)]
    if len(categorical) == len(columns):
        return merge_categorical(categorical)
    a, b = columns[0], next(c for c in columns if c.kind != columns[0].kind)
    raise InvalidInput(
        f"column {a.name!r} is {a.kind} in one profile, {b.kind} in the other", field=a.name
    )


def _same_bins(column: ColumnProfile, reference: ColumnProfile) -> bool:
    if isinstance(column, NumericProfile) and isinstance(reference, NumericProfile):
        return same_edges(column, reference)
    if isinstance(column, CategoricalProfile) and isinstance(reference, CategoricalProfile):
        return list(column.frequencies) == list(reference.frequencies)
    return False
