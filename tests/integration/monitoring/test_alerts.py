"""Alert rules, de-duplication, cool-down, auto-resolution and the three notifiers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

import mloop
from mloop.entities import Alert, AlertStatus
from mloop.errors import InvalidInput
from mloop.monitoring.alerts import AlertRule, Signal, process_signals
from mloop.monitoring.notifiers import CallbackNotifier, LogNotifier, WebhookNotifier, url_allowed

RULE = AlertRule("feature-drift", "drift.column", 1.0, cooldown_seconds=3600)


def _drift(*columns: str) -> list[Signal]:
    return [
        Signal("drift.column", c, 1.0 if c in columns else 0.0, f"{c} drifted")
        for c in ("credit_score", "annual_income", "customer_age")
    ]


def test_one_drifted_feature_alerts_once_per_cooldown(sqlite_url: str) -> None:
    monitoring = mloop.Client(sqlite_url).monitoring
    seen: list[Alert] = []
    notifiers = [CallbackNotifier(seen.append), LogNotifier()]
    for _ in range(5):
        process_signals(monitoring, "churn", _drift("credit_score"), [RULE], notifiers)
    assert [a.subject for a in seen] == ["credit_score"]
    [alert] = monitoring.alerts(model="churn")
    assert alert.occurrences == 5 and alert.status is AlertStatus.OPEN
    hasty = AlertRule("feature-drift", "drift.column", 1.0, cooldown_seconds=0)
    process_signals(monitoring, "churn", _drift("credit_score"), [hasty], notifiers)
    assert len(seen) == 2


def test_cleared_conditions_resolve_and_can_reopen(sqlite_url: str) -> None:
    monitoring = mloop.Client(sqlite_url).monitoring
    seen: list[Alert] = []
    notifier = CallbackNotifier(seen.append)
    process_signals(
        monitoring, "churn", _drift("credit_score", "annual_income"), [RULE], [notifier]
    )
    process_signals(monitoring, "churn", _drift("annual_income"), [RULE], [notifier])
    statuses = {a.subject: a.status for a in monitoring.alerts(model="churn")}
    assert statuses == {"credit_score": AlertStatus.RESOLVED, "annual_income": AlertStatus.OPEN}
    process_signals(
        monitoring, "churn", _drift("credit_score", "annual_income"), [RULE], [notifier]
    )
    assert [a.subject for a in seen] == ["credit_score", "annual_income", "credit_score"]


def test_below_rules_alert_on_low_values(sqlite_url: str) -> None:
    monitoring = mloop.Client(sqlite_url).monitoring
    rule = AlertRule("low-f1", "performance.f1", 0.6, below=True)
    raised = process_signals(
        monitoring, "churn", [Signal("performance.f1", "window", 0.55, "f1 0.55")], [rule], []
    )
    assert [a.value for a in raised] == [0.55]
    assert (
        process_signals(
            monitoring, "churn", [Signal("performance.f1", "window", 0.7, "ok")], [rule], []
        )
        == []
    )


class _Receiver(BaseHTTPRequestHandler):
    failures = 0
    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if type(self).failures > 0:
            type(self).failures -= 1
            self.send_response(503)
        else:
            type(self).received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.failures = 2
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/mloop"
    server.shutdown()
    thread.join(timeout=10)


def test_webhook_retries_then_delivers_json(sqlite_url: str, receiver: str) -> None:
    monitoring = mloop.Client(sqlite_url).monitoring
    origin = receiver.rsplit("/hooks", 1)[0]
    webhook = WebhookNotifier(
        receiver, allowed=[f"{origin}/hooks"], retries=3, backoff_seconds=0.01
    )
    process_signals(monitoring, "churn", _drift("credit_score"), [RULE], [webhook])
    assert len(_Receiver.received) == 1
    payload = _Receiver.received[0]
    assert payload["subject"] == "credit_score" and payload["status"] == "open"
    assert payload["rule"] == "feature-drift"


def test_webhook_gives_up_within_its_retries(sqlite_url: str, receiver: str) -> None:
    _Receiver.failures = 10
    webhook = WebhookNotifier(
        receiver, allowed=[receiver], retries=2, backoff_seconds=0.01, timeout=2
    )
    process_signals(
        mloop.Client(sqlite_url).monitoring, "churn", _drift("credit_score"), [RULE], [webhook]
    )
    assert _Receiver.received == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/other",
        "http://127.0.0.1.evil.example/hooks",
        "http://127.0.0.2:9/hooks",
        "ftp://127.0.0.1:9/hooks",
        "file:///etc/passwd",
    ],
)
def test_webhooks_only_to_allowed_urls(url: str) -> None:
    with pytest.raises(InvalidInput, match="MLOOP_WEBHOOK_ALLOW"):
        WebhookNotifier(url, allowed=["http://127.0.0.1:9/hooks"])
    assert url_allowed("http://127.0.0.1:9/hooks/x", ["http://127.0.0.1:9/hooks"])
