"""Drift statistics on histograms agree with their references and stay defined when empty."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from scipy.spatial import distance

from mloop import stats

pytestmark = pytest.mark.filterwarnings("error")

BIN_COUNTS = [1, 2, 5, 30, 400]


def _counts(seed: int, bins: int, zeros: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Two random count vectors over ``bins`` + 2 slots, some slots empty."""
    rng = np.random.default_rng(seed)
    reference = rng.poisson(rng.uniform(0, 50, bins + 2)) * (rng.random(bins + 2) > zeros)
    current = rng.poisson(rng.uniform(0, 50, bins + 2)) * (rng.random(bins + 2) > zeros)
    reference[0] += 1  # neither histogram is empty
    current[-1] += 1
    return reference.astype(float), current.astype(float)


def _histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts with an underflow and an overflow bin, the layout the monitoring layer keeps."""
    inside = np.histogram(values, bins=edges)[0]
    return np.concatenate(([np.sum(values < edges[0])], inside, [np.sum(values > edges[-1])]))


def _textbook_psi(reference: np.ndarray, current: np.ndarray, eps: float) -> float:
    total = 0.0
    for r, c in zip(reference / reference.sum(), current / current.sum(), strict=True):
        r, c = max(r, eps), max(c, eps)
        total += (c - r) * math.log(c / r)
    return total


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("bins", BIN_COUNTS)
def test_psi_matches_the_textbook_formula(bins: int, seed: int) -> None:
    reference, current = _counts(seed, bins)
    for eps in (1e-4, 1e-2):
        expected = _textbook_psi(reference, current, eps)
        assert stats.psi(reference, current, eps) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("bins", BIN_COUNTS)
def test_jensen_shannon_matches_scipy(bins: int, seed: int) -> None:
    reference, current = _counts(seed, bins)
    expected = distance.jensenshannon(reference, current, base=2)
    assert stats.jensen_shannon(reference, current) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("bins", BIN_COUNTS)
def test_chi_square_matches_scipy_contingency(bins: int, seed: int) -> None:
    reference, current = _counts(seed, bins)
    occupied = (reference + current) > 0
    table = np.vstack((reference[occupied], current[occupied]))
    result = stats.chi_square(reference, current)
    if table.shape[1] < 2:
        assert result == (0.0, 1.0)
        return
    expected = scipy_stats.chi2_contingency(table, correction=False)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-10)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("bins", BIN_COUNTS)
def test_ks_binned_is_the_largest_cdf_gap(bins: int, seed: int) -> None:
    reference, current = _counts(seed, bins)
    n, m = reference.sum(), current.sum()
    gaps = [abs(reference[: k + 1].sum() / n - current[: k + 1].sum() / m) for k in range(bins + 2)]
    result = stats.ks_binned(reference, current)
    assert result.statistic == pytest.approx(max(gaps), abs=1e-12)
    assert result.p_value == stats.ks_p_value(result.statistic, n, m)


def _uniform_points(edges: np.ndarray, lows: tuple[float, float], per_bin: int) -> np.ndarray:
    """Evenly spaced points inside each bin, underflow and overflow bins included."""
    knots = np.concatenate(([lows[0]], edges, [lows[1]]))
    fractions = (np.arange(per_bin) + 0.5) / per_bin
    return knots[:-1, None] + np.diff(knots)[:, None] * fractions


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("bins", [1, 3, 20])
def test_wasserstein_binned_spreads_mass_uniformly_within_bins(bins: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    edges = np.sort(rng.normal(size=bins + 1))
    edges[bins // 2] = edges[bins // 2 - 1] if bins > 1 else edges[0]  # a zero-width bin
    reference, current = _counts(seed, bins, zeros=0.3)
    ref_range = (edges[0] - rng.uniform(0, 2), edges[-1] + rng.uniform(0, 2))
    cur_range = (edges[0] - rng.uniform(0, 2), edges[-1] + rng.uniform(0, 2))
    per_bin = 2000
    expected = scipy_stats.wasserstein_distance(
        _uniform_points(edges, ref_range, per_bin).ravel(),
        _uniform_points(edges, cur_range, per_bin).ravel(),
        np.repeat(reference, per_bin),
        np.repeat(current, per_bin),
    )
    result = stats.wasserstein_binned(edges, reference, current, *ref_range, *cur_range)
    assert result == pytest.approx(expected, abs=1e-4)  # the point grid is off by < width/4000


def test_wasserstein_binned_hand_examples() -> None:
    # uniform on [0, 1] against uniform on [1, 2] held in the overflow bin
    assert stats.wasserstein_binned([0.0, 1.0], [0, 1, 0], [0, 0, 1], 0, 1, 1, 2) == 1.0
    # uniform on [0, 1] against uniform on [0, 2]: 1/4 + 1/4
    edges = [0.0, 1.0, 2.0]
    assert stats.wasserstein_binned(edges, [0, 2, 0, 0], [0, 1, 1, 0], 0, 1, 0, 2) == 0.5
    # point masses in zero-width bins at 0 and 3
    edges = [0.0, 0.0, 3.0, 3.0]
    assert stats.wasserstein_binned(edges, [0, 5, 0, 0, 0], [0, 0, 0, 7, 0], 0, 0, 3, 3) == 3.0


SAMPLES = {
    "normal shift": (lambda rng, n: rng.normal(size=n), lambda rng, n: rng.normal(0.1, 1, n)),
    "normal scale": (lambda rng, n: rng.normal(size=n), lambda rng, n: rng.normal(0, 1.5, n)),
    "poisson ties": (
        lambda rng, n: rng.poisson(3, n).astype(float),
        lambda rng, n: rng.poisson(3.3, n).astype(float),
    ),
    "lognormal": (lambda rng, n: rng.lognormal(size=n), lambda rng, n: rng.lognormal(0.2, 1, n)),
}
# Largest |binned - exact| found over seeds 0-9, in reference standard deviations: 4.8e-4
# (shift), 1.3e-2 (scale), 1.9e-3 (ties), 2.9e-2 (lognormal: its last bins are wide and
# spreading their mass uniformly misplaces it). The KS gap differed by at most 2e-4.
WASSERSTEIN_TOLERANCE = {
    "normal shift": 2e-3,
    "normal scale": 2e-2,
    "poisson ties": 5e-3,
    "lognormal": 6e-2,
}


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("case", sorted(SAMPLES))
def test_binned_statistics_are_close_to_exact_ones(case: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    draw_reference, draw_current = SAMPLES[case]
    reference, current = draw_reference(rng, 100_000), draw_current(rng, 100_000)
    edges = np.quantile(reference, np.linspace(0, 1, 1001))
    reference_counts, current_counts = _histogram(reference, edges), _histogram(current, edges)
    exact = stats.wasserstein(reference, current)
    binned = stats.wasserstein_binned(
        edges,
        reference_counts,
        current_counts,
        reference.min(),
        reference.max(),
        current.min(),
        current.max(),
    )
    assert abs(binned - exact) <= WASSERSTEIN_TOLERANCE[case] * reference.std()
    ks_exact = stats.ks_test(reference, current).statistic
    assert stats.ks_binned(reference_counts, current_counts).statistic == pytest.approx(
        ks_exact, abs=5e-4
    )


def test_empty_histograms_give_nan() -> None:
    empty, full = np.zeros(5), np.array([0.0, 3, 4, 1, 0])
    for reference, current in [(empty, full), (full, empty), (empty, empty)]:
        assert math.isnan(stats.psi(reference, current))
        assert math.isnan(stats.jensen_shannon(reference, current))
        assert all(math.isnan(value) for value in stats.chi_square(reference, current))
        assert all(math.isnan(value) for value in stats.ks_binned(reference, current))
        edges = [0.0, 1.0, 2.0, 3.0]
        assert math.isnan(stats.wasserstein_binned(edges, reference, current, 0, 3, 0, 3))


def test_identical_and_single_bin_histograms() -> None:
    counts = np.array([0.0, 3, 4, 1, 0])
    assert stats.psi(counts, counts * 2) == 0.0
    assert stats.jensen_shannon(counts, counts * 2) == 0.0
    assert stats.chi_square(counts, counts * 2) == (0.0, 1.0)
    assert stats.ks_binned(counts, counts * 2) == (0.0, 1.0)
    assert stats.wasserstein_binned([0.0, 1.0, 2.0, 3.0], counts, counts * 2, 0, 3, 0, 3) == 0.0
    constant = np.array([0.0, 0, 9, 0, 0])  # a constant feature: one occupied bin
    assert stats.chi_square(constant, constant * 3) == (0.0, 1.0)
    assert stats.wasserstein_binned([1.0, 1.0, 1.0, 1.0], constant, constant, 1, 1, 1, 1) == 0.0


def test_disjoint_histograms() -> None:
    reference, current = np.array([5.0, 0, 0]), np.array([0.0, 0, 5])
    assert stats.jensen_shannon(reference, current) == pytest.approx(1.0)
    assert stats.psi(reference, current) == pytest.approx(2 * (1 - 1e-4) * math.log(1e4))
    assert stats.ks_binned(reference, current).statistic == 1.0


@pytest.mark.parametrize(
    ("reference", "current"),
    [([1.0, 2.0], [1.0, 2.0, 3.0]), ([1.0, -2.0], [1.0, 2.0]), ([1.0, math.nan], [1.0, 2.0])],
)
def test_malformed_counts_raise_value_error(reference: list[float], current: list[float]) -> None:
    for statistic in (stats.psi, stats.jensen_shannon, stats.chi_square, stats.ks_binned):
        with pytest.raises(ValueError):
            statistic(reference, current)


def test_wasserstein_binned_rejects_bad_edges() -> None:
    with pytest.raises(ValueError):
        stats.wasserstein_binned([1.0, 0.0], [1, 1, 1], [1, 1, 1], 0, 1, 0, 1)
    with pytest.raises(ValueError):
        stats.wasserstein_binned([0.0, 1.0], [1, 1], [1, 1], 0, 1, 0, 1)
    with pytest.raises(ValueError):
        stats.wasserstein_binned([0.0, 1.0], [1, 1, 1], [1, 1, 1], math.nan, 1, 0, 1)
    with pytest.raises(ValueError):
        stats.psi([1, 1], [1, 1], eps=0)
