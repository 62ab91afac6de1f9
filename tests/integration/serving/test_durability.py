"""An answered prediction survives a killed worker: the spool is drained by the next server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

import httpx

import mloop
from mloop.serving import ServeConfig
from mloop.serving.spool import Spool, drain_orphans, spool_record

from .conftest import ChurnModels, free_port, wait_until_ready

RUN = (
    "import json, sys; from mloop.config import load_settings; "
    "from mloop.serving.config import ServeConfig; from mloop.serving.server import run_server; "
    "run_server(ServeConfig(**json.loads(sys.argv[1])), load_settings())"
)


class ServerProcess:
    """`run_server` in a child process (uvicorn with its worker processes)."""

    def __init__(self, config: ServeConfig, client: mloop.Client) -> None:
        self.url = f"http://127.0.0.1:{config.port}"
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env |= {"MLOOP_STORE_URL": client.store_url, "MLOOP_ARTIFACTS_URL": client.artifacts_url}
        self.process = subprocess.Popen(
            [sys.executable, "-c", RUN, json.dumps(asdict(config))],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip

    def __enter__(self) -> ServerProcess:
        """Wait until ten readiness checks in a row pass, so every worker has its model."""
        deadline, ready = time.monotonic() + 60, 0
        while ready < 10 and time.monotonic() < deadline:
            wait_until_ready(self.url, 60)
            ready = ready + 1 if httpx.get(f"{self.url}/v2/health/ready").status_code == 200 else 0
        return self

    def __exit__(self, *exc: object) -> None:
        """SIGTERM, then wait for the graceful shutdown: up to 30 s for open connections, then
        each worker's last flush, which a loaded machine with a busy SQLite file can slow."""
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=120)

    def workers(self) -> list[int]:
        """The pids of the worker processes."""
        task = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        children = [int(pid) for pid in task.read_text().split()]
        return [
            pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]


def _config(**changes: object) -> ServeConfig:
    base = ServeConfig(model_uri="models:/churn/1", port=free_port())
    return ServeConfig(**{**asdict(base), **changes})


def _predict_until(
    url: str, record: dict[str, object], stop: threading.Event, answered: list[str]
) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        while not stop.is_set():
            try:
                reply = http.post("/predict", json=record)
            except httpx.HTTPError:
                continue
            if reply.status_code == 200:
                answered.extend(reply.json()["prediction_ids"])


def test_sigkilled_worker_loses_no_answered_prediction(churn_models: ChurnModels) -> None:
    record = json.loads(churn_models.features.head(1).to_json(orient="records"))[0]
    config = _config(workers=2, log_flush_seconds=60.0)
    stop = threading.Event()
    results: list[list[str]] = [[] for _ in range(8)]
    with ServerProcess(config, churn_models.client) as server:
        threads = [
            threading.Thread(target=_predict_until, args=(server.url, record, stop, results[i]))
            for i in range(8)
        ]
        for thread in threads:
            thread.start()
        time.sleep(2)
        os.kill(server.workers()[0], signal.SIGKILL)
        time.sleep(1)
        stop.set()
        for thread in threads:
            thread.join()
    with ServerProcess(_config(), churn_models.client):
        pass
    answered = [pid for ids in results for pid in ids]
    logged = churn_models.client.prediction_log.read("churn", columns=["prediction_id"])
    assert len(answered) > 100
    assert set(answered) <= set(logged["prediction_id"])
    assert logged["prediction_id"].is_unique


def test_draining_twice_writes_each_row_once(churn_models: ChurnModels, tmp_path: Path) -> None:
    log = churn_models.client.prediction_log
    frame = churn_models.features.head(3).assign(
        prediction_id=["a", "b", "c"], ts=time.time(), prediction=[0, 1, 0]
    )
    spool = Spool(tmp_path / "spool")
    spool.open()
    spool.append(spool_record("churn", 1, "", frame))
    spool.close(keep=True)
    copy = tmp_path / "spool" / "copy.spool"
    copy.write_bytes(next((tmp_path / "spool").glob("*.spool")).read_bytes())

    def write(model: str, version: int, arm: str, rows: object) -> None:
        log.write_chunk(model=model, version=version, arm=arm, frame=rows)

    assert drain_orphans(tmp_path / "spool", write, log.logged_ids) == 3
    assert list(log.read("churn")["prediction_id"]) == ["a", "b", "c"]
    assert list((tmp_path / "spool").glob("*.spool")) == []


def test_rows_spooled_after_several_flushes_stay_on_disk(
    churn_models: ChurnModels, tmp_path: Path
) -> None:
    log = churn_models.client.prediction_log
    features = churn_models.features.head(2)
    spool = Spool(tmp_path / "spool")
    spool.open()
    for flush in range(4):  # what the log writer does at every flush: rotate, log, remove
        rows = features.assign(prediction_id=[f"f{flush}a", f"f{flush}b"], ts=time.time())
        spool.append(spool_record("churn", 1, "", rows.assign(prediction=[0, 1])))
        spool.remove(spool.rotate())
    last = features.assign(prediction_id=["killed-a", "killed-b"], ts=time.time())
    spool.append(spool_record("churn", 1, "", last.assign(prediction=[1, 0])))
    spool.close(keep=True)  # the process dies with these rows answered but not logged

    def write(model: str, version: int, arm: str, rows: object) -> None:
        log.write_chunk(model=model, version=version, arm=arm, frame=rows)

    assert len(list((tmp_path / "spool").glob("*.spool"))) == 1
    assert drain_orphans(tmp_path / "spool", write, log.logged_ids) == 2
    assert list(log.read("churn")["prediction_id"]) == ["killed-a", "killed-b"]
