"""Alert rules over monitoring signals, with de-duplication, cool-down and auto-resolution."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from mloop.entities import Alert, AlertStatus, Severity
from mloop.monitoring.notifiers import Notifier
from mloop.services import MonitoringService

AUTO_RESOLVER = "mloop"


@dataclass(frozen=True)
class Signal:
    """One measured value of a monitoring run, e.g. drift of a column or a window's F1."""

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


DEFAULT_RULES = (
    AlertRule("dataset-drift", "drift.share", 0.5, severity=Severity.CRITICAL),
    AlertRule("feature-drift", "drift.column", 1.0),
    AlertRule("prediction-drift", "drift.prediction", 1.0),
    AlertRule("f1-drop", "performance.f1_drop", 0.05, severity=Severity.CRITICAL),
    AlertRule("estimated-f1-drop", "estimated.f1_drop", 0.05),
)


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
) -> list[Alert]:
    """Open or refresh an alert per breach, notify outside cool-down, resolve what cleared.

    One alert per (rule, model, subject) stays active however often it is seen; returns the
    alerts opened or refreshed by this run.
    """
    raised: list[Alert] = []
    for rule in rules:
        for signal in (s for s in signals if rule.breached(s)):
            alert, fresh = monitoring.raise_alert(
                rule.name,
                model,
                signal.subject,
                severity=rule.severity,
                message=signal.message,
                value=signal.value,
            )
            if notification_due(rule, alert, fresh, time.time()):
                _notify(monitoring, alert, notifiers)
            raised.append(alert)
        _resolve_cleared(monitoring, model, rule, cleared_subjects(rule, signals))
    return raised


def _notify(monitoring: MonitoringService, alert: Alert, notifiers: Sequence[Notifier]) -> None:
    for notifier in notifiers:
        notifier.notify(alert)
    monitoring.mark_notified(alert.id, time.time())


def _resolve_cleared(
    monitoring: MonitoringService, model: str, rule: AlertRule, cleared: set[str]
) -> None:
    for alert in monitoring.alerts(model=model, rule=rule.name):
        if alert.subject in cleared and alert.status is not AlertStatus.RESOLVED:
            monitoring.set_alert_status(alert.id, AlertStatus.RESOLVED, AUTO_RESOLVER)
