"""The drift verdict holds at every size: few false alarms, the downturn found, trivia ignored.

Windows are built from bin counts (multinomial draws on the reference's bins), so a
1,000,000-row window costs what a 200-row one does and 50 seeds run in seconds.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mloop.monitoring.drift import DriftOptions, detect_drift
from mloop.profiles import (
    CategoricalProfile,
    DatasetProfile,
    NumericProfile,
    reference_profile,
    window_profile,
)
from mloop.scenario import churn_customers

SEEDS = 50
ALPHA = DriftOptions().alpha
SIZES = [200, 1_001, 2_000, 10_000, 1_000_000]


def _population(n: int, seed: int) -> pd.DataFrame:
    """Columns of the scenario's kinds, and a 4-level and a 200-level category and a datetime."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")
    return pd.DataFrame(
        {
            "normal": rng.normal(650, 100, n),
            "lognormal": rng.lognormal(4, 0.8, n),
            "counts": rng.poisson(25, n),
            "beta": rng.beta(3, 2, n),
            "region": rng.choice(["N", "S", "E", "W"], n, p=[0.3, 0.25, 0.25, 0.2]),
            "product": rng.choice([f"p{i}" for i in range(200)], n),
            "seen_at": start + pd.to_timedelta(rng.uniform(0, 30 * 86400, n), unit="s"),
        }
    )


@pytest.fixture(scope="module")
def shares() -> tuple[DatasetProfile, dict[str, np.ndarray]]:
    """The profile layout (edges, categories) and each column's true share of every bin."""
    layout = reference_profile(_population(20_000, seed=0))
    pilot = window_profile(layout, _population(2_000_000, seed=1))
    counts = {name: _counts(column) for name, column in pilot.columns.items()}
    return layout, {name: c / c.sum() for name, c in counts.items()}


def _counts(column: NumericProfile | CategoricalProfile) -> np.ndarray:
    if isinstance(column, NumericProfile):
        return np.asarray(column.counts, dtype=np.float64)
    return np.asarray(list(column.frequencies.values()), dtype=np.float64)


def _drawn(
    layout: DatasetProfile, shares: dict[str, np.ndarray], n: int, rng: np.random.Generator
) -> list[DatasetProfile]:
    """``SEEDS`` profiles of ``n`` rows each, every column's counts drawn from its shares."""
    draws = {name: rng.multinomial(n, share, size=SEEDS) for name, share in shares.items()}
    return [
        DatasetProfile(
            n,
            {
                name: _with_counts(column, draws[name][seed])
                for name, column in layout.columns.items()
            },
        )
        for seed in range(SEEDS)
    ]


def _with_counts(
    column: NumericProfile | CategoricalProfile, counts: np.ndarray
) -> NumericProfile | CategoricalProfile:
    total = int(counts.sum())
    if isinstance(column, NumericProfile):
        return replace(column, count=total, missing=0, infinite=0, counts=tuple(counts.tolist()))
    frequencies = dict(zip(column.frequencies, counts.tolist(), strict=True))
    return replace(column, count=total, missing=0, frequencies=frequencies, others={})


@pytest.mark.parametrize("rows", SIZES)
def test_no_drift_flags_at_most_alpha_of_the_columns_at_every_size(
    shares: tuple[DatasetProfile, dict[str, np.ndarray]], rows: int
) -> None:
    layout, truth = shares
    rng = np.random.default_rng(rows)
    references = _drawn(layout, truth, max(rows, 4_000), rng)
    windows = _drawn(layout, truth, rows, rng)
    flagged = [
        detect_drift(reference, window).table["drifted"].to_numpy()
        for reference, window in zip(references, windows, strict=True)
    ]
    share = np.mean(flagged)
    # alpha plus two standard errors of a share estimated from SEEDS x columns verdicts
    assert share <= ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / np.size(flagged))
    assert pd.DataFrame(flagged).mean().max() <= 0.12


def _downturn(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The scenario's downturn: income x0.85, spending x0.9, credit score -20 +- 10."""
    return frame.assign(
        annual_income=frame["annual_income"] * 0.85,
        avg_transaction_amount=frame["avg_transaction_amount"] * 0.9,
        credit_score=(frame["credit_score"] - rng.normal(20, 10, len(frame))).clip(300, 850),
    )


def test_the_downturn_is_found_in_windows_of_2000_rows_and_nothing_else_is() -> None:
    shifted = {"annual_income", "avg_transaction_amount", "credit_score"}
    hits: list[pd.Series] = []
    for seed in range(SEEDS):
        reference = reference_profile(
            churn_customers(4_000, seed=1_000 + seed).drop(columns="churn")
        )
        current = churn_customers(2_000, seed=seed).drop(columns="churn")
        window = window_profile(reference, _downturn(current, np.random.default_rng(seed)))
        hits.append(detect_drift(reference, window).table.set_index("column")["drifted"])
    rate = pd.DataFrame(hits).mean()
    assert (rate[sorted(shifted)] >= 0.95).all(), rate
    assert (rate.drop(sorted(shifted)) <= ALPHA).all(), rate


def test_a_trivial_shift_at_a_million_rows_flags_nothing() -> None:
    rng = np.random.default_rng(7)
    reference = reference_profile(pd.DataFrame({"x": rng.normal(0, 1, 1_000_000)}))
    window = window_profile(reference, pd.DataFrame({"x": rng.normal(0.01, 1, 1_000_000)}))
    row = detect_drift(reference, window).table.iloc[0]
    assert row["p_value"] < ALPHA and not row["drifted"]
