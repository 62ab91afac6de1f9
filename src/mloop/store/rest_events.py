"""The event outbox over HTTP: events published to, and deliveries listed by, ``mloop server``."""

from __future__ import annotations

from mloop.entities import DeliveryStatus, Event, WebhookDelivery
from mloop.store.rest_session import RestSession
from mloop.store.wire import decode


class RestEventStore:
    """Publishes events to the server's outbox (``POST /events``) and lists its deliveries."""

    def __init__(self, session: RestSession) -> None:
        self._s = session

    def publish(self, event: Event) -> int:
        """Record an event in the server's outbox for its webhooks; return its id."""
        return int(self._s.call("POST", "/events", event)["id"])

    def list_deliveries(
        self, status: DeliveryStatus | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """The server's webhook deliveries (of one status when given), newest first."""
        found = self._s.call(
            "GET",
            "/webhook-deliveries",
            status=None if status is None else status.value,
            limit=limit,
        )
        return [decode(WebhookDelivery, item) for item in found]
