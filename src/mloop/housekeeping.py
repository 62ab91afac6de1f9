"""The prediction log's housekeeping as a job of ``mloop server``: roll-ups, retention, blobs.

Every ``every_seconds`` one replica (holding the ``housekeeping`` lease) rolls up settled hours
and days, deletes rows older than ``retention_days`` (when set) and collects orphan blobs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass

from mloop.client import Client
from mloop.config import Settings
from mloop.errors import MloopError
from mloop.services.log_lifecycle import RetentionReport

logger = logging.getLogger("mloop.housekeeping")
LEASE = "housekeeping"
EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class Housekept:
    """What one pass did: roll-ups written, the retention report (None: no retention set) and
    orphan blobs deleted."""

    rollups: int
    retention: RetentionReport | None
    blobs: int


def housekeep(client: Client, settings: Settings) -> Housekept:
    """One housekeeping pass on the client's store, whatever other replicas do.

    Raises InvalidInput on a server URL (the server housekeeps its own store).
    """
    lifecycle = client.log_lifecycle
    retention = None
    if settings.retention_days is not None:
        retention = lifecycle.retain(settings.retention_days)
    rollups = client.rollups.roll_up()
    return Housekept(rollups, retention, lifecycle.collect_blobs())


class LogHousekeeping:
    """Runs ``housekeep`` every ``every_seconds`` in a background thread until stopped."""

    def __init__(
        self,
        client: Client,
        settings: Settings,
        *,
        every_seconds: float = EVERY_SECONDS,
    ) -> None:
        self._client = client
        self._settings = settings
        self._every = every_seconds
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mloop-housekeeping", daemon=True)

    def start(self) -> None:
        """Start the background thread."""
        self._thread.start()

    def run_once(self) -> Housekept | None:
        """One pass if this replica holds the lease; None when another one does."""
        if not self._client.monitoring.acquire_lease(LEASE, self._holder, self._every * 0.9):
            return None
        return housekeep(self._client, self._settings)

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.run_once()
            except MloopError as exc:
                logger.warning("housekeeping skipped: %s", exc)
            except Exception:
                logger.exception("housekeeping failed")

    def stop(self) -> None:
        """Stop the thread (a pass in progress finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=600)
