"""A real server following a rollout: every answer names its arm, the log keeps the server's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import httpx
import pytest
import uvicorn

import mloop
from mloop.services.rollouts import make_policy
from mloop.serving import ServeConfig, create_app
from mloop.serving.rollout_routing import rollout_routing
from mloop.serving.server import NoDelayProtocol
from tests.conftest import open_store_url, store_ids
from tests.team_server import free_port

SQLITE = [("sql", "sqlite")]
UNITS = [f"customer-{i}" for i in range(60)]


@pytest.fixture(params=SQLITE, ids=store_ids(SQLITE))
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """One server process is enough to show the headers: SQLite only."""
    yield from open_store_url(request, monkeypatch)


@pytest.fixture
def server(churn: mloop.Client) -> Iterator[str]:
    """``mloop serve``'s routing on churn@champion under uvicorn on 127.0.0.1, in a thread."""
    config = ServeConfig(
        model_uri="models:/churn@champion",
        port=free_port(),
        poll_seconds=0.1,
        log_flush_seconds=0.1,
    )
    settings = replace(churn.settings, store_url=churn.store_url, artifacts_url=churn.artifacts_url)
    app = create_app(config, settings, routing=rollout_routing)
    uvicorn_config = uvicorn.Config(
        app, host="127.0.0.1", port=config.port, log_level="warning", http=NoDelayProtocol
    )
    running = uvicorn.Server(uvicorn_config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{config.port}"
    _wait(lambda: _ready(url))
    try:
        yield url
    finally:
        running.should_exit = True
        thread.join(timeout=30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server did not get there in time"
        time.sleep(0.05)


def _answers(url: str) -> list[tuple[str | None, str]]:
    """(x-model-arm, x-model-version) of one answer per unit."""
    found = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for unit in UNITS:
            answer = http.post("/predict", json={"x": 1.0}, headers={"x-unit-id": unit})
            assert answer.status_code == 200, answer.text
            found.append((answer.headers.get("x-model-arm"), answer.headers["x-model-version"]))
    return found


def test_during_a_rollout_both_arms_answer_by_name_and_the_log_keeps_the_servers_arm(
    churn: mloop.Client, server: str
) -> None:
    assert set(_answers(server)) == {(None, "1")}
    churn.rollouts.start("churn", 2, make_policy("ab"), reason="headers")
    _wait(lambda: any(version == "2" for _, version in _answers(server)))
    during = _answers(server)
    assert set(during) == {("champion", "1"), ("challenger", "2")}
    churn.rollouts.stop("churn", reason="done")
    _wait(lambda: set(_answers(server)) == {(None, "1")})
    _wait(
        lambda: (
            len(churn.prediction_log.read("churn", version=2)) >= during.count(("challenger", "2"))
        )
    )
    logged = churn.prediction_log.read("churn", columns=["arm", "version"])
    assert set(map(tuple, logged[["version", "arm"]].to_numpy().tolist())) == {
        (1, ""),
        (2, "challenger"),
    }
