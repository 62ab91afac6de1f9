"""The processes mloop runs: the model server, with its scheduled monitor, the model's
retraining policy and rollout when it has them; and the team server (the REST API, the
schedules of ``mloop.schedules`` and optionally a model server)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from starlette.routing import Mount

from mloop.api import create_api
from mloop.client import Client
from mloop.config import Settings
from mloop.dashboard import dashboard_router
from mloop.housekeeping import LogHousekeeping
from mloop.monitoring.scheduler import MonitorScheduler
from mloop.prediction_log import parse_window
from mloop.retraining import RetrainingScheduler
from mloop.rollouts import RolloutEvaluator
from mloop.schedules import team_schedules
from mloop.serving import create_app
from mloop.serving.app import BackgroundJob
from mloop.serving.config import ServeConfig, from_parent
from mloop.serving.rollout_routing import rollout_routing
from mloop.serving.server import check_port_free
from mloop.store import Store, open_store
from mloop.uris import ModelUri
from mloop.webhooks import webhook_deliverer


def monitor_target(model_uri: str) -> str | None:
    """The monitor target (``churn@champion``) of a served ``models:/`` URI; None for runs:/."""
    return ModelUri.parse(model_uri).target


def serve_app() -> FastAPI:
    """The app each server worker runs: the model server with its scheduled monitor, following
    the model's rollout (routing by it and evaluating it)."""
    config, settings = from_parent()
    client = Client(settings=settings)
    jobs: list[BackgroundJob] = []
    target = monitor_target(config.model_uri)
    if config.monitor_every_seconds > 0 and target is not None:
        window = parse_window(config.monitor_window)
        jobs.append(MonitorScheduler(client, target, window, config.monitor_every_seconds))
        name = ModelUri.parse(config.model_uri).name
        if any(p.model == name for p in client.retraining.policies()):
            jobs.append(RetrainingScheduler(client, name, config.monitor_every_seconds))
    if target is not None and config.poll_seconds > 0:
        model = ModelUri.parse(config.model_uri).name
        jobs.append(RolloutEvaluator(client, model, config.poll_seconds))
    return create_app(config, settings, client=client, jobs=jobs, routing=rollout_routing)


@dataclass(frozen=True)
class TeamServer:
    """What ``mloop server`` runs: where it listens, the model it serves in-process (``NAME``
    for its champion, ``NAME@ALIAS``, ``NAME/VERSION`` or a ``models:/`` URI; None for none),
    the monitors it schedules (targets such as ``churn@champion``, each every
    ``monitor_every`` seconds over a window), how often it runs each model's retraining
    policy (``retrain_every`` seconds; rollouts follow their policies) and whether it runs
    these schedules at all."""

    host: str = "127.0.0.1"
    port: int = 5000
    serve: str | None = None
    monitors: Sequence[str] = ()
    monitor_every: float = 60.0
    monitor_window: str = "10000"
    retrain_every: float = 60.0
    schedules: bool = True


def own_metrics_url(server: TeamServer) -> str:
    """Where this server's in-process model server answers ``/metrics`` (for the dashboard)."""
    host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host
    return f"http://{f'[{host}]' if ':' in host else host}:{server.port}/metrics"


def team_server_app(server: TeamServer, settings: Settings) -> FastAPI:
    """The app of ``mloop server``: the dashboard at /, the API under /api/v1 with the
    schedules, and the model server at the root when ``server.serve`` names a model (which
    must load)."""
    client = Client(settings=settings)
    window = parse_window(server.monitor_window)
    jobs: list[BackgroundJob] = []
    if server.schedules:
        jobs.extend(
            team_schedules(
                client, server.monitors, window, server.monitor_every, server.retrain_every
            )
        )
        jobs += data_jobs(open_store(settings.store_url), settings, client)
    if server.serve is None:
        return create_api(settings, jobs=jobs, pages=[dashboard_router(client)])
    uri = str(ModelUri.parse_target(server.serve))
    client.registry.load_model(uri)
    config = ServeConfig(model_uri=uri, host=server.host, port=server.port)
    app = create_app(config, settings, client=client, jobs=jobs)
    dashboard = dashboard_router(client, metrics_urls=[own_metrics_url(server)])
    app.router.routes.append(Mount("", app=create_api(settings, pages=[dashboard])))
    return app


def data_jobs(store: Store, settings: Settings, client: Client) -> list[BackgroundJob]:
    """The server's jobs over its data: the webhook deliverer (when webhooks are configured)
    and the prediction log's housekeeping (retention, roll-ups, orphan blobs)."""
    deliverer = webhook_deliverer(store, settings)
    jobs: list[BackgroundJob] = [] if deliverer is None else [deliverer]
    return [*jobs, LogHousekeeping(client, settings)]


def run_team_server(
    server: TeamServer, settings: Settings, announce: Callable[[], None] | None = None
) -> None:
    """Serve ``mloop server`` in this process until Ctrl-C or SIGTERM; ``announce`` is called
    once the port and the app's settings have passed their checks, before serving.

    Raises Conflict when the port is taken and InvalidInput for a host that cannot be listened on.
    """
    check_port_free(server.host, server.port)
    app = team_server_app(server, settings)
    if announce is not None:
        announce()
    uvicorn.run(app, host=server.host, port=server.port, log_level="warning", access_log=False)
