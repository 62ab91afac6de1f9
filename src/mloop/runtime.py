"""The processes mloop runs: the model server, with its scheduled monitor (and the model's
retraining policy, when it has one) when asked for."""

from __future__ import annotations

from fastapi import FastAPI

from mloop.client import Client
from mloop.monitoring.scheduler import MonitorScheduler
from mloop.prediction_log import parse_window
from mloop.retraining import RetrainingScheduler
from mloop.rollouts import RolloutEvaluator
from mloop.serving import create_app
from mloop.serving.app import BackgroundJob
from mloop.serving.config import from_parent
from mloop.serving.rollout_routing import rollout_routing
from mloop.uris import ModelUri


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
