"""Rollouts against `mloop serve --workers 2` on 127.0.0.1: canary, rollback, shadow."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mloop
from mloop.entities import RolloutState
from mloop.scenario import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from mloop.services.rollouts import make_policy, shares

from .conftest import ChurnModels, free_port, wait_until_ready
from .slow_model import TRUST, SlowClassifier

ROOT = Path(__file__).resolve().parents[3]
POLL_SECONDS = 0.3
# Scheduling on a machine shared with other work: added to "within one evaluation interval".
SLACK_SECONDS = 1.5


@contextlib.contextmanager
def serving(client: mloop.Client, log_path: Path, env: dict[str, str]) -> Iterator[str]:
    """Two worker processes serving churn@champion, polling the store every 0.3 s.

    The server's log goes to a file: a pipe nobody reads would fill and stall the workers.
    """
    port = free_port()
    env = {**os.environ, **env, "MLOOP_STORE_URL": client.store_url,
           "MLOOP_ARTIFACTS_URL": client.artifacts_url}  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", "from mloop.cli import main; main()", "serve",
         "models:/churn@champion", "--port", str(port), "--workers", "2",
         "--poll-seconds", str(POLL_SECONDS)],
        env=env, stdout=subprocess.DEVNULL, stderr=log, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, 120)  # two workers import and load on a shared 2-core machine
        for _ in range(20):  # both workers, whichever the kernel hands the connection to
            wait_until_ready(url, 60)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        log.close()
    assert process.returncode == 0, log_path.read_text()[-3000:]


@pytest.fixture
def server(churn_models: ChurnModels, tmp_path: Path) -> Iterator[str]:
    with serving(churn_models.client, tmp_path / "server.log", {}) as url:
        yield url


@pytest.fixture
def slow_server(
    churn_models: ChurnModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The server of ``server``, trusting the slow test model's module (as the test does)."""
    monkeypatch.setenv("MLOOP_TRUSTED_TYPES", TRUST)
    path = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)]))
    with serving(churn_models.client, tmp_path / "server.log", {"PYTHONPATH": path}) as url:
        yield url


def _records(churn_models: ChurnModels, n: int = 50) -> list[dict[str, Any]]:
    return list(json.loads(churn_models.features.head(n).to_json(orient="records")))


class Traffic:
    """Callers with their own unit ids; every answer's status, arm and version is kept."""

    def __init__(self, url: str, records: list[dict[str, Any]]) -> None:
        self.url, self.records = url, records
        self.answers: list[tuple[int, str, str]] = []
        self.sent = 0

    def send(self, count: int, threads: int = 4) -> None:
        start, self.sent = self.sent, self.sent + count
        with ThreadPoolExecutor(threads) as pool:
            self.answers += pool.map(self._one, range(start, start + count))

    def _one(self, index: int) -> tuple[int, str, str]:
        record = self.records[index % len(self.records)]
        headers = {"x-unit-id": f"customer-{index}"}
        answer = httpx.post(f"{self.url}/predict", json=record, headers=headers, timeout=30)
        return (
            answer.status_code,
            answer.headers.get("x-model-arm", ""),
            answer.headers.get("x-model-version", ""),
        )


def _until(condition: Any, traffic: Traffic, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        seen = Counter(traffic.answers)
        assert time.monotonic() < deadline, f"the rollout did not get there in time: {seen}"
        traffic.send(40)


class BreachWatcher:
    """Notes when the store first shows a breached guardrail (epoch seconds), in a thread."""

    def __init__(self, client: mloop.Client) -> None:
        self.client = client
        self.first_breach: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.1) and self.first_breach is None:
            analysis = self.client.rollouts.analyze("churn")
            if any(g.breached for g in analysis.guardrails):
                self.first_breach = time.time()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _assert_rolled_back_within_one_interval(
    client: mloop.Client, watcher: BreachWatcher, guardrail: str
) -> None:
    """The rollback names ``guardrail`` and came one evaluation interval after the breach."""
    watcher.stop()
    rollout = client.rollouts.latest("churn")
    decision = client.rollouts.decisions("churn", rollout.id)[-1]
    assert rollout.state == RolloutState.ROLLED_BACK
    assert decision.kind == "rollback" and guardrail in decision.reason
    breach = decision.at if watcher.first_breach is None else watcher.first_breach
    interval = rollout.policy.evaluate_every_seconds + POLL_SECONDS
    assert decision.at - breach <= interval + SLACK_SECONDS, (decision.at, breach)


def test_a_canary_walks_its_steps_to_promotion_and_fails_no_request(
    churn_models: ChurnModels, server: str
) -> None:
    client = churn_models.client
    policy = make_policy("canary", steps=(0.2, 0.5, 1.0), min_sample=30,
                         evaluate_every_seconds=0.5)  # fmt: skip
    client.rollouts.start("churn", 2, policy, reason="live canary")
    traffic = Traffic(server, _records(churn_models))
    _until(lambda: client.get_alias("churn", "champion") == 2, traffic)
    traffic.send(200)
    statuses = [status for status, _, _ in traffic.answers]
    assert set(statuses) == {200}, [
        i for i, s in enumerate(statuses) if s != 200
    ]  # weights changed three times under load, no request failed
    kinds = [d.kind for d in client.rollouts.decisions("churn")]
    assert kinds == ["start", "advance", "advance", "promote"]
    assert {(arm, version) for _, arm, version in traffic.answers} >= {("challenger", "2")}
    assert all(version == "2" for _, _, version in traffic.answers[-100:])
    assert client.rollouts.latest("churn").state == RolloutState.PROMOTED


def test_a_failing_challenger_is_rolled_back_within_the_error_budget(
    churn_models: ChurnModels, server: str
) -> None:
    client = churn_models.client
    strict = _strict_model(client, churn_models)
    records = _records(churn_models)
    for record in records:
        record["geographic_region"] = "Atlantis"  # the champion ignores it, the challenger fails
    policy = make_policy("canary", steps=(0.1, 1.0), max_error_rate=0.05,
                         guardrail_min_requests=10, evaluate_every_seconds=0.5)  # fmt: skip
    client.rollouts.start("churn", strict, policy)
    traffic = Traffic(server, records)
    watcher = BreachWatcher(client)
    _until(lambda: client.rollouts.running("churn") is None, traffic)
    _assert_rolled_back_within_one_interval(client, watcher, "error_rate")
    failed_before_rollback = sum(status != 200 for status, _, _ in traffic.answers)
    time.sleep(1.0)  # every worker drops the challenger within its 0.3 s poll
    traffic.send(200)
    # Only the challenger's 10% share failed, and only until the rollback.
    assert 0 < failed_before_rollback <= 0.1 * len(traffic.answers)
    tail = traffic.answers[-100:]
    assert {status for status, _, _ in tail} == {200}
    assert client.get_alias("churn", "champion") == 1


def _strict_model(client: mloop.Client, churn_models: ChurnModels) -> int:
    """Register a version whose encoder raises on a region it never saw; returns it."""
    features = churn_models.features
    encode = ColumnTransformer([
        ("numbers", StandardScaler(), list(NUMERIC_FEATURES)),
        ("region", OneHotEncoder(handle_unknown="error"), list(CATEGORICAL_FEATURES)),
    ])  # fmt: skip
    model = Pipeline([("features", encode), ("model", LogisticRegression(max_iter=300))])
    model.fit(features, (features["credit_score"] > features["credit_score"].median()))
    run_id = client.create_run("churn", "strict")
    client.log_model(run_id, model, input_example=features)
    return client.register_model(run_id, "churn").version


def test_shadow_scores_every_request_and_only_the_champion_answers(
    churn_models: ChurnModels, server: str
) -> None:
    client = churn_models.client
    client.rollouts.start("churn", 2, make_policy("shadow", evaluate_every_seconds=60))
    time.sleep(1.5)
    for _ in range(20):  # both workers have loaded the shadow model and answer
        wait_until_ready(server, 60)
    traffic = Traffic(server, _records(churn_models))
    traffic.send(120)
    assert {(status, version) for status, _, version in traffic.answers} == {(200, "1")}
    deadline = time.monotonic() + 20
    arms: dict[str, Any] = {}
    while time.monotonic() < deadline:
        arms = {a["name"]: a for a in client.rollouts.status("churn")["arms"]}
        if arms["challenger"]["n"] >= 120 and arms["champion"]["n"] >= 120:
            break
        time.sleep(0.5)
    assert arms["challenger"]["n"] == arms["champion"]["n"] == 120
    shadow = client.read_predictions("churn", version=2)
    assert shadow["prediction_id"].str.endswith("~shadow").all()
    assert np.isfinite(shadow["latency_ms"]).all()


def test_a_slow_challenger_is_rolled_back_by_its_p99_guardrail_within_one_interval(
    churn_models: ChurnModels, slow_server: str
) -> None:
    client = churn_models.client
    trusting = mloop.Client(client.store_url, artifacts_url=client.artifacts_url)
    features = churn_models.features
    slow = SlowClassifier(churn_models.v1, delay_seconds=0.3).fit(features, None)
    run_id = trusting.create_run("churn", "slow")
    trusting.log_model(run_id, slow, input_example=features)
    version = trusting.register_model(run_id, "churn").version
    policy = make_policy("canary", steps=(0.5, 1.0), min_sample=10_000, max_p99_ms=150.0,
                         guardrail_min_requests=10, evaluate_every_seconds=1.0)  # fmt: skip
    client.rollouts.start("churn", version, policy)
    traffic = Traffic(slow_server, _records(churn_models))
    watcher = BreachWatcher(client)
    _until(lambda: client.rollouts.running("churn") is None, traffic)
    _assert_rolled_back_within_one_interval(client, watcher, "p99_ms")
    time.sleep(1.0)  # every worker drops the challenger within its 0.3 s poll
    traffic.send(100)
    assert {status for status, _, _ in traffic.answers} == {200}  # slow, never failed
    assert {version for _, _, version in traffic.answers[-100:]} == {"1"}
    assert client.get_alias("churn", "champion") == 1


def test_changing_weights_under_load_fails_no_request(
    churn_models: ChurnModels, server: str
) -> None:
    client = churn_models.client
    rollout = client.rollouts.start("churn", 2, make_policy("ab", steps=(0.2,),
                                    evaluate_every_seconds=600))  # fmt: skip
    records = _records(churn_models)
    answers: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(base_url=server, timeout=30) as http:
            for index in itertools.count(worker, 4):
                if stop.is_set():
                    return
                headers = {"x-unit-id": f"customer-{index}"}
                sent = time.time()
                answer = http.post("/predict", json=records[index % len(records)],
                                   headers=headers)  # fmt: skip
                answers.append((sent, answer.status_code, answer.headers["x-model-version"]))

    with ThreadPoolExecutor(4) as pool:
        for worker in range(4):
            pool.submit(load, worker)
        for share in (0.8, 0.0, 0.5, 1.0, 0.3):
            time.sleep(2 * POLL_SECONDS)
            rollout = client.rollouts.decide(rollout, "weights", "by hand",
                                             weights=shares(share))  # fmt: skip
        time.sleep(2 * POLL_SECONDS)
        client.rollouts.stop("churn", reason="done")
        stopped = time.time()
        time.sleep(3 * POLL_SECONDS + 0.5)
        stop.set()
    assert len(answers) >= 100
    failed = [(sent, status) for sent, status, _ in answers if status != 200]
    assert failed == []
    assert {version for _, _, version in answers} == {"1", "2"}
    after = [version for sent, _, version in answers if sent > stopped + 2 * POLL_SECONDS]
    assert after and set(after) == {"1"}
