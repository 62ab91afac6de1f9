"""Confidence intervals of realised performance metrics, so a drop can be told from noise.

Every function returns ``(lower, upper)`` at the two-sided ``confidence`` level, NaN when the
metric itself is undefined (no rows, a zero denominator, one class only).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from mloop.stats._inputs import probabilities, sample
from mloop.stats.performance import (
    classification_metrics,
    confusion_counts,
    confusion_metrics,
    regression_metrics,
)

Interval = tuple[float, float]
NO_INTERVAL: Interval = (math.nan, math.nan)
BOOTSTRAP_DRAWS = 2000


def wilson(successes: float, trials: float, confidence: float = 0.95) -> Interval:
    """Wilson score interval of a binomial proportion (Wilson 1927), as
    ``scipy.stats.binomtest(...).proportion_ci(method="wilson")``; NaN without trials."""
    if trials <= 0:
        return NO_INTERVAL
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    spread /= 1 + z * z / trials
    return max(centre - spread, 0.0), min(centre + spread, 1.0)


def confusion_intervals(
    true_positives: int,
    false_positives: int,
    false_negatives: int,
    true_negatives: int,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Intervals of accuracy, precision, recall (Wilson) and F1 (percentile bootstrap).

    F1's interval resamples the confusion matrix as a multinomial of the observed cell shares
    (Efron and Tibshirani 1993, ch. 13), ``BOOTSTRAP_DRAWS`` times with a fixed ``seed``.
    """
    tp, fp, fn, tn = true_positives, false_positives, false_negatives, true_negatives
    rows = tp + fp + fn + tn
    intervals = {
        "accuracy": wilson(tp + tn, rows, confidence),
        "precision": wilson(tp, tp + fp, confidence),
        "recall": wilson(tp, tp + fn, confidence),
        "f1": NO_INTERVAL,
    }
    if tp + fn > 0:
        cells = np.random.default_rng(seed).multinomial(
            rows, np.array([tp, fp, fn, tn]) / rows, BOOTSTRAP_DRAWS
        )
        f1 = confusion_metrics(*cells.T)["f1"]
        intervals["f1"] = _percentiles(f1[~np.isnan(f1)], confidence)
    return intervals


def mean_interval(values: npt.ArrayLike, confidence: float = 0.95) -> Interval:
    """Student-t interval of a mean (for log loss and absolute errors); NaN below two values."""
    data = sample(values, "values")
    if data.size < 2:
        return NO_INTERVAL
    half = float(stats.t.ppf(0.5 + confidence / 2, data.size - 1)) * stats.sem(data)
    return float(data.mean() - half), float(data.mean() + half)


def rmse_interval(errors: npt.ArrayLike, confidence: float = 0.95) -> Interval:
    """Square roots of the interval of the mean squared error; NaN below two values."""
    lower, upper = mean_interval(np.square(sample(errors, "errors")), confidence)
    return math.sqrt(max(lower, 0.0)), math.sqrt(max(upper, 0.0))


def auc_interval(auc: float, positives: int, negatives: int, confidence: float = 0.95) -> Interval:
    """Normal interval of ROC AUC with the Hanley and McNeil (1982) standard error.

    NaN when the AUC is undefined (a class absent); clipped to [0, 1].
    """
    if math.isnan(auc) or positives == 0 or negatives == 0:
        return NO_INTERVAL
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = auc * (1 - auc) + (positives - 1) * (q1 - auc * auc)
    variance += (negatives - 1) * (q2 - auc * auc)
    half = float(stats.norm.ppf(0.5 + confidence / 2)) * math.sqrt(
        max(variance, 0.0) / (positives * negatives)
    )
    return max(auc - half, 0.0), min(auc + half, 1.0)


def _percentiles(draws: npt.NDArray[np.float64], confidence: float) -> Interval:
    if draws.size == 0:
        return NO_INTERVAL
    lower, upper = np.quantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lower), float(upper)


def classification_with_intervals(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    proba: npt.ArrayLike | None,
    positive: Any,
    confidence: float = 0.95,
) -> dict[str, dict[str, Any]]:
    """``classification_metrics`` and a ``[lower, upper]`` interval for each of them.

    Accuracy's interval counts exact matches, so it also holds with three or more classes.
    """
    metrics = classification_metrics(y_true, y_pred, proba, positive=positive)
    truth, predicted = np.asarray(y_true), np.asarray(y_pred)
    counts = confusion_counts(truth, predicted, positive)
    intervals = confusion_intervals(*counts, confidence=confidence)
    intervals["accuracy"] = wilson(float(np.sum(truth == predicted)), truth.size, confidence)
    if proba is not None:
        positives = counts[0] + counts[2]
        roc = auc_interval(metrics["roc_auc"], positives, truth.size - positives, confidence)
        intervals["roc_auc"] = roc
        intervals["log_loss"] = _log_loss_interval(truth == positive, proba, confidence)
    return {"metrics": metrics, "intervals": _lists(intervals)}


def regression_with_intervals(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, confidence: float = 0.95
) -> dict[str, dict[str, Any]]:
    """``regression_metrics`` and a ``[lower, upper]`` interval for MAE and RMSE."""
    metrics = regression_metrics(y_true, y_pred)
    errors = sample(y_pred, "y_pred") - sample(y_true, "y_true")
    intervals = {
        "mae": mean_interval(np.abs(errors), confidence),
        "rmse": rmse_interval(errors, confidence),
    }
    return {"metrics": metrics, "intervals": _lists(intervals)}


def _log_loss_interval(
    actual: npt.NDArray[np.bool_], proba: npt.ArrayLike, confidence: float
) -> Interval:
    eps = np.finfo(np.float64).eps
    clipped = np.clip(probabilities(proba, "proba"), eps, 1 - eps)
    losses = -np.where(actual, np.log(clipped), np.log(1 - clipped))
    return mean_interval(losses, confidence)


def _lists(intervals: dict[str, Interval]) -> dict[str, list[float]]:
    return {name: [lower, upper] for name, (lower, upper) in intervals.items()}
