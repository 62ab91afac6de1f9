"""Monitors on a schedule: one replica at a time runs each, holding a lease in the store."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence

from mloop.client import Client
from mloop.errors import MloopError
from mloop.monitoring.alerts import DEFAULT_RULES, AlertRule
from mloop.monitoring.monitor import MonitorRun, run_monitor
from mloop.monitoring.notifiers import LogNotifier, Notifier
from mloop.prediction_log import Window

logger = logging.getLogger("mloop.monitoring")


class MonitorScheduler:
    """Runs a monitor every ``every_seconds`` in a background thread until stopped."""

    def __init__(
        self,
        client: Client,
        target: str,
        window: Window,
        every_seconds: float,
        *,
        rules: Sequence[AlertRule] = DEFAULT_RULES,
        notifiers: Sequence[Notifier] = (LogNotifier(),),
    ) -> None:
        self._client = client
        self._target = target
        self._window = window
        self._every = every_seconds
        self._rules = rules
        self._notifiers = notifiers
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mloop-monitor", daemon=True)

    def start(self) -> None:
        """Start the background thread."""
        self._thread.start()

    def run_once(self) -> MonitorRun | None:
        """Run the monitor now if this replica holds the lease; None when another one does."""
        lease = f"monitor:{self._target}"
        if not self._client.monitoring.acquire_lease(lease, self._holder, self._every * 0.9):
            return None
        return run_monitor(
            self._client, self._target, self._window, rules=self._rules, notifiers=self._notifiers
        )

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.run_once()
            except MloopError as exc:
                logger.warning("monitor of %s skipped: %s", self._target, exc)
            except Exception:
                logger.exception("monitor of %s failed", self._target)

    def stop(self) -> None:
        """Stop the thread (a run in progress finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
