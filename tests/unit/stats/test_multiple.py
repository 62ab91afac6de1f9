"""Multiple-testing corrections against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mloop import stats

pytestmark = pytest.mark.filterwarnings("error")


def test_benjamini_hochberg_hand_example() -> None:
    # sorted: 0.005 0.01 0.03 0.04 0.2; p * m / rank = 0.025 0.025 0.05 0.05 0.2;
    # a running minimum from the largest rank down leaves them unchanged.
    p_values = [0.01, 0.04, 0.03, 0.005, 0.2]
    adjusted = stats.adjust_p_values(p_values, "bh")
    np.testing.assert_allclose(adjusted, [0.025, 0.05, 0.05, 0.025, 0.2])


def test_benjamini_hochberg_takes_the_step_up_minimum() -> None:
    # p * m / rank = 0.04 0.04 0.0533 0.045: the third is pulled down to the fourth's 0.045.
    adjusted = stats.adjust_p_values([0.045, 0.01, 0.04, 0.02], "bh")
    np.testing.assert_allclose(adjusted, [0.045, 0.04, 0.045, 0.04])


def test_bonferroni_multiplies_and_caps_at_one() -> None:
    adjusted = stats.adjust_p_values([0.01, 0.2, 0.5], "bonferroni")
    np.testing.assert_allclose(adjusted, [0.03, 0.6, 1.0])


@pytest.mark.parametrize("method", ["bh", "bonferroni", "holm"])
def test_nan_p_values_stay_nan_and_do_not_count(method: str) -> None:
    adjusted = stats.adjust_p_values([0.01, math.nan, 0.02], method)  # type: ignore[arg-type]
    expected = stats.adjust_p_values([0.01, 0.02], method)  # type: ignore[arg-type]
    assert math.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2]], expected)


@pytest.mark.parametrize("method", ["bh", "bonferroni", "holm"])
def test_empty_and_all_nan_inputs(method: str) -> None:
    assert stats.adjust_p_values([], method).size == 0  # type: ignore[arg-type]
    assert np.isnan(stats.adjust_p_values([math.nan] * 3, method)).all()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("p_values", "method"),
    [([0.5, 1.5], "bh"), ([-0.1], "bonferroni"), ([[0.1]], "bh"), ([0.1], "hochberg")],
)
def test_bad_arguments_raise_value_error(p_values: list[float], method: str) -> None:
    with pytest.raises(ValueError):
        stats.adjust_p_values(p_values, method)  # type: ignore[arg-type]


def test_holm_matches_statsmodels_and_never_lowers_a_p_value() -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(7)
    for size in range(1, 12):
        p_values = rng.uniform(0, 1, size) ** 3
        adjusted = stats.adjust_p_values(p_values, "holm")
        assert np.allclose(adjusted, multitest.multipletests(p_values, method="holm")[1])
        assert (adjusted >= p_values).all()
    assert np.isnan(stats.adjust_p_values([0.01, np.nan], "holm")[1])
