"""The scenario's models: three families tracked as runs, and the retraining recipe."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mloop.scenario import CATEGORICAL_FEATURES, NUMERIC_FEATURES

if TYPE_CHECKING:
    from mloop.client import Client

EXPERIMENT = "churn"


@dataclass(frozen=True)
class Candidate:
    """One model family the scenario tries, with its hyper-parameters."""

    name: str
    estimator: Any


def candidates(seed: int = 42, trees: int = 100) -> list[Candidate]:
    """The scenario's three model families; the ensembles grow ``trees`` trees."""
    return [
        Candidate(
            "random_forest",
            RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=1),
        ),
        Candidate(
            "gradient_boosting", GradientBoostingClassifier(n_estimators=trees, random_state=seed)
        ),
        Candidate("logistic_regression", LogisticRegression(max_iter=1000, random_state=seed)),
    ]


def churn_pipeline(estimator: Any) -> Pipeline:
    """Scale numbers, one-hot encode the region, then the estimator."""
    features = ColumnTransformer(
        [
            ("numbers", StandardScaler(), list(NUMERIC_FEATURES)),
            ("region", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL_FEATURES)),
        ]
    )
    return Pipeline([("features", features), ("model", estimator)])


_FAMILIES = {
    "random_forest": RandomForestClassifier,
    "gradient_boosting": GradientBoostingClassifier,
    "logistic_regression": LogisticRegression,
}


def train_churn(
    frame: pd.DataFrame,
    target: str,
    params: dict[str, Any],
    sample_weight: np.ndarray | None = None,
) -> Pipeline:
    """The scenario's retraining recipe (``mloop.demo:train_churn``): a fitted churn pipeline.

    ``params["model"]`` picks the family (random_forest, gradient_boosting or
    logistic_regression; default random_forest); the other params go to its estimator.
    Raises KeyError for an unknown family.
    """
    options = dict(params)
    family = _FAMILIES[str(options.pop("model", "random_forest"))]
    model = churn_pipeline(family(**options))
    fit_options = {} if sample_weight is None else {"model__sample_weight": sample_weight}
    return model.fit(frame.drop(columns=[target]), frame[target], **fit_options)


def evaluate(model: Pipeline, features: pd.DataFrame, labels: pd.Series) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and ROC AUC on held-out data."""
    predicted = model.predict(features)
    scores = model.predict_proba(features)[:, 1]
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(labels, scores)),
    }


def _confusion_png(model: Pipeline, features: pd.DataFrame, labels: pd.Series, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = confusion_matrix(labels, model.predict(features))
    figure, axis = plt.subplots(figsize=(3.2, 3.2))
    axis.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        axis.text(col, row, str(count), ha="center", va="center")
    axis.set_xticks([0, 1], ["stays", "churns"])
    axis.set_yticks([0, 1], ["stays", "churns"])
    axis.set_xlabel("predicted")
    axis.set_ylabel("actual")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def train_candidate(
    client: Client, candidate: Candidate, split: tuple[Any, ...], workdir: Path
) -> tuple[str, dict[str, float]]:
    """Train one candidate inside a tracked run; return the run id and its test metrics."""
    x_train, x_test, y_train, y_test = split
    run_id = client.tracking.create_run(EXPERIMENT, candidate.name, tags={"scenario": "bank-churn"})
    try:
        model = churn_pipeline(candidate.estimator)
        client.tracking.log_params(
            run_id, {"model": candidate.name, **candidate.estimator.get_params()}
        )
        client.tracking.log_dataset(run_id, "train", x_train, y_train, store=True)
        client.tracking.log_dataset(run_id, "test", x_test, y_test)
        started = time.perf_counter()
        model.fit(x_train, y_train)
        metrics = evaluate(model, x_test, y_test)
        metrics["training_seconds"] = time.perf_counter() - started
        client.tracking.log_metrics(run_id, metrics)
        plot = workdir / f"{candidate.name}-confusion.png"
        _confusion_png(model, x_test, y_test, plot)
        client.tracking.log_artifact(run_id, plot, artifact_path="plots")
        client.tracking.log_model(run_id, model, "model", input_example=x_train)
    except BaseException:
        client.tracking.end_run(run_id, "FAILED")
        raise
    client.tracking.end_run(run_id)
    return run_id, metrics
