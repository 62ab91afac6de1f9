"""The dashboard's routes: one server-rendered page per part of the loop, and its static files.

Pages read through the services on the server; actions (acknowledge an alert, move an alias)
are sent by the page's script to ``/api/v1`` with the API's token and CSRF rules. Every asset
comes from this server: plotly.js from the installed ``plotly`` package, the rest from
``mloop/dashboard/static``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, HTMLResponse, Response

from mloop import web
from mloop.client import Client
from mloop.dashboard.evaluation import SameDataEvaluations
from mloop.dashboard.home import home_page
from mloop.dashboard.importance import ImportanceCache
from mloop.dashboard.monitoring import monitoring_page
from mloop.dashboard.registry import chosen_model, registry_page
from mloop.dashboard.render import HEADERS, render
from mloop.dashboard.retraining import retraining_page
from mloop.dashboard.rollouts import rollouts_page
from mloop.dashboard.runs import checked_query, compare_page, runs_page
from mloop.dashboard.service import service_page
from mloop.errors import MloopError, NotFound

STATIC_FILES = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
LONG_CACHE = {"cache-control": "public, max-age=31536000, immutable"}
SHORT_CACHE = {"cache-control": "public, max-age=300"}


def plotly_js() -> Path:
    """The plotly.min.js bundled in the installed ``plotly`` package.

    Raises NotFound when the package (a dependency of mloop) is missing or lacks the bundle.
    """
    try:
        import plotly
    except ImportError as exc:
        raise NotFound("the plotly package is not installed; pip install plotly") from exc
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise NotFound(f"plotly {plotly.__version__} ships no package_data/plotly.min.js")
    return path


def _page(template: str, build: Callable[[], dict[str, Any]], active: str) -> HTMLResponse:
    """The page, or the page's error banner with the error's status; a page whose values carry
    a ``problem`` (a bad filter) is shown with it and the problem's status."""
    try:
        values = build()
        problem = values.get("problem")
        status = web.http_status(problem) if isinstance(problem, MloopError) else 200
    except MloopError as exc:
        values, status = (
            {"error": web.public_message(exc), "field": exc.field},
            web.http_status(exc),
        )
    return HTMLResponse(render(template, active=active, **values), status, headers=HEADERS)


class Dashboard:
    """The dashboard of one store: its client, the importance cache and where servers'
    metrics are read (``metrics_urls``: Prometheus ``/metrics`` URLs of model servers)."""

    def __init__(self, client: Client, metrics_urls: Sequence[str] = ()) -> None:
        self.client = client
        self.metrics_urls = tuple(metrics_urls)
        self.importance = ImportanceCache()
        self.evaluations = SameDataEvaluations()
        self.started = time.time()

    def model_or_none(self, name: str | None) -> str | None:
        """The model a page shows: ``name``, else the first registered one (None: none yet)."""
        return chosen_model(self.client, name)

    def models(self) -> list[str]:
        """The names of the registered models, for the model pickers."""
        return [m.name for m in self.client.registry.list_models()]

    def with_model(
        self, name: str | None, build: Callable[[str], dict[str, Any]]
    ) -> dict[str, Any]:
        """``build(model)`` with the model list added; ``{"model": None}`` with none registered."""
        model = self.model_or_none(name)
        values = build(model) if model is not None else {"model": None}
        return {**values, "models": self.models()}


def dashboard_router(client: Client, *, metrics_urls: Sequence[str] = ()) -> APIRouter:
    """The dashboard's routes at ``/`` (pages) and ``/static`` (assets) over ``client``'s store."""
    board = Dashboard(client, metrics_urls)
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def home() -> HTMLResponse:
        return _page("home.html", lambda: home_page(board.client), "home")

    @router.get("/runs")
    def runs(
        experiment: str | None = None,
        filter: str = "",
        order: str = "attributes.start_time DESC",
        page: int = 0,
        size: int = 50,
    ) -> HTMLResponse:
        def build() -> dict[str, Any]:
            query = checked_query(experiment, filter, order, page, size)
            return runs_page(board.client, query)

        return _page("runs.html", build, "runs")

    @router.get("/runs/compare")
    def compare(ids: list[str] = Query(default=[])) -> HTMLResponse:
        split = [part for value in ids for part in value.split(",")]
        return _page("compare.html", lambda: compare_page(board.client, split), "runs")

    @router.get("/registry")
    def registry(
        model: str | None = None, version: int | None = None, evaluate: bool = False
    ) -> HTMLResponse:
        def page(name: str) -> dict[str, Any]:
            same = board.evaluations.chart(board.client, name) if evaluate else None
            return registry_page(board.client, name, version, board.importance, same)

        def build() -> dict[str, Any]:
            return board.with_model(model, page)

        return _page("registry.html", build, "registry")

    @router.get("/rollouts")
    def rollouts(model: str | None = None) -> HTMLResponse:
        def build() -> dict[str, Any]:
            return board.with_model(model, lambda m: rollouts_page(board.client, m))

        return _page("rollouts.html", build, "rollouts")

    @router.get("/monitoring")
    def monitoring(model: str | None = None, feature: str | None = None) -> HTMLResponse:
        def build() -> dict[str, Any]:
            return board.with_model(model, lambda m: monitoring_page(board.client, m, feature))

        return _page("monitoring.html", build, "monitoring")

    @router.get("/retraining")
    def retraining(model: str | None = None) -> HTMLResponse:
        def build() -> dict[str, Any]:
            return board.with_model(model, lambda m: retraining_page(board.client, m))

        return _page("retraining.html", build, "retraining")

    @router.get("/service")
    def service() -> HTMLResponse:
        return _page(
            "service.html",
            lambda: service_page(board.client, board.metrics_urls, board.started),
            "service",
        )

    @router.get("/static/plotly.min.js")
    def plotly() -> Response:
        return FileResponse(plotly_js(), media_type="text/javascript", headers=LONG_CACHE)

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise NotFound(f"no static file {name!r}", field="name")
        body = resources.files("mloop.dashboard").joinpath("static", name).read_bytes()
        return Response(body, media_type=STATIC_FILES[name], headers=SHORT_CACHE)

    return router
