"""The drift method table: every row's kinds and threshold contract, overrides, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mloop.errors import InvalidInput
from mloop.monitoring.drift import ColumnRule, DriftOptions, detect_drift
from mloop.monitoring.methods import (
    CATEGORICAL,
    METHODS,
    NUMERIC,
    DriftMethod,
    Yields,
    measure,
    method_for,
    methods_for,
)
from mloop.profiles import reference_profile, window_profile

ROWS = list(METHODS.values())


def _frame(n: int = 400, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.normal(50 + shift, 10, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
        }
    )


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_every_row_names_known_kinds_and_a_sensible_default(row: DriftMethod) -> None:
    assert row.kinds and row.kinds <= {NUMERIC, CATEGORICAL}
    assert 0.0 < row.default_threshold < 1.0
    assert METHODS[row.name] is row


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_every_row_decides_by_what_it_yields(row: DriftMethod) -> None:
    if row.yields is Yields.P_VALUE:
        assert row.drifted(0.3, 0.049, 0.05) and not row.drifted(0.3, 0.05, 0.05)
        assert not row.drifted(0.3, None, 0.05)
    else:
        assert row.drifted(0.1, None, 0.1) and not row.drifted(0.099, None, 0.1)
        assert not row.drifted(math.nan, None, 0.1)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_every_row_measures_the_kinds_it_fits_and_finds_no_drift_in_the_same_data(
    row: DriftMethod,
) -> None:
    reference = reference_profile(_frame())
    current = window_profile(reference, _frame())
    for name in ("income", "plan"):
        column = reference.columns[name]
        if not row.fits(column):
            continue
        statistic, p_value = measure(row, column, current.columns[name], None)
        assert (p_value is not None) is (row.yields is Yields.P_VALUE)
        assert not row.drifted(statistic, p_value, row.default_threshold)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_every_row_finds_a_large_shift(row: DriftMethod) -> None:
    reference = reference_profile(_frame())
    current = window_profile(reference, _frame(seed=1, shift=15.0))
    column = reference.columns["income"]
    statistic, p_value = measure(row, column, current.columns["income"], None)
    assert row.drifted(statistic, p_value, row.default_threshold)


def test_methods_for_each_kind_follow_the_table() -> None:
    assert methods_for(NUMERIC) == [
        "ks", "chi_square", "wasserstein_rank", "wasserstein", "psi", "jensen_shannon",
    ]  # fmt: skip
    assert methods_for(CATEGORICAL) == ["chi_square", "psi", "jensen_shannon"]


def test_a_rule_picks_the_method_and_its_default_threshold() -> None:
    options = DriftOptions(rules={"income": ColumnRule("psi"), "plan": ColumnRule("psi", 0.3)})
    table = detect_drift(_frame(), _frame(seed=1), options=options).table.set_index("column")
    assert list(table["method"]) == ["psi", "psi"]
    assert list(table["threshold"]) == [0.2, 0.3]


def test_a_method_that_does_not_fit_the_column_names_it_and_the_methods_that_do() -> None:
    options = DriftOptions(rules={"plan": ColumnRule("wasserstein")})
    with pytest.raises(InvalidInput, match=r"'plan'.*chi_square, psi, jensen_shannon") as caught:
        detect_drift(_frame(), _frame(seed=1), options=options)
    assert caught.value.field == "plan"
    with pytest.raises(InvalidInput, match="'ks' does not apply to categorical"):
        method_for(reference_profile(_frame()).columns["plan"], "ks")


def test_unknown_names_are_refused_naming_the_column_or_option() -> None:
    with pytest.raises(InvalidInput, match=r"'income'.*'energy'.*ks, chi_square") as caught:
        DriftOptions(rules={"income": ColumnRule("energy")})
    assert caught.value.field == "income"
    with pytest.raises(InvalidInput, match="numeric_distance 'ks'") as caught:
        DriftOptions(numeric_distance="ks")
    assert caught.value.field == "numeric_distance"
    with pytest.raises(InvalidInput, match="correction"):
        DriftOptions(correction="holm")


def test_a_statistic_refusing_the_values_becomes_invalid_input_naming_the_column() -> None:
    reference = reference_profile(_frame())
    other = reference_profile(_frame().assign(plan="basic"))
    with pytest.raises(InvalidInput, match=r"column 'plan': .*differ in length") as caught:
        detect_drift(reference, other, columns=["plan"])
    assert caught.value.field == "plan"
    assert isinstance(caught.value.__cause__, ValueError)


def test_a_categorical_reference_expects_as_many_unseen_rows_as_its_singletons() -> None:
    from mloop.monitoring.methods import counts, reference_counts
    from mloop.profiles import reference_profile

    values = ["a"] * 5 + ["b"] * 3 + ["c", "d", "e"]
    profile = reference_profile(pd.DataFrame({"city": values})).columns["city"]
    assert counts(profile)[-1] == 0
    assert reference_counts(profile)[-1] == 3
    assert list(reference_counts(profile)[:-1]) == list(counts(profile)[:-1])
