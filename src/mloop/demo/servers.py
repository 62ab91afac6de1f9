"""The demo's servers: ``mloop server`` (the API and dashboard) and ``mloop serve`` (the model),
each a child process on a free port of 127.0.0.1, stopped with SIGTERM so they flush and exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from mloop.errors import StoreUnavailable

MLOOP = (sys.executable, "-c", "from mloop.cli import main; main()")
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerProcess:
    """One running server: its name, base URL, process and the file its output goes to."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self, path: str, seconds: float = 90.0) -> None:
        """Poll ``path`` until it answers 200; StoreUnavailable (with the log's tail) when the
        process exits or ``seconds`` pass first."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}{path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        tail = self.log.read_text(errors="replace")[-2000:]
        raise StoreUnavailable(f"the {self.name} at {self.url} did not start:\n{tail}")

    def stop(self, seconds: float = 30.0) -> int:
        """SIGTERM, then wait up to ``seconds`` (SIGKILL after that); returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def start_server(
    name: str, arguments: Sequence[str], port: int, env: Mapping[str, str], logs: Path
) -> ServerProcess:
    """Start ``mloop <arguments> --port PORT`` with ``env``; its output goes to
    ``logs/<name>.log``. Returns at once: call ``wait_ready``."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name.replace(' ', '-')}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*MLOOP, *arguments, "--port", str(port)],
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return ServerProcess(name, f"http://{HOST}:{port}", process, log)
