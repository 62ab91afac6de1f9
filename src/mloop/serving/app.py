"""The model server: a FastAPI app speaking OIP v2, MLflow scoring and plain JSON."""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import pandas as pd
from fastapi import FastAPI, Request, Response

from mloop import __version__
from mloop.client import Client
from mloop.errors import InvalidInput, MloopError, NotFound, Unauthorized
from mloop.modelio.outputs import Outputs
from mloop.prediction_log import model_columns
from mloop.profiles import DatasetProfile, window_profile
from mloop.services.labels import label_kind
from mloop.serving.body import CSV, read_json
from mloop.serving.config import ServeConfig
from mloop.serving.http_errors import error_body, http_status
from mloop.serving.logwriter import Answered, PredictionLogWriter
from mloop.serving.protocols import mlflow, oip, plain
from mloop.serving.served import ModelSlot, ServedModel
from mloop.serving.spool import Spool, drain_orphans, spool_directory
from mloop.serving.telemetry import ServerMetrics, log_access
from mloop.uris import ModelUri

logger = logging.getLogger("mloop.serving")
JSON_TYPE = "application/json"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

Parser = Callable[[str, Any, ServedModel], tuple[pd.DataFrame, list[str | None] | None]]
Responder = Callable[[Any, str, ServedModel, Outputs, list[str]], dict[str, Any]]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON_TYPE, headers=headers)


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id")
    if given and _REQUEST_ID.match(given):
        return given
    return uuid.uuid4().hex


def prediction_ids(request_id: str, rows: int) -> list[str]:
    """One id per predicted row: the request id itself for a single row."""
    return [request_id] if rows == 1 else [f"{request_id}-{i}" for i in range(rows)]


class ModelServer:
    """The state of one server process: the model slot, the log writer and the metrics."""

    def __init__(self, config: ServeConfig, client: Client) -> None:
        self.config = config
        self.client = client
        self.metrics = ServerMetrics()
        self.slot = ModelSlot(client, config, self._log_batch)
        self.writer: PredictionLogWriter | None = None
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
                spool=Spool(self.spool_dir) if config.log_spool else None,
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
                self._references[key] = self.client.monitoring.reference(model, version)
            except NotFound:
                self._references[key] = None
        return self._references[key]

    async def start(self) -> None:
        """Drain spools of servers that are gone, load the model and start the log writer."""
        if self.writer is not None:
            await asyncio.to_thread(
                drain_orphans,
                self.spool_dir,
                self._write_chunk,
                self.client.prediction_log.logged_ids,
            )
        await self.slot.start()
        gc.freeze()
        if self.writer is not None:
            self.writer.start()

    async def stop(self) -> None:
        """Flush the prediction log and release the model."""
        await self.slot.stop()
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)

    async def answer(
        self,
        request: Request,
        protocol: str,
        parse: Parser,
        respond: Responder,
        target: tuple[str, str | None] | None = None,
    ) -> Response:
        """Validate, predict, log and answer one request, or answer its error."""
        started = time.perf_counter()
        request_id = _request_id(request)
        served: ServedModel | None = None
        status = 200
        try:
            served = self.slot.current
            if target is not None:
                _check_target(served, *target)
            accepted = (CSV,) if protocol == "mlflow" else ()
            kind, payload = await read_json(request, self.config.max_body_bytes, also=accepted)
            frame, unit_ids = parse(kind, payload, served)
            ids = prediction_ids(request_id, len(frame))
            units = unit_ids or _header_unit(request, len(frame))
            outputs = await served.infer(frame, _Request(ids, started, units))
            body = respond(payload, request_id, served, outputs, ids)
            self.metrics.rows.labels(served.name, str(served.version)).inc(len(frame))
            if served.batcher is None:
                self._log(served, frame, outputs, [_Request(ids, started, units)])
            headers = {"x-request-id": request_id, "x-model-version": str(served.version)}
            return _json(body, headers=headers)
        except MloopError as exc:
            status = http_status(exc)
            return _json(error_body(exc, protocol), status, {"x-request-id": request_id})
        except Exception:
            logger.exception("request %s failed", request_id)
            status = 500
            return _json(
                error_body(MloopError("internal error"), protocol),
                status,
                {"x-request-id": request_id},
            )
        finally:
            self._observe(request, protocol, served, status, started, request_id)

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
        self.writer.record(served.name, served.version, self.config.arm, answered)

    def _observe(
        self,
        request: Request,
        protocol: str,
        served: ServedModel | None,
        status: int,
        started: float,
        request_id: str,
    ) -> None:
        elapsed = time.perf_counter() - started
        name, version = (served.name, str(served.version)) if served else ("", "")
        self.metrics.requests.labels(protocol, str(status), name, version).inc()
        self.metrics.latency.labels(protocol, name, version).observe(elapsed)
        log_access(
            method=request.method,
            path=request.url.path,
            status=status,
            latency_ms=round(elapsed * 1000, 3),
            request_id=request_id,
            model=name,
            version=version,
        )

    async def feedback(self, request: Request) -> Response:
        """Store ground-truth labels by prediction id; ids not in the log yet are ``pending``.

        Labels are checked against the served model's classes (numbers for a regressor) and
        kept even when their prediction is not logged yet; they join when it lands. ``unknown``
        lists ids still not in the log a flush interval (plus a second) after their first label.
        """
        try:
            _authorize(request, self.client.settings.token)
            _, payload = await read_json(request, self.config.max_body_bytes)
            labels = feedback_labels(payload)
            if self.writer is not None and not self.writer.pending_ids().isdisjoint(labels):
                await asyncio.to_thread(self.writer.flush)
            result = await asyncio.to_thread(
                self.client.prediction_log.record_feedback,
                labels,
                kind=label_kind(self.slot.current.model.estimator),
                pending_seconds=self._pending_seconds,
            )
            answer = {"accepted": result.accepted, "pending": result.pending}
            return _json({**answer, "unknown": result.unknown})
        except MloopError as exc:
            return _json(error_body(exc, "plain"), http_status(exc))

    async def feedback_status(self, prediction_id: str) -> Response:
        """The stored label of a prediction id and whether it is joined, pending or unknown."""
        try:
            log = self.client.prediction_log
            status = await asyncio.to_thread(
                log.feedback_status, prediction_id, pending_seconds=self._pending_seconds
            )
            label = (await asyncio.to_thread(log.feedback_for, [prediction_id]))[prediction_id]
            return _json({"prediction_id": prediction_id, "label": label, "status": status})
        except MloopError as exc:
            return _json(error_body(exc, "plain"), http_status(exc))

    @property
    def _pending_seconds(self) -> float:
        return self.config.log_flush_seconds + 1.0


@dataclass(frozen=True)
class _Request:
    """What the log needs of a request that waits in a batch: its ids, start and unit ids."""

    ids: list[str]
    started: float
    units: list[str | None] | None


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


def _authorize(request: Request, token: str | None) -> None:
    if not token:
        return
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized("this server needs 'Authorization: Bearer <MLOOP_TOKEN>' for writes")


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


def _routes(app: FastAPI, server: ModelServer) -> None:
    config = server.config

    def plain_parse(
        kind: str, payload: Any, served: ServedModel
    ) -> tuple[pd.DataFrame, list[str | None] | None]:
        return plain.parse_plain(payload, served.signature, config.max_rows)

    def mlflow_parse(kind: str, payload: Any, served: ServedModel) -> tuple[pd.DataFrame, None]:
        if kind == CSV:
            return mlflow.parse_csv(payload, served.signature, config.max_rows), None
        return mlflow.parse_mlflow(payload, served.signature, config.max_rows), None

    def oip_parse(
        kind: str, payload: Any, served: ServedModel
    ) -> tuple[pd.DataFrame, list[str | None] | None]:
        frame = oip.parse_infer(payload, served.signature, config.max_rows)
        unit = (
            payload.get("parameters", {}).get("unit_id")
            if isinstance(payload.get("parameters"), dict)
            else None
        )
        return frame, [str(unit)] if unit is not None and len(frame) == 1 else None

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        return await server.answer(
            request,
            "plain",
            plain_parse,
            lambda p, rid, s, o, ids: plain.plain_response(rid, s.name, s.version, o, ids),
        )

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        return await server.answer(
            request, "mlflow", mlflow_parse, lambda p, rid, s, o, ids: mlflow.mlflow_response(o)
        )

    async def infer(request: Request, name: str, version: str | None = None) -> Response:
        return await server.answer(
            request,
            "oip",
            oip_parse,
            lambda p, rid, s, o, ids: oip.infer_response(p, rid, s.name, s.version, o),
            target=(name, version),
        )

    app.add_api_route("/v2/models/{name}/infer", infer, methods=["POST"])
    app.add_api_route("/v2/models/{name}/versions/{version}/infer", infer, methods=["POST"])
    _metadata_routes(app, server)

    @app.post("/feedback")
    async def feedback(request: Request) -> Response:
        return await server.feedback(request)

    @app.get("/feedback/{prediction_id}")
    async def feedback_status(prediction_id: str) -> Response:
        return await server.feedback_status(prediction_id)

    @app.get("/metrics")
    async def metrics() -> Response:
        body, content_type = server.metrics.exposition()
        return Response(body, media_type=content_type)


def _metadata_routes(app: FastAPI, server: ModelServer) -> None:
    def guarded(
        handler: Callable[[ServedModel], dict[str, Any]], name: str, version: str | None
    ) -> Response:
        try:
            served = server.slot.current
            _check_target(served, name, version)
            return _json(handler(served))
        except MloopError as exc:
            return _json(error_body(exc, "oip"), http_status(exc))

    def metadata(name: str, version: str | None = None) -> Response:
        return guarded(
            lambda s: oip.model_metadata(
                s.name,
                s.version,
                s.model.signature.get("inputs", []),
                hasattr(s.model, "predict_proba"),
            ),
            name,
            version,
        )

    def model_ready(name: str, version: str | None = None) -> Response:
        return guarded(lambda s: {"name": s.name, "ready": True}, name, version)

    app.add_api_route("/v2/models/{name}", metadata, methods=["GET"])
    app.add_api_route("/v2/models/{name}/versions/{version}", metadata, methods=["GET"])
    app.add_api_route("/v2/models/{name}/ready", model_ready, methods=["GET"])
    app.add_api_route("/v2/models/{name}/versions/{version}/ready", model_ready, methods=["GET"])

    @app.get("/v2")
    async def server_metadata() -> Response:
        return _json({"name": "mloop", "version": __version__, "extensions": []})

    @app.get("/v2/health/live")
    async def live() -> Response:
        return _json({"live": True})

    @app.get("/v2/health/ready")
    async def ready() -> Response:
        return _json({"ready": server.slot.ready}, 200 if server.slot.ready else 503)

    async def ping() -> Response:
        return Response(b"\n", status_code=200 if server.slot.ready else 503)

    app.add_api_route("/ping", ping, methods=["GET"])
    app.add_api_route("/health", ping, methods=["GET"])

    @app.get("/version")
    async def version() -> Response:
        return Response(__version__, media_type="text/plain")


class BackgroundJob(Protocol):
    """Work that runs beside the server for its lifetime (a scheduled monitor, say)."""

    def start(self) -> None:
        """Begin, without blocking."""

    def stop(self) -> None:
        """End, waiting for work in progress."""


def create_app(
    config: ServeConfig, client: Client | None = None, jobs: Sequence[BackgroundJob] = ()
) -> FastAPI:
    """Build the server app for ``config``; the model loads when the app starts."""
    server = ModelServer(
        config, client or Client(config.store_url, artifacts_url=config.artifacts_url)
    )

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
    _routes(app, server)
    return app


def _report_load_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("could not load the model: %s", task.exception())


def app_from_env() -> FastAPI:
    """The app factory uvicorn workers call: configuration comes from the environment."""
    return create_app(ServeConfig.from_env())
