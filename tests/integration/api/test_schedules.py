"""Two `mloop server` replicas on one PostgreSQL store share the scheduled monitor: each
interval's run happens once, and when the replica holding it dies the other takes it over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

import mloop
from mloop.demo import churn_pipeline
from mloop.entities import MonitorKind
from mloop.scenario import TARGET, churn_customers
from mloop.schedules import LEASE_INTERVALS
from tests.integration.monitoring.conftest import Monitored
from tests.team_server import free_port

CLI = [sys.executable, "-c", "from mloop.cli import main; main()"]
EVERY = 2.0
LEASE = "schedule:monitor:churn@champion"


def _monitored(client: mloop.Client) -> Monitored:
    """churn v1 (champion) with a labelled reference and 600 logged answers."""
    data = churn_customers(2000, seed=11)
    train, holdout = data.iloc[:1500], data.iloc[1500:]
    features = train.drop(columns=[TARGET])
    model = churn_pipeline(LogisticRegression(max_iter=500)).fit(features, train[TARGET])
    run_id = client.create_run("churn", "lr")
    client.log_model(run_id, model, input_example=features)
    reference = holdout.drop(columns=[TARGET])
    client.register_model(run_id, "churn", reference=reference, reference_labels=holdout[TARGET])
    client.set_alias("churn", "champion", 1, reason="first")
    monitored = Monitored(client, model)
    monitored.log(churn_customers(600, seed=5), start=time.time() - 600, feedback=0.5)
    return monitored


@pytest.fixture
def replicas(postgres_url: str, tmp_path: Path) -> Iterator[tuple[mloop.Client, dict[int, str]]]:
    """Two `mloop server` processes scheduling the monitor of churn (set up while they start)
    every 2 s on one PostgreSQL store: the store's client, and pid -> URL."""
    client = mloop.Client(postgres_url)
    client.list_experiments()  # creates the store before the replicas open it
    where = ["--store", client.store_url, "--artifacts", client.artifacts_url]
    processes = []
    for _ in range(2):
        port = free_port()
        command = [*where, "server", "--port", str(port), "--monitor", "churn@champion"]
        command += ["--monitor-every", str(EVERY), "--monitor-window", "600"]
        log = (tmp_path / f"replica-{port}.log").open("w")
        processes.append((subprocess.Popen([*CLI, *command], stderr=log, env=os.environ), port))
    try:
        _monitored(client)
        for _, port in processes:
            _wait_for(f"http://127.0.0.1:{port}/api/v1/")
        yield client, {process.pid: f"http://127.0.0.1:{port}" for process, port in processes}
    finally:
        for process, _ in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"no mloop server came up at {url}")


def _holder_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        holder = conn.execute(
            sa.text("SELECT holder FROM leases WHERE name = :name"), {"name": LEASE}
        ).scalar_one()
    return int(str(holder).split(":")[1])


def _wait_for_holder(engine: sa.Engine, pid: int, seconds: float) -> float:
    """When the lease passed to ``pid`` (epoch seconds); AssertionError after ``seconds``."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if _holder_pid(engine) == pid:
            return time.time()
        time.sleep(0.05)
    raise AssertionError(f"replica {pid} did not take the lease over within {seconds} s")


def _run_times(client: mloop.Client, since: float) -> list[float]:
    results = client.monitoring.results("churn", kind=MonitorKind.DRIFT, since=since)
    return sorted(result.created_at for result in results)


@pytest.mark.timeout(120)
def test_replicas_run_each_interval_once_and_hand_over_a_dead_holders_jobs(
    replicas: tuple[mloop.Client, dict[int, str]],
) -> None:
    client, pids = replicas
    engine = sa.create_engine(client.store_url)
    watched_from = (int(time.time() / EVERY) + 1) * EVERY
    time.sleep(watched_from + 4 * EVERY - time.time())
    holder = _holder_pid(engine)
    survivor = next(pid for pid in pids if pid != holder)
    os.kill(holder, signal.SIGKILL)
    killed_at = time.time()
    lease = LEASE_INTERVALS * EVERY
    taken_at = _wait_for_holder(engine, survivor, lease + 1.0)
    engine.dispose()
    assert taken_at - killed_at <= lease + 0.6  # within one lease period (and one poll)
    time.sleep(2 * EVERY)
    watched_to = int(time.time() / EVERY) * EVERY
    times = [t for t in _run_times(client, watched_from) if t < watched_to]

    per_interval = Counter(int(t // EVERY) for t in times)
    assert max(per_interval.values()) == 1, per_interval  # never twice in one interval
    before = [t for t in times if t < killed_at]
    after = [t for t in times if t >= taken_at]
    assert set(range(int(watched_from // EVERY), int(before[-1] // EVERY) + 1)) <= set(
        per_interval
    ), per_interval  # none missed while the holder lived
    assert set(range(int(after[0] // EVERY), int(watched_to // EVERY))) <= set(per_interval)
