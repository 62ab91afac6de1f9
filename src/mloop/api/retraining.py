"""Retraining: models' policies, their decisions audit trail, retraining now (or saying what it
would do), and the lock that keeps two retrainings of one model apart."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from mloop.api.backend import Served
from mloop.api.bodies import CreatedId, LeaseAnswer
from mloop.entities import Decision
from mloop.errors import InvalidInput
from mloop.retraining import plan_retraining, retrain
from mloop.services import RetrainingService, decision_record
from mloop.services.retraining_policy import policy_from_dict, policy_to_dict
from mloop.uris import model_name

router = APIRouter(tags=["retraining"])
Seconds = Annotated[float, Field(gt=0, le=10 * 365 * 86400, allow_inf_nan=False)]
Holder = Annotated[str, Field(min_length=1, max_length=200)]
LockName = Annotated[str, Field(min_length=1, max_length=250)]


class Body(BaseModel):
    """A request body that refuses fields it does not know."""

    model_config = ConfigDict(extra="forbid")


class PolicyDocument(Body):
    """A retraining policy as JSON (the fields of ``RetrainingPolicy``) and who sets it
    (default: the server's user)."""

    policy: dict[str, Any]
    user: str | None = Field(default=None, max_length=200)


class RetrainRequest(Body):
    """Retrain now: ``force`` retrains without a trigger; ``dry_run`` only says what would
    happen and writes nothing."""

    force: bool = False
    dry_run: bool = False


class LockRequest(Body):
    """Who asks for a named lock and for how many seconds."""

    name: LockName
    holder: Holder
    seconds: Seconds


class LockRelease(Body):
    """A named lock to give back, and who holds it."""

    name: LockName
    holder: Holder


def _service(served: Served, user: str | None = None) -> RetrainingService:
    return RetrainingService(
        served.store.retraining, served.store.models, user or served.settings.user
    )


@router.get("/retraining-policies")
def list_policies(served: Served) -> list[dict[str, Any]]:
    """Every stored retraining policy, by model name."""
    return [policy_to_dict(policy) for policy in _service(served).policies()]


@router.put("/models/{name}/retraining-policy")
def set_policy(name: str, body: PolicyDocument, served: Served) -> dict[str, Any]:
    """Store (or replace) the retraining policy of a model; the checked policy comes back.

    422 naming the first bad field; the policy's ``model``, when given, must be ``name``.
    """
    document = {"model": model_name(name), **body.policy}
    if document["model"] != name:
        raise InvalidInput(f"policy.model {document['model']!r} is not {name!r}", field="model")
    stored = _service(served, body.user).set_policy(policy_from_dict(document))
    return policy_to_dict(stored)


@router.get("/models/{name}/retraining-policy")
def get_policy(name: str, served: Served) -> dict[str, Any]:
    """The retraining policy of a model; 404 when it has none."""
    return policy_to_dict(_service(served).policy(name))


@router.delete("/models/{name}/retraining-policy")
def delete_policy(name: str, served: Served) -> dict[str, Any]:
    """Remove the retraining policy of a model (its decisions stay); 404 when it has none."""
    _service(served).delete_policy(name)
    return {"model": name, "deleted": True}


@router.get("/models/{name}/retraining-decisions")
def list_decisions(
    name: str, served: Served, limit: Annotated[int, Query(ge=1, le=100_000)] = 1000
) -> list[Decision]:
    """The newest ``limit`` retraining decisions of a model, oldest first."""
    return _service(served).decisions(name, limit=limit)


@router.post("/models/{name}/retraining-decisions")
def record_decision(name: str, body: Decision, served: Served) -> CreatedId:
    """Append a decision to the model's audit trail (stamped now when ``at`` is 0)."""
    if body.model != model_name(name):
        raise InvalidInput(f"model {body.model!r} is not {name!r}", field="model")
    return CreatedId(_service(served).record(body).id)


@router.post("/models/{name}/retrain")
def retrain_now(name: str, body: RetrainRequest, served: Served) -> dict[str, Any]:
    """Run the model's policy now: the decision made (kind, reason, trigger, versions, gate),
    or with ``dry_run`` the plan (action ``retrain`` or ``skip``, fired triggers, reason)."""
    if body.dry_run:
        return asdict(plan_retraining(served.client, name, force=body.force))
    return decision_record(retrain(served.client, name, force=body.force))


@router.post("/retraining-locks")
def acquire_lock(body: LockRequest, served: Served) -> LeaseAnswer:
    """Take or renew a named lock unless another holder has it."""
    return LeaseAnswer(served.store.retraining.acquire_lock(body.name, body.holder, body.seconds))


@router.post("/retraining-locks/release")
def release_lock(body: LockRelease, served: Served) -> LeaseAnswer:
    """Give a lock back if ``holder`` has it (``held`` is then false)."""
    served.store.retraining.release_lock(body.name, body.holder)
    return LeaseAnswer(False)
