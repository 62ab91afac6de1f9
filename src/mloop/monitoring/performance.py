"""Performance of a window: realized from feedback labels, and estimated (CBPE) without them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mloop import stats


def _positive(extra: dict[str, Any]) -> Any:
    classes = extra.get("classes") or []
    return classes[-1] if classes else None


def _reference_metrics(extra: dict[str, Any]) -> dict[str, float]:
    return dict(extra.get("performance", {}).get("metrics", {}))


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


def _labels_like(labels: pd.Series, classes: list[Any]) -> np.ndarray:
    if classes and all(isinstance(c, int | float) for c in classes):
        return pd.to_numeric(labels, errors="coerce").to_numpy()
    return labels.astype(str).to_numpy()


def realized_performance(window: pd.DataFrame, extra: dict[str, Any]) -> dict[str, Any] | None:
    """Metrics on rows with feedback labels, next to the reference's; None without labels."""
    if "label" not in window or "prediction" not in window:
        return None
    labeled = window[window["label"].notna()]
    if labeled.empty:
        return None
    classes = list(extra.get("classes") or [])
    truth = _labels_like(labeled["label"], classes)
    if extra.get("task") == "classification":
        positive = _positive(extra)
        column = f"proba.{positive}"
        proba = (
            labeled[column].to_numpy(dtype=np.float64)
            if column in labeled and len(classes) == 2
            else None
        )
        predicted = _labels_like(labeled["prediction"], classes)
        metrics = stats.classification_metrics(truth, predicted, proba, positive=positive)
    else:
        metrics = stats.regression_metrics(
            truth.astype(np.float64), labeled["prediction"].to_numpy(dtype=np.float64)
        )
    return _with_drops(
        {"n_labeled": len(labeled), "metrics": metrics}, metrics, _reference_metrics(extra)
    )


def estimated_performance(window: pd.DataFrame, extra: dict[str, Any]) -> dict[str, Any] | None:
    """CBPE for a binary classifier: expected metrics with a confidence band; None otherwise."""
    classes = list(extra.get("classes") or [])
    positive = _positive(extra)
    column = f"proba.{positive}"
    if (
        extra.get("task") != "classification"
        or len(classes) != 2
        or column not in window
        or window.empty
    ):
        return None
    proba = window[column].to_numpy(dtype=np.float64)
    proba = proba[np.isfinite(proba)]
    calibration = extra.get("performance", {}).get("calibration")
    calibrated = stats.Calibration.from_dict(calibration).apply(proba) if calibration else proba
    predicted = (_labels_like(window["prediction"], classes) == positive)[: len(proba)]
    estimates = stats.estimate_performance(calibrated, predicted=predicted.astype(int))
    values = {k: e.value for k, e in estimates.items()}
    result: dict[str, Any] = {
        "n": len(proba),
        "calibrated": bool(calibration),
        "estimates": {
            k: {"value": e.value, "lower": e.lower, "upper": e.upper} for k, e in estimates.items()
        },
    }
    return _with_drops(result, values, _reference_metrics(extra))
