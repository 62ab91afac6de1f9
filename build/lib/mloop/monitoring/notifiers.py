"""Where alerts go: the log, a webhook on an allowed URL (with retries), or a Python callback."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from mloop.entities import Alert
from mloop.errors import InvalidInput

logger = logging.getLogger("mloop.alerts")


class Notifier(Protocol):
    """Anything that can be told about an alert."""

    def notify(self, alert: Alert) -> None:
        """Deliver one alert."""


def alert_payload(alert: Alert) -> dict[str, object]:
    """An alert as a JSON-able dict."""
    payload = asdict(alert)
    payload["status"] = alert.status.value
    return payload


class LogNotifier:
    """Writes each alert as one warning line."""

    def notify(self, alert: Alert) -> None:
        """Log the alert."""
        logger.warning(
            "[%s] %s on %s/%s: %s",
            alert.severity,
            alert.rule,
            alert.model,
            alert.subject,
            alert.message,
        )


class CallbackNotifier:
    """Calls a Python function with each alert."""

    def __init__(self, callback: Callable[[Alert], None]) -> None:
        self._callback = callback

    def notify(self, alert: Alert) -> None:
        """Call the callback."""
        self._callback(alert)


def url_allowed(url: str, allowed: Sequence[str]) -> bool:
    """Whether ``url`` has the scheme and host of an allowed URL and starts with its path."""
    target = urlsplit(url)
    for entry in allowed:
        rule = urlsplit(entry)
        same_origin = (target.scheme, target.netloc.lower()) == (rule.scheme, rule.netloc.lower())
        if same_origin and target.path.startswith(rule.path or "/"):
            return True
    return False


class WebhookNotifier:
    """POSTs each alert as JSON to a URL the configuration allows, retrying failures."""

    def __init__(
        self,
        url: str,
        *,
        allowed: Sequence[str],
        timeout: float = 5.0,
        retries: int = 3,
        backoff_seconds: float = 0.5,
    ) -> None:
        if urlsplit(url).scheme not in {"http", "https"} or not url_allowed(url, allowed):
            raise InvalidInput(
                f"webhook {url!r} is not allowed: add its origin to MLOOP_WEBHOOK_ALLOW",
                field="url",
            )
        self.url = url
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff_seconds

    def notify(self, alert: Alert) -> None:
        """POST the alert; retry connection errors and 5xx answers, then give up with a log line."""
        for attempt in range(1, self._retries + 1):
            try:
                answer = httpx.post(self.url, json=alert_payload(alert), timeout=self._timeout)
                if answer.status_code < 500:
                    if answer.status_code >= 400:
                        logger.error(
                            "webhook %s refused alert %s: %s",
                            self.url,
                            alert.id,
                            answer.status_code,
                        )
                    return
            except httpx.HTTPError as exc:
                logger.warning("webhook %s failed (attempt %d): %s", self.url, attempt, exc)
            if attempt < self._retries:
                time.sleep(self._backoff * attempt)
        logger.error(
            "webhook %s: gave up on alert %s after %d attempts", self.url, alert.id, self._retries
        )
