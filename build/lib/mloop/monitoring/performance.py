"""Performance of a window: realized from feedback labels, and estimated (CBPE) without them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mloop import stats
from mloop.monitoring.methods import statistics_on
from mloop.prediction_log import LABEL, PREDICTION, PROBA_PREFIX
from mloop.reference import ReferenceMeta, Task

MIN_LABELS = 30
"""Fewer feedback labels than this in a window give metrics but no drop to alert on."""
ERROR_METRICS = frozenset({"log_loss", "mae", "rmse"})
"""Metrics where higher is worse: they alert on a rise, the others on a drop."""
UNDEFINED = {
    "precision": "no predicted positives",
    "recall": "no actual positives",
    "f1": "no actual positives",
    "roc_auc": "only one class among the labels",
}


def _changes(
    current: dict[str, float], intervals: dict[str, list[float]], reference: dict[str, float]
) -> tuple[dict[str, float], dict[str, float]]:
    """Per metric, the drop (or, for error metrics, the rise) that the interval supports.

    A drop is the reference minus the interval's upper end, a rise the lower end minus the
    reference: positive only when the whole interval is on the worse side of the reference.
    """
    drops: dict[str, float] = {}
    rises: dict[str, float] = {}
    for name, value in current.items():
        lower, upper = intervals.get(name, [math.nan, math.nan])
        if name not in reference or not math.isfinite(value) or math.isnan(lower):
            continue
        if name in ERROR_METRICS:
            rises[name] = lower - reference[name]
        else:
            drops[name] = reference[name] - upper
    return drops, rises


def _with_changes(
    result: dict[str, Any],
    current: dict[str, float],
    intervals: dict[str, list[float]],
    reference: dict[str, float],
) -> dict[str, Any]:
    result["reference"] = reference
    result["drop"], result["rise"] = _changes(current, intervals, reference)
    return result


def _labels_like(labels: pd.Series, classes: Sequence[Any]) -> np.ndarray:
    if classes and all(isinstance(c, int | float) for c in classes):
        return pd.to_numeric(labels, errors="coerce").to_numpy()
    return labels.astype(str).to_numpy()


def _metrics(labeled: pd.DataFrame, meta: ReferenceMeta) -> dict[str, Any]:
    """Metrics and their 95% intervals (``{"metrics": ..., "intervals": ...}``)."""
    truth = _labels_like(labeled[LABEL], meta.classes)
    if meta.task is not Task.CLASSIFICATION:
        predicted = labeled[PREDICTION].to_numpy(dtype=np.float64)
        return stats.regression_with_intervals(truth.astype(np.float64), predicted)
    column = f"{PROBA_PREFIX}{meta.positive_class}"
    scored = column in labeled and meta.binary
    proba = labeled[column].to_numpy(dtype=np.float64) if scored else None
    predicted = _labels_like(labeled[PREDICTION], meta.classes)
    return stats.classification_with_intervals(truth, predicted, proba, meta.positive_class)


def _undefined(metrics: dict[str, float]) -> dict[str, str]:
    return {
        name: UNDEFINED.get(name, "no rows to compute it on")
        for name, value in metrics.items()
        if math.isnan(value)
    }


def realized_performance(
    window: pd.DataFrame, meta: ReferenceMeta, *, min_labels: int = MIN_LABELS
) -> dict[str, Any] | None:
    """Metrics on rows with feedback labels, with intervals, next to the reference's.

    Returns ``n_labeled``, ``metrics`` (NaN when undefined, with the reason in ``undefined``),
    95% ``intervals`` (``[lower, upper]``), the ``reference`` metrics, and the ``drop`` (or for
    log loss, MAE and RMSE the ``rise``) each metric's interval supports against the
    reference — only with at least ``min_labels`` labels, so a handful of labels never alerts.
    None without labels. Raises InvalidInput (field ``label``) for labels or outputs the
    metrics cannot be computed on.
    """
    if LABEL not in window or PREDICTION not in window:
        return None
    labeled = window[window[LABEL].notna()]
    if labeled.empty:
        return None
    with statistics_on(LABEL):
        measured = _metrics(labeled, meta)
    metrics, intervals = measured["metrics"], measured["intervals"]
    result = {
        "n_labeled": len(labeled),
        "min_labels": min_labels,
        "metrics": metrics,
        "intervals": intervals,
        "undefined": _undefined(metrics),
    }
    enough = len(labeled) >= min_labels
    return _with_changes(result, metrics, intervals if enough else {}, dict(meta.metrics))


def estimated_performance(window: pd.DataFrame, meta: ReferenceMeta) -> dict[str, Any] | None:
    """CBPE for a binary classifier: expected metrics with a confidence band; None otherwise.

    Returns ``n`` rows scored, whether the probabilities were ``calibrated``, ``estimates``
    (value, lower, upper per metric), the ``reference`` metrics and the ``drop`` each
    metric's band supports (reference minus the band's upper end).
    Raises InvalidInput naming the probability column when its values are not probabilities.
    """
    column = f"{PROBA_PREFIX}{meta.positive_class}"
    if not meta.binary or column not in window or window.empty:
        return None
    proba = window[column].to_numpy(dtype=np.float64)
    proba = proba[np.isfinite(proba)]
    positive = _labels_like(window[PREDICTION], meta.classes) == meta.positive_class
    predicted = positive[: len(proba)].astype(int)
    with statistics_on(column):
        calibrated = proba if meta.calibration is None else meta.calibration.apply(proba)
        estimates = stats.estimate_performance(calibrated, predicted=predicted)
    result: dict[str, Any] = {
        "n": len(proba),
        "calibrated": meta.calibration is not None,
        "estimates": {
            k: {"value": e.value, "lower": e.lower, "upper": e.upper} for k, e in estimates.items()
        },
    }
    values = {k: e.value for k, e in estimates.items()}
    bands = {k: [e.lower, e.upper] for k, e in estimates.items()}
    return _with_changes(result, values, bands, dict(meta.metrics))
