"""``mloop demo`` on a store an earlier, interrupted run left behind, and stopped by SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import mloop
from mloop.entities import RolloutMode, RolloutPolicy

from .conftest import MLOOP, DemoRun

pytestmark = pytest.mark.timeout(400)


def _copy(demo_run: DemoRun, tmp_path: Path) -> dict[str, str]:
    """A copy of the demo's home (the store copied by SQLite's backup: other tests use it)."""
    source, home = Path(demo_run.env["MLOOP_HOME"]), tmp_path / "home"
    shutil.copytree(source, home, ignore=shutil.ignore_patterns("mloop.db*"))
    with sqlite3.connect(source / "mloop.db") as live, sqlite3.connect(home / "mloop.db") as copy:
        live.backup(copy)
    return {**demo_run.env, "MLOOP_HOME": str(home)}


def test_a_second_demo_stops_the_rollout_an_interrupted_one_left(
    demo_run: DemoRun, tmp_path: Path
) -> None:
    env = _copy(demo_run, tmp_path)
    home = env["MLOOP_HOME"]
    client = mloop.Client(f"sqlite:///{home}/mloop.db", artifacts_url=f"{home}/artifacts")
    champion = client.get_alias("churn", "champion")
    versions = client.registry.list_model_versions("churn")
    other = next(v.version for v in versions if v.version != champion)
    left = client.rollouts.start("churn", other, RolloutPolicy(RolloutMode.CANARY, (0.1, 1.0)))
    done = subprocess.run(
        [*MLOOP, "demo", "--fast", "--json", "--rows", "2000"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"stopped rollout {left.id} of churn" in done.stderr
    stopped = client.rollouts.get(left.id)
    assert stopped.state == "stopped"


def test_sigterm_stops_the_demo_and_its_servers(demo_run: DemoRun, tmp_path: Path) -> None:
    env = _copy(demo_run, tmp_path)
    demo = subprocess.Popen(
        [*MLOOP, "demo", "--fast", "--rows", "2000"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    children = Path(f"/proc/{demo.pid}/task/{demo.pid}/children")
    deadline = time.monotonic() + 120
    servers: list[int] = []
    while len(servers) < 2 and time.monotonic() < deadline and demo.poll() is None:
        servers = [int(pid) for pid in children.read_text().split()]
        time.sleep(0.2)
    assert len(servers) == 2, "the demo did not start its two servers"
    demo.send_signal(signal.SIGTERM)
    demo.wait(timeout=90)
    for pid in servers:
        stop = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < stop:
            time.sleep(0.2)
        assert not _alive(pid), f"server {pid} outlived the demo"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]
    return state != "Z"
