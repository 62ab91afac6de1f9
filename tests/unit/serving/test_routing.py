"""The routing seam: today's single-arm policy, a two-arm policy, and the conformance check."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pandas as pd
import pytest

import mloop
from mloop.entities import Rollout, RolloutState
from mloop.errors import InvalidInput, NotFound, NotReady
from mloop.modelio.signature import Signature
from mloop.rollouts import assign
from mloop.services.rollouts import make_policy, shares
from mloop.serving.config import ServeConfig
from mloop.serving.rollout_routing import RolloutRouting
from mloop.serving.routing import (
    RequestContext,
    Route,
    RoutingPolicy,
    SingleArm,
    check_routing_policy,
    single_arm,
)
from mloop.serving.served import ModelSlot, ModelSlots

from .conftest import loaded_model

CONFIG = ServeConfig("models:/churn@champion", batching=False, arm="champion")


class UnitSplit:
    """Half the units (by a salted hash) go to the challenger: a second arm is one class."""

    def __init__(self, champion: ModelSlot, challenger: ModelSlot) -> None:
        self.arms = (champion, challenger)

    def choose(self, request: RequestContext) -> Route:
        unit = request.unit_id or request.request_id
        slot = self.arms[hashlib.sha256(f"salt:{unit}".encode()).digest()[0] % 2]
        return Route(slot.arm, slot.current)


class Alternating:
    """Ignores the unit: the same caller flips between arms, which a rollout must never do."""

    def __init__(self, champion: ModelSlot, challenger: ModelSlot) -> None:
        self.next = itertools.cycle((champion, challenger))

    def choose(self, request: RequestContext) -> Route:
        slot = next(self.next)
        return Route(slot.arm, slot.current)


@pytest.fixture
def slots(tmp_path: Path) -> ModelSlots:
    return ModelSlots(mloop.Client(f"sqlite:///{tmp_path}/m.db"), CONFIG)


def test_single_arm_serves_the_configured_uri_and_passes_the_check(
    slots: ModelSlots, train: pd.DataFrame, signature: Signature
) -> None:
    policy = single_arm(slots, CONFIG)
    with pytest.raises(NotReady):
        policy.choose(RequestContext("r1"))
    slots["champion"].put(loaded_model(train, signature, 1))
    route = policy.choose(RequestContext("r1", "unit-1"))
    assert route.arm == "champion" and route.served.version == 1
    assert slots["champion"].model_uri == "models:/churn@champion"
    check_routing_policy(policy, ["champion"])


def test_a_swap_reaches_the_next_choice(
    slots: ModelSlots, train: pd.DataFrame, signature: Signature
) -> None:
    policy = single_arm(slots, CONFIG)
    slots["champion"].put(loaded_model(train, signature, 1))
    previous = slots["champion"].put(loaded_model(train, signature, 2))
    assert previous is not None and previous.version == 1
    assert policy.choose(RequestContext("r2")).served.version == 2


def two_arms(slots: ModelSlots, train: pd.DataFrame, signature: Signature) -> RoutingPolicy:
    champion = slots.add("champion", "models:/churn@champion")
    challenger = slots.add("challenger", "models:/churn/2")
    champion.put(loaded_model(train, signature, 1))
    challenger.put(loaded_model(train, signature, 2))
    return UnitSplit(champion, challenger)


def test_a_challenger_beside_the_champion_is_a_new_policy(
    slots: ModelSlots, train: pd.DataFrame, signature: Signature
) -> None:
    policy = two_arms(slots, train, signature)
    check_routing_policy(policy, ["champion", "challenger"])
    arms = {policy.choose(RequestContext(f"r{i}", f"u{i}")).arm for i in range(50)}
    assert arms == {"champion", "challenger"}
    assert slots.ready
    assert slots.find("churn", "2").arm == "challenger"
    assert slots.find("churn", None).arm == "champion"
    with pytest.raises(NotFound, match="churn version 1, churn version 2"):
        slots.find("churn", "3")


def test_the_check_refuses_a_policy_that_moves_a_unit_between_arms(
    slots: ModelSlots, train: pd.DataFrame, signature: Signature
) -> None:
    champion = slots.add("champion", "models:/churn@champion")
    challenger = slots.add("challenger", "models:/churn/2")
    champion.put(loaded_model(train, signature, 1))
    challenger.put(loaded_model(train, signature, 2))
    with pytest.raises(InvalidInput, match="went to arm"):
        check_routing_policy(Alternating(champion, challenger), ["champion", "challenger"])


def test_the_check_refuses_unknown_arms_and_mislabelled_models(
    slots: ModelSlots, train: pd.DataFrame, signature: Signature
) -> None:
    policy = two_arms(slots, train, signature)
    with pytest.raises(InvalidInput, match="not one of 'champion'"):
        check_routing_policy(policy, ["champion"])
    champion = slots["champion"]

    class Mislabelled(SingleArm):
        def choose(self, request: RequestContext) -> Route:
            return Route("challenger", champion.current)

    with pytest.raises(InvalidInput, match="carries the model of arm 'champion'"):
        check_routing_policy(Mislabelled(champion), ["champion", "challenger"])


def test_an_arm_takes_one_slot(slots: ModelSlots) -> None:
    slots.add("champion", "models:/churn/1")
    with pytest.raises(mloop.errors.Conflict):
        slots.add("champion", "models:/churn/2")


def test_a_rollout_routes_units_as_assign_does_whatever_order_the_weights_come_in(
    slots: ModelSlots, train: pd.DataFrame, signature: Signature
) -> None:
    routing = RolloutRouting(slots, CONFIG)
    slots["champion"].put(loaded_model(train, signature, 1))
    routing.challenger = ModelSlot(slots.client, CONFIG, "challenger", "models:/churn/2")
    routing.challenger.put(loaded_model(train, signature, 2))
    units = [f"customer-{i}" for i in range(2000)]
    for share in (0.05, 0.25, 1.0):
        weights = shares(share)
        reversed_order = dict(reversed(weights.items()))
        for stored in (weights, reversed_order):
            rollout = _rollout(stored)
            routing.follow(rollout)
            arms = [routing.choose(RequestContext("r", unit)).arm for unit in units]
            assert arms == [assign(unit, rollout.salt, weights) for unit in units]
    routing.follow(None)
    assert {routing.choose(RequestContext("r", unit)).arm for unit in units} == {"champion"}


@pytest.mark.parametrize("mode", ["ab", "shadow"])
def test_during_a_rollout_the_champion_answers_as_champion_and_keeps_its_arm(
    slots: ModelSlots, train: pd.DataFrame, signature: Signature, mode: str
) -> None:
    routing = RolloutRouting(slots, ServeConfig("models:/churn@champion", batching=False))
    slots[""].put(loaded_model(train, signature, 1))
    routing.challenger = ModelSlot(slots.client, CONFIG, "challenger", "models:/churn/2")
    routing.challenger.put(loaded_model(train, signature, 2))
    units = [f"customer-{i}" for i in range(200)]
    before = [routing.choose(RequestContext("r", unit)) for unit in units]
    assert {(r.arm, r.named) for r in before} == {("", "")}
    routing.follow(_rollout(shares(0.5), mode))
    during = [routing.choose(RequestContext("r", unit)) for unit in units]
    champions = [r for r in during if r.served.version == 1]
    assert champions and {(r.arm, r.named) for r in champions} == {("", "champion")}
    if mode == "shadow":
        assert len(champions) == len(units) and all(r.shadow is not None for r in champions)
    else:
        assert {(r.arm, r.named) for r in during if r.served.version == 2} == {("challenger", "")}
    routing.follow(None)
    assert [routing.choose(RequestContext("r", unit)) for unit in units] == before


def _rollout(weights: dict[str, float], mode: str = "ab") -> Rollout:
    policy = make_policy(mode)
    return Rollout(1, "churn", 1, 2, policy, "salt", RolloutState.RUNNING, 0, weights, 0, 0, 0)
