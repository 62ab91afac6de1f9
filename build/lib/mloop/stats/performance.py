"""Realised model performance once ground truth has arrived.

Ratios with a zero denominator (precision without predicted positives, recall without actual
positives) are undefined: NaN, not scikit-learn's 0, and so is F1 without actual positives (it
averages recall), so a window without positives cannot look like a collapse. Every metric is
NaN when there are no rows, and ROC AUC is NaN when one class is absent.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from mloop.stats._inputs import FloatArray, probabilities, same_length, sample

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1")


def confusion_counts(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, positive: Any = 1
) -> tuple[int, int, int, int]:
    """(true positives, false positives, false negatives, true negatives) of ``positive``."""
    truth, predicted = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    same_length(truth, predicted)
    actual, flagged = truth == positive, predicted == positive
    true_positives = int(np.sum(actual & flagged))
    return (
        true_positives,
        int(np.sum(flagged)) - true_positives,
        int(np.sum(actual)) - true_positives,
        int(np.sum(~actual & ~flagged)),
    )


def classification_metrics(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    proba: npt.ArrayLike | None = None,
    positive: Any = 1,
) -> dict[str, float]:
    """Accuracy, precision, recall, F1 of ``positive`` vs the rest; ROC AUC, log loss if proba."""
    truth, predicted = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    same_length(truth, predicted)
    names = CLASSIFICATION_METRICS + (() if proba is None else ("roc_auc", "log_loss"))
    if truth.size == 0:
        return dict.fromkeys(names, math.nan)
    actual = truth == positive
    metrics = confusion_metrics(*confusion_counts(truth, predicted, positive))
    result = {name: float(value) for name, value in metrics.items()}
    result["accuracy"] = float(np.mean(truth == predicted))  # also right with 3+ classes
    if proba is not None:
        scores = probabilities(proba, "proba")
        same_length(truth, scores)
        result["roc_auc"] = roc_auc(actual, scores)
        result["log_loss"] = log_loss(actual, scores)
    return result


def confusion_metrics(
    true_positives: npt.ArrayLike,
    false_positives: npt.ArrayLike,
    false_negatives: npt.ArrayLike,
    true_negatives: npt.ArrayLike,
) -> dict[str, FloatArray]:
    """Accuracy, precision, recall and F1 from (possibly expected) confusion counts, elementwise."""
    tp, fp, fn, tn = (
        np.asarray(count, dtype=np.float64)
        for count in (true_positives, false_positives, false_negatives, true_negatives)
    )
    return {
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": np.where(tp + fn > 0, _ratio(2 * tp, 2 * tp + fp + fn), np.nan),
    }


def roc_auc(positive: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """ROC AUC, row i counting as positive with weight positive[i] and negative with 1 - it.

    0/1 labels give the usual AUC; tied scores earn half credit; NaN when a class has no weight.
    """
    positive_weight = probabilities(positive, "positive")
    score = sample(scores, "scores")
    same_length(positive_weight, score)
    distinct, group = np.unique(score, return_inverse=True)
    positives = np.bincount(group, weights=positive_weight, minlength=distinct.size)
    negatives = np.bincount(group, weights=1 - positive_weight, minlength=distinct.size)
    pairs = positives.sum() * negatives.sum()
    if pairs == 0:
        return math.nan
    negatives_below = np.cumsum(negatives) - negatives
    return float(positives @ (negatives_below + negatives / 2) / pairs)


def log_loss(actual: npt.ArrayLike, proba: npt.ArrayLike) -> float:
    """Mean binary cross-entropy, probabilities clipped to [eps, 1 - eps]; NaN when empty."""
    outcome = probabilities(actual, "actual")
    eps = np.finfo(np.float64).eps
    clipped = np.clip(probabilities(proba, "proba"), eps, 1 - eps)
    same_length(outcome, clipped)
    if outcome.size == 0:
        return math.nan
    return float(-np.mean(outcome * np.log(clipped) + (1 - outcome) * np.log(1 - clipped)))


def regression_metrics(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> dict[str, float]:
    """Mean absolute error and root mean squared error; NaN when there are no rows."""
    truth, predicted = sample(y_true, "y_true"), sample(y_pred, "y_pred")
    same_length(truth, predicted)
    if truth.size == 0:
        return {"mae": math.nan, "rmse": math.nan}
    error = predicted - truth
    return {"mae": float(np.mean(np.abs(error))), "rmse": math.sqrt(float(np.mean(error**2)))}


def _labels(values: npt.ArrayLike, name: str) -> npt.NDArray[Any]:
    """A 1-D vector of class labels of any type."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """numerator / denominator, NaN where the denominator is 0."""
    return np.divide(
        numerator, denominator, out=np.full_like(numerator, np.nan), where=denominator > 0
    )
