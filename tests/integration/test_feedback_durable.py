"""No label is lost, whichever process answered: 2 workers, 2 replicas on one store."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sklearn.linear_model import LogisticRegression

import mloop
from mloop.config import Settings
from mloop.demo import churn_pipeline
from mloop.scenario import TARGET, churn_customers
from mloop.serving import ServeConfig
from mloop.store import HEAD_REVISION, upgrade_store
from mloop.store.sql.migrate import MIGRATIONS_DIR

from .serving.conftest import LiveServer, free_port
from .serving.test_durability import ServerProcess

PAIRS = 400
THREADS = 8
FLUSH_SECONDS = 0.5


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest) -> tuple[mloop.Client, dict[str, Any]]:
    """A store (SQLite file or PostgreSQL) with churn v1 and one feature record."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    return _churn_store(url)


def _churn_store(url: str) -> tuple[mloop.Client, dict[str, Any]]:
    data = churn_customers(300, seed=3)
    features = data.drop(columns=[TARGET])
    client = mloop.Client(url)
    run_id = client.create_run("churn", "lr")
    model = churn_pipeline(LogisticRegression(max_iter=300)).fit(features, data[TARGET])
    client.log_model(run_id, model, input_example=features)
    client.register_model(run_id, "churn")
    return client, json.loads(features.head(1).to_json(orient="records"))[0]


def _config(client: mloop.Client, **changes: Any) -> ServeConfig:
    return ServeConfig(
        model_uri="models:/churn/1",
        port=free_port(),
        log_flush_seconds=FLUSH_SECONDS,
        **changes,
    )


def _settings(client: mloop.Client) -> Settings:
    return replace(client.settings, store_url=client.store_url, artifacts_url=client.artifacts_url)


def _pairs(urls: list[str], record: dict[str, Any]) -> list[dict[str, Any]]:
    """PAIRS predict-then-feedback pairs from 8 threads, each label sent to the next server."""

    def thread(first: int) -> list[dict[str, Any]]:
        sent = []
        with httpx.Client(timeout=30) as http:
            for i in range(first, PAIRS, THREADS):
                answer = http.post(f"{urls[i % len(urls)]}/predict", json=record).json()
                (pid,) = answer["prediction_ids"]
                labels = {"labels": {pid: i % 2}}
                reply = http.post(f"{urls[(i + 1) % len(urls)]}/feedback", json=labels).json()
                sent.append({"id": pid, "label": i % 2, **reply})
        return sent

    with ThreadPoolExecutor(THREADS) as pool:
        return [pair for sent in pool.map(thread, range(THREADS)) for pair in sent]


def _all_joined(client: mloop.Client, sent: list[dict[str, Any]]) -> None:
    time.sleep(FLUSH_SECONDS * 3)
    logged = client.prediction_log.read("churn", with_feedback=True)
    labels = dict(zip(logged["prediction_id"], logged["label"], strict=True))
    assert {s["id"]: labels.get(s["id"]) for s in sent} == {s["id"]: s["label"] for s in sent}
    assert all(s["accepted"] == 1 and s["unknown"] == [] for s in sent)


def test_two_workers_join_every_label(sqlite_url: str) -> None:
    client, record = _churn_store(sqlite_url)
    with ServerProcess(_config(client, workers=2), client) as server:
        sent = _pairs([server.url], record)
        _all_joined(client, sent)


def test_two_replicas_on_one_store_join_every_label(
    served: tuple[mloop.Client, dict[str, Any]],
) -> None:
    client, record = served
    with ExitStack() as stack:
        servers = [
            stack.enter_context(LiveServer(_config(client), _settings(client))) for _ in range(2)
        ]
        sent = _pairs([s.url for s in servers], record)
        assert any(s["pending"] for s in sent)
        _all_joined(client, sent)
        with httpx.Client(base_url=servers[0].url) as http:
            assert http.get(f"/feedback/{sent[0]['id']}").json()["status"] == "joined"
            http.post("/feedback", json={"labels": {"ghost": 1}})
            assert http.get("/feedback/ghost").json()["status"] == "pending"
            assert http.get("/feedback/nobody").status_code == 404


@pytest.fixture
def http(served: tuple[mloop.Client, dict[str, Any]]) -> Iterator[httpx.Client]:
    with (
        LiveServer(_config(served[0]), _settings(served[0])) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        yield client


@pytest.mark.parametrize("label", ["1", 1.0, "0", True])
def test_labels_coerce_losslessly_to_the_classes(http: httpx.Client, label: object) -> None:
    reply = http.post("/feedback", json={"labels": {"p1": label}})
    assert reply.status_code == 200
    assert http.get("/feedback/p1").json()["label"] in (0, 1)


@pytest.mark.parametrize("label", ["maybe", 2, 0.5, None, [1]])
def test_labels_outside_the_classes_are_refused(http: httpx.Client, label: object) -> None:
    reply = http.post("/feedback", json={"labels": {"p1": 1, "p2": label}})
    assert reply.status_code == 422
    assert "p2" in reply.text
    assert http.get("/feedback/p1").status_code == 404


def test_upgrade_keeps_labels(sqlite_url: str) -> None:
    Path(sqlite_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = sa.create_engine(sqlite_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        conn.exec_driver_sql(
            "INSERT INTO prediction_chunks VALUES (1, 'churn', 1, '', 0, 1, 1, 'd', 1, 0)"
        )
        conn.exec_driver_sql("INSERT INTO prediction_ids VALUES ('p1', 1, 0, 0.5)")
        conn.exec_driver_sql("INSERT INTO feedback VALUES ('p1', '1', 7.0)")
    engine.dispose()
    assert upgrade_store(sqlite_url) == ("0003", HEAD_REVISION)
    assert mloop.Client(sqlite_url).prediction_log.feedback_for(["p1"]) == {"p1": 1}
