"""Data drift per column with a method chosen by kind and sample size, and a dataset verdict.

The methods are the rows of ``mloop.monitoring.methods.METHODS``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mloop import stats
from mloop.errors import InvalidInput
from mloop.monitoring.methods import (
    METHODS,
    NUMERIC,
    DriftMethod,
    Samples,
    Yields,
    measure,
    method_for,
    methods_for,
)
from mloop.profiles import (
    CategoricalProfile,
    ColumnProfile,
    DatasetProfile,
    NumericProfile,
    missing_rate,
    out_of_range,
    reference_profile,
    unseen_categories,
    window_profile,
)

CORRECTIONS = ("bh", "bonferroni", "none")
TABLE_COLUMNS = [
    "column", "kind", "method", "statistic", "p_value", "threshold", "drifted",
    "reference_missing", "current_missing", "missing_jump", "out_of_range", "unseen",
]  # fmt: skip


@dataclass(frozen=True)
class ColumnRule:
    """A per-column override: a row of ``METHODS`` and its threshold (its default when None).

    The threshold is a p-value level or a distance, as the row's ``yields`` says.
    """

    method: str
    threshold: float | None = None


@dataclass(frozen=True)
class DriftOptions:
    """How drift is decided.

    When either sample has at most ``small_sample`` values a column gets a p-value test (KS
    for numbers, chi-square for categories) at level ``alpha`` after a ``correction`` over the
    p-value tests (Benjamini-Hochberg "bh", "bonferroni" or "none"). Larger samples would make
    p-values flag trivial shifts, so a distance with an effect-size threshold decides instead
    (normalised Wasserstein or PSI for numbers, Jensen-Shannon for categories). The dataset
    drifts when at least ``dataset_share`` of the columns do. ``rules`` map a column name to
    its own method and threshold. Raises InvalidInput for an unknown correction, a
    ``numeric_distance`` that is not a distance for numbers, or a rule naming no method.
    """

    alpha: float = 0.05
    correction: str = "bh"
    small_sample: int = 1000
    numeric_distance: str = "wasserstein"
    dataset_share: float = 0.5
    missing_jump: float = 0.1
    rules: Mapping[str, ColumnRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.correction not in CORRECTIONS:
            raise InvalidInput(
                f"correction {self.correction!r} is not bh, bonferroni or none", field="correction"
            )
        distances = [n for n in methods_for(NUMERIC) if METHODS[n].yields is Yields.DISTANCE]
        if self.numeric_distance not in distances:
            raise InvalidInput(
                f"numeric_distance {self.numeric_distance!r} is not one of {', '.join(distances)}",
                field="numeric_distance",
            )
        for column, rule in self.rules.items():
            if rule.method not in METHODS:
                raise InvalidInput(
                    f"column {column!r}: drift method {rule.method!r} is not one of "
                    f"{', '.join(METHODS)}",
                    field=column,
                )


@dataclass(frozen=True)
class DriftReport:
    """Per-column results (``table``) and the dataset-level verdict."""

    table: pd.DataFrame
    dataset_drift: bool
    share_drifted: float
    n_reference: int
    n_current: int

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the columns that drifted."""
        return [str(c) for c in self.table.loc[self.table["drifted"], "column"]]

    def summary(self) -> dict[str, Any]:
        """The verdict as a JSON-able dict."""
        return {
            "dataset_drift": self.dataset_drift,
            "share_drifted": self.share_drifted,
            "drifted_columns": self.drifted_columns,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
        }


def _method(column: ColumnProfile, current: ColumnProfile, options: DriftOptions) -> DriftMethod:
    rule = options.rules.get(column.name)
    if rule is not None:
        return method_for(column, rule.method)
    small = min(column.count, current.count) <= options.small_sample
    if isinstance(column, NumericProfile):
        return METHODS["ks"] if small else METHODS[options.numeric_distance]
    return METHODS["chi_square" if small else "jensen_shannon"]


def _threshold(method: DriftMethod, rule: ColumnRule | None, options: DriftOptions) -> float:
    """The rule's threshold, else alpha for a chosen test, else the method's default."""
    if rule is not None and rule.threshold is not None:
        return rule.threshold
    if rule is None and method.yields is Yields.P_VALUE:
        return options.alpha
    return method.default_threshold


def _samples(
    method: DriftMethod, name: str, frames: tuple[pd.DataFrame | None, ...]
) -> Samples | None:
    if not method.uses_samples:
        return None
    reference, current = _finite(frames[0], name), _finite(frames[1], name)
    return None if reference is None or current is None else (reference, current)


def _finite(frame: pd.DataFrame | None, name: str) -> np.ndarray | None:
    if frame is None or name not in frame:
        return None
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return values[np.isfinite(values)]


def _row(
    ref: ColumnProfile,
    cur: ColumnProfile,
    options: DriftOptions,
    frames: tuple[pd.DataFrame | None, ...],
) -> dict[str, Any]:
    method = _method(ref, cur, options)
    empty = cur.count == 0 or ref.count == 0
    samples = None if empty else _samples(method, ref.name, frames)
    statistic, p_value = (math.nan, None) if empty else measure(method, ref, cur, samples)
    return {
        "column": ref.name,
        "kind": ref.kind,
        "method": method.name,
        "statistic": statistic,
        "p_value": p_value,
        "threshold": _threshold(method, options.rules.get(ref.name), options),
        "drifted": False,
        "reference_missing": missing_rate(ref),
        "current_missing": missing_rate(cur),
        "missing_jump": missing_rate(cur) - missing_rate(ref) > options.missing_jump,
        "out_of_range": _out_of_range_share(cur),
        "unseen": sorted(unseen_categories(cur)) if isinstance(cur, CategoricalProfile) else [],
    }


def _out_of_range_share(column: ColumnProfile) -> float:
    if not isinstance(column, NumericProfile) or column.count == 0:
        return 0.0
    return out_of_range(column) / column.count


def _decide(rows: list[dict[str, Any]], options: DriftOptions) -> None:
    """Correct the p-values over the tested columns, then give each row its verdict."""
    tested = [r for r in rows if r["p_value"] is not None]
    if tested and options.correction != "none":
        adjusted = stats.adjust_p_values([r["p_value"] for r in tested], method=options.correction)  # type: ignore[arg-type]
        for row, value in zip(tested, adjusted, strict=True):
            row["p_value"] = float(value)
    for row in rows:
        method = METHODS[row["method"]]
        row["drifted"] = method.drifted(row["statistic"], row["p_value"], row["threshold"])


def _profiles(
    reference: pd.DataFrame | DatasetProfile,
    current: pd.DataFrame | DatasetProfile,
    columns: Sequence[str] | None,
) -> tuple[DatasetProfile, DatasetProfile]:
    if isinstance(reference, pd.DataFrame):
        reference = reference_profile(reference if columns is None else reference[list(columns)])
    if isinstance(current, pd.DataFrame):
        current = window_profile(reference, current)
    return reference, current


def detect_drift(
    reference: pd.DataFrame | DatasetProfile,
    current: pd.DataFrame | DatasetProfile,
    *,
    columns: Sequence[str] | None = None,
    options: DriftOptions | None = None,
) -> DriftReport:
    """Compare a current window with the reference, column by column; frames or profiles.

    Returns one table row per compared column (``TABLE_COLUMNS``) and the dataset verdict.
    Raises InvalidInput naming the column when a rule's method does not fit it or its values
    are not ones the statistic accepts (for example a profile on other bins than the reference).
    """
    options = options or DriftOptions()
    frames = (
        reference if isinstance(reference, pd.DataFrame) else None,
        current if isinstance(current, pd.DataFrame) else None,
    )
    ref_profile, cur_profile = _profiles(reference, current, columns)
    names = [c for c in (columns or list(ref_profile.columns)) if c in ref_profile.columns]
    rows = [_row(ref_profile.columns[n], cur_profile.columns[n], options, frames) for n in names]
    _decide(rows, options)
    drifted = sum(bool(r["drifted"]) for r in rows)
    share = drifted / len(rows) if rows else 0.0
    return DriftReport(
        table=pd.DataFrame(rows, columns=TABLE_COLUMNS),
        dataset_drift=bool(rows) and share >= options.dataset_share,
        share_drifted=share,
        n_reference=ref_profile.n_rows,
        n_current=cur_profile.n_rows,
    )
