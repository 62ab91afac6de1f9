"""The API's gate: request ids, the allowed Host list, the bearer token, CSRF and media types.

Pure ASGI, so a refused request never reaches a route. In order, a request is refused when its
``Host`` is not an allowed name (403: DNS rebinding), it lacks the token (401: every write, and
reads when ``token_reads`` is on), it changes state from a foreign browser ``Origin`` (403), or
it sends a form or text body (415: what a cross-site form can send without a preflight).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mloop import web
from mloop.config import Settings
from mloop.errors import Forbidden, MloopError, UnsupportedMediaType

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

READS = frozenset({"GET", "HEAD", "OPTIONS"})
BODY_TYPES = frozenset({"application/json", "application/octet-stream"})
NOSNIFF = (b"x-content-type-options", b"nosniff")


def host_name(host: str) -> str:
    """The name of a ``Host`` header without its port, lower case (``[::1]:80`` -> ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


class RequestGuard:
    """Checks every HTTP request against the settings before the app sees it."""

    def __init__(self, app: App, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.hosts = frozenset(name.lower() for name in settings.allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        rid = web.request_id(headers.get(web.REQUEST_ID_HEADER))
        scope.setdefault("state", {})["request_id"] = rid
        extra = [NOSNIFF, (web.REQUEST_ID_HEADER.encode(), rid.encode())]

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            self.check(scope["method"], headers)
        except MloopError as exc:
            await _refuse(exc, send_marked)
            return
        await self.app(scope, receive, send_marked)

    def check(self, method: str, headers: dict[str, str]) -> None:
        """Raise the error that refuses this request, or return when it may go on."""
        host = headers.get("host", "")
        if "*" not in self.hosts and host_name(host) not in self.hosts:
            raise Forbidden(f"Host {host!r} is not an allowed name of this server", field="host")
        write = method.upper() not in READS
        if write or self.settings.token_reads:
            web.check_bearer(headers.get("authorization"), self.settings.token)
        if write:
            self._check_origin(headers.get("origin"), host)
            self._check_media_type(headers.get("content-type"))

    def _check_origin(self, origin: str | None, host: str) -> None:
        if origin is None or origin in self.settings.allowed_origins:
            return
        if origin.partition("://")[2].lower() != host.lower():
            raise Forbidden(
                f"a write from origin {origin!r} is refused (cross-site)", field="origin"
            )

    def _check_media_type(self, content_type: str | None) -> None:
        if content_type is None:
            return
        media = content_type.partition(";")[0].strip().lower()
        if media not in BODY_TYPES and not media.endswith("+json"):
            raise UnsupportedMediaType(
                f"content type {media!r} is not accepted; send application/json",
                field="content-type",
            )


async def _refuse(error: MloopError, send: Send) -> None:
    body = web.json_bytes(web.error_body(error))
    headers = [(b"content-type", web.JSON_TYPE.encode()), (b"content-length", b"%d" % len(body))]
    await send(
        {"type": "http.response.start", "status": web.http_status(error), "headers": headers}
    )
    await send({"type": "http.response.body", "body": body})
