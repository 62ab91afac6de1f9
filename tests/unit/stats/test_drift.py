"""Drift statistics on raw samples agree with scipy and stay defined on degenerate samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from mloop import stats

pytestmark = pytest.mark.filterwarnings("error")

SIZES = [(1, 1), (1, 7), (5, 3), (37, 100), (1000, 1000), (999, 1001), (50, 20_000)]


def _pair(
    seed: int, n: int, m: int, shape: str, shift: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Two samples of one distribution shape, the current one shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    draw = {
        "normal": lambda size: rng.normal(size=size),
        "skewed": lambda size: rng.lognormal(size=size),
        "ties": lambda size: np.round(rng.normal(size=size), 1),  # ties within and across
    }[shape]
    return draw(n), draw(m) + shift


@pytest.mark.parametrize("shape", ["normal", "skewed", "ties"])
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_ks_test_matches_scipy_on_small_samples(n: int, m: int, shape: str) -> None:
    reference, current = _pair(n * 7 + m, n, m, shape)
    expected = scipy_stats.ks_2samp(reference, current)
    result = stats.ks_test(reference, current)
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("shape", ["normal", "skewed", "ties"])
@pytest.mark.parametrize(
    ("n", "m", "shift"),
    [(12_000, 300, 0.1), (20_000, 15_000, 0.02), (60_000, 40_000, 0.01), (60_000, 40_000, 0.1)],
)
def test_ks_test_matches_scipy_on_large_samples(n: int, m: int, shift: float, shape: str) -> None:
    reference, current = _pair(n + m, n, m, shape, shift)
    expected = scipy_stats.ks_2samp(reference, current)
    result = stats.ks_test(reference, current)
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-12)
    if n * m / (n + m) <= 10_000:  # exact Kolmogorov distribution, as scipy
        assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    else:  # Stephens' corrected limit
        rel = 5e-3 if expected.pvalue > 1e-3 else 0.1
        assert result.p_value == pytest.approx(expected.pvalue, rel=rel, abs=1e-300)


@pytest.mark.parametrize("statistic", [0.0, 0.004, 0.008, 0.012, 0.016, 0.02, 0.03, 0.05])
def test_ks_p_value_for_large_samples_is_close_to_scipy(statistic: float) -> None:
    n, m = 60_000, 40_000  # effective size 24,000: the fast path
    expected = scipy_stats.kstwo.sf(statistic, round(n * m / (n + m)))
    rel = 5e-3 if expected > 1e-3 else 0.1
    assert stats.ks_p_value(statistic, n, m) == pytest.approx(expected, rel=rel)


@pytest.mark.parametrize("shape", ["normal", "skewed", "ties"])
@pytest.mark.parametrize(("n", "m"), [*SIZES, (20_000, 15_000), (3, 50_000)])
def test_wasserstein_matches_scipy(n: int, m: int, shape: str) -> None:
    reference, current = _pair(n * 3 + m, n, m, shape)
    expected = scipy_stats.wasserstein_distance(reference, current)
    assert stats.wasserstein(reference, current) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_wasserstein_normed_divides_by_the_reference_std() -> None:
    reference, current = _pair(1, 500, 400, "skewed")
    expected = scipy_stats.wasserstein_distance(reference, current) / np.std(reference)
    assert stats.wasserstein_normed(reference, current) == pytest.approx(expected, rel=1e-9)


def test_wasserstein_normed_floors_a_constant_reference_std_at_a_thousandth() -> None:
    assert stats.wasserstein_normed([2.0] * 10, [2.5] * 4) == pytest.approx(0.5 / 0.001)
    assert stats.wasserstein_normed([2.0] * 10, [2.0] * 4) == 0.0


@pytest.mark.parametrize(("reference", "current"), [([], []), ([], [1.0, 2.0]), ([1.0, 2.0], [])])
def test_empty_samples_give_nan(reference: list[float], current: list[float]) -> None:
    assert all(math.isnan(value) for value in stats.ks_test(reference, current))
    assert math.isnan(stats.wasserstein(reference, current))
    assert math.isnan(stats.wasserstein_normed(reference, current))


@pytest.mark.parametrize("size", [5, 50_000])
def test_constant_samples(size: int) -> None:
    same = np.full(size, 3.0)
    assert stats.ks_test(same, same) == (0.0, 1.0)
    assert stats.wasserstein(same, same) == 0.0
    shifted = stats.ks_test(same, same + 1)
    assert shifted.statistic == 1.0
    assert shifted.p_value < 0.05
    assert stats.wasserstein(same, same + 1) == pytest.approx(1.0)


def test_ks_p_value_is_one_at_zero_and_decreases() -> None:
    p_values = [stats.ks_p_value(d, 500, 800) for d in (0.0, 0.05, 0.1, 0.2)]
    assert p_values[0] == 1.0
    assert p_values == sorted(p_values, reverse=True)


@pytest.mark.parametrize("bad", [[1.0, math.nan], [math.inf, 0.0], [[1.0, 2.0], [3.0, 4.0]], 5.0])
def test_malformed_samples_raise_value_error(bad: object) -> None:
    with pytest.raises(ValueError):
        stats.ks_test(bad, [1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        stats.wasserstein([1.0, 2.0], bad)  # type: ignore[arg-type]


def test_ks_p_value_without_rows_is_nan() -> None:
    assert math.isnan(stats.ks_p_value(0.3, 0, 10))
