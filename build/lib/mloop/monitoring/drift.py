"""Data drift per column (a supported test and an effect size that matters), and a dataset verdict.

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
    CATEGORICAL,
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
from mloop.profiles.numeric import float_values

CORRECTIONS = ("bh", "bonferroni", "none")
TABLE_COLUMNS = [
    "column", "kind", "test", "p_value", "alpha", "method", "statistic", "threshold", "tested",
    "drifted", "reference_missing", "current_missing", "missing_jump", "out_of_range", "unseen",
]  # fmt: skip


@dataclass(frozen=True)
class ColumnRule:
    """A per-column override: a row of ``METHODS`` and its threshold (its default when None).

    A test (``ks``, ``chi_square``) replaces the column's test and its threshold is the p-value
    level; a distance replaces the column's effect size and its threshold is the smallest
    distance that matters. The other half of the verdict keeps its default.
    """

    method: str
    threshold: float | None = None


@dataclass(frozen=True)
class DriftOptions:
    """How drift is decided: the same two-part rule at every sample size.

    A column drifts when the change is statistically supported — its test's p-value (KS for
    numbers, chi-square for categories), after a ``correction`` across the tested columns
    (Benjamini-Hochberg "bh", "bonferroni" or "none"), is below ``alpha`` — and large enough to
    matter — its effect size (``numeric_distance`` for numbers, ``categorical_distance`` for
    categories) reaches the method's threshold. Small windows then need a large change to be
    supported, and huge windows cannot flag trivial ones. The dataset drifts when at least
    ``dataset_share`` of the tested columns do. ``rules`` map a column name to its own test or
    distance (``ColumnRule``). Raises InvalidInput for an unknown correction, a distance that
    does not fit its kind, or a rule naming no method.
    """

    alpha: float = 0.05
    correction: str = "bh"
    numeric_distance: str = "wasserstein_rank"
    categorical_distance: str = "jensen_shannon"
    dataset_share: float = 0.5
    missing_jump: float = 0.1
    rules: Mapping[str, ColumnRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.correction not in CORRECTIONS:
            raise InvalidInput(
                f"correction {self.correction!r} is not bh, bonferroni or none", field="correction"
            )
        _check_distance("numeric_distance", self.numeric_distance, NUMERIC)
        _check_distance("categorical_distance", self.categorical_distance, CATEGORICAL)
        for column, rule in self.rules.items():
            if rule.method not in METHODS:
                raise InvalidInput(
                    f"column {column!r}: drift method {rule.method!r} is not one of "
                    f"{', '.join(METHODS)}",
                    field=column,
                )


def _check_distance(option: str, name: str, kind: str) -> None:
    distances = [n for n in methods_for(kind) if METHODS[n].yields is Yields.DISTANCE]
    if name not in distances:
        raise InvalidInput(f"{option} {name!r} is not one of {', '.join(distances)}", field=option)


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


@dataclass(frozen=True)
class _Verdict:
    """The test and the effect size that judge one column, with their thresholds."""

    test: DriftMethod
    alpha: float
    effect: DriftMethod
    threshold: float


def _verdict(ref: ColumnProfile, options: DriftOptions) -> _Verdict:
    numeric = isinstance(ref, NumericProfile)
    test = METHODS["ks" if numeric else "chi_square"]
    effect = METHODS[options.numeric_distance if numeric else options.categorical_distance]
    alpha, threshold = options.alpha, effect.default_threshold
    rule = options.rules.get(ref.name)
    if rule is not None and method_for(ref, rule.method).yields is Yields.P_VALUE:
        test = METHODS[rule.method]
        alpha = options.alpha if rule.threshold is None else rule.threshold
    elif rule is not None:
        effect = METHODS[rule.method]
        threshold = effect.default_threshold if rule.threshold is None else rule.threshold
    return _Verdict(test, alpha, effect, threshold)


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
    values = float_values(frame[name])
    return values[np.isfinite(values)]


def _measured(
    method: DriftMethod,
    ref: ColumnProfile,
    cur: ColumnProfile,
    frames: tuple[pd.DataFrame | None, ...],
) -> tuple[float, float | None]:
    if cur.count == 0 or ref.count == 0:
        return math.nan, None
    return measure(method, ref, cur, _samples(method, ref.name, frames))


def _row(
    ref: ColumnProfile,
    cur: ColumnProfile,
    options: DriftOptions,
    frames: tuple[pd.DataFrame | None, ...],
) -> dict[str, Any]:
    verdict = _verdict(ref, options)
    _, p_value = _measured(verdict.test, ref, cur, frames)
    statistic, _ = _measured(verdict.effect, ref, cur, frames)
    tested = p_value is not None and math.isfinite(p_value) and math.isfinite(statistic)
    return {
        "column": ref.name,
        "kind": ref.kind,
        "test": verdict.test.name,
        "p_value": p_value if tested else None,
        "alpha": verdict.alpha,
        "method": verdict.effect.name,
        "statistic": statistic,
        "threshold": verdict.threshold,
        "tested": tested,
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
    tested = [r for r in rows if r["tested"]]
    if tested and options.correction != "none":
        adjusted = stats.adjust_p_values([r["p_value"] for r in tested], method=options.correction)  # type: ignore[arg-type]
        for row, value in zip(tested, adjusted, strict=True):
            row["p_value"] = float(value)
    for row in tested:
        supported = METHODS[row["test"]].drifted(math.nan, row["p_value"], row["alpha"])
        matters = METHODS[row["method"]].drifted(row["statistic"], None, row["threshold"])
        row["drifted"] = supported and matters


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

    Returns one table row per compared column (``TABLE_COLUMNS``): the test's corrected
    ``p_value`` against ``alpha``, the effect size (``method``, ``statistic``) against its
    ``threshold``, ``tested`` (False when a side has no values: such a column is never drifted
    and does not count in the share) and the verdict; and the dataset verdict.
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
    tested = sum(bool(r["tested"]) for r in rows)
    share = sum(bool(r["drifted"]) for r in rows) / tested if tested else 0.0
    return DriftReport(
        table=pd.DataFrame(rows, columns=TABLE_COLUMNS),
        dataset_drift=bool(tested) and share >= options.dataset_share,
        share_drifted=share,
        n_reference=ref_profile.n_rows,
        n_current=cur_profile.n_rows,
    )
