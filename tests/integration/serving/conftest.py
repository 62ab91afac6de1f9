"""A real uvicorn server on 127.0.0.1 serving the churn scenario's model."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import httpx
import pandas as pd
import pytest
import uvicorn
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import mloop
from mloop.config import Settings
from mloop.demo import churn_pipeline
from mloop.scenario import TARGET, churn_customers
from mloop.serving import ServeConfig, create_app
from mloop.serving.routing import RoutingSetup, single_arm
from mloop.serving.server import NoDelayProtocol
from tests.team_server import free_port


def wait_until_ready(url: str, seconds: float = 60) -> None:
    """Poll the readiness route until the server has a model loaded, or fail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server at {url} did not become ready in {seconds} s")


@dataclass
class ChurnModels:
    """A store with churn v1 (logistic regression, champion) and v2 (random forest)."""

    client: mloop.Client
    features: pd.DataFrame
    v1: object
    v2: object


@pytest.fixture
def churn_models(sqlite_url: str) -> ChurnModels:
    data = churn_customers(1500, seed=5)
    features = data.drop(columns=[TARGET])
    client = mloop.Client(sqlite_url)
    fitted = []
    for estimator in (
        LogisticRegression(max_iter=500),
        RandomForestClassifier(n_estimators=20, random_state=0),
    ):
        model = churn_pipeline(estimator).fit(features, data[TARGET])
        run_id = client.create_run("churn", type(estimator).__name__)
        client.log_model(run_id, model, input_example=features)
        client.register_model(run_id, "churn")
        fitted.append(model)
    client.set_alias("churn", "champion", 1, reason="first")
    return ChurnModels(client, features, fitted[0], fitted[1])


class LiveServer:
    """An app under a real uvicorn server in a thread, stopped (and flushed) on exit."""

    def __init__(
        self, config: ServeConfig, settings: Settings, routing: RoutingSetup = single_arm
    ) -> None:
        self.config = config
        self.url = f"http://127.0.0.1:{config.port}"
        self.app = create_app(config, settings, routing=routing)
        settings = uvicorn.Config(
            self.app, host="127.0.0.1", port=config.port, log_level="warning", http=NoDelayProtocol
        )
        self.server = uvicorn.Server(settings)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_until_ready(self.url, 30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def serve_settings(churn_models: ChurnModels) -> Settings:
    """The settings of the churn store: its database and artifact root."""
    client = churn_models.client
    return replace(client.settings, store_url=client.store_url, artifacts_url=client.artifacts_url)


@pytest.fixture
def serve_config() -> ServeConfig:
    return ServeConfig(
        model_uri="models:/churn@champion",
        port=free_port(),
        poll_seconds=0.2,
        log_flush_seconds=0.2,
        max_rows=100,
        max_body_bytes=64 * 1024,
    )


@pytest.fixture
def live(serve_config: ServeConfig, serve_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(serve_config, serve_settings) as server:
        yield server


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


def with_port(config: ServeConfig, **changes: object) -> ServeConfig:
    """The same configuration on a fresh port, with changes."""
    return replace(config, port=free_port(), **changes)  # type: ignore[arg-type]
