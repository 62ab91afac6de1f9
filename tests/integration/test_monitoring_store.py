"""The monitoring tables on SQLite and PostgreSQL: profiles, results, alerts, leases."""

from __future__ import annotations

import time

import pytest

from mloop.entities import (
    AlertQuery,
    AlertSighting,
    AlertStatus,
    MonitorKind,
    MonitorResult,
    ResultQuery,
    Severity,
)
from mloop.errors import NotFound
from mloop.store import Store


def test_reference_profile_is_stored_and_replaced(store: Store) -> None:
    monitoring = store.monitoring
    monitoring.save_reference_profile("churn", 1, {"n_rows": 10, "columns": {"a": {"count": 10}}})
    monitoring.save_reference_profile("churn", 1, {"n_rows": 20, "columns": {}})
    assert monitoring.get_reference_profile("churn", 1) == {"n_rows": 20, "columns": {}}
    with pytest.raises(NotFound, match="reference profile"):
        monitoring.get_reference_profile("churn", 2)


def test_monitor_results_come_back_oldest_first(store: Store) -> None:
    monitoring = store.monitoring
    for i in range(5):
        monitoring.record_monitor_result(
            MonitorResult(
                "churn",
                1,
                "",
                "drift",
                None,
                None,
                100 + i,
                {"share": i / 10},
                [{"c": i}],
                time.time(),
            )
        )
    monitoring.record_monitor_result(
        MonitorResult("churn", 1, "", "performance", None, None, 7, {}, [], time.time())
    )
    drift = monitoring.list_monitor_results(ResultQuery("churn", MonitorKind.DRIFT, limit=3))
    assert [r.n_rows for r in drift] == [102, 103, 104]
    assert drift[-1].summary == {"share": 0.4} and drift[-1].details == [{"c": 4}]
    assert len(monitoring.list_monitor_results(ResultQuery("churn"))) == 6
    assert monitoring.list_monitor_results(ResultQuery("other")) == []


def test_alerts_deduplicate_and_move_through_their_life(store: Store) -> None:
    monitoring = store.monitoring
    first, new = monitoring.raise_alert(
        AlertSighting("drift", "churn", "credit_score", Severity("warning"), "m1", 0.2)
    )
    assert new and first.status is AlertStatus.OPEN and first.occurrences == 1
    again, new = monitoring.raise_alert(
        AlertSighting("drift", "churn", "credit_score", Severity("critical"), "m2", 0.3)
    )
    assert (
        not new and again.id == first.id and again.occurrences == 2 and again.severity == "critical"
    )
    other, new = monitoring.raise_alert(
        AlertSighting("drift", "churn", "annual_income", Severity("warning"), "m", 0.2)
    )
    assert new and other.id != first.id
    acknowledged = monitoring.set_alert_status(first.id, AlertStatus.ACKNOWLEDGED, "ana")
    assert acknowledged.updated_by == "ana"
    _, new = monitoring.raise_alert(
        AlertSighting("drift", "churn", "credit_score", Severity("warning"), "m3", 0.2)
    )
    assert not new
    monitoring.set_alert_status(first.id, AlertStatus.RESOLVED, "ana")
    reopened, new = monitoring.raise_alert(
        AlertSighting("drift", "churn", "credit_score", Severity("warning"), "m4", 0.2)
    )
    assert new and reopened.id != first.id
    monitoring.mark_notified(reopened.id, 123.0)
    listed = monitoring.list_alerts(AlertQuery("churn", AlertStatus.OPEN))
    assert {a.subject for a in listed} == {"credit_score", "annual_income"}
    assert next(a for a in listed if a.id == reopened.id).notified_at == 123.0
    with pytest.raises(NotFound):
        monitoring.set_alert_status(99999, AlertStatus.RESOLVED, "ana")


def test_leases_go_to_one_holder_until_they_expire(store: Store) -> None:
    monitoring = store.monitoring
    assert monitoring.acquire_lease("monitor:churn", "replica-a", 0.5)
    assert not monitoring.acquire_lease("monitor:churn", "replica-b", 0.5)
    assert monitoring.acquire_lease("monitor:churn", "replica-a", 0.5)
    time.sleep(0.6)
    assert monitoring.acquire_lease("monitor:churn", "replica-b", 0.5)
