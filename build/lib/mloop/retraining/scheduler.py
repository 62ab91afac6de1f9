"""Retraining policies on a schedule: a background thread that runs ``retrain`` now and then.

Runs in the model server beside its monitor; the store's retraining lock keeps replicas
from training twice.
"""

from __future__ import annotations

import logging
import threading

from mloop.client import Client
from mloop.errors import MloopError
from mloop.retraining.loop import retrain

logger = logging.getLogger("mloop.retraining")


class RetrainingScheduler:
    """Checks the policy of ``model`` every ``every_seconds`` until stopped."""

    def __init__(self, client: Client, model: str, every_seconds: float) -> None:
        self._client = client
        self._model = model
        self._every = every_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mloop-retraining", daemon=True)

    def start(self) -> None:
        """Start the background thread."""
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                decision = retrain(self._client, self._model)
                logger.info(
                    "retraining of %s: %s (%s)", self._model, decision.kind, decision.reason
                )
            except MloopError as exc:
                logger.warning("retraining of %s skipped: %s", self._model, exc)
            except Exception:
                logger.exception("retraining of %s failed", self._model)

    def stop(self) -> None:
        """Stop the thread (a retraining in progress finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=600)
