"""Idempotency keys of log_batch live in the store: a retry writes once across restarts."""

from __future__ import annotations

from dataclasses import replace

import httpx

import mloop
from mloop.api import create_api
from mloop.config import load_settings
from mloop.entities import Metric, RunBatch
from mloop.store import close_stores, open_store
from tests.team_server import SessionServer


def _points(count: int) -> list[dict[str, float]]:
    return [{"key": "loss", "value": 0.5, "step": s, "timestamp": 1.0} for s in range(count)]


def _server(team_server: SessionServer, sqlite_url: str) -> str:
    """A fresh API app (nothing in memory) on the SQLite file, as after a server restart."""
    close_stores()
    settings = replace(load_settings(), store_url=sqlite_url)
    return f"{team_server.mount(create_api(settings, open_store(sqlite_url)))}/api/v1"


def test_a_retry_after_a_restart_writes_nothing(
    team_server: SessionServer, sqlite_url: str
) -> None:
    first = _server(team_server, sqlite_url)
    run_id = mloop.Client(sqlite_url).create_run("e", "r")
    header = {"idempotency-key": "k-1"}
    body = {"metrics": _points(5)}
    assert httpx.post(f"{first}/runs/{run_id}/batch", json=body, headers=header).json() == {
        "written": True
    }
    team_server.unmount(first.removesuffix("/api/v1"))
    second = _server(team_server, sqlite_url)
    again = httpx.post(f"{second}/runs/{run_id}/batch", json=body, headers=header)
    assert again.json() == {"written": False}
    other_run = mloop.Client(sqlite_url).create_run("e", "r2")
    elsewhere = httpx.post(f"{second}/runs/{other_run}/batch", json=body, headers=header)
    assert elsewhere.json() == {"written": True}  # a key is the caller's, per run
    assert len(mloop.Client(sqlite_url).get_metric_history(run_id, "loss")) == 5
    team_server.unmount(second.removesuffix("/api/v1"))


def test_a_failed_batch_leaves_its_key_free(team_server: SessionServer, sqlite_url: str) -> None:
    api = _server(team_server, sqlite_url)
    client = mloop.Client(sqlite_url)
    run_id = client.create_run("e", "r")
    client.log_param(run_id, "alpha", "1")
    header = {"idempotency-key": "k-2"}
    refused = httpx.post(
        f"{api}/runs/{run_id}/batch",
        json={"params": {"alpha": "2"}, "metrics": _points(3)},
        headers=header,
    )
    assert refused.status_code == 409
    assert client.get_metric_history(run_id, "loss") == []
    fixed = httpx.post(f"{api}/runs/{run_id}/batch", json={"metrics": _points(3)}, headers=header)
    assert fixed.json() == {"written": True}
    assert len(client.get_metric_history(run_id, "loss")) == 3
    team_server.unmount(api.removesuffix("/api/v1"))


def test_the_rest_store_sends_its_key(team_server: SessionServer, sqlite_url: str) -> None:
    api = _server(team_server, sqlite_url)
    store = open_store(api.removesuffix("/api/v1"))
    run = mloop.Client(sqlite_url).create_run("e", "r")
    batch = RunBatch({}, [Metric("m", 1.0, 0, 1.0)], {})
    assert store.runs.log_batch_once(run, batch, "k-3") is True
    assert store.runs.log_batch_once(run, batch, "k-3") is False
    assert len(mloop.Client(sqlite_url).get_metric_history(run, "m")) == 1
    team_server.unmount(api.removesuffix("/api/v1"))
