"""The largest request body the API reads (``max_body_bytes``): larger ones get a 413.

A body announced larger by ``Content-Length`` is refused before it is read; a body sent
without one (chunked) is counted as it arrives and the read fails with PayloadTooLarge once it
passes the limit, so the server never holds more than the limit in memory for one request.
"""

from __future__ import annotations

from mloop import web
from mloop.api.guard import App, Message, Receive, Scope, Send
from mloop.errors import MloopError, PayloadTooLarge


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is larger than this server's limit of {limit} bytes (max_body_bytes)",
        field="body",
    )


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with mloop's error body and a 413."""

    def __init__(self, app: App, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await _refuse(_too_large(self.limit), send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _too_large(self.limit)
            return message

        await self.app(scope, counted, send)


def too_large_cause(exc: BaseException) -> PayloadTooLarge | None:
    """The PayloadTooLarge a framework error was raised from (FastAPI wraps body errors)."""
    cause = exc.__cause__
    return cause if isinstance(cause, PayloadTooLarge) else None


async def _refuse(error: MloopError, send: Send) -> None:
    body = web.json_bytes(web.error_body(error))
    headers = [(b"content-type", web.JSON_TYPE.encode()), (b"content-length", b"%d" % len(body))]
    await send(
        {"type": "http.response.start", "status": web.http_status(error), "headers": headers}
    )
    await send({"type": "http.response.body", "body": body})
