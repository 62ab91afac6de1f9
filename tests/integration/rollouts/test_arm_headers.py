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


def _arms_by_unit(
    url: str, body: Callable[[str], dict[str, object]], path: str
) -> dict[str, set[str]]:
    """The versions that answered each unit over three requests, its unit id given in the body."""
    seen: dict[str, set[str]] = {unit: set() for unit in UNITS[:20]}
    with httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(3):
            for unit in seen:
                answer = http.post(path, json=body(unit))
                assert answer.status_code == 200, answer.text
                seen[unit].add(answer.headers["x-model-version"])
    return seen


def _oip(unit: str) -> dict[str, object]:
    tensor = {"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}
    return {"inputs": [tensor], "parameters": {"unit_id": unit}}


def test_a_unit_id_in_the_body_keeps_its_unit_on_one_arm(churn: mloop.Client, server: str) -> None:
    churn.rollouts.start("churn", 2, make_policy("ab"), reason="units in the body")
    _wait(lambda: any(version == "2" for _, version in _answers(server)))
    by_header = dict(zip(UNITS[:20], [v for _, v in _answers(server)[:20]], strict=True))
    plain = _arms_by_unit(server, lambda u: {"records": [{"x": 1.0}], "unit_ids": [u]}, "/predict")
    oip = _arms_by_unit(server, _oip, "/v2/models/churn/infer")
    for unit in plain:
        assert plain[unit] == oip[unit] == {by_header[unit]}, unit
    assert {v for versions in plain.values() for v in versions} == {"1", "2"}
    one, other = (next(u for u in plain if plain[u] == {v}) for v in ("1", "2"))
    mixed = {"records": [{"x": 1.0}, {"x": 2.0}], "unit_ids": [one, other]}
    refused = httpx.post(f"{server}/predict", json=mixed, timeout=30)
    assert refused.status_code == 422 and "unit_ids" in refused.text, refused.text
    same = {"records": [{"x": 1.0}, {"x": 2.0}], "unit_ids": [one, one]}
    answered = httpx.post(f"{server}/predict", json=same, headers={"x-unit-id": other}, timeout=30)
    assert answered.headers["x-model-version"] == "1"  # the body's unit decides before the header
    churn.rollouts.stop("churn", reason="done")
