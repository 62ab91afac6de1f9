"""Stable assignment of units (customers, sessions, requests) to the arms of a rollout.

A unit lands at a point of [0, 1): the first 8 bytes of SHA-256 over ``salt`` and the unit id,
read as an unsigned integer and divided by 2**64. The arms own consecutive ranges of [0, 1) in
their given order, each as wide as its weight's share. The same unit, salt and weights give the
same arm in every process and on every machine (Python's ``hash()`` would not: it is salted per
process). Different salts place a unit independently, so rollouts do not share their units.

When weights change, a unit moves only if its point leaves its arm's range. With two arms in
the order champion, challenger, raising the challenger's share from 5% to 25% moves the range
boundary from 0.95 to 0.75: the units in [0.75, 0.95) move to the challenger, and every unit
already on the challenger stays there. A canary step thus moves only the units it must.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from itertools import accumulate

from mloop.errors import InvalidInput

SCALE = float(2**64)


def unit_point(unit_id: str, salt: str) -> float:
    """Where ``unit_id`` lands in [0, 1) under ``salt``: uniform, stable across processes."""
    digest = hashlib.sha256(f"{salt}\x00{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / SCALE


def check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """The weights as shares summing to 1, in their given order.

    Raises InvalidInput (field ``weights``) for no arms, a negative or non-finite weight, or
    weights that are all zero.
    """
    values = {str(arm): float(weight) for arm, weight in weights.items()}
    if not values or any(not math.isfinite(w) or w < 0 for w in values.values()):
        raise InvalidInput(f"weights {values} must be finite and non-negative", field="weights")
    total = sum(values.values())
    if total <= 0:
        raise InvalidInput("at least one weight must be positive", field="weights")
    return {arm: weight / total for arm, weight in values.items()}


def assign(unit_id: str, salt: str, weights: Mapping[str, float]) -> str:
    """The arm of ``unit_id``: the arm whose cumulative weight range holds the unit's point.

    ``weights`` maps arm names to non-negative weights (any scale), in range order. Returns one
    of its arm names (never an arm of weight 0). Raises InvalidInput for weights
    ``check_weights`` refuses.

    A unit's point depends only on ``unit_id`` and ``salt``, so when the weights change (same
    salt, same arm order) a unit keeps its arm unless its point left that arm's range. With the
    two arms of a rollout (champion first, then challenger), the boundary sits at the champion's
    share: a canary step from challenger share ``s`` to ``t > s`` moves exactly the units with
    points in ``[1 - t, 1 - s)``, about ``t - s`` of all units, from champion to challenger;
    every challenger unit stays, so the challenger's units at 5% are among its units at 25%. A
    share going down (a bandit rebalancing, a rollback to 0) moves only challenger units back,
    those in ``[1 - s, 1 - t)``. With three or more arms a change moves the units between the
    old and new boundaries, which can touch arms whose own weight did not change.
    """
    shares = check_weights(weights)
    return arm_at(unit_point(unit_id, salt), shares)


def arm_at(point: float, shares: Mapping[str, float]) -> str:
    """The arm whose range of [0, 1) holds ``point``, for shares that sum to 1."""
    arms = list(shares)
    for arm, bound in zip(arms, accumulate(shares.values()), strict=True):
        if point < bound and shares[arm] > 0:
            return arm
    return next(arm for arm in reversed(arms) if shares[arm] > 0)
