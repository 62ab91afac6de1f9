"""Reference profiles of model versions: the data, the model's outputs on it, its performance.

A reference profile is the data profile of the reference set (features and model outputs)
plus ``ReferenceMeta``, what monitoring needs to know about the model. Stored, it is the
profile's dict (``mloop.profiles.profile_to_dict``) with one more key, ``"reference"``::

    {"task": "classification",          # or "regression"
     "classes": [0, 1],                 # class labels in the model's order; [] for regression
     "positive_class": 1,               # the last class; null for regression
     "features": ["age", "income"],     # model input columns
     "outputs": ["prediction", "proba.0", "proba.1"],
     "metrics": {"accuracy": 0.91},     # performance on labelled reference rows; {} without
     "calibration_error": 0.013,        # binary classifiers with labels; null otherwise
     "calibration": {"proba": [...], "calibrated": [...]}}   # null when already calibrated

Profiles stored before this form kept the same facts under ``"extra"`` (``performance`` held
``metrics``, ``calibration_error`` and ``calibration``); ``reference_from_dict`` reads both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from mloop import stats
from mloop.errors import InvalidInput
from mloop.modelio.outputs import Outputs, predict_outputs
from mloop.prediction_log import PREDICTION, output_columns
from mloop.profiles import DatasetProfile, profile_from_dict, profile_to_dict, reference_profile

CALIBRATION_TOLERANCE = 0.02
META_KEY = "reference"
LEGACY_KEY = "extra"


class Task(StrEnum):
    """What the model predicts."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


@dataclass(frozen=True)
class ReferenceMeta:
    """What monitoring knows about a model from its reference set (JSON form: module doc)."""

    task: Task
    features: tuple[str, ...]
    outputs: tuple[str, ...]
    classes: tuple[Any, ...] = ()
    positive_class: Any = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    calibration_error: float | None = None
    calibration: stats.Calibration | None = None

    @property
    def binary(self) -> bool:
        """Whether the model is a classifier of exactly two classes."""
        return self.task is Task.CLASSIFICATION and len(self.classes) == 2

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form described in the module docstring."""
        return {
            "task": self.task.value,
            "classes": list(self.classes),
            "positive_class": self.positive_class,
            "features": list(self.features),
            "outputs": list(self.outputs),
            "metrics": dict(self.metrics),
            "calibration_error": self.calibration_error,
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceMeta:
        """Read ``to_dict``'s form; InvalidInput (field ``reference``) when it is malformed."""
        try:
            return cls._parse(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"malformed reference metadata: {exc!r}", field=META_KEY) from exc

    @classmethod
    def _parse(cls, data: Mapping[str, Any]) -> ReferenceMeta:
        calibration = data.get("calibration")
        error = data.get("calibration_error")
        return cls(
            task=Task(data["task"]),
            features=tuple(str(name) for name in data["features"]),
            outputs=tuple(str(name) for name in data["outputs"]),
            classes=tuple(data.get("classes") or ()),
            positive_class=data.get("positive_class"),
            metrics={
                str(k): np.nan if v is None else float(v)
                for k, v in (data.get("metrics") or {}).items()
            },
            calibration_error=None if error is None else float(error),
            calibration=None if calibration is None else stats.Calibration.from_dict(calibration),
        )


@dataclass(frozen=True)
class ReferenceProfile:
    """The reference of a model version: its data profile and what is known of the model."""

    profile: DatasetProfile
    meta: ReferenceMeta

    @property
    def features(self) -> list[str]:
        """The model's input columns that the profile holds, in the model's order."""
        return [name for name in self.meta.features if name in self.profile.columns]

    @property
    def outputs(self) -> list[str]:
        """The model's output columns that the profile holds (``prediction`` first)."""
        return [name for name in self.meta.outputs if name in self.profile.columns]


def reference_to_dict(reference: ReferenceProfile) -> dict[str, Any]:
    """The stored form: the profile's dict with the metadata under ``"reference"``."""
    return {**profile_to_dict(reference.profile), META_KEY: reference.meta.to_dict()}


def reference_from_dict(data: dict[str, Any]) -> ReferenceProfile:
    """Read a stored reference, in today's form or the older one with ``"extra"``.

    Raises InvalidInput for a malformed profile or metadata.
    """
    profile = profile_from_dict(data)
    if isinstance(data.get(META_KEY), Mapping):
        return ReferenceProfile(profile, ReferenceMeta.from_dict(data[META_KEY]))
    legacy = data.get(LEGACY_KEY)
    return ReferenceProfile(profile, _legacy_meta(legacy or {}, profile))


def _legacy_meta(extra: Mapping[str, Any], profile: DatasetProfile) -> ReferenceMeta:
    """The metadata of a profile stored with free-form ``extra`` keys."""
    if not isinstance(extra, Mapping):
        raise InvalidInput("malformed reference metadata: extra is not an object", field=META_KEY)
    classes = list(extra.get("classes") or [])
    performance = extra.get("performance") or {}
    outputs = list(extra.get("outputs") or [])
    return ReferenceMeta.from_dict(
        {
            "task": extra.get("task") or Task.REGRESSION.value,
            "classes": classes,
            "positive_class": classes[-1] if classes else None,
            "features": extra.get("features", [c for c in profile.columns if c not in outputs]),
            "outputs": outputs,
            "metrics": performance.get("metrics"),
            "calibration_error": performance.get("calibration_error"),
            "calibration": performance.get("calibration"),
        }
    )


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
            result["calibration"] = stats.fit_calibration(proba, hits)
    return result


def _meta(features: pd.DataFrame, outputs: Outputs, columns: list[str]) -> ReferenceMeta:
    classes = tuple(outputs.classes or ())
    return ReferenceMeta(
        task=Task.CLASSIFICATION if outputs.classes is not None else Task.REGRESSION,
        features=tuple(str(c) for c in features.columns),
        outputs=tuple(columns),
        classes=classes,
        positive_class=classes[-1] if classes else None,
    )


def build_reference(estimator: Any, features: pd.DataFrame, labels: Any = None) -> ReferenceProfile:
    """Profile the reference data together with the model's outputs (and performance) on it.

    Returns the profile of features and output columns with the model's ``ReferenceMeta``;
    reference metrics and calibration only with ``labels`` (one per row). Raises InvalidInput
    for an empty or non-DataFrame ``features`` or labels of the wrong length.
    """
    if not isinstance(features, pd.DataFrame) or features.empty:
        raise InvalidInput(
            "the reference must be a non-empty DataFrame of model inputs", field="reference"
        )
    outputs = predict_outputs(estimator, features)
    columns = output_columns(outputs)
    frame = pd.concat([features.reset_index(drop=True), pd.DataFrame(columns)], axis=1)
    categorical = (PREDICTION,) if outputs.classes is not None else ()
    meta = _meta(features, outputs, list(columns))
    if labels is not None:
        truth = np.asarray(labels)
        if len(truth) != len(features):
            raise InvalidInput(
                f"{len(features)} reference rows but {len(truth)} labels", field="reference_labels"
            )
        meta = replace(meta, **_performance(outputs, truth))
    return ReferenceProfile(reference_profile(frame, categorical=categorical), meta)
