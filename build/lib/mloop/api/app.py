"""The mloop server's REST API under ``/api/v1``: one FastAPI app over a store and artifacts.

Every error answer is mloop's error body with the status of ``mloop.web``'s table; unknown
paths and methods, and request bodies of the wrong shape, answer with the same body.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from mloop import __version__, web
from mloop.api import artifacts, monitoring, predictions, registry, runs
from mloop.api.backend import Backend
from mloop.api.guard import RequestGuard
from mloop.artifacts import ArtifactStore
from mloop.config import Settings
from mloop.errors import InvalidInput, MalformedRequest, MloopError, NotFound
from mloop.store import Store, open_store

API = "/api/v1"
OPENAPI = f"{API}/openapi.json"
DOCS = f"{API}/docs"
logger = logging.getLogger("mloop.api")
index = APIRouter(tags=["server"])


class BackgroundJob(Protocol):
    """Work the server runs beside the API (a scheduler): started and stopped with it."""

    def start(self) -> None:
        """Begin working in the background."""
        ...

    def stop(self) -> None:
        """Stop and wait for the work to end."""
        ...


@index.get("/")
def describe() -> dict[str, str]:
    """What answers here: the service, its version, and where its API is described."""
    return {"service": "mloop", "version": __version__, "openapi": OPENAPI, "docs": DOCS}


def create_api(
    settings: Settings,
    store: Store | None = None,
    *,
    jobs: Sequence[BackgroundJob] = (),
    pages: Sequence[APIRouter] = (),
) -> FastAPI:
    """The API app on ``store`` (default: the settings' store) and the settings' artifacts.

    ``jobs`` start when the app starts and stop when it stops. ``pages`` are routers served
    at the root beside the API (the dashboard). The app is wrapped in the request guard of
    ``mloop.api.guard`` (Host list, token, CSRF, media types), which covers the pages too.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for job in jobs:
            job.start()
        yield
        for job in jobs:
            await asyncio.to_thread(job.stop)

    app = FastAPI(
        title="mloop server",
        version=__version__,
        openapi_url=OPENAPI,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.backend = Backend(
        store or open_store(settings.store_url), ArtifactStore(settings.artifacts_url), settings
    )
    for module in (index, runs.router, artifacts.router, registry.router):
        app.include_router(module, prefix=API)
    for module in (predictions.router, monitoring.router):
        app.include_router(module, prefix=API)
    app.add_api_route(DOCS, lambda: docs_page(app), include_in_schema=False)
    for router in pages:
        app.include_router(router)
    _handle_errors(app)
    app.add_middleware(RequestGuard, settings=settings)
    return app


def error_response(error: MloopError, status: int | None = None) -> Response:
    """mloop's error body for ``error``, with its table status unless ``status`` is given."""
    body = web.json_bytes(web.error_body(error))
    return Response(body, status or web.http_status(error), media_type=web.JSON_TYPE)


def _handle_errors(app: FastAPI) -> None:
    app.add_exception_handler(MloopError, _mloop_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


async def _mloop_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, MloopError)
    if web.http_status(exc) == web.INTERNAL:
        logger.error("request failed: %s", exc)
    return error_response(exc)


async def _invalid_request(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        return error_response(MalformedRequest("the request body is not valid JSON"))
    where = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
    return error_response(InvalidInput(f"{where or 'request'}: {first.get('msg')}", field=where))


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(NotFound("no such path in the mloop API"))
    return error_response(MalformedRequest(str(exc.detail)), exc.status_code)


async def _unexpected(_: Request, exc: Exception) -> Response:
    logger.exception("request failed", exc_info=exc)
    return error_response(MloopError(web.INTERNAL_MESSAGE))


def docs_page(app: FastAPI) -> HTMLResponse:
    """A plain HTML list of the API's operations, linking the OpenAPI document (no scripts)."""
    rows = [
        f"<tr><td>{html.escape(method.upper())}</td><td><code>{html.escape(path)}</code></td>"
        f"<td>{html.escape(op.get('summary', ''))}</td></tr>"
        for path, item in app.openapi()["paths"].items()
        for method, op in item.items()
    ]
    page = (
        "<!doctype html><meta charset=utf-8><title>mloop API</title>"
        f"<h1>mloop API {html.escape(__version__)}</h1>"
        f'<p>OpenAPI document: <a href="{OPENAPI}">{OPENAPI}</a></p>'
        f"<table><tr><th>method</th><th>path</th><th>summary</th></tr>{''.join(rows)}</table>"
    )
    headers = {"content-security-policy": "default-src 'none'"}
    return HTMLResponse(page, headers=headers)
