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

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from mloop import __version__, web
from mloop.client import Client
from mloop.config import Settings
from mloop.errors import (
    InvalidInput,
    MalformedRequest,
    MethodNotAllowed,
    MloopError,
    ModelFailed,
    NotFound,
)
from mloop.modelio.outputs import Outputs
from mloop.modelio.rows import Rows
from mloop.prediction_log import model_columns, shadow_id
from mloop.profiles import DatasetProfile, window_profile
from mloop.services.labels import label_kind
from mloop.serving.body import json_response, read_payload
from mloop.serving.config import ServeConfig, from_parent
from mloop.serving.logwriter import Answered, PredictionLogWriter
from mloop.serving.middleware import RequestTelemetry
from mloop.serving.protocols import Answer, Parsed, WireProtocol, checked_unit_id
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
from mloop.serving.shadow import ShadowQueue, ShadowRows
from mloop.serving.spool import Spool, drain_orphans, spool_directory
from mloop.serving.telemetry import ServerMetrics
from mloop.uris import ModelUri

logger = logging.getLogger("mloop.serving")
UNIT_ID_HEADER = "x-unit-id"
PREDICTION_IDS_HEADER = "x-prediction-ids"
MAX_PREDICTION_IDS_HEADER = 8192
"""Bytes: HTTP clients read headers of 8 KiB (about 200 ids of generated request ids)."""


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
        # Checked once: isinstance against a runtime protocol costs microseconds per request.
        self.following = self.policy if isinstance(self.policy, FollowingPolicy) else None
        self.protocols: dict[str, WireProtocol] = {
            p.name: p
            for p in (
                PlainProtocol(config.max_rows),
                MlflowProtocol(config.max_rows),
                OipProtocol(config.max_rows),
            )
        }
        self.writer: PredictionLogWriter | None = None
        self.shadows = ShadowQueue(
            self._score_shadow, max_rows=config.batch_max_rows, on_drop=self._shadow_dropped
        )
        self._references: dict[tuple[str, int], DatasetProfile | None] = {}
        self.spool_dir = spool_directory(
            client.settings.home, ModelUri.parse(config.model_uri).name, client.store_url
        )
        if config.log_predictions:
            self.writer = PredictionLogWriter(
                self._write_chunk,
                flush_rows=config.log_flush_rows,
                flush_seconds=config.log_flush_seconds,
                on_written=lambda m, v, n: self.metrics.logged_rows.labels(m, str(v)).inc(n),
                on_dropped=lambda m, v, n: self.metrics.log_dropped_rows.labels(m, str(v)).inc(n),
                spool=Spool(self.spool_dir) if config.log_spool else None,
                logged=self.client.prediction_log.logged_ids,
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
        """Drain spools of servers that are gone, load every arm's model, start the log writer."""
        if self.writer is not None:
            await asyncio.to_thread(
                drain_orphans,
                self.spool_dir,
                self._write_chunk,
                self.client.prediction_log.logged_ids,
            )
        await self.slots.start()
        if self.following is not None:
            await self.following.start()
        gc.freeze()
        if self.writer is not None:
            self.writer.start()

    async def stop(self) -> None:
        """Score the gathered shadow rows, flush the prediction log and release the models."""
        await self.shadows.drain()
        self.shadows.close()
        if self.following is not None:
            await self.following.stop()
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
        if parsed.unit_ids:
            route = self._route_of_units(request, target, route, parsed.unit_ids)
            if route.served is not served:
                served = route.served
                parsed = protocol.parse(kind, payload, served.signature)
        pending = self._pending(request, parsed, started)
        outputs = await self._infer(route.arm, served, parsed.rows, pending)
        self._record(served, parsed.rows, outputs, pending)
        if route.shadow is not None:
            self._shadow(route.shadow, parsed.rows, pending)
        rid = request.state.request_id
        answer = Answer(payload, rid, served.name, served.version, outputs, pending.ids)
        headers = {**_model_header(served, route.named), **prediction_id_header(pending.ids)}
        return json_response(protocol.respond(answer), headers=headers)

    async def _infer(self, arm: str, served: ServedModel, rows: Rows, pending: Pending) -> Outputs:
        """The model's outputs; a following policy counts each answer and failure per arm.

        Raises ModelFailed (HTTP 500, answered like any mloop error, so the connection stays
        open) when the model raises on these rows or answers NaN or infinity for one of them;
        InvalidInput (422) naming the column instead when a row holds a number beyond the
        float32 range (many models compute in float32, and overflow past it in float64); such
        a refusal is the input's fault and does not count against the arm's error rate.
        """
        following = self.following
        try:
            outputs = await served.infer(rows, pending)
        except Exception as exc:
            beyond = None if isinstance(exc, MloopError) else _beyond_float32(rows)
            if following is not None:
                following.record(arm, ok=beyond is not None)
            if isinstance(exc, MloopError):
                raise
            what = f"{served.name} version {served.version}"
            first = (str(exc).splitlines() or [""])[0]
            if beyond is not None:
                column, value = beyond
                raise InvalidInput(
                    f"{column}: {value!r} is beyond what model {what} can compute "
                    f"(|x| > {FLOAT32_MAX:.4g}); it refused the row: {type(exc).__name__}: {first}",
                    field=column,
                ) from exc
            logger.warning(
                "model %s failed on %s: %s: %s", what, pending.ids[0], type(exc).__name__, first
            )
            raise ModelFailed(
                f"model {what} failed on these rows: {type(exc).__name__}: {exc}"
            ) from exc
        if following is not None:
            following.record(arm, ok=True)
        return outputs

    def _shadow(self, shadow: ServedModel, rows: Rows, pending: Pending) -> None:
        """Queue the request for the shadow model, scored in the background; nobody waits."""
        ids = [shadow_id(pid) for pid in pending.ids]
        self.shadows.add(shadow, ShadowRows(rows, ids, pending.units))

    def _shadow_dropped(self, shadow: ServedModel, rows: int) -> None:
        self.metrics.shadow_dropped_rows.labels(shadow.name, str(shadow.version)).inc(rows)

    async def _score_shadow(self, shadow: ServedModel, requests: list[ShadowRows]) -> None:
        """Score gathered requests in one call; log them, count each per arm; never raises.

        The logged latency runs from the call's submission to its answer: the time the rows
        waited in the shadow queue is left out, as no caller waited for it.
        """
        rows = Rows.merge([r.rows for r in requests])
        ids = [pid for r in requests for pid in r.ids]
        units = [u for r in requests for u in r.unit_ids]
        pending = Pending(ids, time.perf_counter(), units)
        following = self.following
        try:
            outputs = await shadow.infer(rows, pending)
        except Exception:
            logger.exception("shadow model %s version %s failed", shadow.name, shadow.version)
            ok = False
        else:
            self._record(shadow, rows, outputs, pending)
            ok = True
        if following is not None:
            for _ in requests:
                following.record(shadow.arm, ok=ok)

    def _route_of_units(
        self,
        request: Request,
        target: tuple[str, str | None] | None,
        route: Route,
        units: Sequence[str | None],
    ) -> Route:
        """The route of the body's unit ids, which decide the arm before ``x-unit-id``.

        Raises InvalidInput (field ``unit_ids``) when the rows' units belong to different arms
        of the running rollout: one request is answered by one arm.
        """
        given = sorted({unit for unit in units if unit})
        if not given:
            return route
        routes = [self.choose(request, target, unit) for unit in given]
        arms = {r.arm: unit for r, unit in zip(routes, given, strict=True)}
        if len(arms) > 1:
            shown = ", ".join(f"{unit!r} to {arm or 'the champion'}" for arm, unit in arms.items())
            raise InvalidInput(
                f"unit_ids: the rows' units go to different arms of the rollout ({shown}); "
                "send each arm's units in a request of their own",
                field="unit_ids",
            )
        return routes[0]

    def choose(
        self,
        request: Request,
        target: tuple[str, str | None] | None = None,
        unit: str | None = None,
    ) -> Route:
        """The route the policy picks for ``unit`` (default: the ``x-unit-id`` header, else the
        request id), checked against the model and version a path names."""
        name, version = target if target is not None else (None, None)
        unit = unit or _header_unit_id(request)
        route = self.policy.choose(RequestContext(request.state.request_id, unit, name, version))
        request.state.model = route.served.name
        request.state.version = str(route.served.version)
        if name is not None:
            _check_target(route.served, name, version)
        return route

    def _pending(self, request: Request, parsed: Parsed, started: float) -> Pending:
        count = len(parsed.rows)
        ids = prediction_ids(request.state.request_id, count)
        return Pending(ids, started, parsed.unit_ids or _header_unit(request, count))

    def _record(self, served: ServedModel, rows: Rows, outputs: Outputs, pending: Pending) -> None:
        """Count the rows; log them now unless the batcher logs them with its batch."""
        self.metrics.rows.labels(served.name, str(served.version)).inc(len(rows))
        if served.batcher is None:
            self._log(served, rows, outputs, [pending])

    def _log_batch(
        self, served: ServedModel, rows: Rows, outputs: Outputs, tags: list[Any]
    ) -> None:
        """The batcher's hook: one model call's rows go to the prediction log at once."""
        self.metrics.batch_rows.observe(len(rows))
        self._log(served, rows, outputs, tags)

    def _log(self, served: ServedModel, rows: Rows, outputs: Outputs, requests: list[Any]) -> None:
        if self.writer is None:
            return
        now = time.perf_counter()
        ids = [pid for r in requests for pid in r.ids]
        units = [u for r in requests for u in (r.units or [None] * len(r.ids))]
        latency = [(now - r.started) * 1000 for r in requests for _ in r.ids]
        answered = Answered(ids, time.time(), units, latency, rows, outputs)
        self.writer.record(served.name, served.version, served.arm, answered)

    async def feedback(self, request: Request) -> Response:
        """Store ground-truth labels by prediction id; ids not in the log yet are ``pending``.

        Labels are checked against the served model's classes (numbers for a regressor) and
        kept even when their prediction is not logged yet; they join when it lands. ``unknown``
        lists ids still not in the log a flush interval (plus a second) after their first label.
        Raises Unauthorized without the configured token, InvalidInput for a bad body or label.
        """
        request.state.protocol = "feedback"
        web.check_bearer(request.headers.get("authorization"), self.client.settings.token)
        _, payload = await read_payload(request, self.config.max_body_bytes)
        labels = feedback_labels(payload)
        if self.writer is not None and not self.writer.pending_ids().isdisjoint(labels):
            await asyncio.to_thread(self.writer.flush)
        result = await asyncio.to_thread(
            self.client.prediction_log.record_feedback,
            labels,
            kind=label_kind(self.slots[self.config.arm].current.model.estimator),
            pending_seconds=self._pending_seconds,
        )
        answer = {"accepted": result.accepted, "pending": result.pending}
        return json_response({**answer, "unknown": result.unknown})

    async def feedback_status(self, request: Request, prediction_id: str) -> Response:
        """The stored label of a prediction id and whether it is joined, pending or unknown.

        Raises NotFound when no label arrived for the id.
        """
        request.state.protocol = "feedback"
        log = self.client.prediction_log
        status = await asyncio.to_thread(
            log.feedback_status, prediction_id, pending_seconds=self._pending_seconds
        )
        label = (await asyncio.to_thread(log.feedback_for, [prediction_id]))[prediction_id]
        return json_response({"prediction_id": prediction_id, "label": label, "status": status})

    @property
    def _pending_seconds(self) -> float:
        return self.config.log_flush_seconds + 1.0


def _model_header(served: ServedModel, named: str = "") -> dict[str, str]:
    """``x-model-version``, and ``x-model-arm``: ``named`` if set, else the model's arm if any."""
    headers = {"x-model-version": str(served.version)}
    arm = named or served.arm
    if arm:
        headers["x-model-arm"] = arm
    return headers


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _beyond_float32(rows: Rows) -> tuple[str, float] | None:
    """The first float column holding a value beyond the float32 range, with that value."""
    for name, values in zip(rows.names, rows.columns, strict=True):
        if isinstance(values, np.ndarray) and values.dtype.kind == "f":
            over = np.flatnonzero(np.abs(values) > FLOAT32_MAX)
            if over.size:
                return name, float(values[over[0]])
    return None


def _check_target(served: ServedModel, name: str, version: str | None) -> None:
    if name != served.name or (version is not None and version != str(served.version)):
        wanted = f"{name} version {version}" if version else name
        raise NotFound(
            f"model {wanted} is not served here; "
            f"this server serves {served.name} version {served.version}"
        )


def _header_unit(request: Request, rows: int) -> list[str | None] | None:
    """The ``x-unit-id`` header as the unit of every row of the request (None without it)."""
    unit = _header_unit_id(request)
    return [unit] * rows if unit else None


def _header_unit_id(request: Request) -> str | None:
    unit = request.headers.get(UNIT_ID_HEADER)
    return None if unit is None else checked_unit_id(unit, UNIT_ID_HEADER)


def prediction_id_header(ids: Sequence[str]) -> dict[str, str]:
    """``x-prediction-ids``: the answer's prediction ids, comma-separated, in row order.

    Left out when the list is over ``MAX_PREDICTION_IDS_HEADER`` bytes; the ids are then
    ``<x-request-id>-<row>`` for rows 0, 1, ... (see ``prediction_ids``).
    """
    listed = ",".join(ids)
    return {PREDICTION_IDS_HEADER: listed} if len(listed) <= MAX_PREDICTION_IDS_HEADER else {}


def feedback_labels(payload: Any) -> dict[str, Any]:
    """Labels from {"labels": {id: label}}, [{"prediction_id", "label"}], or one such object,
    as prediction id -> label. Raises InvalidInput naming the field that is not of these forms
    (``labels`` when ``labels`` is not an object)."""
    if isinstance(payload, dict) and "labels" in payload:
        if not isinstance(payload["labels"], dict):
            raise InvalidInput(
                'labels must be an object of prediction id -> label, e.g. {"labels": {"<id>": 1}}',
                field="labels",
            )
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
    """Build the server app for ``config``; the models load when the app starts, before it
    accepts a request (each worker process loads its own, so no worker answers 503 while others
    are ready).

    The store, artifacts and token come from ``settings`` (``client`` defaults to a Client on
    them); ``routing`` builds the policy that picks an arm per request.
    """
    server = ModelServer(config, client or Client(settings=settings), routing)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await server.start()
        for job in jobs:
            job.start()
        yield
        for job in jobs:
            await asyncio.to_thread(job.stop)
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

    async def route_error(request: Request, exc: Exception) -> Response:
        headers = dict(exc.headers or {}) if isinstance(exc, StarletteHTTPException) else {}
        error = _route_error(request, getattr(exc, "status_code", 404), headers)
        mlflow = request.url.path == "/invocations"
        protocol = server.protocols["mlflow"] if mlflow else server.protocol_of(request)
        return json_response(protocol.error_body(error), web.http_status(error), headers)

    app.add_exception_handler(MloopError, mloop_error)
    app.add_exception_handler(StarletteHTTPException, route_error)
    app.add_exception_handler(Exception, internal_error)


def _route_error(request: Request, status: int, headers: dict[str, str]) -> MloopError:
    """The error a 404 or 405 of the router stands for, in mloop's terms (400 for any other)."""
    method, path = request.method, request.url.path
    if status == 405:
        allowed = headers.get("allow") or headers.get("Allow") or "another method"
        return MethodNotAllowed(f"{path} does not take {method}; use {allowed}", field="method")
    if status == 404:
        return NotFound(f"no route {method} {path}; see the README for the routes", field="path")
    return MalformedRequest(f"{method} {path} could not be handled (HTTP {status})")


def app_from_env() -> FastAPI:
    """The app factory uvicorn workers call: what to serve comes from the parent process."""
    config, settings = from_parent()
    return create_app(config, settings)
