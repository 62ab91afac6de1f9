"""One ``mloop demo --fast --json`` shared by the tests that need a home the demo has filled."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

MLOOP = [sys.executable, "-c", "from mloop.cli import main; main()"]


@dataclass(frozen=True)
class DemoRun:
    """The demo's end state (its ``--json`` output) and the environment of its home."""

    state: dict[str, Any]
    env: dict[str, str]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """One ``mloop demo --fast --json`` in a fresh home, run once per test session.

    Under pytest-xdist the workers share the session's temporary folder: the first worker to
    ask runs the demo while holding a lock, the others wait for it and read its end state.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOOP_")}
    env.update(MLOOP_HOME=str(folder / "home"), MLOOP_USER="tester", NO_COLOR="1")
    with (shared / "demo.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return DemoRun(_end_state(folder, env), env)


def _end_state(folder: Path, env: dict[str, str]) -> dict[str, Any]:
    state = folder / "state.json"
    if not state.exists():
        folder.mkdir(exist_ok=True)
        done = subprocess.run(
            [*MLOOP, "demo", "--fast", "--json"],
            env=env, capture_output=True, text=True, timeout=280,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-4000:]
        state.write_text(done.stdout)
    return dict(json.loads(state.read_text()))
