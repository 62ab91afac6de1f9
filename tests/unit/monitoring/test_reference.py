"""ReferenceMeta and reference profiles: JSON round trips, the older stored form, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from mloop import stats
from mloop.errors import InvalidInput
from mloop.monitoring.performance import estimated_performance, realized_performance
from mloop.profiles import profile_to_dict
from mloop.reference import (
    ReferenceMeta,
    ReferenceProfile,
    Task,
    build_reference,
    reference_from_dict,
    reference_to_dict,
)

CLASSIFIER = ReferenceMeta(
    task=Task.CLASSIFICATION,
    features=("age", "income"),
    outputs=("prediction", "proba.0", "proba.1"),
    classes=(0, 1),
    positive_class=1,
    metrics={"accuracy": 0.9, "f1": 0.8},
    calibration_error=0.05,
    calibration=stats.Calibration((0.1, 0.9), (0.2, 0.8)),
)


def _frame(n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.normal(40, 9, n), "income": rng.normal(50, 12, n)})
    labels = (frame["age"] + rng.normal(0, 9, n) > 40).astype(int).to_numpy()
    return frame, labels


def _json(data: dict[str, object]) -> dict[str, object]:
    return json.loads(json.dumps(data, allow_nan=False))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "meta",
    [CLASSIFIER, ReferenceMeta(Task.REGRESSION, ("x",), ("prediction",))],
    ids=["binary", "regression"],
)
def test_meta_round_trips_through_json(meta: ReferenceMeta) -> None:
    assert ReferenceMeta.from_dict(_json(meta.to_dict())) == meta


def test_a_built_reference_round_trips_with_its_metadata() -> None:
    frame, labels = _frame()
    reference = build_reference(LogisticRegression().fit(frame, labels), frame, labels)
    meta = reference.meta
    assert meta.task is Task.CLASSIFICATION and meta.binary and meta.positive_class == 1
    assert meta.features == ("age", "income") and meta.outputs[0] == "prediction"
    assert set(meta.metrics) >= {"accuracy", "f1"} and meta.calibration_error is not None
    assert reference.features == ["age", "income"]
    assert reference_from_dict(_json(reference_to_dict(reference))) == reference


def test_a_regression_reference_without_labels_has_no_metrics() -> None:
    frame, _ = _frame()
    model = LinearRegression().fit(frame[["age"]], frame["income"])
    meta = build_reference(model, frame[["age"]]).meta
    assert meta == ReferenceMeta(Task.REGRESSION, ("age",), ("prediction",))


def test_a_reference_stored_with_extra_still_loads() -> None:
    frame, labels = _frame()
    built = build_reference(LogisticRegression().fit(frame, labels), frame)
    stored = {
        **profile_to_dict(built.profile),
        "extra": {
            "features": ["age", "income"],
            "outputs": ["prediction", "proba.0", "proba.1"],
            "task": "classification",
            "classes": [0, 1],
            "performance": {
                "metrics": {"accuracy": 0.9, "f1": 0.8},
                "calibration_error": 0.05,
                "calibration": {"proba": [0.1, 0.9], "calibrated": [0.2, 0.8]},
            },
        },
    }
    loaded = reference_from_dict(_json(stored))
    assert loaded == ReferenceProfile(built.profile, CLASSIFIER)


def test_an_old_reference_without_labels_or_features_gets_defaults() -> None:
    frame, _ = _frame()
    built = build_reference(LinearRegression().fit(frame, frame["age"]), frame)
    stored = {**profile_to_dict(built.profile), "extra": {"outputs": ["prediction"]}}
    meta = reference_from_dict(stored).meta
    assert meta == ReferenceMeta(Task.REGRESSION, ("age", "income"), ("prediction",))


@pytest.mark.parametrize(
    "broken",
    [{"task": "ranking"}, {"features": None}, {"metrics": {"f1": "high"}}, {"calibration": {}}],
)
def test_malformed_metadata_is_invalid_input(broken: dict[str, object]) -> None:
    with pytest.raises(InvalidInput, match="malformed reference metadata") as caught:
        ReferenceMeta.from_dict({**CLASSIFIER.to_dict(), **broken})
    assert caught.value.field == "reference"


def test_performance_reads_the_typed_metadata() -> None:
    window = pd.DataFrame(
        {"prediction": [1, 0, 1, 1], "proba.1": [0.9, 0.2, 0.7, 0.6], "label": [1, 0, 0, 1]}
    )
    realized = realized_performance(window, CLASSIFIER)
    assert realized is not None and realized["metrics"]["accuracy"] == 0.75
    assert realized["drop"] == {} and realized["n_labeled"] < realized["min_labels"]
    lower, upper = realized["intervals"]["accuracy"]
    assert lower < 0.75 < upper
    assert realized_performance(window, CLASSIFIER, min_labels=4)["drop"]["accuracy"] == (
        pytest.approx(CLASSIFIER.metrics["accuracy"] - upper)
    )
    estimated = estimated_performance(window, CLASSIFIER)
    assert estimated is not None and estimated["calibrated"] is True and estimated["n"] == 4


def test_probabilities_a_statistic_refuses_name_their_column() -> None:
    window = pd.DataFrame({"prediction": [1, 0], "proba.1": [1.7, 0.2]})
    with pytest.raises(InvalidInput, match=r"column 'proba\.1'") as caught:
        estimated_performance(window, CLASSIFIER)
    assert caught.value.field == "proba.1"
