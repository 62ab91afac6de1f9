"""A real ``mloop server`` on 127.0.0.1 over a store filled by ``tests.e2e.fill``, and headless
Chromium through Playwright; the tests skip, saying why, when either browser part is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import mloop
from tests.e2e.fill import Filled, fill
from tests.team_server import free_port

CHROMIUM = os.environ.get("MLOOP_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


class Site:
    """The running server: its base URL and what the fill made."""

    def __init__(self, url: str, filled: Filled) -> None:
        self.url = url
        self.filled = filled


def _wait(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mloop server exited with {process.returncode}")
        try:
            httpx.get(f"{url}/api/v1/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"mloop server did not answer at {url}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """``mloop server`` in a child process on a filled SQLite store."""
    root = tmp_path_factory.mktemp("dashboard")
    store, artifacts = f"sqlite:///{root / 'mloop.db'}", str(root / "artifacts")
    filled = fill(mloop.Client(store, artifacts_url=artifacts))
    port = free_port()
    source = str(Path(mloop.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "MLOOP_STORE_URL": store,
        "MLOOP_ARTIFACTS_URL": artifacts,
        "MLOOP_HOME": str(root),
        "PYTHONPATH": source,
    }
    env.pop("MLOOP_TOKEN", None)
    command = [
        sys.executable,
        "-c",
        "from mloop.cli import main; main()",
        "server",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, process)
        yield Site(url, filled)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()
