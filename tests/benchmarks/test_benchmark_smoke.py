"""Tiny configurations of the benchmarks run in the test command; the peers are not needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def test_tracking_benchmark_mloop_worker_runs_every_case() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "tracking.py"), "--tool", "mloop", "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    timings = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(timings) == {"a", "b", "c", "d", "e"}
    assert all(seconds > 0 for seconds in timings.values())


def test_drift_benchmark_mloop_worker_runs_a_quick_configuration() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "drift.py"), "--quick", "--tool", "mloop", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    verdicts = measured["drift"][0]["verdicts"]
    assert verdicts["normal"]["drifted"] is True
    assert verdicts["uniform"]["drifted"] is False
    null = measured["null"]
    assert [size["rows"] for size in null] == [200, 2_000]
    assert all(
        set(size["flagged"]) == {"normal", "lognormal", "counts", "beta", "cat4", "cat200"}
        for size in null
    )
    power = measured["power"]
    assert power["seeds"] == 2
    assert power["flagged"]["annual_income"] == 2
    assert power["flagged"]["credit_score"] == 2
    assert "churn" not in power["flagged"]


def test_serving_benchmark_mloop_side_runs_a_quick_configuration() -> None:
    command = [
        sys.executable, str(BENCHMARKS / "serving.py"), "--quick", "--only", "mloop",
        "--models", "lr", "--workers", "1", "--load", "python", "--skip-memory", "--json",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    servers = {row["server"] for row in report["rows"]}
    assert {"mloop", "mloop-nolog", "mloop-nospool", "mloop-ab", "mloop-shadow"} <= servers
    assert all(row["errors"] == 0 and row["rps"] > 0 for row in report["rows"])
    targets = " ".join(t["target"] for t in report["targets"])
    assert "prediction log (with spool)" in targets
    assert "A/B rollout 50/50" in targets
    assert "shadow rollout adds" in targets


def test_serving_benchmark_same_time_mode_loads_the_rollout_servers_together() -> None:
    command = [
        sys.executable, str(BENCHMARKS / "serving.py"), "--quick", "--only", "mloop",
        "--models", "lr", "--workers", "1", "--load", "python", "--skip-memory", "--same-time",
        "--json",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    rows = {row["server"]: row for row in report["rows"]}
    assert set(rows) == {"mloop", "mloop-ab", "mloop-shadow"}
    assert all(row["errors"] == 0 and row["rps"] > 0 for row in rows.values())
    assert rows["mloop"]["vs_single"] == 1.0
    assert all(row["rows_per_call"] >= 1 for row in rows.values())
    targets = " ".join(t["target"] for t in report["targets"])
    assert "A/B rollout 50/50" in targets
    assert "shadow rollout adds" in targets


def test_retraining_benchmark_runs_a_quick_configuration() -> None:
    command = [sys.executable, str(BENCHMARKS / "retraining.py"), "--quick", "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=True)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["sweep"]["local_s"] > 0
    assert measured["assembly"]["labelled"] > 0
    assert measured["checks"]["bootstrap < 1 s"] is True


def test_server_benchmark_mloop_side_runs_a_quick_configuration() -> None:
    command = [sys.executable, str(BENCHMARKS / "server.py"), "--quick", "--only-mloop", "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    timings = json.loads(result.stdout.strip().splitlines()[-1])
    assert timings["mlflow"] is None
    assert set(timings["mloop"]) == {"log_metric", "search", "runs_page", "curve_page"}
    assert all(seconds > 0 for seconds in timings["mloop"].values())


def test_log_lifecycle_benchmark_checks_hold_on_a_quick_log() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "log_lifecycle.py"),
            "--rows",
            "6000",
            "--chunks",
            "6",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["checks"] and all(measured["checks"].values())
    assert [row["step"] for row in measured["table"]][-2:] == ["retain 30 days", "erase one unit"]
