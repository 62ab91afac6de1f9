"""Routing by the model's rollout row: A/B, canary and bandit splits, and shadow scoring.

``rollout_routing`` serves the configured URI as the champion arm and follows the store: within
``poll_seconds`` of a rollout starting, the challenger's version is loaded (while the champion
keeps answering) and units are split by ``mloop.rollouts`` assignment on the rollout's salt
and current weights; in shadow mode the champion answers and the challenger scores the same
request in the background. When the rollout ends the challenger is released. Each server also
writes its requests and model failures per arm to the store, for the guardrails.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import Counter

from mloop.client import Client
from mloop.entities import Rollout, RolloutMode
from mloop.errors import MloopError
from mloop.rollouts import arm_at, check_weights, unit_point
from mloop.serving.config import ServeConfig
from mloop.serving.routing import RequestContext, Route, RoutingPolicy
from mloop.serving.served import ModelSlot, ModelSlots
from mloop.uris import ModelUri

logger = logging.getLogger("mloop.serving")
CHAMPION, CHALLENGER = "champion", "challenger"


class RolloutRouting:
    """Routes between the champion slot and the running rollout's challenger."""

    def __init__(self, slots: ModelSlots, config: ServeConfig) -> None:
        self.champion = slots.add(config.arm, config.model_uri)
        self.rollout: Rollout | None = None
        self._shares: dict[str, float] = {CHAMPION: 1.0}
        self.challenger: ModelSlot | None = None
        self._slots = slots
        self._client: Client = slots.client
        self._poll = config.poll_seconds
        uri = ModelUri.parse(config.model_uri)
        self._model = uri.name if config.model_uri.startswith("models:/") else None
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._requests: Counter[tuple[int, str]] = Counter()
        self._errors: Counter[tuple[int, str]] = Counter()
        self._follower: asyncio.Task[None] | None = None

    def choose(self, request: RequestContext) -> Route:
        """The champion, or the rollout's arm for the unit; raises NotReady before loading.

        While a rollout runs, the champion's answers name the arm ``champion`` (``Route.named``)
        whatever the server's configured arm. The arms' ranges are always champion first, then
        challenger (``follow``), whatever order the store hands the weights back in, so a unit
        keeps its arm across servers and moves only when a weight change passes its point.
        """
        rollout, challenger = self.rollout, self.challenger
        if rollout is None or challenger is None:
            return Route(self.champion.arm, self.champion.current)
        champion = Route(self.champion.arm, self.champion.current, named=CHAMPION)
        if rollout.policy.mode == RolloutMode.SHADOW:
            return Route(champion.arm, champion.served, challenger.current, named=CHAMPION)
        point = unit_point(request.unit_id or request.request_id, rollout.salt)
        if arm_at(point, self._shares) == CHALLENGER:
            return Route(challenger.arm, challenger.current)
        return champion

    def follow(self, rollout: Rollout | None) -> None:
        """Route by ``rollout`` (None: the champion only), its arms in range order."""
        weights = {} if rollout is None else rollout.weights
        ordered = {arm: weights.get(arm, 0.0) for arm in (CHAMPION, CHALLENGER)}
        self._shares = check_weights(ordered) if any(ordered.values()) else {CHAMPION: 1.0}
        self.rollout = rollout

    def record(self, arm: str, ok: bool) -> None:
        """Count a request of ``arm`` for the running rollout's guardrails."""
        rollout = self.rollout
        if rollout is None:
            return
        key = (rollout.id, CHALLENGER if arm == CHALLENGER else CHAMPION)
        self._requests[key] += 1
        if not ok:
            self._errors[key] += 1

    async def start(self) -> None:
        """Read the rollout now, then follow it every ``poll_seconds``."""
        if self._model is None or self._poll <= 0:
            return
        await self._refresh_safely()
        self._follower = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self._poll)
            await self._refresh_safely()

    async def _refresh_safely(self) -> None:
        try:
            await self.refresh()
        except MloopError as exc:
            logger.warning("could not follow the rollout of %s: %s", self._model, exc)
        except Exception:
            logger.exception("could not follow the rollout of %s", self._model)

    async def refresh(self) -> None:
        """Write the tallies, read the running rollout, load or release the challenger."""
        if self._model is None:
            return
        await asyncio.to_thread(self._write_tallies)
        rollout = await asyncio.to_thread(self._client.rollouts.running, self._model)
        self._forget_except(None if rollout is None else rollout.id)
        current = self.challenger
        wanted = None if rollout is None else rollout.challenger
        if current is not None and (wanted is None or current.current.version != wanted):
            self.challenger = None
            self._slots.remove(CHALLENGER)
        if rollout is not None and self.challenger is None:
            uri = str(ModelUri.of_version(rollout.model, rollout.challenger))
            self.challenger = await self._slots.load(CHALLENGER, uri)
            logger.info("rollout %s: challenger %s loaded", rollout.id, uri)
        self.follow(rollout)

    def _write_tallies(self) -> None:
        for (rollout_id, arm), requests in list(self._requests.items()):
            errors = self._errors[(rollout_id, arm)]
            self._client.rollouts.record_tally(rollout_id, arm, self._holder, requests, errors)

    def _forget_except(self, rollout_id: int | None) -> None:
        for counter in (self._requests, self._errors):
            for key in [key for key in counter if key[0] != rollout_id]:
                del counter[key]

    async def stop(self) -> None:
        """Stop following and write the last tallies."""
        if self._follower is not None:
            self._follower.cancel()
        if self._model is not None:
            await asyncio.to_thread(self._write_tallies)


def rollout_routing(slots: ModelSlots, config: ServeConfig) -> RoutingPolicy:
    """The setup ``mloop serve`` uses: the configured URI as champion, following rollouts."""
    return RolloutRouting(slots, config)
