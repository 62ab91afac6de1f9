"""Store queries for monitoring: profiles, monitor results, alerts and scheduler leases."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update

from mloop.entities import (
    Alert,
    AlertQuery,
    AlertSighting,
    AlertStatus,
    MonitorKind,
    MonitorResult,
    ResultQuery,
    Severity,
)
from mloop.errors import Conflict, NotFound
from mloop.store.sql import schema as t
from mloop.store.sql.base import SqlDatabase

_ACTIVE = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)
_ORDER = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED)
"""The only direction an alert's status moves."""


def _alert(row: Row[Any]) -> Alert:
    values = row._asdict()
    values["status"] = AlertStatus(values["status"])
    values["severity"] = Severity(values["severity"])
    return Alert(**values)


def _result(row: Row[Any]) -> MonitorResult:
    values = row._asdict()
    values["kind"] = MonitorKind(values["kind"])
    return MonitorResult(**values)


class SqlMonitoringStore:
    """Reference and chunk profiles, stored monitor results, alerts and leases."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def save_reference_profile(self, name: str, version: int, profile: dict[str, Any]) -> None:
        """Store (or replace) the reference profile of a model version."""
        table = t.reference_profiles
        with self._db.write() as conn:
            conn.execute(delete(table).where(table.c.name == name, table.c.version == version))
            conn.execute(
                insert(table).values(
                    name=name, version=version, profile=profile, created_at=time.time()
                )
            )

    def get_reference_profile(self, name: str, version: int) -> dict[str, Any]:
        """The reference profile of a model version."""
        table = t.reference_profiles
        query = select(table.c.profile).where(table.c.name == name, table.c.version == version)
        with self._db.read() as conn:
            profile = conn.execute(query).scalar()
        if profile is None:
            raise NotFound(f"model {name!r} version {version} has no reference profile")
        return dict(profile)

    def save_chunk_profile(self, chunk_id: int, profile: dict[str, Any]) -> None:
        """Store (or replace) the profile of one chunk of the prediction log."""
        table = t.chunk_profiles
        with self._db.write() as conn:
            conn.execute(delete(table).where(table.c.chunk_id == chunk_id))
            conn.execute(insert(table).values(chunk_id=chunk_id, profile=profile))

    def chunk_profiles(self, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The stored profiles of the given chunks (chunks without one are left out)."""
        found: dict[int, dict[str, Any]] = {}
        with self._db.read() as conn:
            for start in range(0, len(chunk_ids), 500):
                batch = list(chunk_ids[start : start + 500])
                query = select(t.chunk_profiles).where(t.chunk_profiles.c.chunk_id.in_(batch))
                found.update({row.chunk_id: dict(row.profile) for row in conn.execute(query)})
        return found

    def record_monitor_result(self, result: MonitorResult) -> int:
        """Store one monitoring result; return its id."""
        values = {k: v for k, v in result.__dict__.items() if k != "id"}
        values["kind"] = MonitorKind(result.kind).value
        with self._db.write() as conn:
            inserted = conn.execute(insert(t.monitor_results).values(**values))
            (result_id,) = inserted.inserted_primary_key or (0,)
        return int(result_id)

    def list_monitor_results(self, query: ResultQuery) -> list[MonitorResult]:
        """Stored results of a model, oldest first (the newest ``limit``)."""
        table = t.monitor_results
        chosen = select(table).where(table.c.model == query.model)
        if query.kind is not None:
            chosen = chosen.where(table.c.kind == str(query.kind))
        if query.since is not None:
            chosen = chosen.where(table.c.created_at >= query.since)
        chosen = chosen.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(query.limit)
        with self._db.read() as conn:
            rows = list(conn.execute(chosen))
        return [_result(row) for row in reversed(rows)]

    def raise_alert(self, sighting: AlertSighting) -> tuple[Alert, bool]:
        """Open an alert, or count one more sighting of the active one; True when it is new."""
        now, level, table = time.time(), Severity(sighting.severity).value, t.alerts
        where = (
            table.c.rule == sighting.rule,
            table.c.model == sighting.model,
            table.c.subject == sighting.subject,
            table.c.monitor == sighting.monitor,
        )
        with self._db.write() as conn:
            row = conn.execute(select(table).where(*where, table.c.status.in_(_ACTIVE))).first()
            if row is None:
                previous = conn.execute(
                    select(func.max(table.c.id)).where(
                        *where, table.c.status == AlertStatus.RESOLVED.value
                    )
                ).scalar()
                values = {
                    "monitor": sighting.monitor,
                    "previous_id": previous,
                    "rule": sighting.rule,
                    "model": sighting.model,
                    "subject": sighting.subject,
                    "severity": level,
                    "status": AlertStatus.OPEN.value,
                    "message": sighting.message,
                    "value": sighting.value,
                    "first_seen": now,
                    "last_seen": now,
                    "occurrences": 1,
                }
                (alert_id,) = conn.execute(insert(table).values(**values)).inserted_primary_key or (
                    0,
                )
                fresh = True
            else:
                alert_id, fresh = row.id, False
                conn.execute(
                    update(table)
                    .where(table.c.id == alert_id)
                    .values(
                        last_seen=now,
                        occurrences=row.occurrences + 1,
                        message=sighting.message,
                        value=sighting.value,
                        severity=level,
                    )
                )
            stored = conn.execute(select(table).where(table.c.id == alert_id)).one()
        return _alert(stored), fresh

    def mark_notified(self, alert_id: int, at: float) -> None:
        """Record when the alert's notifiers were last called."""
        with self._db.write() as conn:
            conn.execute(update(t.alerts).where(t.alerts.c.id == alert_id).values(notified_at=at))

    def set_alert_status(self, alert_id: int, status: AlertStatus, user: str) -> Alert:
        """Acknowledge or resolve an alert; the status never moves back."""
        allowed_from = [s.value for s in _ORDER[: _ORDER.index(status) + 1]]
        with self._db.write() as conn:
            done = conn.execute(
                update(t.alerts)
                .where(t.alerts.c.id == alert_id, t.alerts.c.status.in_(allowed_from))
                .values(status=status.value, updated_by=user)
            )
            row = conn.execute(select(t.alerts).where(t.alerts.c.id == alert_id)).first()
            if row is None:
                raise NotFound(f"alert {alert_id} does not exist")
            if done.rowcount == 0:
                raise Conflict(
                    f"alert {alert_id} is {row.status}; it cannot go back to {status.value}"
                )
        return _alert(row)

    def list_alerts(self, query: AlertQuery) -> list[Alert]:
        """Alerts, newest sighting first."""
        chosen = select(t.alerts)
        if query.model is not None:
            chosen = chosen.where(t.alerts.c.model == query.model)
        if query.status is not None:
            chosen = chosen.where(t.alerts.c.status == query.status.value)
        if query.rule is not None:
            chosen = chosen.where(t.alerts.c.rule == query.rule)
        with self._db.read() as conn:
            rows = conn.execute(chosen.order_by(t.alerts.c.last_seen.desc(), t.alerts.c.id.desc()))
            return [_alert(row) for row in rows]

    def acquire_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Take or renew a named lease unless another holder has it; True when it is ours."""
        now = time.time()
        table = t.leases
        with self._db.write() as conn:
            row = conn.execute(select(table).where(table.c.name == name)).first()
            if row is None:
                conn.execute(
                    insert(table).values(name=name, holder=holder, expires_at=now + seconds)
                )
                return True
            if row.holder != holder and row.expires_at > now:
                return False
            conn.execute(
                update(table)
                .where(table.c.name == name)
                .values(holder=holder, expires_at=now + seconds)
            )
            return True
