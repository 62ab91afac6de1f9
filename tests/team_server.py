"""A real uvicorn on 127.0.0.1 in a thread, serving one mloop API app per store under a prefix.

One server runs for the whole session; each test mounts its own API app (on its own store)
under ``/t/<id>``, so a REST store test costs one app, not one server start.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import httpx
import uvicorn

Scope = MutableMapping[str, Any]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Tenants:
    """An ASGI app that hands each request to the app mounted under its path's prefix."""

    def __init__(self) -> None:
        self.apps: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        prefix = "/".join(scope["path"].split("/", 3)[:3])
        app = self.apps.get(prefix)
        if app is None:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await app({**scope, "root_path": prefix}, receive, send)


class SessionServer:
    """uvicorn serving ``Tenants`` on a free port of 127.0.0.1, until ``stop``."""

    def __init__(self, app: Any = None) -> None:
        self.tenants = Tenants()
        self.url = f"http://127.0.0.1:{free_port()}"
        port = int(self.url.rsplit(":", 1)[1])
        config = uvicorn.Config(
            app or self.tenants, host="127.0.0.1", port=port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        _wait_until_listening(self.url)

    def mount(self, app: Any) -> str:
        """Serve ``app`` under a new prefix; return the URL of that prefix."""
        prefix = f"/t/{uuid.uuid4().hex[:12]}"
        self.tenants.apps[prefix] = app
        return f"{self.url}{prefix}"

    def unmount(self, url: str) -> None:
        """Stop serving the app mounted at ``url``."""
        self.tenants.apps.pop(url.removeprefix(self.url), None)

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _wait_until_listening(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.02)
    raise RuntimeError(f"no server came up at {url}")
