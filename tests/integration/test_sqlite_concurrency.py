"""Many writers on one SQLite store, and a writer killed mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import mloop

WRITER = """
import sys, mloop
client = mloop.Client(sys.argv[1])
run_id = client.create_run("load", f"writer-{sys.argv[2]}")
for step in range(int(sys.argv[3])):
    client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
client.end_run(run_id)
print(run_id)
"""

BATCHER = """
import sys, time, mloop
from mloop.entities import Metric
client = mloop.Client(sys.argv[1])
run_id = client.create_run("crash", "batcher")
print(run_id, flush=True)
batch = 0
while True:
    points = [Metric(f"batch{batch}", float(i), i, time.time()) for i in range(int(sys.argv[2]))]
    print(f"start {batch}", flush=True)
    client.log_batch(run_id, metrics=points, params={f"p{batch}": batch})
    batch += 1
"""


def test_eight_processes_log_metrics_into_one_sqlite_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    mloop.Client(url).get_or_create_experiment("load")
    points = 5000
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(i), str(points)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    outputs = [w.communicate(timeout=240) for w in writers]
    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert "locked" not in err
        assert writer.returncode == 0, err
    client = mloop.Client(url)
    for out, _ in outputs:
        history = client.get_metric_history(out.strip(), "loss")
        assert [m.step for m in history] == list(range(points))
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM metrics").scalar() == 8 * points
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_mid_batch_leaves_all_or_nothing(
    request: pytest.FixtureRequest, backend: str
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    mloop.Client(url).get_or_create_experiment("crash")
    size = 20_000
    child = subprocess.Popen(
        [sys.executable, "-c", BATCHER, url, str(size)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    started = [child.stdout.readline() for _ in range(3)]
    time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert started[-1].startswith("start 2")
    client = mloop.Client(url)
    run = client.get_run(run_id)
    for batch in range(3):
        count = len(client.get_metric_history(run_id, f"batch{batch}"))
        assert count in (0, size), f"batch {batch} was half-written: {count} of {size} points"
        assert (f"p{batch}" in run.params) == (count == size)
    assert len(client.get_metric_history(run_id, "batch0")) == size
    assert len(client.get_metric_history(run_id, "batch1")) == size
