"""The API's interactive docs: Swagger UI 5 (it reads FastAPI's OpenAPI 3.1 document) from the
files the ``fastapi-offline`` package ships, served by this server (no CDN), under a policy
that lets the page load only its own scripts, styles and the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

from mloop import __version__
from mloop.errors import NotFound

ASSET_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon.png")
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'"
)
INIT = """window.onload = () => {
  window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true});
};
"""


def page() -> str:
    """The docs page; its links are relative, so it works under any prefix of the server."""
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>mloop API {__version__}</title>"
        '<link rel="icon" href="docs/favicon.png">'
        '<link rel="stylesheet" href="docs/swagger-ui.css"></head>'
        '<body><div id="swagger-ui"></div>'
        '<script src="docs/swagger-ui-bundle.js"></script>'
        '<script src="docs/init.js"></script></body></html>'
    )


def add_docs(app: FastAPI, docs_url: str) -> None:
    """Serve the docs page at ``docs_url`` (beside ``openapi.json``) and its assets below it."""
    headers = {"content-security-policy": POLICY}

    async def docs() -> HTMLResponse:
        return HTMLResponse(page(), headers=headers)

    async def init() -> Response:
        return Response(INIT, media_type="text/javascript", headers=headers)

    async def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise NotFound(f"no docs asset {name!r}", field="name")
        return FileResponse(ASSET_DIR / name, headers=headers)

    app.add_api_route(docs_url, docs, include_in_schema=False)
    app.add_api_route(f"{docs_url}/init.js", init, include_in_schema=False)
    app.add_api_route(f"{docs_url}/{{name}}", asset, include_in_schema=False)
