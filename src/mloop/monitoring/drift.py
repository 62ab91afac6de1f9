"""Data drift per column with a test chosen by kind and sample size, and a dataset verdict."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mloop import stats
from mloop.errors import InvalidInput
from mloop.profiles import (
    CategoricalProfile,
    ColumnProfile,
    DatasetProfile,
    NumericProfile,
    missing_rate,
    out_of_range,
    reference_profile,
    std,
    unseen_categories,
    window_profile,
)

P_VALUE_METHODS = ("ks", "chi_square")
DISTANCE_METHODS = ("wasserstein", "psi", "jensen_shannon")
DEFAULT_THRESHOLDS = {
    "ks": 0.05,
    "chi_square": 0.05,
    "wasserstein": 0.1,
    "psi": 0.2,
    "jensen_shannon": 0.1,
}
TABLE_COLUMNS = [
    "column", "kind", "method", "statistic", "p_value", "threshold", "drifted",
    "reference_missing", "current_missing", "missing_jump", "out_of_range", "unseen",
]  # fmt: skip


@dataclass(frozen=True)
class ColumnRule:
    """A per-column override: which test to use and its threshold (p-value or distance)."""

    method: str
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.method not in DEFAULT_THRESHOLDS:
            raise InvalidInput(
                f"drift method {self.method!r} is not one of {sorted(DEFAULT_THRESHOLDS)}"
            )


@dataclass(frozen=True)
class DriftOptions:
    """How drift is decided.

    When either sample has at most ``small_sample`` values a column gets a p-value test (KS
    for numbers, chi-square for categories) at level ``alpha`` after a ``correction`` over the
    p-value tests (Benjamini-Hochberg "bh", "bonferroni" or "none"). Larger samples would make
    p-values flag trivial shifts, so a distance with an effect-size threshold decides instead
    (normalised Wasserstein or PSI for numbers, Jensen-Shannon for categories). The dataset
    drifts when at least ``dataset_share`` of the columns do.
    """

    alpha: float = 0.05
    correction: str = "bh"
    small_sample: int = 1000
    numeric_distance: str = "wasserstein"
    dataset_share: float = 0.5
    missing_jump: float = 0.1
    rules: Mapping[str, ColumnRule] = field(default_factory=dict)


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


def _method(column: ColumnProfile, current: ColumnProfile, options: DriftOptions) -> str:
    rule = options.rules.get(column.name)
    if rule is not None:
        return rule.method
    small = min(column.count, current.count) <= options.small_sample
    if isinstance(column, NumericProfile):
        return "ks" if small else options.numeric_distance
    return "chi_square" if small else "jensen_shannon"


def _counts(column: ColumnProfile) -> np.ndarray:
    if isinstance(column, NumericProfile):
        return np.asarray(column.counts, dtype=np.float64)
    unseen = column.count - sum(column.frequencies.values())
    return np.asarray([*column.frequencies.values(), unseen], dtype=np.float64)


def _wasserstein(ref: NumericProfile, cur: NumericProfile) -> float:
    if ref.min is None or cur.min is None or ref.max is None or cur.max is None:
        return math.nan
    distance = stats.wasserstein_binned(
        ref.edges, _counts(ref), _counts(cur), ref.min, ref.max, cur.min, cur.max
    )
    return float(distance) / max(std(ref) or 0.0, 1e-3)


def _statistic(
    method: str, ref: ColumnProfile, cur: ColumnProfile, raw: tuple[np.ndarray, np.ndarray] | None
) -> tuple[float, float | None]:
    if method == "ks" and raw is not None:
        result = stats.ks_test(*raw)
        return float(result.statistic), float(result.p_value)
    if (
        method == "wasserstein"
        and isinstance(ref, NumericProfile)
        and isinstance(cur, NumericProfile)
    ):
        return _wasserstein(ref, cur), None
    tests = {"ks": stats.ks_binned, "chi_square": stats.chi_square}
    if method in tests:
        result = tests[method](_counts(ref), _counts(cur))
        return float(result.statistic), float(result.p_value)
    measures = {"psi": stats.psi, "jensen_shannon": stats.jensen_shannon}
    if method not in measures:
        raise InvalidInput(
            f"drift method {method!r} does not apply to column {ref.name!r} ({ref.kind})"
        )
    return float(measures[method](_counts(ref), _counts(cur))), None


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
    rule = options.rules.get(ref.name)
    threshold = (
        rule.threshold if rule and rule.threshold is not None else DEFAULT_THRESHOLDS[method]
    )
    if method in P_VALUE_METHODS and rule is None:
        threshold = options.alpha
    raw = None
    if method == "ks":
        pair = (_finite(frames[0], ref.name), _finite(frames[1], ref.name))
        raw = (pair[0], pair[1]) if pair[0] is not None and pair[1] is not None else None
    empty = cur.count == 0 or ref.count == 0
    statistic, p_value = (math.nan, None) if empty else _statistic(method, ref, cur, raw)
    return {
        "column": ref.name,
        "kind": ref.kind,
        "method": method,
        "statistic": statistic,
        "p_value": p_value,
        "threshold": threshold,
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
    tested = [r for r in rows if r["method"] in P_VALUE_METHODS and r["p_value"] is not None]
    if tested and options.correction != "none":
        adjusted = stats.adjust_p_values([r["p_value"] for r in tested], method=options.correction)  # type: ignore[arg-type]
        for row, value in zip(tested, adjusted, strict=True):
            row["p_value"] = float(value)
    for row in rows:
        if row["method"] in P_VALUE_METHODS:
            row["drifted"] = row["p_value"] is not None and row["p_value"] < row["threshold"]
        else:
            row["drifted"] = bool(
                np.isfinite(row["statistic"]) and row["statistic"] >= row["threshold"]
            )


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
    """Compare a current window with the reference, column by column; frames or profiles."""
    options = options or DriftOptions()
    if options.correction not in {"bh", "bonferroni", "none"}:
        raise InvalidInput(f"correction {options.correction!r} is not bh, bonferroni or none")
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
