"""Model versions compared fairly: each scores the same labelled dataset, with intervals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mloop import stats
from mloop.client import Client
from mloop.errors import InvalidInput
from mloop.retraining.gate import positive_class
from mloop.uris import ModelUri


def _version_metrics(model: Any, features: pd.DataFrame, labels: pd.Series) -> dict[str, Any]:
    positive = positive_class(model)
    predicted = np.asarray(model.predict(features))
    proba = None
    if callable(getattr(model, "predict_proba", None)) and len(getattr(model, "classes_", ())) == 2:
        proba = np.asarray(model.predict_proba(features))[:, -1]
    truth = labels.to_numpy().astype(predicted.dtype, copy=False)
    return stats.classification_with_intervals(truth, predicted, proba, positive)


def evaluate_versions(
    client: Client,
    model: str,
    versions: Sequence[int],
    features: pd.DataFrame,
    labels: pd.Series,
    *,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """One row per version and metric: ``version``, ``metric``, ``value``, ``ci_low``, ``ci_high``.

    Every version scores the same rows; intervals are those of
    ``stats.classification_with_intervals`` at 95%. Raises InvalidInput for no versions or a
    label count that differs from the rows, NotFound for a missing version.
    """
    if not versions:
        raise InvalidInput("give at least one version to evaluate", field="versions")
    if len(labels) != len(features):
        raise InvalidInput("the labels and the data differ in length", field="label_column")
    rows = []
    for version in versions:
        loaded = client.registry.load_model(ModelUri.of_version(model, version))
        found = _version_metrics(loaded.estimator, features, labels)
        for metric, value in found["metrics"].items():
            low, high = found["intervals"].get(metric, [float("nan"), float("nan")])
            rows.append(
                {
                    "version": version,
                    "metric": metric,
                    "value": value,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    return rows
