"""Effect sizes agree with their references and keep their meaning at every sample size."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats
from scipy.spatial import distance

from mloop import stats

pytestmark = pytest.mark.filterwarnings("error")


def _histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    inside = np.histogram(values, bins=edges)[0]
    return np.concatenate(([np.sum(values < edges[0])], inside, [np.sum(values > edges[-1])]))


@pytest.mark.parametrize("shift", [0.0, 0.3, -1.0])
def test_rank_wasserstein_matches_scipy_on_rank_transformed_samples(shift: float) -> None:
    rng = np.random.default_rng(1)
    reference, current = rng.normal(size=3000), rng.normal(shift, 1.2, 2000)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, 1001)))
    ordered = np.sort(reference)

    def rank(values: np.ndarray) -> np.ndarray:
        return np.searchsorted(ordered, values, side="right") / ordered.size

    expected = scipy_stats.wasserstein_distance(rank(reference), rank(current))
    measured = stats.wasserstein_rank(_histogram(reference, edges), _histogram(current, edges))
    assert measured == pytest.approx(expected, abs=2e-3)


def test_rank_wasserstein_ignores_units() -> None:
    rng = np.random.default_rng(2)
    reference, current = rng.lognormal(4, 0.8, 4000), rng.lognormal(4, 0.8, 4000) * 0.9
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, 201)))
    raw = stats.wasserstein_rank(_histogram(reference, edges), _histogram(current, edges))
    logs = np.log(edges)
    logged = stats.wasserstein_rank(
        _histogram(np.log(reference), logs), _histogram(np.log(current), logs)
    )
    assert raw == pytest.approx(logged, rel=1e-9) and raw > 0.01


def test_merged_bins_have_about_equal_reference_mass() -> None:
    reference = np.r_[0, np.full(1000, 10.0), 0]
    current = np.r_[3, np.full(1000, 10.0), 5]
    merged_reference, merged_current = stats.merge_bins(reference, current, 10)
    assert merged_reference.tolist() == [1000.0] * 10
    assert merged_current.sum() == current.sum() and merged_current[0] == 1003


def test_rare_categories_pool_and_frequent_ones_stay_alone() -> None:
    reference = np.r_[5000, np.full(200, 10.0), 0]
    merged, _ = stats.merge_bins(reference, reference, 20, ordered=False)
    assert merged[0] == 5000 and merged.size <= 20 and merged.sum() == reference.sum()


def test_corrected_jensen_shannon_removes_the_many_category_bias() -> None:
    rng = np.random.default_rng(3)
    shares = np.full(200, 1 / 200)
    plug_in, corrected = [], []
    for _ in range(20):
        reference, current = rng.multinomial(5000, shares), rng.multinomial(5000, shares)
        plug_in.append(distance.jensenshannon(reference, current, base=2))
        corrected.append(stats.jensen_shannon_corrected(reference, current))
    assert np.mean(plug_in) > 0.1 and np.mean(corrected) < 0.05


def test_wilson_interval_matches_scipy() -> None:
    for successes, trials in [(0, 5), (3, 5), (450, 500), (500, 500)]:
        expected = scipy_stats.binomtest(successes, trials).proportion_ci(method="wilson")
        assert stats.wilson(successes, trials) == pytest.approx(
            (expected.low, expected.high), abs=1e-12
        )


def test_confusion_intervals_cover_the_metrics_and_are_nan_when_undefined() -> None:
    intervals = stats.confusion_intervals(80, 20, 10, 390)
    assert intervals["f1"][0] < 160 / 190 < intervals["f1"][1]
    undefined = stats.confusion_intervals(0, 5, 0, 95)
    assert np.isnan(undefined["recall"]).all() and np.isnan(undefined["f1"]).all()
