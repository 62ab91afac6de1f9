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


def _with_drops(
    result: dict[str, Any], current: dict[str, float], reference: dict[str, float]
) -> dict[str, Any]:
    result["reference"] = reference
    result["drop"] = {
        k: reference[k] - v
        for k, v in current.items()
        if k in reference and math.isfinite(v) and k != "log_loss"
    }
    return result


def _labels_like(labels: pd.Series, classes: Sequence[Any]) -> np.ndarray:
    if classes and all(isinstance(c, int | float) for c in classes):
        return pd.to_numeric(labels, errors="coerce").to_numpy()
    return labels.astype(str).to_numpy()


def _metrics(labeled: pd.DataFrame, meta: ReferenceMeta) -> dict[str, float]:
    truth = _labels_like(labeled[LABEL], meta.classes)
    if meta.task is not Task.CLASSIFICATION:
        return stats.regression_metrics(
            truth.astype(np.float64), labeled[PREDICTION].to_numpy(dtype=np.float64)
        )
    column = f"{PROBA_PREFIX}{meta.positive_class}"
    scored = column in labeled and meta.binary
    proba = labeled[column].to_numpy(dtype=np.float64) if scored else None
    predicted = _labels_like(labeled[PREDICTION], meta.classes)
    return stats.classification_metrics(truth, predicted, proba, positive=meta.positive_class)


def realized_performance(window: pd.DataFrame, meta: ReferenceMeta) -> dict[str, Any] | None:
    """Metrics on rows with feedback labels, next to the reference's; None without labels.

    Returns ``n_labeled``, ``metrics``, the ``reference`` metrics and each metric's ``drop``
    (reference minus current). Raises InvalidInput (field ``label``) for labels or outputs the
    metrics cannot be computed on.
    """
    if LABEL not in window or PREDICTION not in window:
        return None
    labeled = window[window[LABEL].notna()]
    if labeled.empty:
        return None
    with statistics_on(LABEL):
        metrics = _metrics(labeled, meta)
    return _with_drops({"n_labeled": len(labeled), "metrics": metrics}, metrics, dict(meta.metrics))


def estimated_performance(window: pd.DataFrame, meta: ReferenceMeta) -> dict[str, Any] | None:
    """CBPE for a binary classifier: expected metrics with a confidence band; None otherwise.

    Returns ``n`` rows scored, whether the probabilities were ``calibrated``, ``estimates``
    (value, lower, upper per metric), the ``reference`` metrics and each metric's ``drop``.
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
    return _with_drops(result, values, dict(meta.metrics))
