"""Profiles of categorical columns: counts of the reference's categories and of the rest."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from mloop.errors import InvalidInput
from mloop.profiles.binning import summed_counts

OTHERS_KEPT = 100
"""At most this many names of values outside the reference's categories are kept, by name."""


@dataclass(frozen=True)
class CategoricalProfile:
    """A categorical column summarised on the reference's categories.

    ``frequencies`` counts each reference category (in the reference's order, zeros kept).
    Values outside them ("unseen") are counted in ``count`` but not in ``frequencies``;
    ``others`` names the ``OTHERS_KEPT`` alphabetically smallest of them with their counts, a
    choice that keeps merges exact. In a reference profile they are its rare values beyond
    ``max_categories``. Values are compared as text (see ``category_name``).
    """

    name: str
    count: int
    missing: int
    frequencies: dict[str, int]
    others: dict[str, int]
    kind: Literal["categorical"] = field(default="categorical", init=False)


def category_name(value: object) -> str:
    """The text a value is counted under; whole numbers lose their ``.0`` so 1 and 1.0 agree."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        whole = math.isfinite(number) and number.is_integer() and abs(number) < 2**53
        return str(int(number)) if whole else repr(number)
    return str(value)


def value_counts(series: pd.Series) -> tuple[dict[str, int], int]:
    """Counts of each value of a column by name, and the number of missing values."""
    try:
        codes, uniques = pd.factorize(series)
    except TypeError:  # unhashable values such as lists
        codes, uniques = pd.factorize(series.map(_hashable))
    tallies = np.bincount(codes + 1, minlength=len(uniques) + 1).tolist()
    counts: dict[str, int] = {}
    for value, tally in zip(uniques.tolist(), tallies[1:], strict=True):
        if tally:
            key = category_name(value)
            counts[key] = counts.get(key, 0) + tally
    return counts, tallies[0]


def top_categories(counts: dict[str, int], max_categories: int) -> list[str]:
    """The ``max_categories`` most frequent names, ties broken by name."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, _ in ranked[:max_categories]]


def categorical_profile(
    name: str, counts: dict[str, int], missing: int, categories: Sequence[str]
) -> CategoricalProfile:
    """Profile value ``counts`` (by name) on the reference's ``categories``."""
    outside = dict(counts)
    frequencies = {category: outside.pop(category, 0) for category in categories}
    return CategoricalProfile(
        name=name,
        count=sum(counts.values()),
        missing=missing,
        frequencies=frequencies,
        others=_smallest_names(outside.items()),
    )


def merge_categorical(columns: Sequence[CategoricalProfile]) -> CategoricalProfile:
    """The profile of all columns' values together; all must share the reference categories."""
    first = columns[0]
    categories = list(first.frequencies)
    for column in columns[1:]:
        if list(column.frequencies) != categories:
            raise InvalidInput(
                f"column {first.name!r}: profiles on different categories", field=first.name
            )
    others: dict[str, int] = {}
    for column in columns:
        for other, tally in column.others.items():
            others[other] = others.get(other, 0) + tally
    totals = summed_counts([tuple(column.frequencies.values()) for column in columns])
    return CategoricalProfile(
        name=first.name,
        count=sum(column.count for column in columns),
        missing=sum(column.missing for column in columns),
        frequencies=dict(zip(categories, totals, strict=True)),
        others=_smallest_names(others.items()),
    )


def unseen_count(column: CategoricalProfile) -> int:
    """Values outside the reference's categories."""
    return column.count - sum(column.frequencies.values())


def unseen_categories(column: CategoricalProfile) -> dict[str, int]:
    """Names and counts of values outside the reference's categories (at most ``OTHERS_KEPT``)."""
    return dict(column.others)


def _hashable(value: object) -> object:
    try:
        hash(value)
    except TypeError:
        return str(value)
    return value


def _smallest_names(counts: Iterable[tuple[str, int]]) -> dict[str, int]:
    return dict(heapq.nsmallest(OTHERS_KEPT, counts))
