"""The served model's life: feedback joins, hot swaps under load, SIGTERM flushing the log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from mloop.config import Settings
from mloop.errors import InvalidInput
from mloop.serving import ServeConfig

from .conftest import ChurnModels, LiveServer, free_port, wait_until_ready, with_port


def _records(models: ChurnModels, rows: int) -> list[dict[str, object]]:
    records: list[dict[str, object]] = json.loads(
        models.features.head(rows).to_json(orient="records")
    )
    return records


def test_feedback_joins_labels_to_logged_predictions(
    http: httpx.Client, churn_models: ChurnModels
) -> None:
    answer = http.post("/predict", json=_records(churn_models, 3)).json()
    ids = answer["prediction_ids"]
    labels = {ids[0]: 1, ids[1]: 0, "never-answered": 1}
    result = http.post("/feedback", json={"labels": labels})
    assert result.status_code == 200
    assert result.json() == {"accepted": 3, "pending": ["never-answered"], "unknown": []}
    single = http.post("/feedback", json={"prediction_id": ids[2], "label": 1})
    assert single.json() == {"accepted": 1, "pending": [], "unknown": []}
    client = churn_models.client
    logged = client.prediction_log.read("churn", with_feedback=True)
    by_id = dict(zip(logged["prediction_id"], logged["label"], strict=True))
    assert by_id == {ids[0]: 1, ids[1]: 0, ids[2]: 1}
    expected = churn_models.features.head(3)["credit_score"].to_numpy()
    assert np.allclose(logged["feature.credit_score"].to_numpy(), expected)
    assert set(logged["prediction"]) <= {0, 1}


def test_feedback_is_validated(http: httpx.Client) -> None:
    missing = http.post("/feedback", json=[{"prediction_id": "a"}])
    assert missing.status_code == 422
    assert missing.json()["error"] == "feedback[0] needs 'prediction_id' and 'label'"
    for labels in (5, [1, 0], "1", None):
        wrong = http.post("/feedback", json={"labels": labels})
        assert wrong.status_code == 422
        assert wrong.json()["field"] == "labels"
        assert "labels must be an object of prediction id -> label" in wrong.json()["error"]
    assert http.post("/feedback", json=[{"label": 1}]).status_code == 422
    assert (
        http.post("/feedback", content=b"x=1", headers={"content-type": "text/plain"}).status_code
        == 415
    )


def test_hot_swap_under_load_fails_no_request(
    serve_config: ServeConfig, serve_settings: Settings, churn_models: ChurnModels
) -> None:
    record = _records(churn_models, 1)[0]
    versions: Counter[int] = Counter()
    failures: list[str] = []
    stop = threading.Event()

    def load(url: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while not stop.is_set():
                answer = client.post("/predict", json=record)
                if answer.status_code != 200:
                    failures.append(answer.text)
                else:
                    versions[answer.json()["version"]] += 1

    with LiveServer(with_port(serve_config), serve_settings) as live:
        workers = [threading.Thread(target=load, args=(live.url,)) for _ in range(4)]
        for worker in workers:
            worker.start()
        time.sleep(0.5)
        churn_models.client.set_alias("churn", "champion", 2, reason="random forest wins")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and versions[2] < 50:
            time.sleep(0.1)
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
        after = httpx.post(f"{live.url}/predict", json=record).json()
    assert failures == []
    assert versions[1] > 0 and versions[2] >= 50
    assert after["version"] == 2
    assert after["predictions"] == [int(churn_models.v2.predict(churn_models.features.head(1))[0])]  # type: ignore[attr-defined]


def test_sigterm_during_load_loses_no_answered_request(
    churn_models: ChurnModels, tmp_path: Path
) -> None:
    client = churn_models.client
    port = free_port()
    env = {
        **os.environ,
        "MLOOP_STORE_URL": client.store_url,
        "MLOOP_ARTIFACTS_URL": client.artifacts_url,
    }
    command = [
        sys.executable,
        "-c",
        "from mloop.cli import main; main()",
        "serve",
        "models:/churn@champion",
    ]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--poll-seconds", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url)
        answered: list[str] = []
        record = _records(churn_models, 1)[0]

        def load() -> None:
            with httpx.Client(base_url=url, timeout=10) as http:
                for _ in range(2000):
                    try:
                        answer = http.post("/predict", json=record)
                    except httpx.HTTPError:
                        return
                    if answer.status_code == 200:
                        answered.extend(answer.json()["prediction_ids"])

        workers = [threading.Thread(target=load) for _ in range(3)]
        for worker in workers:
            worker.start()
        time.sleep(1.5)
        server.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.join(timeout=60)
        _, stderr = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, stderr
    assert len(answered) > 50
    logged = client.prediction_log.read("churn")
    assert set(answered) <= set(logged["prediction_id"])
    lines = [line for line in stderr.splitlines() if line.strip()]
    noise = [line for line in lines if not line.startswith("{")]
    assert noise == [], noise[:5]
    assert all(
        json.loads(line)["path"] == "/predict" for line in lines if '"path":"/predict"' in line
    )


def test_client_feedback_over_http_and_on_the_store(
    live: LiveServer, churn_models: ChurnModels
) -> None:
    import mloop

    remote = mloop.ServingClient(live.url)
    ids = remote.predict(_records(churn_models, 4))["prediction_ids"]
    over_http = remote.feedback({ids[0]: 1, "nobody": 0})
    assert (over_http.accepted, over_http.pending, over_http.unknown) == (2, ["nobody"], [])
    time.sleep(0.5)
    local = churn_models.client.feedback({ids[1]: 0, ids[2]: 1})
    assert (local.accepted, local.unknown) == (2, [])
    window = churn_models.client.read_predictions("churn", last_n=4, with_feedback=True)
    labels = dict(zip(window["prediction_id"], window["label"], strict=True))
    assert {k: labels[k] for k in ids[:3]} == {ids[0]: 1, ids[1]: 0, ids[2]: 1}
    assert pd.isna(labels[ids[3]])
    with pytest.raises(InvalidInput, match=r"mloop\.ServingClient\("):
        mloop.Client(live.url)


def test_a_reused_request_id_loses_no_other_request_of_the_flush(
    churn_models: ChurnModels, serve_config: ServeConfig, serve_settings: Settings
) -> None:
    records = _records(churn_models, 4)
    answered: list[str] = []
    with (
        LiveServer(with_port(serve_config, log_flush_seconds=60), serve_settings) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        for record, request_id in [(records[0], "dup-1"), (records[1], None)]:
            headers = {"x-request-id": request_id} if request_id else {}
            answer = http.post("/predict", json=record, headers=headers)
            assert answer.status_code == 200
            answered += answer.json()["prediction_ids"]
        retried = http.post("/predict", json=records[2], headers={"x-request-id": "dup-1"})
        assert retried.status_code == 200 and retried.json()["prediction_ids"] == ["dup-1"]
        answer = http.post("/predict", json=records[:2])
        answered += answer.json()["prediction_ids"]
    logged = churn_models.client.prediction_log.read("churn")
    assert sorted(logged["prediction_id"]) == sorted(answered)
    first = logged.set_index("prediction_id").loc["dup-1", "feature.credit_score"]
    assert first == records[0]["credit_score"]
