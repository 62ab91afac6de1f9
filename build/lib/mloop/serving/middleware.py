"""One ASGI middleware that gives every request an id, counts it and writes its access line.

Routes add what they know to the request state (``protocol``, ``model``, ``version``); the
middleware reads it once the answer has started, so every route, 404 and 405 included, is
counted and logged exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mloop import web
from mloop.serving.telemetry import ServerMetrics, log_access

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

NO_PROTOCOL = "http"
_HEADER = web.REQUEST_ID_HEADER.encode()


def given_request_id(scope: Scope) -> str | None:
    """The caller's ``x-request-id`` header, if it sent one."""
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            return str(value.decode("latin-1"))
    return None


class RequestTelemetry:
    """Pure ASGI: sets ``state.request_id``, echoes it in ``x-request-id``, then counts and logs.

    An exception that escapes the app is recorded as a 500 and raised on.
    """

    def __init__(self, app: App, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        request_id = state["request_id"] = web.request_id(given_request_id(scope))
        header = (_HEADER, request_id.encode())
        status = web.INTERNAL

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._observe(scope, state, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, state: dict[str, Any], status: int, elapsed: float) -> None:
        protocol = state.get("protocol", NO_PROTOCOL)
        model, version = state.get("model", ""), state.get("version", "")
        self.metrics.requests.labels(protocol, str(status), model, version).inc()
        self.metrics.latency.labels(protocol, model, version).observe(elapsed)
        log_access(
            method=scope["method"],
            path=scope["path"],
            status=status,
            latency_ms=round(elapsed * 1000, 3),
            request_id=state["request_id"],
            model=model,
            version=version,
        )
