"""The churn scenario for retraining: a champion trained before the downturn, traffic after it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

import mloop
from mloop.demo import churn_pipeline
from mloop.entities import GateConfig, RetrainingPolicy, Triggers
from mloop.prediction_log import FEATURE_PREFIX, PREDICTION, PROBA_PREFIX
from mloop.scenario import TARGET, churn_customers
from tests.conftest import STORES, open_store_url, store_ids

RECIPE = "mloop.demo:train_churn"


@dataclass
class Scenario:
    """A store with churn v1 as champion (its training data stored) and its client."""

    client: mloop.Client
    champion: object


def train_champion(client: mloop.Client, rows: int = 1500) -> object:
    """Fit v1 (a shallow forest) before the downturn, store its training data, make it champion."""
    data = churn_customers(rows, seed=3)
    features, labels = data.drop(columns=[TARGET]), data[TARGET]
    forest = RandomForestClassifier(n_estimators=10, max_depth=2, random_state=0)
    model = churn_pipeline(forest).fit(features, labels)
    run_id = client.create_run("churn", "champion")
    client.log_dataset(run_id, "train", features, labels, store=True)
    client.log_model(run_id, model, input_example=features)
    client.end_run(run_id)
    client.register_model(
        run_id, "churn", reference=features.iloc[:500], reference_labels=labels.iloc[:500]
    )
    client.set_alias("churn", "champion", 1, reason="first champion")
    return model


def log_traffic(
    client: mloop.Client, model: object, rows: int, *, downturn: float, seed: int, version: int = 1
) -> pd.DataFrame:
    """Score ``rows`` customers with ``model``, log them as version ``version``, send labels."""
    data = churn_customers(rows, seed=seed, economic_downturn=downturn)
    features = data.drop(columns=[TARGET])
    proba = model.predict_proba(features)  # type: ignore[attr-defined]
    ids = [uuid.uuid4().hex for _ in range(rows)]
    now = time.time()
    frame = pd.DataFrame({"prediction_id": ids, "ts": now + np.arange(rows) * 1e-4})
    frame = pd.concat([frame, features.add_prefix(FEATURE_PREFIX)], axis=1)
    frame[PREDICTION] = model.predict(features)  # type: ignore[attr-defined]
    frame[f"{PROBA_PREFIX}0"], frame[f"{PROBA_PREFIX}1"] = proba[:, 0], proba[:, 1]
    client.prediction_log.write_chunk(model="churn", version=version, arm="", frame=frame)
    client.feedback(dict(zip(ids, data[TARGET].tolist(), strict=True)))
    return data


def policy(**changes: object) -> RetrainingPolicy:
    """The scenario's policy: 500 new labels, an F1 drop over 0.03 or drift; an F1 gate."""
    values: dict[str, object] = {
        "model": "churn",
        "recipe": RECIPE,
        "target": TARGET,
        "params": {"model": "logistic_regression", "max_iter": 500},
        "triggers": Triggers(drift=True, metric="f1", metric_drop=0.03, new_labels=500),
        "gate": GateConfig(metric="f1", resamples=200, guardrails={"accuracy": 0.05}),
        "window": "2000",
        "cooldown_seconds": 0.0,
        "max_per_day": 100,
    }
    values.update(changes)
    return RetrainingPolicy(**values)  # type: ignore[arg-type]


@pytest.fixture
def scenario(client: mloop.Client) -> Scenario:
    """The parametrized store with the churn champion and 1,200 labelled downturn requests."""
    champion = train_champion(client)
    log_traffic(client, champion, 1200, downturn=1.0, seed=11)
    return Scenario(client, champion)


# The loop on every SQL backend and over HTTP on SQLite; the REST store on PostgreSQL runs the
# cheaper store tests (test_store.py), which cover the same API routes.
LOOP_STORES = [store for store in STORES if store != ("rest", "postgresql")]


@pytest.fixture(params=LOOP_STORES, ids=store_ids(LOOP_STORES))
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The retraining loop's store: SQLite and PostgreSQL, and an mloop server on SQLite."""
    yield from open_store_url(request, monkeypatch)
