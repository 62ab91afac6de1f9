"""Evaluating a model's rollout: now (``evaluate``) or on a schedule beside a server."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from mloop.client import Client
from mloop.entities import Rollout
from mloop.errors import MloopError
from mloop.rollouts.decisions import next_verdict

logger = logging.getLogger("mloop.rollouts")


def evaluate(client: Client, model: str) -> Rollout | None:
    """Analyse the model's running rollout and apply what its policy decides.

    Returns the rollout after the decision, or None when there is no running rollout or
    nothing to decide yet. A rollout whose champion alias was moved by hand is stopped. Each
    decision carries the analysis it was taken on.
    """
    running = client.rollouts.running(model)
    if running is None:
        return None
    stopped = client.rollouts.stop_if_champion_moved(running)
    if stopped is not None:
        return stopped
    analysis = client.rollouts.analyze(model)
    verdict = next_verdict(analysis)
    if verdict is None:
        return None
    logger.info("rollout of %s: %s (%s)", model, verdict.kind, verdict.reason)
    return client.rollouts.decide(
        analysis.rollout,
        verdict.kind,
        verdict.reason,
        state=verdict.state,
        step=verdict.step,
        weights=verdict.weights,
        statistics=analysis.to_dict(),
    )


def rollout_lease(model: str) -> str:
    """The store lease whose holder alone evaluates ``model``'s rollouts: every model server's
    evaluator, the team server's schedule and ``mloop demo`` take this one."""
    return f"rollout:{model}"


def evaluate_if_held(client: Client, model: str, holder: str, seconds: float) -> Rollout | None:
    """``evaluate`` when ``holder`` takes or renews the model's rollout lease for ``seconds``;
    None when another holder has it (or ``evaluate`` returns None)."""
    if not client.monitoring.acquire_lease(rollout_lease(model), holder, seconds):
        return None
    return evaluate(client, model)


class RolloutEvaluator:
    """Evaluates a model's running rollout as often as its policy asks, in a thread.

    Checks every ``poll_seconds``; one server at a time evaluates, holding a lease in the store.
    """

    def __init__(self, client: Client, model: str, poll_seconds: float) -> None:
        self._client = client
        self._model = model
        self._poll = poll_seconds
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._last = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mloop-rollout", daemon=True)

    def start(self) -> None:
        """Start the background thread."""
        self._thread.start()

    def run_once(self) -> Rollout | None:
        """Evaluate now if a rollout is running, due and this server holds the lease."""
        rollout = self._client.rollouts.running(self._model)
        if rollout is None:
            return None
        every = rollout.policy.evaluate_every_seconds
        if time.monotonic() - self._last < every:
            return None
        self._last = time.monotonic()
        return evaluate_if_held(self._client, self._model, self._holder, every * 0.9)

    def _loop(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self.run_once()
            except MloopError as exc:
                logger.warning("rollout of %s not evaluated: %s", self._model, exc)
            except Exception:
                logger.exception("rollout of %s failed to evaluate", self._model)

    def stop(self) -> None:
        """Stop the thread (an evaluation in progress finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
