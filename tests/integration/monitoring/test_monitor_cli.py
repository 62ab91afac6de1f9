"""`mloop monitor`, `mloop alerts`, `mloop models reference` and the scheduled monitor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mloop.monitoring.scheduler import MonitorScheduler
from mloop.prediction_log import Window
from mloop.scenario import TARGET, churn_customers

from ..serving.conftest import free_port, wait_until_ready
from .conftest import Monitored

CLI = [sys.executable, "-c", "from mloop.cli import main; main()"]


def _cli(monitored: Monitored, *args: str) -> subprocess.CompletedProcess[str]:
    client = monitored.client
    where = ["--store", client.store_url, "--artifacts", client.artifacts_url]
    return subprocess.run([*CLI, *where, *args], capture_output=True, text=True, timeout=120)


def test_monitor_run_prints_stores_and_writes_a_report(
    monitored: Monitored, tmp_path: Path
) -> None:
    monitored.log(
        churn_customers(5000, seed=5, economic_downturn=1.0), start=time.time() - 900, feedback=0.4
    )
    report = tmp_path / "reports" / "drift.html"
    report.parent.mkdir()
    result = _cli(
        monitored,
        "monitor",
        "run",
        "-m",
        "churn@champion",
        "-w",
        "5000",
        "--report",
        str(report),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    assert {"annual_income", "credit_score"} <= set(payload["drift"]["drifted_columns"])
    assert {row["kind"] for row in payload["performance"]} == {"realized", "estimated"}
    page = report.read_text()
    assert page.count("data:image/png;base64,") >= 2
    assert "http://" not in page and "https://" not in page
    assert "credit_score" in page
    table = _cli(monitored, "monitor", "run", "-m", "churn/1", "-w", "1h")
    assert (
        table.returncode == 0 and "DATASET DRIFT" in table.stdout
    ) or "no dataset drift" in table.stdout
    history = _cli(monitored, "monitor", "history", "-m", "churn", "--json")
    assert len(json.loads(history.stdout)) == 2
    alerts = json.loads(_cli(monitored, "alerts", "ls", "--status", "open", "--json").stdout)
    assert {"feature-drift"} <= {a["rule"] for a in alerts}
    first = alerts[0]["id"]
    assert _cli(monitored, "alerts", "ack", str(first)).returncode == 0
    assert _cli(monitored, "alerts", "resolve", str(first)).returncode == 0
    after = json.loads(_cli(monitored, "alerts", "ls", "--json").stdout)
    assert next(a for a in after if a["id"] == first)["status"] == "resolved"
    empty = _cli(monitored, "monitor", "run", "-m", "churn/1", "--start", "2100-01-01")
    assert empty.returncode == 0, empty.stderr
    assert "no predictions of churn v1 in 2100-01-01" in empty.stdout
    assert "nothing to compare" in empty.stdout and "dataset drift" not in empty.stdout
    no_arm = _cli(monitored, "monitor", "run", "-m", "churn", "--arm", "challenger", "-w", "1h")
    assert no_arm.returncode == 0, no_arm.stderr
    assert "no predictions of churn v1 on arm 'challenger' in" in no_arm.stdout
    assert "name it as churn/<version>" in no_arm.stdout


def test_monitor_cli_refuses_bad_input(monitored: Monitored, tmp_path: Path) -> None:
    for args in (
        ["-m", "churn@champion", "-w", "soon"],
        ["-m", "nope@champion"],
        ["-m", "churn/9"],
        ["-m", "churn@champion", "--report", str(tmp_path / "no" / "drift.html")],
        ["-m", "churn@champion", "--report", str(tmp_path)],
    ):
        result = _cli(monitored, "monitor", "run", *args)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
    assert monitored.client.monitoring.results("churn") == []
    assert not (tmp_path / "no").exists()
    assert _cli(monitored, "alerts", "ack", "4242").returncode == 2


def test_models_reference_from_a_file(monitored: Monitored, tmp_path: Path) -> None:
    data = churn_customers(1200, seed=8)
    source = tmp_path / "reference.parquet"
    data.to_parquet(source, index=False)
    command = ["models", "reference", "churn", "1", "--data", str(source), "--label-column"]
    result = _cli(monitored, *command, TARGET)
    assert result.returncode == 0, result.stderr
    reference = monitored.client.monitoring.reference("churn", 1)
    assert reference.profile.n_rows == 1200
    assert "accuracy" in reference.meta.metrics
    missing = _cli(monitored, *command, "nope")
    assert missing.returncode == 2


def test_only_one_replica_runs_a_scheduled_monitor(monitored: Monitored) -> None:
    monitored.log(churn_customers(2000, seed=6), start=time.time() - 60)
    first = MonitorScheduler(monitored.client, "churn@champion", Window(last_n=2000), 60)
    second = MonitorScheduler(monitored.client, "churn@champion", Window(last_n=2000), 60)
    assert first.run_once() is not None
    assert second.run_once() is None
    assert len(monitored.client.monitoring.results("churn", kind="drift")) == 1


def test_serve_runs_the_monitor_on_a_schedule(monitored: Monitored) -> None:
    client = monitored.client
    port = free_port()
    env = {
        **os.environ,
        "MLOOP_STORE_URL": client.store_url,
        "MLOOP_ARTIFACTS_URL": client.artifacts_url,
    }
    command = [*CLI, "serve", "models:/churn@champion", "--port", str(port), "--monitor-every", "1"]
    server = subprocess.Popen(
        [*command, "--monitor-window", "200"], env=env, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    records = json.loads(
        churn_customers(50, seed=3).drop(columns=[TARGET]).to_json(orient="records")
    )
    try:
        wait_until_ready(url)
        assert httpx.post(f"{url}/predict", json=records, timeout=10).status_code == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _monitored_rows(monitored, 50):
            time.sleep(0.5)
    finally:
        server.terminate()
        server.communicate(timeout=60)
    assert _monitored_rows(monitored, 50)
    assert server.returncode == 0


def _monitored_rows(monitored: Monitored, rows: int) -> bool:
    results = monitored.client.monitoring.results("churn", kind="drift")
    return any(r.n_rows == rows for r in results)
