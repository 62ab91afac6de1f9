"""CBPE: calibration agrees with scikit-learn, and estimates track the realised performance."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression

from mloop import stats

pytestmark = pytest.mark.filterwarnings("error")

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def _population(seed: int, rows: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """A calibrated model's probabilities and labels drawn from them, the feature shifted."""
    rng = np.random.default_rng(seed)
    feature = rng.normal(shift, 1 + shift / 2, size=rows)
    proba = expit(1.5 * feature - 0.4)
    return proba, rng.random(rows) < proba


def _realised(proba: np.ndarray, labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return stats.classification_metrics(labels.astype(int), predicted.astype(int), proba)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("rows", [1, 2, 50, 3000])
def test_calibration_matches_sklearn_isotonic_regression(rows: int, ties: bool) -> None:
    rng = np.random.default_rng(rows)
    proba = rng.beta(2, 2, size=rows)
    if ties:
        proba = np.round(proba, 1)
    labels = rng.random(rows) < proba**2
    calibration = stats.fit_calibration(proba, labels)
    reference = IsotonicRegression(out_of_bounds="clip").fit(proba, labels)
    grid = np.linspace(0, 1, 501)
    np.testing.assert_allclose(calibration.apply(grid), reference.predict(grid), atol=1e-12)


def test_calibration_round_trips_through_a_plain_dict() -> None:
    proba, labels = _population(0, 2000, 0.0)
    calibration = stats.fit_calibration(proba, labels)
    stored = json.loads(json.dumps(calibration.to_dict()))
    assert set(stored) == {"proba", "calibrated"}
    assert stats.Calibration.from_dict(stored) == calibration
    assert len(calibration.proba) < 2000  # only the ends of constant stretches are kept


def test_calibration_without_rows_is_the_identity() -> None:
    calibration = stats.fit_calibration([], [])
    np.testing.assert_allclose(calibration.apply([0.0, 0.3, 1.0]), [0.0, 0.3, 1.0])
    constant = stats.fit_calibration([0.4, 0.4, 0.4, 0.4], [1, 0, 0, 0])
    np.testing.assert_allclose(constant.apply([0.0, 0.4, 0.9]), [0.25, 0.25, 0.25])


def test_calibration_error_matches_a_loop_over_bins() -> None:
    proba, labels = _population(1, 5000, 0.0)
    skewed = proba**2
    expected = 0.0
    for low in np.arange(10) / 10:
        inside = (skewed >= low) & ((skewed < low + 0.1) | (low == 0.9))
        if inside.any():
            expected += inside.mean() * abs(labels[inside].mean() - skewed[inside].mean())
    assert stats.calibration_error(skewed, labels) == pytest.approx(expected, rel=1e-9)
    assert stats.calibration_error(proba, labels) < 0.03
    assert math.isnan(stats.calibration_error([], []))


def test_estimated_values_are_expectations_over_calibrated_probabilities() -> None:
    proba, _ = _population(2, 1000, 0.0)
    estimates = stats.estimate_performance(proba, threshold=0.5)
    flagged = proba >= 0.5
    assert estimates["accuracy"].value == pytest.approx(
        np.mean(np.where(flagged, proba, 1 - proba))
    )
    assert estimates["precision"].value == pytest.approx(proba[flagged].mean())
    assert estimates["recall"].value == pytest.approx(proba[flagged].sum() / proba.sum())
    assert estimates["roc_auc"].value == pytest.approx(stats.roc_auc(proba, proba))


def test_estimates_track_the_realised_performance_on_a_shifted_population() -> None:
    covered = dict.fromkeys(METRICS, 0)
    for seed in range(20):
        proba, labels = _population(seed, 20_000, shift=1.0)
        estimates = stats.estimate_performance(proba, seed=seed)
        realised = _realised(proba, labels, proba >= 0.5)
        assert abs(estimates["accuracy"].value - realised["accuracy"]) < 0.02
        for name in METRICS:
            estimate = estimates[name]
            assert estimate.lower <= estimate.value <= estimate.upper
            covered[name] += estimate.lower <= realised[name] <= estimate.upper
    assert min(covered.values()) >= 16, covered


def test_fitted_calibration_corrects_an_overconfident_model() -> None:
    reference_proba, reference_labels = _population(100, 20_000, shift=0.0)
    current_proba, current_labels = _population(101, 20_000, shift=1.0)
    raw_reference = expit(2.5 * np.log(reference_proba / (1 - reference_proba)))
    raw_current = expit(2.5 * np.log(current_proba / (1 - current_proba)))
    assert stats.calibration_error(raw_reference, reference_labels) > 0.05
    calibration = stats.fit_calibration(raw_reference, reference_labels)
    predicted = raw_current >= 0.5
    estimates = stats.estimate_performance(calibration.apply(raw_current), predicted=predicted)
    realised = _realised(raw_current, current_labels, predicted)
    for name in METRICS:
        assert abs(estimates[name].value - realised[name]) < 0.02, name


def test_estimates_are_reproducible_and_follow_the_seed() -> None:
    proba, _ = _population(3, 500, 0.0)
    first = stats.estimate_performance(proba, seed=7)
    assert stats.estimate_performance(proba, seed=7) == first
    assert stats.estimate_performance(proba, seed=8) != first


def test_degenerate_probabilities() -> None:
    empty = stats.estimate_performance([])
    assert all(math.isnan(part) for estimate in empty.values() for part in estimate)
    zeros = stats.estimate_performance(np.zeros(50))
    assert zeros["accuracy"] == (1.0, 1.0, 1.0)
    assert all(math.isnan(part) for part in zeros["precision"])
    assert all(math.isnan(part) for part in zeros["roc_auc"])
    ones = stats.estimate_performance(np.ones(50))
    assert ones["precision"] == (1.0, 1.0, 1.0)
    assert all(math.isnan(part) for part in ones["roc_auc"])


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError):
        stats.estimate_performance([0.2, 1.2])
    with pytest.raises(ValueError):
        stats.estimate_performance([0.2], confidence=1.0)
    with pytest.raises(ValueError):
        stats.estimate_performance([0.2], n_simulations=0)
    with pytest.raises(ValueError):
        stats.estimate_performance([0.2, 0.4], predicted=[1])
    with pytest.raises(ValueError):
        stats.fit_calibration([0.2, 0.4], [0, 2])
    with pytest.raises(ValueError):
        stats.calibration_error([0.2], [1], bins=0)
    with pytest.raises(ValueError):
        stats.Calibration((0.5, 0.2), (0.1, 0.2))
