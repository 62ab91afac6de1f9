"""Monitor results, alerts (sightings, acknowledge, resolve) and scheduler leases."""

from __future__ import annotations

from fastapi import APIRouter

from mloop.api.backend import Served
from mloop.api.bodies import (
    AlertRaised,
    CreatedId,
    LeaseAnswer,
    LeaseRequest,
    Notified,
    StatusChange,
)
from mloop.entities import Alert, AlertQuery, AlertSighting, AlertStatus, MonitorResult, ResultQuery

router = APIRouter(tags=["monitoring"])


@router.post("/monitor-results")
def record_monitor_result(body: MonitorResult, served: Served) -> CreatedId:
    """Store one monitoring result."""
    return CreatedId(served.store.monitoring.record_monitor_result(body))


@router.post("/monitor-results/search")
def list_monitor_results(body: ResultQuery, served: Served) -> list[MonitorResult]:
    """A model's stored results, oldest first (the newest ``limit``)."""
    return served.store.monitoring.list_monitor_results(body)


@router.get("/alerts")
def list_alerts(
    served: Served,
    model: str | None = None,
    status: AlertStatus | None = None,
    rule: str | None = None,
) -> list[Alert]:
    """Alerts (of one model, status or rule when given), newest sighting first."""
    return served.store.monitoring.list_alerts(AlertQuery(model, status, rule))


@router.post("/alerts/sightings")
def raise_alert(body: AlertSighting, served: Served) -> AlertRaised:
    """Open an alert, or count one more sighting of the active one."""
    alert, new = served.store.monitoring.raise_alert(body)
    return AlertRaised(alert, new)


@router.post("/alerts/{alert_id}/notified")
def mark_notified(alert_id: int, body: Notified, served: Served) -> Notified:
    """Record when the alert's notifiers were last called."""
    served.store.monitoring.mark_notified(alert_id, body.at)
    return body


@router.post("/alerts/{alert_id}/status")
def set_alert_status(alert_id: int, body: StatusChange, served: Served) -> Alert:
    """Acknowledge or resolve an alert; 409 when the status would go back."""
    return served.store.monitoring.set_alert_status(alert_id, body.status, body.user)


@router.post("/leases/{name:path}")
def acquire_lease(name: str, body: LeaseRequest, served: Served) -> LeaseAnswer:
    """Take or renew a named lease unless another holder has it."""
    return LeaseAnswer(served.store.monitoring.acquire_lease(name, body.holder, body.seconds))
