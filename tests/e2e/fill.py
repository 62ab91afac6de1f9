"""A realistic store for the dashboard's tests, filled through mloop's public APIs only.

The churn scenario in small: three tracked runs with metric histories, ``churn`` v1 as
champion with its reference, logged traffic that shifts (the downturn) with labels, two
monitor runs (the second alerts on the shifted features), a retraining with its gate report
(its challenger handed to a canary whatever the verdict), rollout decisions on the canary's
traffic, and the champion alias moved to v2 so that it can be rolled back.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mloop
from mloop.entities import GateConfig, Metric, RetrainingPolicy, Triggers
from mloop.monitoring.monitor import run_monitor
from mloop.prediction_log import FEATURE_PREFIX, PREDICTION, PROBA_PREFIX, Window
from mloop.retraining import retrain
from mloop.rollouts import evaluate
from mloop.scenario import CATEGORICAL_FEATURES, NUMERIC_FEATURES, TARGET, churn_customers
from mloop.services.rollouts import make_policy

MODEL = "churn"
RECIPE = "tests.e2e.fill:train"
FAMILIES: dict[str, Any] = {
    "random_forest": lambda: RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0),
    "gradient_boosting": lambda: GradientBoostingClassifier(n_estimators=8, random_state=0),
    "logistic_regression": lambda: LogisticRegression(max_iter=500),
}


@dataclass(frozen=True)
class Filled:
    """What the fill made: the run ids by family and the features that were shifted."""

    runs: dict[str, str]
    shifted: tuple[str, ...] = ("annual_income", "avg_transaction_amount", "credit_score")


def pipeline(estimator: Any) -> Pipeline:
    """Scale the numbers, one-hot encode the region, then ``estimator``."""
    features = ColumnTransformer(
        [
            ("numbers", StandardScaler(), list(NUMERIC_FEATURES)),
            ("region", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL_FEATURES)),
        ]
    )
    return Pipeline([("features", features), ("model", estimator)])


def train(frame: pd.DataFrame, target: str, params: dict[str, Any], **_: Any) -> Pipeline:
    """The retraining recipe of the filled store: a logistic regression churn pipeline."""
    model = pipeline(LogisticRegression(max_iter=int(params.get("max_iter", 500))))
    return model.fit(frame.drop(columns=[target]), frame[target])


def _scores(model: Pipeline, features: pd.DataFrame, labels: pd.Series) -> dict[str, float]:
    predicted = model.predict(features)
    return {
        "accuracy": accuracy_score(labels, predicted),
        "f1": f1_score(labels, predicted),
        "precision": precision_score(labels, predicted, zero_division=0),
        "recall": recall_score(labels, predicted),
    }


def track_runs(client: mloop.Client, data: pd.DataFrame) -> dict[str, str]:
    """Three runs of the ``churn`` experiment, each with a 300-step loss history."""
    features, labels = data.drop(columns=[TARGET]), data[TARGET]
    train_x, test_x = features.iloc[:1500], features.iloc[1500:]
    train_y, test_y = labels.iloc[:1500], labels.iloc[1500:]
    runs = {}
    for index, (family, make) in enumerate(FAMILIES.items()):
        run_id = client.create_run(MODEL, family)
        model = pipeline(make()).fit(train_x, train_y)
        client.log_params(run_id, {"model": family, "rows": 1500})
        steps = np.arange(300)
        loss = 0.7 * np.exp(-steps / (60 + 20 * index)) + 0.3 + 0.01 * np.sin(steps)
        now = time.time()
        history = [
            Metric("loss", float(v), int(i), now + i) for i, v in zip(steps, loss, strict=True)
        ]
        client.log_batch(run_id, metrics=history)
        client.log_metrics(run_id, _scores(model, test_x, test_y))
        client.log_dataset(run_id, "train", train_x, train_y, store=True)
        client.log_model(run_id, model, input_example=train_x.iloc[:5])
        client.end_run(run_id)
        runs[family] = run_id
    return runs


def log_traffic(
    client: mloop.Client,
    model: Any,
    rows: int,
    *,
    downturn: float,
    seed: int,
    version: int,
    arm: str = "",
    at: float | None = None,
) -> None:
    """Score ``rows`` customers, log them as ``version`` on ``arm`` and send their labels."""
    data = churn_customers(rows, seed=seed, economic_downturn=downturn)
    features = data.drop(columns=[TARGET])
    proba = model.predict_proba(features)
    ids = [uuid.uuid4().hex for _ in range(rows)]
    start = time.time() if at is None else at
    frame = pd.DataFrame(
        {
            "prediction_id": ids,
            "ts": start + np.arange(rows) * 0.05,
            "latency_ms": np.random.default_rng(seed).gamma(2.0, 2.0, rows),
        }
    )
    frame = pd.concat([frame, features.add_prefix(FEATURE_PREFIX)], axis=1)
    frame[PREDICTION] = model.predict(features)
    frame[f"{PROBA_PREFIX}0"], frame[f"{PROBA_PREFIX}1"] = proba[:, 0], proba[:, 1]
    client.prediction_log.write_chunk(model=MODEL, version=version, arm=arm, frame=frame)
    labelled = rows * 2 // 3
    client.feedback(dict(zip(ids[:labelled], data[TARGET].tolist()[:labelled], strict=True)))


def _policy() -> RetrainingPolicy:
    return RetrainingPolicy(
        model=MODEL,
        recipe=RECIPE,
        target=TARGET,
        triggers=Triggers(drift=True, metric="f1", metric_drop=0.03, new_labels=500),
        gate=GateConfig(metric="f1", resamples=200, guardrails={"accuracy": 0.05}),
        window="2000",
        holdout=0.3,
        cooldown_seconds=0.0,
        on_pass="canary",
    )


def fill(client: mloop.Client) -> Filled:
    """Fill ``client``'s store with the whole loop (see the module); a few seconds."""
    data = churn_customers(2000, seed=3)
    runs = track_runs(client, data)
    champion_run = runs["random_forest"]
    features, labels = data.drop(columns=[TARGET]), data[TARGET]
    client.register_model(
        champion_run, MODEL, reference=features.iloc[1500:], reference_labels=labels.iloc[1500:]
    )
    client.set_alias(MODEL, "champion", 1, reason="best F1 of the three experiments")
    champion = client.load_model(f"models:/{MODEL}/1")
    before = time.time() - 3600
    log_traffic(client, champion, 1000, downturn=0.0, seed=11, version=1, at=before)
    run_monitor(client, f"{MODEL}@champion", Window(last_n=1000))
    log_traffic(client, champion, 1500, downturn=1.0, seed=12, version=1, at=before + 1800)
    run_monitor(client, f"{MODEL}@champion", Window(last_n=1500))
    client.set_retraining_policy(_policy())
    decision = retrain(client, MODEL, force=True)
    if decision.challenger_version is None:
        raise RuntimeError(f"the retraining trained no challenger: {decision.reason}")
    _canary(client, decision.challenger_version)
    return Filled(runs)


def _canary(client: mloop.Client, version: int) -> None:
    """A canary of ``version`` with a low sample floor, its traffic and one evaluation; the
    canary promotes it, moving the champion alias (so a rollback has somewhere to go)."""
    if client.rollouts.running(MODEL) is not None:
        client.rollouts.stop(MODEL, reason="replaced by a canary with a lower sample floor")
    policy = make_policy(
        "canary", steps=(0.5, 1.0), min_sample=100, promote_when="not_worse", margin=0.1
    )
    client.rollouts.start(MODEL, version, policy, reason="canary after the gate")
    challenger = client.load_model(f"models:/{MODEL}/{version}")
    champion = client.load_model(f"models:/{MODEL}/1")
    log_traffic(client, champion, 600, downturn=1.0, seed=21, version=1)
    log_traffic(client, challenger, 600, downturn=1.0, seed=22, version=version, arm="challenger")
    evaluate(client, MODEL)
    log_traffic(client, challenger, 300, downturn=1.0, seed=23, version=version, arm="challenger")
    evaluate(client, MODEL)
    if client.get_alias(MODEL, "champion") != version:
        client.set_alias(MODEL, "champion", version, reason="the canary held up")
