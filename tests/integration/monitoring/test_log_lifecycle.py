"""Retention, erasure, orphan blobs and roll-ups on a prediction log of many chunks."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import mloop
from mloop.api import create_api
from mloop.cli import app, exit_code
from mloop.config import load_settings
from mloop.errors import InvalidInput
from mloop.modelio.outputs import predict_outputs
from mloop.monitoring.windows import window_sources
from mloop.prediction_log import Window, model_columns, output_columns
from mloop.profiles import window_profile
from mloop.scenario import TARGET, churn_customers
from mloop.services.rollups import SETTLE_SECONDS
from mloop.store import close_stores, open_store
from tests.integration.monitoring.conftest import Monitored
from tests.team_server import SessionServer

DAY, DAYS, ROWS = 86_400.0, 40, 500
BASE = math.floor(time.time() / DAY) * DAY - DAYS * DAY
NOW = BASE + DAYS * DAY + 3600 + 1750  # 30 days before it falls inside chunk 10's hour
UNITS = 97


def _fill(monitored: Monitored) -> list[str]:
    """One chunk of ROWS rows per day, inside one hour; units u0..u96; a third labelled."""
    data = churn_customers(ROWS, seed=5)
    features = data.drop(columns=[TARGET])
    outputs = pd.DataFrame(output_columns(predict_outputs(monitored.model, features)))
    ids: list[str] = []
    for day in range(DAYS):
        chunk_ids = [f"d{day}-r{row}" for row in range(ROWS)]
        frame = pd.DataFrame(
            {
                "prediction_id": chunk_ids,
                "ts": BASE + day * DAY + 3600 + np.arange(ROWS) * 7.0,
                "unit_id": [f"u{(day * ROWS + row) % UNITS}" for row in range(ROWS)],
                "latency_ms": 1.0,
            }
        )
        frame = pd.concat([frame, features.add_prefix("feature."), outputs], axis=1)
        monitored.client.prediction_log.write_chunk(model="churn", version=1, arm="", frame=frame)
        ids += chunk_ids
    truth = data[TARGET].to_numpy()
    monitored.client.feedback({pid: int(truth[i % ROWS]) for i, pid in enumerate(ids[::3])})
    return ids


def _blobs(client: mloop.Client) -> set[str]:
    return set(client.artifacts.blobs_older_than(math.inf))


def _store_digests(client: mloop.Client) -> set[str]:
    return open_store(client.store_url).lifecycle.referenced_digests()  # type: ignore[attr-defined]


def test_retention_and_erasure_leave_no_row_label_or_blob_behind(monitored: Monitored) -> None:
    client = monitored.client
    ids = _fill(monitored)
    before = {c.digest for c in client.prediction_log.chunks("churn")}
    report = client.log_lifecycle.retain(30, now=NOW)
    cutoff = NOW - 30 * DAY
    assert (report.pruned.dropped, report.pruned.rewritten) == (10, 1)
    left = client.read_predictions("churn", with_feedback=True)
    assert left["ts"].min() >= cutoff and len(left) == DAYS * ROWS - report.pruned.rows
    straddling = BASE + 10 * DAY + 3600 + np.arange(ROWS) * 7.0
    assert report.pruned.rows == 10 * ROWS + int((straddling < cutoff).sum())
    kept = set(left["prediction_id"])
    expired = [pid for pid in ids if pid not in kept]
    log = client.prediction_log
    assert log.feedback_for(expired) == {} and not log.logged_ids(expired)
    gone = before - {c.digest for c in client.prediction_log.chunks("churn")}
    assert len(gone) == 11 and not any(client.artifacts.exists(d) for d in gone)

    erasure = client.log_lifecycle.erase("u7")
    after = client.read_predictions("churn", with_feedback=True)
    assert "u7" not in set(after["unit_id"]) and erasure.rows == (left["unit_id"] == "u7").sum()
    assert erasure.labels > 0 and erasure.user == "tester" and erasure.chunks == 30
    assert client.log_lifecycle.erasures() == [erasure]
    assert _blobs(client) == _store_digests(client)  # no orphan, nothing dangling


def test_the_cli_erases_a_unit_and_lists_the_audit(
    monitored: Monitored, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(monitored)
    monkeypatch.setenv("MLOOP_STORE_URL", monitored.client.store_url)
    erased = CliRunner().invoke(app, ["predictions", "erase", "--unit", "u3", "--json"])
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.stdout)[0]["rows"] > 0
    listed = CliRunner().invoke(app, ["predictions", "erasures", "--json"])
    assert [row["unit"] for row in json.loads(listed.stdout)] == ["u3"]
    empty = CliRunner().invoke(app, ["predictions", "erase", "--unit", ""])
    assert isinstance(empty.exception, InvalidInput) and exit_code(empty.exception) == 2


def test_the_cli_shows_and_exports_the_log(
    monitored: Monitored, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = _fill(monitored)
    monkeypatch.setenv("MLOOP_STORE_URL", monitored.client.store_url)
    runner = CliRunner()
    newest = runner.invoke(
        app, ["predictions", "show", "churn", "--last", "3", "--feedback", "--json"]
    )
    assert newest.exit_code == 0, newest.output
    rows = json.loads(newest.stdout)
    assert [row["prediction_id"] for row in rows] == ids[-3:]
    expected = monitored.client.read_predictions("churn", last_n=3, with_feedback=True)
    assert rows[0]["feature.credit_score"] == expected["feature.credit_score"].iloc[0]
    assert {row["label"] is None for row in rows} == {True, False}  # every third is labelled
    assert {type(row["label"]) for row in rows} == {type(None), type(rows[0]["prediction"])}
    day = BASE + 5 * DAY
    window = ["--since", str(day), "--until", str(day + DAY), "-o", str(tmp_path / "day.csv")]
    written = runner.invoke(app, ["predictions", "show", "churn", *window])
    assert written.exit_code == 0, written.output
    assert pd.read_csv(tmp_path / "day.csv")["prediction_id"].tolist() == ids[5 * ROWS : 6 * ROWS]
    table = runner.invoke(app, ["predictions", "show", "churn"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and ids[-1] in table.stdout and ids[-21] not in table.stdout
    refusals = (
        ["churn", "-o", str(tmp_path / "x.txt")],
        ["nosuch"],
        ["churn", "--version", "7", "--since", str(NOW)],
        ["churn", "--since", str(day), "--until", str(day - 100)],
    )
    for args in refusals:
        refused = runner.invoke(app, ["predictions", "show", *args])
        assert refused.exception is not None and exit_code(refused.exception) == 2


def test_orphan_blobs_are_collected_after_their_grace(monitored: Monitored) -> None:
    client = monitored.client
    orphan = client.artifacts.put_bytes(b"nobody names me")
    young = client.artifacts.put_bytes(b"an upload whose index row is on its way")
    old = time.time() - 2 * DAY
    path = client.artifacts.root / "blobs" / orphan[:2] / orphan
    os.utime(path, (old, old))
    assert client.log_lifecycle.collect_blobs() == 1
    assert not client.artifacts.exists(orphan) and client.artifacts.exists(young)
    assert _store_digests(client) <= _blobs(client)


def test_a_thirty_day_drift_window_reads_roll_ups(monitored: Monitored) -> None:
    client = monitored.client
    _fill(monitored)
    settled = BASE + (DAYS + 1) * DAY + SETTLE_SECONDS  # every filled hour and day has settled
    written = client.rollups.roll_up(now=settled)
    assert written == 2 * DAYS and client.rollups.roll_up(now=settled) == 0
    reference = client.monitoring.reference("churn", 1).profile
    window = Window(start=NOW - 30 * DAY, end=NOW)
    found = window_sources(client, reference, "churn", 1, None, window)
    assert (found.rollups, found.read) == (29, 1)  # whole days, and the chunk across the start
    rows = client.read_predictions("churn", start=window.start, end=window.end)
    direct = window_profile(reference, model_columns(rows))
    assert found.profile.n_rows == direct.n_rows == len(rows)
    for name, column in direct.columns.items():
        assert found.profile.columns[name].count == column.count, name


def test_erasure_and_retention_through_the_api_hide_the_rows_from_every_reader(
    monitored: Monitored, team_server: SessionServer
) -> None:
    _fill(monitored)
    url = monitored.client.store_url
    server = team_server.mount(create_api(replace(load_settings(), store_url=url), open_store(url)))
    try:
        api = httpx.Client(base_url=f"{server}/api/v1", timeout=120)
        erased = api.post("/predictions/erasures", json={"unit": "u5", "user": "dpo"})
        assert erased.status_code == 200 and erased.json()["user"] == "dpo"
        assert erased.json()["rows"] > 0
        listed = api.get("/predictions/erasures").json()
        assert [e["unit"] for e in listed] == ["u5"]
        kept = api.post("/predictions/retention", json={"days": 30}).json()
        assert kept["dropped"] >= 9
        remote = mloop.Client(server).read_predictions("churn", with_feedback=True)
        assert "u5" not in set(remote["unit_id"]) and remote["ts"].min() >= kept["cutoff"]
        local = monitored.client.read_predictions("churn")
        assert len(local) == len(remote)
        refused = api.post("/predictions/retention", json={})
        assert refused.status_code == 422 and refused.json()["field"] == "days"
    finally:
        team_server.unmount(server)
        close_stores()


def test_labels_of_predictions_never_logged_expire_too(sqlite_url: str) -> None:
    client = mloop.Client(sqlite_url)
    client.feedback({"never-logged": 1})
    assert client.log_lifecycle.retain(30).pruned.labels == 0
    assert client.prediction_log.feedback_for(["never-logged"]) == {"never-logged": 1}
    later = client.log_lifecycle.retain(30, now=time.time() + 31 * DAY)
    assert later.pruned.labels == 1 and client.prediction_log.feedback_for(["never-logged"]) == {}
