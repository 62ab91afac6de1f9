"""The server's HTTP routes: the three prediction protocols, feedback, metadata, health, metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response

from mloop import __version__
from mloop.serving.body import json_response
from mloop.serving.protocols.oip import model_metadata, prediction_datatype

if TYPE_CHECKING:
    from mloop.serving.app import ModelServer


def add_routes(app: FastAPI, server: ModelServer) -> None:
    """Add the prediction, feedback and metrics routes, then metadata and health."""
    plain, mlflow, oip = (server.protocols[name] for name in ("plain", "mlflow", "oip"))

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        return await server.answer(request, plain)

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        return await server.answer(request, mlflow)

    async def infer(request: Request, name: str, version: str | None = None) -> Response:
        return await server.answer(request, oip, target=(name, version))

    app.add_api_route("/v2/models/{name}/infer", infer, methods=["POST"])
    app.add_api_route("/v2/models/{name}/versions/{version}/infer", infer, methods=["POST"])

    @app.post("/feedback")
    async def feedback(request: Request) -> Response:
        return await server.feedback(request)

    @app.get("/feedback/{prediction_id}")
    async def feedback_status(request: Request, prediction_id: str) -> Response:
        return await server.feedback_status(request, prediction_id)

    @app.get("/metrics")
    async def metrics() -> Response:
        body, content_type = server.metrics.exposition()
        return Response(body, media_type=content_type)

    _model_routes(app, server)
    _health_routes(app, server)


def _model_routes(app: FastAPI, server: ModelServer) -> None:
    async def metadata(request: Request, name: str, version: str | None = None) -> Response:
        request.state.protocol = "oip"
        served = server.slots.find(name, version)
        classifier = hasattr(served.model, "predict_proba")
        inputs = served.signature.inputs
        predicts = prediction_datatype(served.model.estimator)
        body = model_metadata(served.name, served.version, inputs, classifier, predicts)
        return json_response(body)

    async def model_ready(request: Request, name: str, version: str | None = None) -> Response:
        request.state.protocol = "oip"
        served = server.slots.find(name, version)
        return json_response({"name": served.name, "ready": True})

    app.add_api_route("/v2/models/{name}", metadata, methods=["GET"])
    app.add_api_route("/v2/models/{name}/versions/{version}", metadata, methods=["GET"])
    app.add_api_route("/v2/models/{name}/ready", model_ready, methods=["GET"])
    app.add_api_route("/v2/models/{name}/versions/{version}/ready", model_ready, methods=["GET"])


def _health_routes(app: FastAPI, server: ModelServer) -> None:
    @app.get("/v2")
    async def server_metadata() -> Response:
        return json_response({"name": "mloop", "version": __version__, "extensions": []})

    @app.get("/v2/health/live")
    async def live() -> Response:
        return json_response({"live": True})

    @app.get("/v2/health/ready")
    async def ready() -> Response:
        return json_response({"ready": server.slots.ready}, 200 if server.slots.ready else 503)

    async def ping() -> Response:
        return Response(b"\n", status_code=200 if server.slots.ready else 503)

    app.add_api_route("/ping", ping, methods=["GET"])
    app.add_api_route("/health", ping, methods=["GET"])

    @app.get("/version")
    async def version() -> Response:
        return Response(__version__, media_type="text/plain")
