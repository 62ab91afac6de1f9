"""The retraining lock, held on a short lease that a heartbeat renews while its holder works.

A holder that dies (SIGKILL, a lost machine) stops renewing, so its lock expires within one
lease (``LEASE_SECONDS``) and the next retraining may start; a live holder keeps the lock
for as long as it works, up to the policy's ``lock_seconds``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from mloop.errors import MloopError
from mloop.services.retraining import RetrainingService

LEASE_SECONDS = 60.0

logger = logging.getLogger("mloop.retraining")


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LockLease:
    """The retraining lock of ``model``, renewed every third of a lease until released.

    The lease is ``LEASE_SECONDS`` (at most ``longest``); renewals stop ``longest`` seconds
    after the lock was taken, so even a holder that hangs gives it up by then.
    """

    def __init__(self, retraining: RetrainingService, model: str, *, longest: float) -> None:
        self._retraining = retraining
        self._model = model
        self._holder = _holder()
        self._longest = longest
        self._lease = min(LEASE_SECONDS, longest)
        self._until = 0.0
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(
            target=self._renew, name=f"mloop-retraining-lock-{model}", daemon=True
        )

    def acquire(self) -> bool:
        """Take the lock for one lease and start renewing it; False when another holds it."""
        taken_at = time.monotonic()
        if not self._retraining.acquire_lock(self._model, self._holder, self._lease):
            return False
        self._until = taken_at + self._longest
        self._heartbeat.start()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(self._lease / 3):
            left = self._until - time.monotonic()
            if left <= 0:
                logger.warning("retraining of %s held its lock for %g s: it lapses", self._model,
                               self._longest)  # fmt: skip
                return
            try:
                kept = self._retraining.acquire_lock(
                    self._model, self._holder, min(self._lease, left)
                )
            except MloopError as exc:
                logger.warning("the retraining lock of %s was not renewed: %s", self._model, exc)
                continue
            if not kept:
                logger.warning("the retraining lock of %s expired and was taken", self._model)
                return

    def release(self) -> None:
        """Stop renewing and give the lock back (nothing happens to a lock another holds)."""
        self._stop.set()
        if self._heartbeat.is_alive():
            self._heartbeat.join(timeout=self._lease)
        self._retraining.release_lock(self._model, self._holder)
