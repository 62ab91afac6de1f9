"""A/B statistics against scipy, textbook formulas and (when installed) statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mloop.stats import (
    power_proportions,
    sample_size_proportions,
    srm_test,
    two_proportion_test,
    welch_test,
)

RNG = np.random.default_rng(11)
CASES = [
    (int(RNG.integers(5, 400)), int(RNG.integers(400, 2000)),
     int(RNG.integers(5, 400)), int(RNG.integers(400, 2000)))
    for _ in range(25)
]  # fmt: skip


@pytest.mark.parametrize(("x_a", "n_a", "x_b", "n_b"), CASES)
def test_two_proportion_test_is_the_pooled_z_test_with_a_wald_interval(
    x_a: int, n_a: int, x_b: int, n_b: int
) -> None:
    result = two_proportion_test(x_a, n_a, x_b, n_b)
    pooled = (x_a + x_b) / (n_a + n_b)
    z = (x_b / n_b - x_a / n_a) / math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    assert result.statistic == pytest.approx(z, rel=1e-12)
    # the chi-square test of the 2x2 table without continuity correction is z squared
    table = [[x_a, n_a - x_a], [x_b, n_b - x_b]]
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert result.statistic**2 == pytest.approx(chi2, rel=1e-9)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    assert result.ci_low < result.difference < result.ci_high


@pytest.mark.parametrize("seed", range(10))
def test_welch_test_agrees_with_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, rng.integers(5, 200)), rng.normal(0.2, 2, rng.integers(5, 200))
    result = welch_test(a, b, alpha=0.1)
    reference = stats.ttest_ind(b, a, equal_var=False)
    interval = reference.confidence_interval(0.9)
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-10)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-10)
    assert (result.ci_low, result.ci_high) == pytest.approx((interval.low, interval.high))


@pytest.mark.parametrize("seed", range(10))
def test_srm_is_scipys_chi_square_goodness_of_fit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.1, 1, 3)
    counts = rng.multinomial(5000, weights / weights.sum())
    result = srm_test(counts, weights)
    reference = stats.chisquare(counts, counts.sum() * weights / weights.sum())
    assert result.statistic == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)


def test_srm_flags_a_broken_split() -> None:
    assert srm_test([5000, 4400], [1, 1]).p_value < 0.001
    assert srm_test([5000, 5030], [1, 1]).p_value > 0.5


@pytest.mark.parametrize(("baseline", "mde"), [(0.1, 0.02), (0.5, -0.05), (0.3, 0.1), (0.8, 0.05)])
def test_sample_size_reaches_the_power_and_one_less_does_not(baseline: float, mde: float) -> None:
    n = sample_size_proportions(baseline, mde, alpha=0.05, power=0.8)
    assert power_proportions(baseline, mde, n) >= 0.8 > power_proportions(baseline, mde, n - 1)
    h = 2 * math.asin(math.sqrt(baseline + mde)) - 2 * math.asin(math.sqrt(baseline))
    textbook = 2 * ((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / h) ** 2
    assert n == pytest.approx(textbook, abs=1.5)


def test_power_matches_a_simulation() -> None:
    rng = np.random.default_rng(3)
    n, runs = 1500, 4000
    x_a, x_b = rng.binomial(n, 0.2, runs), rng.binomial(n, 0.24, runs)
    rejected = np.mean(
        [two_proportion_test(a, n, b, n).p_value < 0.05 for a, b in zip(x_a, x_b, strict=True)]
    )
    assert rejected == pytest.approx(power_proportions(0.2, 0.04, n), abs=0.03)


def test_bad_input_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="successes"):
        two_proportion_test(11, 10, 1, 10)
    with pytest.raises(ValueError, match="alpha"):
        two_proportion_test(1, 10, 1, 10, alpha=1.5)
    with pytest.raises(ValueError, match="at least two"):
        welch_test([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        srm_test([10, 10], [1, 0])
    with pytest.raises(ValueError, match="mde"):
        sample_size_proportions(0.5, 0.0)


def test_statistics_agree_with_statsmodels() -> None:
    pytest.importorskip("statsmodels")
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import (
        confint_proportions_2indep,
        proportion_effectsize,
        proportions_ztest,
    )

    for x_a, n_a, x_b, n_b in CASES:
        ours = two_proportion_test(x_a, n_a, x_b, n_b)
        z, p = proportions_ztest([x_b, x_a], [n_b, n_a])
        low, high = confint_proportions_2indep(x_b, n_b, x_a, n_a, method="wald")
        assert (ours.statistic, ours.p_value) == pytest.approx((z, p))
        assert (ours.ci_low, ours.ci_high) == pytest.approx((low, high))
    h = proportion_effectsize(0.12, 0.1)
    n = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=1.0)
    assert sample_size_proportions(0.1, 0.02) == math.ceil(n)
    assert power_proportions(0.1, 0.02, 2000) == pytest.approx(
        NormalIndPower().power(h, 2000, 0.05, ratio=1.0)
    )
