"""A model that raises on some rows fails only the requests holding them, and keeps serving."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import mloop
from mloop.services.rollouts import make_policy
from mloop.serving import ServeConfig
from mloop.serving.rollout_routing import rollout_routing

from .conftest import LiveServer, free_port

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")


def _logarithmic(client: mloop.Client) -> None:
    """A model that takes the log of its input: a negative value gives NaN, which it refuses."""
    features = pd.DataFrame({"x": np.linspace(1.0, 50.0, 200)})
    model = make_pipeline(FunctionTransformer(np.log), LogisticRegression())
    model.fit(features, features["x"] > 20)
    run_id = client.create_run("logs", "log-model")
    client.log_model(run_id, model, input_example=features)
    client.register_model(run_id, "logs")
    client.set_alias("logs", "champion", 1)


def test_bad_rows_fail_their_own_requests_under_concurrency(sqlite_url: str) -> None:
    client = mloop.Client(sqlite_url)
    _logarithmic(client)
    settings = replace(
        client.settings, store_url=client.store_url, artifacts_url=client.artifacts_url
    )
    config = ServeConfig(model_uri="models:/logs@champion", port=free_port(), log_flush_seconds=0.2)
    values = [-1.0 if i % 10 == 3 else float(i % 40 + 1) for i in range(400)]
    with LiveServer(config, settings) as server, httpx.Client(base_url=server.url) as http:

        def call(x: float) -> httpx.Response:
            return http.post("/predict", json={"x": x}, timeout=30)

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(call, values))
        after = call(5.0)
    for x, answer in zip(values, answers, strict=True):
        if x < 0:
            assert answer.status_code == 500, answer.text
            assert answer.json()["code"] == "model_failed"  # the reason stays in the server log
        else:
            assert answer.status_code == 200, answer.text
    assert after.status_code == 200


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_numbers_beyond_what_the_model_computes_are_refused_naming_the_column(
    sqlite_url: str,
) -> None:
    client = mloop.Client(sqlite_url)
    features = pd.DataFrame({"a": np.linspace(-5.0, 5.0, 100), "b": np.linspace(0.0, 9.0, 100)})
    model = Ridge().fit(features, 3 * features["a"] - features["b"])
    run_id = client.create_run("ridge", "ridge")
    client.log_model(run_id, model, input_example=features)
    client.register_model(run_id, "ridge")
    settings = replace(
        client.settings, store_url=client.store_url, artifacts_url=client.artifacts_url
    )
    config = ServeConfig(model_uri="models:/ridge/1", port=free_port())
    config = replace(config, log_flush_seconds=0.2)
    with LiveServer(config, settings) as server, httpx.Client(base_url=server.url) as http:
        huge = http.post("/predict", json={"a": 1.7e308, "b": -1.7e308}, timeout=30)
        both = [{"a": 1.0, "b": 2.0}, {"a": 1.7e308, "b": -1.7e308}]
        half = http.post("/predict", json=both, timeout=30)
        fine = http.post("/predict", json={"a": 1.0, "b": 2.0}, timeout=30)
    for failed in (huge, half):
        assert failed.status_code == 422 and failed.json()["field"] == "a", failed.text
        assert "beyond what model ridge version 1 can compute" in failed.json()["error"]
    logged = client.read_predictions("ridge")
    assert logged["prediction_id"].tolist() == fine.json()["prediction_ids"]  # no failed row
    expected = model.predict(pd.DataFrame({"a": [1.0], "b": [2.0]}))[0]
    assert fine.status_code == 200 and fine.json()["predictions"] == [pytest.approx(expected)]


def test_a_tree_model_refusing_a_number_past_float32_is_a_422_not_a_server_error(
    sqlite_url: str,
) -> None:
    client = mloop.Client(sqlite_url)
    features = pd.DataFrame({"income": np.linspace(0.0, 9.0, 60), "age": np.arange(60.0)})
    model = RandomForestClassifier(n_estimators=5, random_state=0)
    model.fit(features, features["age"] > 30)
    run_id = client.create_run("trees", "forest")
    client.log_model(run_id, model, input_example=features)
    client.register_model(run_id, "trees")
    settings = replace(
        client.settings, store_url=client.store_url, artifacts_url=client.artifacts_url
    )
    client.register_model(run_id, "trees")
    client.set_alias("trees", "champion", 1)
    client.rollouts.start("trees", 2, make_policy("ab"))
    config = ServeConfig(
        model_uri="models:/trees@champion", port=free_port(), log_flush_seconds=0.2
    )
    config = replace(config, poll_seconds=0.2)
    live = LiveServer(config, settings, routing=rollout_routing)
    with live as server, httpx.Client(base_url=server.url) as http:
        huge = [
            http.post("/predict", json={"income": 1e300, "age": 3.0}, timeout=30) for _ in range(6)
        ]
        edge = http.post("/predict", json={"income": 3e38, "age": 3.0}, timeout=30)
        deadline = time.monotonic() + 10
        while sum(a.requests for a in client.rollouts.analyze("trees").arms.values()) < 7:
            assert time.monotonic() < deadline, "the server's tallies never arrived"
            time.sleep(0.1)
    for answer in huge:
        assert answer.status_code == 422 and answer.json()["field"] == "income", answer.text
        assert "1e+300 is beyond what model trees version" in answer.json()["error"]
    assert edge.status_code == 200, edge.text
    arms = client.rollouts.analyze("trees").arms.values()
    assert [a.errors for a in arms] == [0, 0], "the input failed, not the arm"
