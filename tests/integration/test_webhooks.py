"""Webhooks on the loop's events, posted to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import mloop
from mloop.api import create_api
from mloop.cli import app
from mloop.config import Webhook, load_settings
from mloop.entities import (
    AlertSighting,
    AlertStatus,
    Decision,
    DecisionKind,
    DeliveryStatus,
    EventKind,
    Severity,
)
from mloop.errors import InvalidInput
from mloop.store import close_stores, open_store
from mloop.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookDeliverer, verify
from mloop.webhooks.deliverer import webhook_deliverer
from tests.team_server import SessionServer, free_port

SECRET = "s3cret"


@dataclass
class Receiver:
    """An HTTP server that records what it is sent and answers with the statuses queued."""

    url: str
    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(f"http://127.0.0.1:{free_port()}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            found.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(found.answers.pop(0) if found.answers else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    port = int(found.url.rsplit(":", 1)[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    thread.join(timeout=10)


def _client(sqlite_url: str) -> mloop.Client:
    return mloop.Client(sqlite_url)


def _deliverer(sqlite_url: str, hooks: list[Webhook], allowed: list[str]) -> WebhookDeliverer:
    return WebhookDeliverer(open_store(sqlite_url), hooks, allowed, backoff_seconds=0.0)


def _register(client: mloop.Client) -> None:
    x = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    model = LogisticRegression().fit(x, np.arange(20) % 2)
    run_id = client.create_run("hooks", "lr")
    client.log_model(run_id, model, input_example=x)
    client.register_model(run_id, "churn")


def test_events_reach_the_webhook_signed(sqlite_url: str, receiver: Receiver) -> None:
    client = _client(sqlite_url)
    _register(client)
    client.set_alias("churn", "champion", 1, reason="first")
    alert, _ = client.monitoring.raise_alert(
        AlertSighting("drift.share", "churn", "dataset", Severity.WARNING, "drifted", 0.5)
    )
    client.monitoring.set_alert_status(alert.id, AlertStatus.RESOLVED, "tester")
    hooks = [Webhook(f"{receiver.url}/hook", SECRET)]
    done = _deliverer(sqlite_url, hooks, [receiver.url]).run_once()
    assert [d.status for d in done] == [DeliveryStatus.DELIVERED] * 3
    kinds = [json.loads(body)["event"] for _, body in receiver.received]
    assert kinds == ["alias.moved", "alert.opened", "alert.resolved"]
    headers, body = receiver.received[0]
    assert verify(SECRET, body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
    assert not verify("other", body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
    assert not verify(SECRET, body + b" ", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
    moved = json.loads(body)["data"]
    assert (moved["model"], moved["alias"], moved["to_version"]) == ("churn", "champion", 1)


def test_a_500_is_retried_with_backoff_and_recorded(sqlite_url: str, receiver: Receiver) -> None:
    client = _client(sqlite_url)
    client.monitoring.raise_alert(
        AlertSighting("drift.share", "churn", "dataset", Severity.WARNING, "drifted", 0.5)
    )
    receiver.answers = [500]
    hooks = [Webhook(receiver.url, SECRET, (EventKind.ALERT_OPENED.value,))]
    deliverer = WebhookDeliverer(open_store(sqlite_url), hooks, [receiver.url], backoff_seconds=60)
    (first,) = deliverer.run_once()
    assert (first.status, first.attempts, first.response_status) == ("pending", 1, 500)
    assert "HTTP 500" in first.last_error and first.next_attempt_at > first.updated_at + 59
    assert deliverer.run_once() == []  # not due yet: the backoff holds it back
    (second,) = deliverer.run_once(now=first.next_attempt_at)
    assert (second.status, second.attempts, second.response_status) == ("delivered", 2, 200)
    assert len(receiver.received) == 2
    assert client.events.list_deliveries() == [second]


def test_an_origin_off_the_allow_list_is_never_contacted(
    sqlite_url: str, receiver: Receiver
) -> None:
    client = _client(sqlite_url)
    client.retraining.record(_decision())
    hooks = [Webhook(receiver.url, SECRET)]
    (refused,) = _deliverer(sqlite_url, hooks, ["http://127.0.0.1:9"]).run_once()
    assert refused.status == DeliveryStatus.FAILED and "allow-list" in refused.last_error
    assert receiver.received == []
    settings = replace(
        load_settings(), webhooks=tuple(hooks), webhook_allow=("https://ok.example",)
    )
    with pytest.raises(InvalidInput, match="webhook_allow"):
        webhook_deliverer(open_store(sqlite_url), settings)


def test_a_4xx_fails_at_once_and_events_a_hook_does_not_take_are_skipped(
    sqlite_url: str, receiver: Receiver
) -> None:
    client = _client(sqlite_url)
    client.retraining.record(_decision())
    client.monitoring.raise_alert(
        AlertSighting("drift.share", "churn", "dataset", Severity.WARNING, "drifted", 0.5)
    )
    receiver.answers = [401]
    hooks = [Webhook(receiver.url, SECRET, (EventKind.RETRAINING_DECIDED.value,))]
    (refused,) = _deliverer(sqlite_url, hooks, [receiver.url]).run_once()
    assert (refused.status, refused.event, refused.attempts) == ("failed", "retraining.decided", 1)


def test_remote_events_and_deliveries_go_through_the_api(
    sqlite_url: str, receiver: Receiver, team_server: SessionServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_url = team_server.mount(create_api(load_settings(), open_store(sqlite_url)))
    try:
        mloop.Client(server_url).monitoring.raise_alert(
            AlertSighting("drift.share", "churn", "dataset", Severity.WARNING, "drifted", 0.5)
        )
        _deliverer(sqlite_url, [Webhook(receiver.url, SECRET)], [receiver.url]).run_once()
        listed = httpx.get(
            f"{server_url}/api/v1/webhook-deliveries", params={"status": "delivered"}
        )
        (row,) = listed.json()
        assert (row["event"], row["url"], row["attempts"]) == ("alert.opened", receiver.url, 1)
        monkeypatch.setenv("MLOOP_STORE_URL", server_url)
        shown = CliRunner().invoke(app, ["webhooks", "deliveries", "--json"])
        assert shown.exit_code == 0, shown.output
        assert [r["status"] for r in json.loads(shown.stdout)] == ["delivered"]
    finally:
        team_server.unmount(server_url)
        close_stores()


def _decision() -> Decision:
    return Decision("churn", DecisionKind.SKIPPED, 0.0, "no trigger fired", "schedule")
