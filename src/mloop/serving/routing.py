"""Routing: which loaded model version (which arm) answers a request.

A routing policy is an object with one method, ``choose``. It is built by a ``RoutingSetup``
from the server's ``ModelSlots`` (where it adds the arms it needs) and the serving settings.
Today's policy, ``SingleArm``, answers every request with the configured URI's model; a rollout
(A/B, canary, shadow, bandit) adds its arms and chooses between them. ``check_routing_policy``
is the conformance check every policy should pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from mloop.errors import InvalidInput
from mloop.serving.config import ServeConfig
from mloop.serving.served import ModelSlot, ModelSlots, ServedModel


@dataclass(frozen=True)
class RequestContext:
    """What a policy may route on: the request id, the caller's unit id, the path's model."""

    request_id: str
    unit_id: str | None = None
    model: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Route:
    """The arm a request goes to and the model version that arm serves right now.

    ``shadow``, when set, also scores the request in the background; only ``served`` answers.
    ``named``, when set, is the arm the answer names in its ``x-model-arm`` header instead of
    ``arm``: during a rollout the champion slot keeps the server's configured arm (the one the
    prediction log records) but its answers say ``champion``.
    """

    arm: str
    served: ServedModel
    shadow: ServedModel | None = None
    named: str = ""


class RoutingPolicy(Protocol):
    """Chooses the arm and model version for each request."""

    def choose(self, request: RequestContext) -> Route:
        """The route for ``request``; raises NotReady while the arm has no model loaded.

        Called on the event loop for every request: it must not block, and the same unit id
        must get the same arm while the policy is unchanged.
        """


@runtime_checkable
class FollowingPolicy(Protocol):
    """A policy that follows state outside the server (a rollout row) and counts outcomes."""

    def choose(self, request: RequestContext) -> Route:
        """The route for ``request`` (see ``RoutingPolicy``)."""

    async def start(self) -> None:
        """Begin following, once the server's models are loaded."""

    async def stop(self) -> None:
        """Stop following and write what is still unsaved."""

    def record(self, arm: str, ok: bool) -> None:
        """Count one request answered (``ok``) or failed by the model of ``arm``."""


RoutingSetup = Callable[[ModelSlots, ServeConfig], RoutingPolicy]


class SingleArm:
    """Every request goes to one arm: the model of the configured URI (alias or version)."""

    def __init__(self, slot: ModelSlot) -> None:
        self.slot = slot

    def choose(self, request: RequestContext) -> Route:
        """The one arm and its current model; raises NotReady before it loads."""
        return Route(self.slot.arm, self.slot.current)


def single_arm(slots: ModelSlots, config: ServeConfig) -> RoutingPolicy:
    """The default setup: ``config.model_uri`` served as ``config.arm``."""
    return SingleArm(slots.add(config.arm, config.model_uri))


SAMPLE_UNITS = tuple(f"unit-{i}" for i in range(200))
CHOOSE_BUDGET_SECONDS = 0.001


def check_routing_policy(
    policy: RoutingPolicy, arms: Sequence[str], units: Sequence[str] = SAMPLE_UNITS
) -> None:
    """Check that ``policy`` behaves as the server needs; its arms' models must be loaded.

    Every route names one of ``arms`` and carries a loaded model of that arm; a unit id always
    gets the same arm; requests without a unit id are routed too; a choice takes well under a
    millisecond. Raises InvalidInput describing the first broken rule.
    """
    first = {unit: _checked(policy, RequestContext(f"r-{unit}", unit), arms) for unit in units}
    for unit, route in reversed(first.items()):
        again = _checked(policy, RequestContext(f"again-{unit}", unit), arms)
        if again.arm != route.arm:
            raise InvalidInput(
                f"unit {unit!r} went to arm {route.arm!r}, then to {again.arm!r}", field="choose"
            )
    _checked(policy, RequestContext("anonymous"), arms)
    _check_speed(policy, units)


def _checked(policy: RoutingPolicy, request: RequestContext, arms: Sequence[str]) -> Route:
    route = policy.choose(request)
    if not isinstance(route, Route) or not isinstance(route.served, ServedModel):
        raise InvalidInput(f"choose() returned {route!r}, not a Route", field="choose")
    if route.arm not in arms:
        known = ", ".join(map(repr, arms))
        raise InvalidInput(f"choose() named arm {route.arm!r}, not one of {known}", field="choose")
    if route.served.arm != route.arm:
        raise InvalidInput(
            f"route to arm {route.arm!r} carries the model of arm {route.served.arm!r}",
            field="choose",
        )
    return route


def _check_speed(policy: RoutingPolicy, units: Sequence[str]) -> None:
    requests = [RequestContext(f"speed-{u}", u) for u in units]
    started = time.perf_counter()
    for request in requests:
        policy.choose(request)
    mean = (time.perf_counter() - started) / max(len(requests), 1)
    if mean > CHOOSE_BUDGET_SECONDS:
        raise InvalidInput(
            f"choose() takes {mean * 1e6:.0f} µs per request; the budget is "
            f"{CHOOSE_BUDGET_SECONDS * 1e6:.0f} µs",
            field="choose",
        )
