"""Retraining across processes: two at once train once; a killed one leaves nothing half-done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mloop
from mloop.entities import DecisionKind, RunStatus

from .conftest import log_traffic, policy, train_champion

ROOT = Path(__file__).parents[3]
SLOW = "tests.integration.retraining.recipes:slow"
RETRAIN = (
    "import sys, time, pathlib, mloop; from mloop.retraining import retrain, lease; "
    "lease.LEASE_SECONDS = float(sys.argv[4]); "
    "c = mloop.Client(sys.argv[1], artifacts_url=sys.argv[2]); print('ready', flush=True); "
    "go = pathlib.Path(sys.argv[3])\n"
    "while not go.exists(): time.sleep(0.01)\n"
    "print(retrain(c, 'churn').kind.value, flush=True)"
)


def _start(client: mloop.Client, go: Path, lease: float = 60.0) -> subprocess.Popen[str]:
    """A process that retrains once ``go`` exists, its lock on a lease of ``lease`` seconds;
    it prints ``ready`` when it has imported."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    command = [sys.executable, "-c", RETRAIN, client.store_url, client.artifacts_url, str(go),
               str(lease)]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def _ready(sqlite_url: str, sleep: float, lock_seconds: float = 3600) -> mloop.Client:
    client = mloop.Client(sqlite_url)
    log_traffic(client, train_champion(client, rows=600), 600, downturn=1.0, seed=11)
    params = {"model": "logistic_regression", "max_iter": 300, "sleep": sleep}
    client.set_retraining_policy(policy(recipe=SLOW, params=params, lock_seconds=lock_seconds))
    return client


def test_two_processes_running_one_policy_train_once(sqlite_url: str, tmp_path: Path) -> None:
    client = _ready(sqlite_url, sleep=2.0)
    go = tmp_path / "go"
    processes = [_start(client, go), _start(client, go)]
    go.touch()
    outcomes = sorted(p.communicate(timeout=120)[0].strip() for p in processes)
    assert outcomes == ["promoted", "skipped"]
    kinds = [d.kind for d in client.retraining.decisions("churn")]
    assert kinds.count(DecisionKind.TRAINED) == 1
    skipped = [d for d in client.retraining.decisions("churn") if d.kind is DecisionKind.SKIPPED]
    assert len(skipped) == 1 and skipped[0].reason
    assert [v.version for v in client.list_model_versions("churn")] == [2, 1]


def test_a_killed_retraining_registers_nothing_and_its_lock_expires(
    sqlite_url: str, tmp_path: Path
) -> None:
    client = _ready(sqlite_url, sleep=60.0, lock_seconds=3.0)
    go = tmp_path / "go"
    process = _start(client, go)
    go.touch()
    deadline = time.monotonic() + 60
    while not client.retraining.decisions("churn") and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert [v.version for v in client.list_model_versions("churn")] == [1]
    assert client.get_alias("churn", "champion") == 1
    assert not client.retraining.acquire_lock("churn", "someone-else", 5)
    time.sleep(3.0)
    assert client.retraining.acquire_lock("churn", "someone-else", 5)


def _training(client: mloop.Client, go: Path, lease: float = 60.0) -> subprocess.Popen[str]:
    """A retraining process (its recipe sleeps a minute) once it has triggered."""
    process = _start(client, go, lease)
    go.touch()
    deadline = time.monotonic() + 60
    while not client.retraining.decisions("churn") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [d.kind for d in client.retraining.decisions("churn")] == [DecisionKind.TRIGGERED]
    return process


def test_a_live_retraining_renews_its_lease_and_a_killed_one_frees_the_lock_within_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    client = _ready(sqlite_url, sleep=60.0)
    process = _training(client, tmp_path / "go", lease=2.0)
    time.sleep(5.0)  # two leases and more: only the heartbeat keeps the lock
    assert not client.retraining.acquire_lock("churn", "someone-else", 5)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    killed = time.monotonic()
    while not client.retraining.acquire_lock("churn", "someone-else", 5):
        assert time.monotonic() - killed < 4.0, "the dead holder's lock outlived its lease"
        time.sleep(0.1)


def test_an_interrupted_retraining_records_its_failure_and_gives_the_lock_back(
    sqlite_url: str, tmp_path: Path
) -> None:
    client = _ready(sqlite_url, sleep=60.0)
    process = _training(client, tmp_path / "go")
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    decisions = client.retraining.decisions("churn")
    assert [d.kind for d in decisions] == [DecisionKind.TRIGGERED, DecisionKind.FAILED]
    assert decisions[-1].reason.startswith("interrupted (KeyboardInterrupt)")
    runs = client.search_runs("retraining")
    assert len(runs) == 1 and runs[0].status is RunStatus.FAILED
    assert client.retraining.acquire_lock("churn", "someone-else", 5)
    assert [v.version for v in client.list_model_versions("churn")] == [1]
