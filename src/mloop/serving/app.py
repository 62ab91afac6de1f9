"""The model server: a FastAPI app speaking OIP v2, MLflow scoring and plain JSON.

Each prediction is four steps: the routing policy chooses an arm, the route's protocol parses the
body against that arm's model, the model infers (micro-batched), and the answer is logged.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd
from fastapi import FastAPI, Request, Response

from mloop import __version__, web
from mloop.client import Client
from mloop.config import Settings
from mloop.errors import InvalidInput, MloopError, NotFound
from mloop.modelio.outputs import Outputs
from mloop.prediction_log import model_columns, shadow_id
from mloop.profiles import DatasetProfile, window_profile
from mloop.serving.body import json_response, read_payload
from mloop.serving.config import ServeConfig, from_parent
from mloop.serving.logwriter import Answered, PredictionLogWriter
from mloop.serving.middleware import RequestTelemetry
from mloop.serving.protocols import Answer, Parsed, WireProtocol
from mloop.serving.protocols.mlflow import MlflowProtocol
from mloop.serving.protocols.oip import OipProtocol
from mloop.serving.protocols.plain import PlainProtocol
from mloop.serving.routes import add_routes
from mloop.serving.routing import (
    FollowingPolicy,
    RequestContext,
    Route,
    RoutingSetup,
    single_arm,
)
from mloop.serving.served import ModelSlots, ServedModel
from mloop.serving.telemetry import ServerMetrics

logger = logging.getLogger("mloop.serving")


def prediction_ids(request_id: str, rows: int) -> list[str]:
    """One id per predicted row: the request id itself for a single row."""
    return [request_id] if rows == 1 else [f"{request_id}-{i}" for i in range(rows)]


@dataclass(frozen=True)
class Pending:
    """What the log needs of a request that waits in a batch: its ids, start and unit ids."""

    ids: list[str]
    started: float
    units: list[str | None] | None


class ModelServer:
    """The state of one server process: the arms' models, the routing policy, the log writer."""

    def __init__(
        self, config: ServeConfig, client: Client, routing: RoutingSetup = single_arm
    ) -> None:
        self.config = config
        self.client = client
        self.metrics = ServerMetrics()
        self.slots = ModelSlots(client, config, self._log_batch)
        self.policy = routing(self.slots, config)
        self.protocols: dict[str, WireProtocol] = {
            p.name: p
            for p in (
                PlainProtocol(config.max_rows),
                MlflowProtocol(config.max_rows),
                OipProtocol(config.max_rows),
            )
        }
        self.writer: PredictionLogWriter | None = None
        self._shadows: set[asyncio.Task[None]] = set()
        self._references: dict[tuple[str, int], DatasetProfile | None] = {}
        if config.log_predictions:
            self.writer = PredictionLogWriter(
                self._write_chunk,
                flush_rows=config.log_flush_rows,
                flush_seconds=config.log_flush_seconds,
                on_written=lambda m, v, n: self.metrics.logged_rows.labels(m, str(v)).inc(n),
            )

    def _write_chunk(self, model: str, version: int, arm: str, frame: pd.DataFrame) -> object:
        chunk = self.client.prediction_log.write_chunk(
            model=model, version=version, arm=arm, frame=frame
        )
        reference = self._reference(model, version)
        if reference is not None:
            profile = window_profile(reference, model_columns(frame))
            self.client.monitoring.save_chunk_profile(chunk.id, profile, reference)
        return chunk

    def _reference(self, model: str, version: int) -> DatasetProfile | None:
        """The version's reference profile, read once; None when the version has none."""
        key = (model, version)
        if key not in self._references:
            try:
                self._references[key] = self.client.monitoring.reference(model, version).profile
            except NotFound:
                self._references[key] = None
        return self._references[key]

    async def start(self) -> None:
        """Load every arm's model and start the log writer."""
        await self.slots.start()
        if isinstance(self.policy, FollowingPolicy):
            await self.policy.start()
        gc.freeze()
        if self.writer is not None:
            self.writer.start()

    async def stop(self) -> None:
        """Flush the prediction log and release the models."""
        if isinstance(self.policy, FollowingPolicy):
            await self.policy.stop()
        await self.slots.stop()
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)

    def protocol_of(self, request: Request) -> WireProtocol:
        """The protocol of the route ``request`` took (plain for routes outside the three)."""
        return self.protocols.get(getattr(request.state, "protocol", ""), self.protocols["plain"])

    async def answer(
        self,
        request: Request,
        protocol: WireProtocol,
        target: tuple[str, str | None] | None = None,
    ) -> Response:
        """Choose an arm, parse the body, infer, log; the answer in ``protocol``'s shape.

        ``target`` is the (model, version) an OIP path names. Raises MloopError for bad input,
        an unknown target or no model loaded (turned into an error answer by the app).
        """
        started = time.perf_counter()
        request.state.protocol = protocol.name
        route = self.choose(request, target)
        served = route.served
        kind, payload = await read_payload(
            request, self.config.max_body_bytes, protocol.content_types
        )
        parsed = protocol.parse(kind, payload, served.signature)
        pending = self._pending(request, parsed, started)
        outputs = await self._infer(route.arm, served, parsed.frame, pending)
        self._record(served, parsed.frame, outputs, pending)
        if route.shadow is not None:
            self._shadow(route.shadow, parsed.frame, pending)
        rid = request.state.request_id
        answer = Answer(payload, rid, served.name, served.version, outputs, pending.ids)
        return json_response(protocol.respond(answer), headers=_model_header(served))

    async def _infer(
        self, arm: str, served: ServedModel, frame: pd.DataFrame, pending: Pending
    ) -> Outputs:
        """The model's outputs; a following policy counts each answer and failure per arm."""
        following = self.policy if isinstance(self.policy, FollowingPolicy) else None
        try:
            outputs = await served.infer(frame, pending)
        except Exception:
            if following is not None:
                following.record(arm, ok=False)
            raise
        if following is not None:
            following.record(arm, ok=True)
        return outputs

    def _shadow(self, shadow: ServedModel, frame: pd.DataFrame, pending: Pending) -> None:
        """Score the request with the shadow model in the background; nobody waits for it."""
        ids = [shadow_id(pid) for pid in pending.ids]
        task = asyncio.get_running_loop().create_task(
            self._score_shadow(shadow, frame, Pending(ids, time.perf_counter(), pending.units))
        )
        self._shadows.add(task)
        task.add_done_callback(self._shadows.discard)

    async def _score_shadow(
        self, shadow: ServedModel, frame: pd.DataFrame, pending: Pending
    ) -> None:
        try:
            outputs = await self._infer(shadow.arm, shadow, frame, pending)
            self._record(shadow, frame, outputs, pending)
        except Exception:
            logger.exception("shadow model %s version %s failed", shadow.name, shadow.version)

    def choose(self, request: Request, target: tuple[str, str | None] | None = None) -> Route:
        """The route the policy picks, checked against the model and version a path names."""
        name, version = target if target is not None else (None, None)
        unit = request.headers.get("x-unit-id")
        route = self.policy.choose(RequestContext(request.state.request_id, unit, name, version))
        request.state.model = route.served.name
        request.state.version = str(route.served.version)
        if name is not None:
            _check_target(route.served, name, version)
        return route

    def _pending(self, request: Request, parsed: Parsed, started: float) -> Pending:
        rows = len(parsed.frame)
        ids = prediction_ids(request.state.request_id, rows)
        return Pending(ids, started, parsed.unit_ids or _header_unit(request, rows))

    def _record(
        self, served: ServedModel, frame: pd.DataFrame, outputs: Outputs, pending: Pending
    ) -> None:
        """Count the rows; log them now unless the batcher logs them with its batch."""
        self.metrics.rows.labels(served.name, str(served.version)).inc(len(frame))
        if served.batcher is None:
            self._log(served, frame, outputs, [pending])

    def _log_batch(
        self, served: ServedModel, frame: pd.DataFrame, outputs: Outputs, tags: list[Any]
    ) -> None:
        """The batcher's hook: one model call's rows go to the prediction log at once."""
        self.metrics.batch_rows.observe(len(frame))
        self._log(served, frame, outputs, tags)

    def _log(
        self, served: ServedModel, frame: pd.DataFrame, outputs: Outputs, requests: list[Any]
    ) -> None:
        if self.writer is None:
            return
        now = time.perf_counter()
        ids = [pid for r in requests for pid in r.ids]
        units = [u for r in requests for u in (r.units or [None] * len(r.ids))]
        latency = [(now - r.started) * 1000 for r in requests for _ in r.ids]
        answered = Answered(ids, time.time(), units, latency, frame, outputs)
        self.writer.record(served.name, served.version, served.arm, answered)

    async def feedback(self, request: Request) -> Response:
        """Attach ground-truth labels to prediction ids; unknown ids are reported back.

        Raises Unauthorized without the configured token, InvalidInput for a bad body.
        """
        request.state.protocol = "plain"
        web.check_bearer(request.headers.get("authorization"), self.client.settings.token)
        _, payload = await read_payload(request, self.config.max_body_bytes)
        labels = feedback_labels(payload)
        if self.writer is not None and not self.writer.pending_ids().isdisjoint(labels):
            await asyncio.to_thread(self.writer.flush)
        result = await asyncio.to_thread(self.client.prediction_log.record_feedback, labels)
        return json_response({"accepted": result.accepted, "unknown": result.unknown})


def _model_header(served: ServedModel) -> dict[str, str]:
    headers = {"x-model-version": str(served.version)}
    if served.arm:
        headers["x-model-arm"] = served.arm
    return headers


def _check_target(served: ServedModel, name: str, version: str | None) -> None:
    if name != served.name or (version is not None and version != str(served.version)):
        wanted = f"{name} version {version}" if version else name
        raise NotFound(
            f"model {wanted} is not served here; "
            f"this server serves {served.name} version {served.version}"
        )


def _header_unit(request: Request, rows: int) -> list[str | None] | None:
    unit = request.headers.get("x-unit-id")
    return [unit] if unit and rows == 1 else None


def feedback_labels(payload: Any) -> dict[str, Any]:
    """Labels from {"labels": {id: label}}, [{"prediction_id", "label"}], or one such object."""
    if isinstance(payload, dict) and isinstance(payload.get("labels"), dict):
        return dict(payload["labels"])
    items = payload if isinstance(payload, list) else [payload]
    labels: dict[str, Any] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "label" not in item:
            raise InvalidInput(
                f"feedback[{index}] needs 'prediction_id' and 'label'", field=f"feedback[{index}]"
            )
        key = item.get("prediction_id", item.get("request_id"))
        if not isinstance(key, str):
            raise InvalidInput(
                f"feedback[{index}].prediction_id must be a string",
                field=f"feedback[{index}].prediction_id",
            )
        labels[key] = item["label"]
    return labels


class BackgroundJob(Protocol):
    """Work that runs beside the server for its lifetime (a scheduled monitor, say)."""

    def start(self) -> None:
        """Begin, without blocking."""

    def stop(self) -> None:
        """End, waiting for work in progress."""


def create_app(
    config: ServeConfig,
    settings: Settings,
    *,
    client: Client | None = None,
    jobs: Sequence[BackgroundJob] = (),
    routing: RoutingSetup = single_arm,
) -> FastAPI:
    """Build the server app for ``config``; the models load when the app starts.

    The store, artifacts and token come from ``settings`` (``client`` defaults to a Client on
    them); ``routing`` builds the policy that picks an arm per request.
    """
    server = ModelServer(config, client or Client(settings=settings), routing)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loading = asyncio.get_running_loop().create_task(server.start())
        loading.add_done_callback(_report_load_failure)
        for job in jobs:
            job.start()
        yield
        for job in jobs:
            await asyncio.to_thread(job.stop)
        loading.cancel()
        await server.stop()

    app = FastAPI(
        title="mloop model server",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.server = server
    _error_handlers(app, server)
    app.add_middleware(RequestTelemetry, metrics=server.metrics)
    add_routes(app, server)
    return app


def _error_handlers(app: FastAPI, server: ModelServer) -> None:
    async def mloop_error(request: Request, exc: Exception) -> Response:
        error = exc if isinstance(exc, MloopError) else MloopError(str(exc))
        body = server.protocol_of(request).error_body(error)
        return json_response(body, web.http_status(error))

    async def internal_error(request: Request, exc: Exception) -> Response:
        request_id = getattr(request.state, "request_id", "")
        logger.error("request %s failed", request_id, exc_info=exc)
        body = server.protocol_of(request).error_body(MloopError("internal error"))
        return json_response(body, web.INTERNAL, {web.REQUEST_ID_HEADER: request_id})

    app.add_exception_handler(MloopError, mloop_error)
    app.add_exception_handler(Exception, internal_error)


def _report_load_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("could not load the model: %s", task.exception())


def app_from_env() -> FastAPI:
    """The app factory uvicorn workers call: what to serve comes from the parent process."""
    config, settings = from_parent()
    return create_app(config, settings)
