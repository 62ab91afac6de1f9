"""The webhook deliverer: fans outbox events out to webhooks and posts them with retries.

One replica at a time delivers (it holds the ``webhooks`` lease in the store). A delivery that
gets no answer, a 429 or a 5xx is tried again after ``backoff * 2 ** (attempts - 1)``
seconds, up to ``max_attempts``; a 2xx marks it delivered; any other answer, or a URL whose
origin is not on the allow-list, marks it failed. Redirects are not followed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from mloop import web
from mloop.config import Settings, Webhook
from mloop.entities import DeliveryStatus, Event, WebhookDelivery
from mloop.errors import InvalidInput, MloopError
from mloop.store import Store
from mloop.store.protocols import DeliveryQueue
from mloop.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)

logger = logging.getLogger("mloop.webhooks")
LEASE = "webhooks"
BATCH = 100


@dataclass(frozen=True)
class Outcome:
    """What one attempt found: the delivery's next status, the error and the HTTP status."""

    status: DeliveryStatus
    error: str
    response_status: int | None


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


class WebhookDeliverer:
    """Delivers the store's outbox to ``hooks`` every ``every_seconds`` in a thread."""

    def __init__(
        self,
        store: Store,
        hooks: Sequence[Webhook],
        allowed: Sequence[str],
        *,
        every_seconds: float = 1.0,
        max_attempts: int = 6,
        backoff_seconds: float = 2.0,
        timeout: float = 5.0,
    ) -> None:
        queue = store.events
        if not isinstance(queue, DeliveryQueue):
            raise InvalidInput(
                f"webhooks are delivered next to the database; {store.url} is a server",
                field="store_url",
            )
        self._queue: DeliveryQueue = queue
        self._leases = store.monitoring
        self._hooks = {hook.url: hook for hook in hooks}
        self._allowed = tuple(allowed)
        self._every = every_seconds
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mloop-webhooks", daemon=True)

    def start(self) -> None:
        """Start the background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (an attempt in progress finishes first) and close connections."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
        self._http.close()

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.run_once()
            except MloopError as exc:
                logger.warning("webhook deliveries skipped: %s", exc)
            except Exception:
                logger.exception("webhook deliveries failed")

    def run_once(self, now: float | None = None) -> list[WebhookDelivery]:
        """Fan new events out and make every due attempt, if this replica holds the lease.

        Returns the deliveries as they stand after this pass's attempts.
        """
        lease_seconds = max(self._every * 5, 30.0)
        if not self._leases.acquire_lease(LEASE, self._holder, lease_seconds):
            return []
        moment = time.time() if now is None else now
        for event in self._queue.undispatched_events(BATCH):
            urls = [url for url, hook in self._hooks.items() if hook.wants(event.kind.value)]
            self._queue.dispatch(event, urls, moment)
        return [self._attempt(d, e) for d, e in self._queue.due_deliveries(moment, BATCH)]

    def _attempt(self, delivery: WebhookDelivery, event: Event) -> WebhookDelivery:
        outcome = self._send(delivery, event)
        attempts = delivery.attempts + 1
        if outcome.status == DeliveryStatus.PENDING and attempts >= self._max_attempts:
            outcome = Outcome(DeliveryStatus.FAILED, outcome.error, outcome.response_status)
        later = time.time() + self._backoff * 2 ** (attempts - 1)
        if outcome.status == DeliveryStatus.FAILED:
            logger.error(
                "webhook %s gave up on event %s: %s", delivery.url, event.id, outcome.error
            )
        return self._queue.record_attempt(
            delivery.id, outcome.status, outcome.error, outcome.response_status, later
        )

    def _send(self, delivery: WebhookDelivery, event: Event) -> Outcome:
        hook = self._hooks.get(delivery.url)
        if hook is None:
            return Outcome(DeliveryStatus.FAILED, "the webhook is no longer configured", None)
        if not web.url_allowed(hook.url, self._allowed):
            error = "the webhook's origin is not on the allow-list (webhook_allow)"
            return Outcome(DeliveryStatus.FAILED, error, None)
        body = web.json_bytes(
            {"id": event.id, "event": event.kind.value, "at": event.at, "data": event.payload}
        )
        stamp = int(time.time())
        headers = {
            "content-type": web.JSON_TYPE,
            SIGNATURE_HEADER: signature(hook.secret, stamp, body),
            TIMESTAMP_HEADER: str(stamp),
            EVENT_HEADER: event.kind.value,
            DELIVERY_HEADER: str(delivery.id),
        }
        try:
            answer = self._http.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(DeliveryStatus.PENDING, f"no answer: {exc}", None)
        code = answer.status_code
        if 200 <= code < 300:
            return Outcome(DeliveryStatus.DELIVERED, "", code)
        state = DeliveryStatus.PENDING if _retryable(code) else DeliveryStatus.FAILED
        return Outcome(state, f"HTTP {code}: {answer.text[:200]}", code)


def webhook_deliverer(store: Store, settings: Settings) -> WebhookDeliverer | None:
    """The deliverer of the settings' webhooks on ``store``; None when none is configured.

    Raises InvalidInput naming the first webhook whose origin is not on ``webhook_allow``.
    """
    if not settings.webhooks:
        return None
    for hook in settings.webhooks:
        if not web.url_allowed(hook.url, settings.webhook_allow):
            raise InvalidInput(
                f"webhook {hook.url!r} is not allowed: add its origin to webhook_allow",
                field="webhooks",
            )
    return WebhookDeliverer(store, settings.webhooks, settings.webhook_allow)
