"""The README followed in order: after ``mloop demo``, every Python block runs in one process.

The blocks run as one script in a fresh ``MLOOP_HOME`` with ``customer.json`` written from the
README, and the serving block talks to a real ``mloop serve`` of the demo's champion.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import MLOOP, DemoRun

README = Path(__file__).parents[2] / "README.md"

pytestmark = pytest.mark.timeout(400)


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def demo_home(demo_run: DemoRun) -> dict[str, str]:
    """The environment of the home the session's ``mloop demo`` filled."""
    return demo_run.env


@pytest.fixture
def server(demo_home: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """``mloop serve`` of the demo's champion, ready; its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    args = [*MLOOP, "serve", "models:/churn@champion", "--port", str(port)]
    process = subprocess.Popen(
        args, env=demo_home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert process.poll() is None, "mloop serve exited"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_every_python_block_runs_in_order_after_the_demo(
    demo_home: dict[str, str], server: str, tmp_path: Path
) -> None:
    blocks = re.findall(r"```(?:python|py)\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 4
    work = tmp_path / "work"
    work.mkdir()
    (customer,) = [b for b in _blocks("json") if "customer_age" in b]
    (work / "customer.json").write_text(customer)
    script = "\n".join(blocks).replace("http://127.0.0.1:8000", server)
    (work / "readme.py").write_text(script)
    result = subprocess.run(
        [sys.executable, "readme.py"],
        cwd=work,
        env=demo_home,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    check = subprocess.run(
        [*MLOOP, "models", "ls", "--json"], env=demo_home, capture_output=True, text=True
    )
    champions = {m["name"]: m["aliases"].get("champion") for m in json.loads(check.stdout)}
    assert champions["churn-lr"] == 1  # the example's
    assert champions["churn"] in (1, 2)  # the demo's: v2 when its canary promoted the challenger
