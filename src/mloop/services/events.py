"""The one interface services tell the loop's events through, and the events' payloads.

A service that moves an alias, opens or resolves an alert, or records a retraining or rollout
decision publishes an ``Event`` to an ``EventPublisher`` (the store's outbox); the webhook
deliverer of ``mloop server`` posts it to the webhooks that take it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Protocol

import orjson

from mloop.entities import Event, EventKind
from mloop.errors import MloopError

logger = logging.getLogger("mloop.events")


class EventPublisher(Protocol):
    """Where services tell what happened: one method."""

    def publish(self, event: Event) -> int:
        """Record the event for delivery; return its id."""
        ...


def plain(record: Any) -> dict[str, Any]:
    """A dataclass record as plain JSON values (enums as their values, numpy as numbers)."""
    data = orjson.dumps(dataclasses.asdict(record), option=orjson.OPT_SERIALIZE_NUMPY)
    loaded: dict[str, Any] = orjson.loads(data)
    return loaded


def tell(publisher: EventPublisher | None, kind: EventKind, record: Any) -> None:
    """Publish ``record`` as an event of ``kind`` now; without a publisher do nothing.

    The change the event reports is already stored, so a failure to record the event is
    logged rather than raised (the caller's write stands).
    """
    if publisher is None:
        return
    try:
        publisher.publish(Event(kind, plain(record), time.time()))
    except MloopError as exc:
        logger.error("event %s was not recorded for the webhooks: %s", kind.value, exc)
