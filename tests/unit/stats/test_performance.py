"""Realised performance metrics agree with scikit-learn and stay defined on degenerate labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics

from mloop import stats

pytestmark = pytest.mark.filterwarnings("error")


def _binary(
    seed: int, rows: int, tie_decimals: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    proba = rng.beta(2, 3, size=rows)
    if tie_decimals is not None:
        proba = np.round(proba, tie_decimals)
    y_true = (rng.random(rows) < proba).astype(int)
    y_true[:2] = [0, 1]  # both classes present
    y_pred = (proba >= 0.5).astype(int)
    return y_true, y_pred, proba


@pytest.mark.parametrize("tie_decimals", [None, 1, 2])
@pytest.mark.parametrize("rows", [2, 10, 333, 5000])
def test_classification_metrics_match_sklearn(rows: int, tie_decimals: int | None) -> None:
    y_true, y_pred, proba = _binary(rows, rows, tie_decimals)
    result = stats.classification_metrics(y_true, y_pred, proba)
    assert result == pytest.approx(
        {
            "accuracy": metrics.accuracy_score(y_true, y_pred),
            "precision": metrics.precision_score(y_true, y_pred, zero_division=np.nan),
            "recall": metrics.recall_score(y_true, y_pred, zero_division=np.nan),
            "f1": metrics.f1_score(y_true, y_pred, zero_division=np.nan),
            "roc_auc": metrics.roc_auc_score(y_true, proba),
            "log_loss": metrics.log_loss(y_true, proba, labels=[0, 1]),
        },
        rel=1e-12,
        nan_ok=True,
    )


def test_classification_metrics_with_string_labels_and_extreme_probabilities() -> None:
    y_true = np.array(["yes", "no", "no", "yes", "no", "yes"])
    y_pred = np.array(["yes", "yes", "no", "no", "no", "yes"])
    proba = np.array([1.0, 0.7, 0.0, 0.0, 0.2, 0.9])
    result = stats.classification_metrics(y_true, y_pred, proba, positive="yes")
    actual = y_true == "yes"
    assert result == pytest.approx(
        {
            "accuracy": metrics.accuracy_score(y_true, y_pred),
            "precision": metrics.precision_score(y_true, y_pred, pos_label="yes"),
            "recall": metrics.recall_score(y_true, y_pred, pos_label="yes"),
            "f1": metrics.f1_score(y_true, y_pred, pos_label="yes"),
            "roc_auc": metrics.roc_auc_score(actual, proba),
            "log_loss": metrics.log_loss(actual, proba),
        },
        rel=1e-12,
    )


def test_without_probabilities_only_label_metrics_are_returned() -> None:
    result = stats.classification_metrics([0, 1, 1], [0, 1, 0])
    assert set(result) == {"accuracy", "precision", "recall", "f1"}


def test_accuracy_counts_exact_matches_with_more_classes() -> None:
    result = stats.classification_metrics([0, 1, 2, 2], [0, 2, 2, 1], positive=2)
    assert result["accuracy"] == 0.5
    assert result["precision"] == 0.5
    assert result["recall"] == 0.5


def test_empty_labels_give_nan_everywhere() -> None:
    result = stats.classification_metrics([], [], [])
    assert set(result) == {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"}
    assert all(math.isnan(value) for value in result.values())
    assert all(math.isnan(value) for value in stats.regression_metrics([], []).values())


def test_one_class_and_no_predicted_positives() -> None:
    result = stats.classification_metrics([0, 0, 0], [0, 0, 0], [0.1, 0.2, 0.3])
    assert result["accuracy"] == 1.0
    assert all(math.isnan(result[name]) for name in ("precision", "recall", "f1"))
    assert math.isnan(result["roc_auc"])
    assert result["log_loss"] == pytest.approx(
        metrics.log_loss([0, 0, 0], [0.1, 0.2, 0.3], labels=[0, 1])
    )
    constant = stats.classification_metrics([1, 0, 1, 0], [1, 1, 1, 1], [0.5] * 4)
    assert constant["roc_auc"] == 0.5


@pytest.mark.parametrize("seed", range(3))
def test_weighted_roc_auc_matches_sklearn_with_sample_weights(seed: int) -> None:
    rng = np.random.default_rng(seed)
    weight = rng.random(400)
    scores = np.round(rng.random(400), 2)  # with ties
    expected = metrics.roc_auc_score(
        np.r_[np.ones(400), np.zeros(400)],
        np.r_[scores, scores],
        sample_weight=np.r_[weight, 1 - weight],
    )
    assert stats.roc_auc(weight, scores) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("rows", [1, 7, 1000])
def test_regression_metrics_match_sklearn(rows: int) -> None:
    rng = np.random.default_rng(rows)
    y_true, y_pred = rng.normal(size=rows), rng.normal(size=rows) * 3
    assert stats.regression_metrics(y_true, y_pred) == pytest.approx(
        {
            "mae": metrics.mean_absolute_error(y_true, y_pred),
            "rmse": metrics.root_mean_squared_error(y_true, y_pred),
        },
        rel=1e-12,
    )


def test_mismatched_or_malformed_inputs_raise_value_error() -> None:
    with pytest.raises(ValueError):
        stats.classification_metrics([0, 1], [0, 1, 1])
    with pytest.raises(ValueError):
        stats.classification_metrics([0, 1], [0, 1], [0.2, 1.3])
    with pytest.raises(ValueError):
        stats.classification_metrics([[0, 1]], [[0, 1]])
    with pytest.raises(ValueError):
        stats.regression_metrics([1.0, math.nan], [1.0, 2.0])
    with pytest.raises(ValueError):
        stats.roc_auc([0.5, 2.0], [0.1, 0.2])
