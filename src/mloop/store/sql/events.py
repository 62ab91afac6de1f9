"""Store queries for the event outbox and the webhook deliveries made from it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, insert, select, update

from mloop.entities import DeliveryStatus, Event, EventKind, WebhookDelivery
from mloop.errors import NotFound
from mloop.store.sql import schema as t
from mloop.store.sql.base import SqlDatabase

_deliveries = t.webhook_deliveries.c
_events = t.events.c


def _event(row: Row[Any]) -> Event:
    return Event(EventKind(row.kind), dict(row.payload), float(row.at), int(row.id))


def _delivery(row: Row[Any]) -> WebhookDelivery:
    values = {column.name: getattr(row, column.name) for column in t.webhook_deliveries.c}
    values["event"] = EventKind(values["event"])
    values["status"] = DeliveryStatus(values["status"])
    return WebhookDelivery(**values)


class SqlEventStore:
    """The outbox (``events``) and the delivery record (``webhook_deliveries``)."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def publish(self, event: Event) -> int:
        """Record an event for the webhooks to deliver; return its id."""
        values = {"kind": event.kind.value, "payload": event.payload, "at": event.at}
        with self._db.write() as conn:
            result = conn.execute(insert(t.events).values(**values, dispatched=False))
            (event_id,) = result.inserted_primary_key or (0,)
        return int(event_id)

    def list_deliveries(
        self, status: DeliveryStatus | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """Webhook deliveries (of one status when given), newest first, at most ``limit``."""
        query = select(t.webhook_deliveries).order_by(_deliveries.id.desc()).limit(limit)
        if status is not None:
            query = query.where(_deliveries.status == DeliveryStatus(status).value)
        with self._db.read() as conn:
            return [_delivery(row) for row in conn.execute(query)]

    def undispatched_events(self, limit: int) -> list[Event]:
        """Events not yet fanned out to the webhooks, oldest first."""
        query = select(t.events).where(_events.dispatched.is_(False)).order_by(_events.id)
        with self._db.read() as conn:
            return [_event(row) for row in conn.execute(query.limit(limit))]

    def dispatch(self, event: Event, urls: Sequence[str], at: float) -> None:
        """Create a pending delivery of the event per URL and mark it dispatched, atomically."""
        rows = [
            {
                "event_id": event.id,
                "event": event.kind.value,
                "url": url,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "last_error": "",
                "response_status": None,
                "next_attempt_at": at,
                "created_at": at,
                "updated_at": at,
            }
            for url in urls
        ]
        with self._db.write() as conn:
            marked = conn.execute(
                update(t.events)
                .where(_events.id == event.id, _events.dispatched.is_(False))
                .values(dispatched=True)
            )
            if marked.rowcount and rows:
                conn.execute(insert(t.webhook_deliveries), rows)

    def due_deliveries(self, now: float, limit: int) -> list[tuple[WebhookDelivery, Event]]:
        """Pending deliveries whose next attempt is due, oldest first, with their events."""
        query = (
            select(t.webhook_deliveries, t.events.c.payload, t.events.c.at.label("event_at"))
            .join(t.events, _events.id == _deliveries.event_id)
            .where(
                _deliveries.status == DeliveryStatus.PENDING.value,
                _deliveries.next_attempt_at <= now,
            )
            .order_by(_deliveries.next_attempt_at, _deliveries.id)
            .limit(limit)
        )
        with self._db.read() as conn:
            return [
                (
                    _delivery(row),
                    Event(EventKind(row.event), dict(row.payload), row.event_at, row.event_id),
                )
                for row in conn.execute(query)
            ]

    def record_attempt(
        self,
        delivery_id: int,
        status: DeliveryStatus,
        error: str,
        response_status: int | None,
        next_attempt_at: float,
    ) -> WebhookDelivery:
        """Count one attempt of a delivery and store its outcome; returns the delivery.

        Raises NotFound for an unknown delivery id.
        """
        values = {
            "status": DeliveryStatus(status).value,
            "attempts": _deliveries.attempts + 1,
            "last_error": error[:2000],
            "response_status": response_status,
            "next_attempt_at": next_attempt_at,
            "updated_at": time.time(),
        }
        with self._db.write() as conn:
            done = conn.execute(
                update(t.webhook_deliveries).where(_deliveries.id == delivery_id).values(**values)
            )
            if done.rowcount == 0:
                raise NotFound(f"webhook delivery {delivery_id} does not exist")
            row = conn.execute(
                select(t.webhook_deliveries).where(_deliveries.id == delivery_id)
            ).one()
        return _delivery(row)
