"""Rollouts: start, stop, status, analysis and evaluation of a model's rollout; its decisions
and the request tallies model servers report.

The routes under ``/models/{name}/rollouts`` are what a person or a script calls (the rollout
service checks every field); ``/rollouts`` holds what a remote store writes (a rollout a client
built, a decision it took, a server's tallies), checked the same way before it is stored.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from mloop.api.backend import Served
from mloop.entities import Rollout, RolloutDecision, RolloutMode, RolloutState
from mloop.errors import InvalidInput
from mloop.rollouts import evaluate
from mloop.services.rollouts import make_policy

router = APIRouter(tags=["rollouts"])
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Count = Annotated[int, Field(ge=0, le=2**63 - 1)]


class Body(BaseModel):
    """A request body that refuses fields it does not know."""

    model_config = ConfigDict(extra="forbid")


class RolloutStart(Body):
    """A challenger version to roll out, how (``mode`` and policy ``options``), and why.

    ``options`` are fields of the rollout policy (``steps``, ``alias``, ``metric``,
    ``min_sample``, ``max_error_rate`` ...); steps default by mode (canary: 5, 25, 50, 100%).
    """

    challenger: Id
    mode: RolloutMode = RolloutMode.CANARY
    options: dict[str, Any] = Field(default_factory=dict)
    reason: str = Field(default="", max_length=2000)


class Reason(Body):
    """Why, for the audit trail."""

    reason: str = Field(default="", max_length=2000)


class NewRollout(Body):
    """A rollout a client built and its start decision, to store."""

    rollout: Rollout
    decision: RolloutDecision


class AppliedDecision(Body):
    """A decision on a running rollout and the state, step and weights after it."""

    decision: RolloutDecision
    state: RolloutState
    step: Count
    weights: dict[str, float]
    based_on: float | None = None


class Tally(Body):
    """One server's running totals of answered and failed requests of an arm."""

    arm: str = Field(max_length=64)
    holder: str = Field(min_length=1, max_length=200)
    requests: Count
    errors: Count


class ArmTally(BaseModel):
    """Requests and errors of one arm, summed over every server."""

    requests: int
    errors: int


@router.post("/models/{name}/rollouts")
def start_rollout(name: str, body: RolloutStart, served: Served) -> Rollout:
    """Start rolling a challenger out against the version the policy's alias holds; 409 when
    the model already has a running rollout."""
    try:
        policy = make_policy(body.mode, **body.options)
    except InvalidInput as exc:
        if exc.field in body.options:
            raise InvalidInput(exc.message, field=f"options.{exc.field}") from exc
        raise
    return served.client.rollouts.start(name, body.challenger, policy, reason=body.reason)


@router.get("/models/{name}/rollouts")
def list_rollouts(name: str, served: Served, state: RolloutState | None = None) -> list[Rollout]:
    """Rollouts of a model (in ``state`` when given), newest first."""
    return served.client.rollouts.list_rollouts(name, state)


@router.post("/models/{name}/rollouts/stop")
def stop_rollout(name: str, body: Reason, served: Served) -> Rollout:
    """Stop the running rollout: all traffic back to the champion, the alias unmoved."""
    return served.client.rollouts.stop(name, reason=body.reason)


@router.get("/models/{name}/rollouts/status")
def rollout_status(name: str, served: Served) -> dict[str, Any]:
    """The newest rollout: arms, metric with intervals, SRM, sequential test, guardrails,
    decisions; 404 when the model never had one."""
    return served.client.rollouts.status(name)


@router.get("/models/{name}/rollouts/analysis")
def analyze_rollout(name: str, served: Served) -> dict[str, Any]:
    """The analysis of the newest rollout (the status without its decisions)."""
    return served.client.rollouts.analyze(name).to_dict()


@router.post("/models/{name}/rollouts/evaluate")
def evaluate_rollout(name: str, served: Served) -> Rollout | None:
    """Apply what the running rollout's policy decides now; the rollout after the decision,
    or null when there is nothing to decide (or no running rollout)."""
    return evaluate(served.client, name)


@router.get("/models/{name}/rollout-decisions")
def rollout_decisions(
    name: str, served: Served, rollout_id: Annotated[int | None, Query(ge=1)] = None
) -> list[RolloutDecision]:
    """Decisions of a model's rollouts (of one rollout when given), oldest first."""
    return served.client.rollouts.decisions(name, rollout_id)


@router.post("/rollouts")
def create_rollout(body: NewRollout, served: Served) -> Rollout:
    """Store a running rollout and its start decision; 409 when the model has one already."""
    return served.client.rollouts.create(body.rollout, body.decision)


@router.get("/rollouts/{rollout_id}")
def get_rollout(rollout_id: int, served: Served) -> Rollout:
    """The rollout with this id."""
    return served.client.rollouts.get(rollout_id)


@router.post("/rollouts/{rollout_id}/decisions")
def apply_decision(rollout_id: int, body: AppliedDecision, served: Served) -> Rollout:
    """Record a decision and the rollout's new state in one write; 409 when it has ended or
    changed since ``based_on`` (its ``updated_at`` when the decision was taken)."""
    decision = replace(body.decision, rollout_id=rollout_id)
    return served.client.rollouts.apply(
        decision, state=body.state, step=body.step, weights=body.weights, based_on=body.based_on
    )


@router.put("/rollouts/{rollout_id}/tallies")
def record_tally(rollout_id: int, body: Tally, served: Served) -> Tally:
    """Store one server's running totals of an arm (replacing its earlier totals)."""
    served.client.rollouts.record_tally(
        rollout_id, body.arm, body.holder, body.requests, body.errors
    )
    return body


@router.get("/rollouts/{rollout_id}/tallies")
def tallies(rollout_id: int, served: Served) -> dict[str, ArmTally]:
    """Requests and errors per arm of a rollout, summed over every server."""
    found = served.client.rollouts.tallies(rollout_id)
    return {arm: ArmTally(requests=n, errors=e) for arm, (n, e) in found.items()}
