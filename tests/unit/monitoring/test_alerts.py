"""Alert rules and the decisions that need no store: breaches, cool-down, what cleared."""

from __future__ import annotations

import pytest

from mloop.entities import Alert, AlertStatus, MonitorKind, Severity
from mloop.monitoring.alerts import (
    DEFAULT_RULES,
    AlertRule,
    Signal,
    cleared_subjects,
    notification_due,
)

ABOVE = AlertRule("dataset-drift", "drift.share", 0.5)
BELOW = AlertRule("low-accuracy", "performance.accuracy", 0.8, below=True, cooldown_seconds=60)


def _signal(value: float, metric: str = "drift.share", subject: str = "dataset") -> Signal:
    return Signal(metric, subject, value, "measured")


def _alert(notified_at: float | None) -> Alert:
    return Alert(
        1, "low-accuracy", "churn", "window", Severity.WARNING, AlertStatus.OPEN, "m", 0.7,
        first_seen=0.0, last_seen=0.0, occurrences=3, notified_at=notified_at,
    )  # fmt: skip


@pytest.mark.parametrize(("value", "breached"), [(0.49, False), (0.5, True), (0.9, True)])
def test_a_rule_breaches_at_or_above_its_threshold(value: float, breached: bool) -> None:
    assert ABOVE.breached(_signal(value)) is breached


@pytest.mark.parametrize(("value", "breached"), [(0.79, True), (0.8, False), (0.95, False)])
def test_a_below_rule_breaches_strictly_under_its_threshold(value: float, breached: bool) -> None:
    assert BELOW.breached(_signal(value, "performance.accuracy")) is breached


def test_a_rule_ignores_other_metrics() -> None:
    assert not ABOVE.breached(_signal(1.0, metric="drift.column"))


def test_notifiers_run_for_new_or_unnotified_alerts_and_after_the_cooldown() -> None:
    assert notification_due(BELOW, _alert(notified_at=100.0), True, now=101.0)
    assert notification_due(BELOW, _alert(notified_at=None), False, now=101.0)
    assert not notification_due(BELOW, _alert(notified_at=100.0), False, now=159.9)
    assert notification_due(BELOW, _alert(notified_at=100.0), False, now=160.0)


def test_subjects_measured_without_a_breach_are_cleared() -> None:
    rule = AlertRule("feature-drift", "drift.column", 1.0)
    signals = [
        _signal(1.0, "drift.column", "income"),
        _signal(0.0, "drift.column", "age"),
        _signal(0.0, "drift.share", "dataset"),
    ]
    assert cleared_subjects(rule, signals) == {"age"}
    assert cleared_subjects(rule, []) == set()


def test_default_rules_carry_severities_and_stored_strings_stay_the_same() -> None:
    assert {rule.severity for rule in DEFAULT_RULES} == {Severity.WARNING, Severity.CRITICAL}
    assert [s.value for s in Severity] == ["info", "warning", "critical"]
    assert [k.value for k in MonitorKind] == [
        "drift", "prediction_drift", "performance", "estimated_performance",
    ]  # fmt: skip
    assert Severity("critical") is Severity.CRITICAL and MonitorKind("drift") == "drift"
