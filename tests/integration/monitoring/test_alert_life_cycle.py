"""Alerts only move forward, reopen linking the resolved one, and stay within their monitor."""

from __future__ import annotations

import pytest

import mloop
from mloop.entities import AlertStatus
from mloop.errors import Conflict
from mloop.monitoring.alerts import AlertRule, Signal, process_signals

RULE = AlertRule("feature-drift", "drift.column", 1.0)


def _seen(drifted: bool) -> list[Signal]:
    return [Signal("drift.column", "income", float(drifted), "income: psi 0.31")]


def test_the_status_never_moves_back(sqlite_url: str) -> None:
    monitoring = mloop.Client(sqlite_url).monitoring
    [alert] = process_signals(monitoring, "churn", _seen(True), [RULE], [])
    monitoring.set_alert_status(alert.id, AlertStatus.ACKNOWLEDGED, "ana")
    with pytest.raises(Conflict, match="acknowledged"):
        monitoring.set_alert_status(alert.id, AlertStatus.OPEN, "ana")
    monitoring.set_alert_status(alert.id, AlertStatus.RESOLVED, "ana")
    with pytest.raises(Conflict, match="resolved"):
        monitoring.set_alert_status(alert.id, AlertStatus.ACKNOWLEDGED, "ana")
    assert monitoring.set_alert_status(alert.id, AlertStatus.RESOLVED, "bo").status is (
        AlertStatus.RESOLVED
    )


def test_a_sighting_after_resolution_opens_a_new_alert_linking_the_old(sqlite_url: str) -> None:
    monitoring = mloop.Client(sqlite_url).monitoring
    [first] = process_signals(monitoring, "churn", _seen(True), [RULE], [])
    process_signals(monitoring, "churn", _seen(False), [RULE], [])
    [second] = process_signals(monitoring, "churn", _seen(True), [RULE], [])
    assert second.id != first.id and second.previous_id == first.id
    assert first.previous_id is None


def test_two_window_sizes_judge_their_own_conditions(sqlite_url: str) -> None:
    monitoring = mloop.Client(sqlite_url).monitoring
    process_signals(monitoring, "churn", _seen(True), [RULE], [], monitor="last 10000")
    process_signals(monitoring, "churn", _seen(False), [RULE], [], monitor="last 500")
    statuses = {a.monitor: a.status for a in monitoring.alerts(model="churn")}
    assert statuses == {"last 10000": AlertStatus.OPEN}


def test_messages_compare_the_value_with_the_threshold_on_its_scale(sqlite_url: str) -> None:
    monitoring = mloop.Client(sqlite_url).monitoring
    floor = AlertRule("accuracy-floor", "performance.accuracy_drop", -0.05, below=True)
    signal = Signal("performance.accuracy_drop", "window", -0.067, "performance accuracy")
    [alert] = process_signals(monitoring, "churn", [signal], [floor], [])
    assert alert.message.endswith("performance.accuracy_drop -0.067 is below the threshold -0.05")
