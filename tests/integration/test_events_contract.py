"""Every store takes the loop's events into its outbox and lists webhook deliveries."""

from __future__ import annotations

import mloop
from mloop.entities import AlertSighting, AlertStatus, Event, EventKind, Severity
from mloop.store import Store, open_store


def test_events_are_recorded_whoever_publishes_them(store: Store, client: mloop.Client) -> None:
    first = store.events.publish(Event(EventKind.ROLLOUT_DECIDED, {"kind": "start"}, 1.0))
    alert, _ = client.monitoring.raise_alert(
        AlertSighting("drift.share", "churn", "dataset", Severity.WARNING, "drifted", 0.5)
    )
    client.monitoring.set_alert_status(alert.id, AlertStatus.ACKNOWLEDGED, "tester")
    client.monitoring.set_alert_status(alert.id, AlertStatus.RESOLVED, "tester")
    assert first > 0 and store.events.list_deliveries() == []


def test_the_outbox_holds_each_event_once_in_order(sqlite_url: str) -> None:
    client = mloop.Client(sqlite_url)
    alert, _ = client.monitoring.raise_alert(
        AlertSighting("drift.share", "churn", "dataset", Severity.WARNING, "drifted", 0.5)
    )
    client.monitoring.raise_alert(
        AlertSighting("drift.share", "churn", "dataset", Severity.WARNING, "again", 0.6)
    )
    client.monitoring.set_alert_status(alert.id, AlertStatus.ACKNOWLEDGED, "tester")
    client.monitoring.set_alert_status(alert.id, AlertStatus.RESOLVED, "tester")
    queue = open_store(sqlite_url).events
    found = queue.undispatched_events(10)  # type: ignore[attr-defined]
    assert [e.kind for e in found] == [EventKind.ALERT_OPENED, EventKind.ALERT_RESOLVED]
    assert found[1].payload["id"] == alert.id and found[1].payload["status"] == "resolved"
