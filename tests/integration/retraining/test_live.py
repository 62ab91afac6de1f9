"""The whole loop against a real model server on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import httpx

import mloop
from mloop.retraining import retrain
from mloop.scenario import TARGET, churn_customers
from mloop.serving import ServeConfig
from tests.integration.serving.conftest import LiveServer, free_port

from .conftest import policy, train_champion


def _traffic(http: httpx.Client, rows: int) -> None:
    data = churn_customers(rows, seed=21, economic_downturn=1.0)
    for start in range(0, rows, 100):
        part = data.iloc[start : start + 100]
        records = json.loads(part.drop(columns=[TARGET]).to_json(orient="records"))
        answer = http.post("/predict", json=records).json()
        assert answer["version"] == 1
        labels = dict(zip(answer["prediction_ids"], part[TARGET].tolist(), strict=True))
        assert http.post("/feedback", json={"labels": labels}).status_code == 200


def _served_version(http: httpx.Client, seconds: float = 10) -> int:
    record = json.loads(churn_customers(1, seed=2).drop(columns=[TARGET]).to_json(orient="records"))
    deadline = time.monotonic() + seconds
    while True:
        version = int(http.post("/predict", json=record).json()["version"])
        if version != 1 or time.monotonic() > deadline:
            return version
        time.sleep(0.1)


def test_downturn_traffic_labels_trigger_gate_promote_and_the_server_follows(
    store_url: str,
) -> None:
    client = mloop.Client(store_url)
    train_champion(client)
    client.set_retraining_policy(policy())
    config = ServeConfig(
        model_uri="models:/churn@champion",
        port=free_port(),
        poll_seconds=0.2,
        log_flush_seconds=0.2,
        max_rows=100,
    )
    settings = replace(client.settings, store_url=store_url, artifacts_url=client.artifacts_url)
    with LiveServer(config, settings) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        _traffic(http, 1200)
        deadline = time.monotonic() + 10
        while len(client.read_predictions("churn")) < 1200 and time.monotonic() < deadline:
            time.sleep(0.1)
        decision = retrain(client, "churn")
        assert decision.kind == "promoted", decision.reason
        assert _served_version(http) == 2
    story = [d.kind.value for d in client.retraining.decisions("churn")]
    assert story == ["triggered", "trained", "promoted"]
    moves = client.alias_history("churn", "champion")
    assert [(m.from_version, m.to_version) for m in moves] == [(None, 1), (1, 2)]
