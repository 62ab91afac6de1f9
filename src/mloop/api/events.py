"""The loop's events and their webhook deliveries: publish to the outbox, list deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mloop.api.backend import Served
from mloop.api.bodies import CreatedId
from mloop.entities import DeliveryStatus, Event, WebhookDelivery

router = APIRouter(tags=["webhooks"])


@router.post("/events")
def publish_event(body: Event, served: Served) -> CreatedId:
    """Record an event in the outbox; the server's webhooks that take its kind receive it."""
    return CreatedId(served.store.events.publish(body))


@router.get("/webhook-deliveries")
def list_deliveries(
    served: Served,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[WebhookDelivery]:
    """Webhook deliveries (of one status when given), newest first: event, URL, status,
    attempts and last error."""
    return served.store.events.list_deliveries(status, limit)
