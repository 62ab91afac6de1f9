"""Reference profiles of model versions: the data, the model's outputs on it, its performance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mloop import stats
from mloop.errors import InvalidInput
from mloop.modelio.outputs import Outputs, predict_outputs
from mloop.prediction_log import PREDICTION, output_columns
from mloop.profiles import DatasetProfile, reference_profile

CALIBRATION_TOLERANCE = 0.02


def _performance(outputs: Outputs, labels: np.ndarray) -> dict[str, Any]:
    if outputs.classes is None or outputs.probabilities is None:
        return {"metrics": stats.regression_metrics(labels, outputs.predictions)}
    positive = outputs.classes[-1]
    proba = outputs.probabilities[:, -1]
    metrics = stats.classification_metrics(labels, outputs.predictions, proba, positive=positive)
    result: dict[str, Any] = {"metrics": metrics}
    if len(outputs.classes) == 2:
        hits = (labels == positive).astype(np.float64)
        error = stats.calibration_error(proba, hits)
        result["calibration_error"] = error
        if error > CALIBRATION_TOLERANCE:
            result["calibration"] = stats.fit_calibration(proba, hits).to_dict()
    return result


def build_reference(estimator: Any, features: pd.DataFrame, labels: Any = None) -> DatasetProfile:
    """Profile the reference data together with the model's outputs (and performance) on it."""
    if not isinstance(features, pd.DataFrame) or features.empty:
        raise InvalidInput(
            "the reference must be a non-empty DataFrame of model inputs", field="reference"
        )
    outputs = predict_outputs(estimator, features)
    columns = output_columns(outputs)
    frame = pd.concat([features.reset_index(drop=True), pd.DataFrame(columns)], axis=1)
    categorical = (PREDICTION,) if outputs.classes is not None else ()
    extra: dict[str, Any] = {
        "features": [str(c) for c in features.columns],
        "outputs": list(columns),
        "task": "classification" if outputs.classes is not None else "regression",
        "classes": list(outputs.classes or ()),
    }
    if labels is not None:
        truth = np.asarray(labels)
        if len(truth) != len(features):
            raise InvalidInput(
                f"{len(features)} reference rows but {len(truth)} labels", field="reference_labels"
            )
        extra["performance"] = _performance(outputs, truth)
    profile = reference_profile(frame, categorical=categorical)
    return DatasetProfile(profile.n_rows, profile.columns, extra)
