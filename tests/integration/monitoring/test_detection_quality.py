"""Detection quality on synthetic data with known shifts, at 10,000 and 1,000,000 rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mloop.monitoring.drift import DriftOptions, detect_drift
from mloop.profiles import reference_profile

NUMERIC = [f"x{i}" for i in range(10)]
SHIFTS = {"x1": ("mean", 0.5), "x4": ("mean", -0.4), "x7": ("scale", 1.6), "c1": ("freq", 0.0)}


def synthetic(n: int, seed: int, shifted: tuple[str, ...] = ()) -> pd.DataFrame:
    """10 numeric columns of varied shapes and 2 categorical ones; ``shifted`` columns move."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for i, name in enumerate(NUMERIC):
        shape = i % 3
        values = (
            rng.normal(10, 2, n)
            if shape == 0
            else rng.lognormal(1, 0.4, n)
            if shape == 1
            else rng.uniform(0, 5, n)
        )
        kind, amount = SHIFTS.get(name, ("", 0.0))
        if name in shifted and kind == "mean":
            values = values + amount * values.std()
        if name in shifted and kind == "scale":
            values = values.mean() + (values - values.mean()) * amount
        columns[name] = values
    frame = pd.DataFrame(columns)
    codes = rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1])
    frame["c0"] = pd.Categorical.from_codes(codes, categories=["a", "b", "c", "d"])
    weights = np.r_[np.full(5, 0.04), np.full(5, 0.16)] if "c1" in shifted else np.full(10, 0.1)
    codes = rng.choice(10, n, p=weights)
    frame["c1"] = pd.Categorical.from_codes(codes, categories=[f"k{i}" for i in range(10)])
    return frame


@pytest.mark.parametrize("rows", [10_000, 1_000_000])
@pytest.mark.parametrize("k", [0, 1, 4])
def test_exactly_the_shifted_columns_are_flagged(rows: int, k: int) -> None:
    shifted = tuple(list(SHIFTS)[:k])
    report = detect_drift(synthetic(rows, seed=1), synthetic(rows, seed=2, shifted=shifted))
    assert sorted(report.drifted_columns) == sorted(shifted)
    assert report.dataset_drift is False


def test_small_samples_are_judged_by_the_same_test_and_effect_size() -> None:
    report = detect_drift(synthetic(800, seed=1), synthetic(800, seed=2, shifted=("x1", "c1")))
    table = report.table.set_index("column")
    assert table.loc["x0", "test"] == "ks" and table.loc["c0", "test"] == "chi_square"
    assert table.loc["x0", "method"] == "wasserstein_rank"
    assert {"x1", "c1"} <= set(report.drifted_columns)


def test_false_positive_rate_at_a_million_rows_stays_within_alpha() -> None:
    reference = reference_profile(synthetic(1_000_000, seed=1_000))
    options = DriftOptions(alpha=0.05)
    reports = [
        detect_drift(reference, synthetic(1_000_000, seed=seed), options=options)
        for seed in range(50)
    ]
    flagged = sum(report.dataset_drift or bool(report.drifted_columns) for report in reports)
    assert flagged / 50 <= options.alpha
