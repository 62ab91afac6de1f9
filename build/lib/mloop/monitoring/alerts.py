"""Alert rules over monitoring signals, with de-duplication, cool-down and auto-resolution."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from mloop.entities import Alert, AlertSighting, AlertStatus, Severity
from mloop.monitoring.notifiers import Notifier
from mloop.services import MonitoringService

AUTO_RESOLVER = "mloop"


@dataclass(frozen=True)
class Signal:
    """One measured value of a monitoring run, e.g. drift of a column or a window's F1 drop.

    ``message`` says what was measured; the alert's message adds the value against the rule's
    threshold, on the value's own scale.
    """

    metric: str
    subject: str
    value: float
    message: str


@dataclass(frozen=True)
class AlertRule:
    """Alert when ``metric`` crosses ``threshold`` (above it, or below it when ``below``)."""

    name: str
    metric: str
    threshold: float
    below: bool = False
    severity: Severity = Severity.WARNING
    cooldown_seconds: float = 3600.0

    def breached(self, signal: Signal) -> bool:
        """Whether the signal is this rule's metric and crosses its threshold."""
        if signal.metric != self.metric:
            return False
        return signal.value < self.threshold if self.below else signal.value >= self.threshold

    def describe(self, signal: Signal) -> str:
        """The alert message: what was measured, then its value against the threshold."""
        side = "below" if self.below else "at or above"
        return (
            f"{signal.message}: {self.metric} {signal.value:.4g} is {side} "
            f"the threshold {self.threshold:.4g}"
        )


DEFAULT_RULES = (
    AlertRule("dataset-drift", "drift.share", 0.5, severity=Severity.CRITICAL),
    AlertRule("feature-drift", "drift.column", 1.0),
    AlertRule("prediction-drift", "drift.prediction", 1.0),
    AlertRule("f1-drop", "performance.f1_drop", 0.05, severity=Severity.CRITICAL),
    AlertRule("accuracy-drop", "performance.accuracy_drop", 0.05, severity=Severity.CRITICAL),
    AlertRule("estimated-f1-drop", "estimated.f1_drop", 0.05),
)
"""Drops are the ones the metric's interval supports (reference minus its upper end)."""


def notification_due(rule: AlertRule, alert: Alert, fresh: bool, now: float) -> bool:
    """Whether to call the notifiers for a sighting (``now`` in epoch seconds).

    True for a new alert, one never notified, or one last notified ``cooldown_seconds`` ago.
    """
    if fresh or alert.notified_at is None:
        return True
    return now - alert.notified_at >= rule.cooldown_seconds


def cleared_subjects(rule: AlertRule, signals: Sequence[Signal]) -> set[str]:
    """Subjects this run measured for the rule's metric without a breach; their alerts resolve."""
    measured = {s.subject for s in signals if s.metric == rule.metric}
    return measured - {s.subject for s in signals if rule.breached(s)}


def process_signals(
    monitoring: MonitoringService,
    model: str,
    signals: Sequence[Signal],
    rules: Sequence[AlertRule],
    notifiers: Sequence[Notifier],
    monitor: str = "",
) -> list[Alert]:
    """Open or refresh an alert per breach, notify outside cool-down, resolve what cleared.

    One alert per (rule, model, subject, ``monitor``) stays active however often it is seen,
    and only this monitor's run resolves it; returns the alerts opened or refreshed by this run.
    """
    raised: list[Alert] = []
    for rule in rules:
        for signal in (s for s in signals if rule.breached(s)):
            sighting = AlertSighting(
                rule.name,
                model,
                signal.subject,
                rule.severity,
                rule.describe(signal),
                signal.value,
                monitor,
            )
            alert, fresh = monitoring.raise_alert(sighting)
            if notification_due(rule, alert, fresh, time.time()):
                _notify(monitoring, alert, notifiers)
            raised.append(alert)
        _resolve_cleared(monitoring, model, rule, cleared_subjects(rule, signals), monitor)
    return raised


def _notify(monitoring: MonitoringService, alert: Alert, notifiers: Sequence[Notifier]) -> None:
    for notifier in notifiers:
        notifier.notify(alert)
    monitoring.mark_notified(alert.id, time.time())


def _resolve_cleared(
    monitoring: MonitoringService, model: str, rule: AlertRule, cleared: set[str], monitor: str
) -> None:
    for alert in monitoring.alerts(model=model, rule=rule.name):
        mine = alert.monitor == monitor and alert.subject in cleared
        if mine and alert.status is not AlertStatus.RESOLVED:
            monitoring.set_alert_status(alert.id, AlertStatus.RESOLVED, AUTO_RESOLVER)
