"""One retraining of a model by its policy: triggers, lock, training set, challenger, gate.

Every step is written to the audit trail; a failure (the user's recipe, an unreachable Dask
scheduler, any error) marks the challenger's run FAILED, records a ``failed`` decision, raises
an alert and leaves the champion untouched; an interruption records its ``failed`` decision too.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

from mloop.client import Client
from mloop.entities import (
    AlertSighting,
    Decision,
    DecisionKind,
    RetrainingPolicy,
    Rollout,
    Severity,
)
from mloop.errors import Conflict, MloopError
from mloop.prediction_log import LABEL, PREDICTION, parse_window
from mloop.retraining.challenger import Challenger, train_challenger
from mloop.retraining.executors import Progress
from mloop.retraining.gate import gate_metrics, gate_reason, judge, shadow_replay
from mloop.retraining.lease import LockLease
from mloop.retraining.recipe import RecipeError
from mloop.retraining.training_set import TrainingSet, assemble
from mloop.retraining.triggers import Fired, fired_triggers, held_back
from mloop.services.retraining_policy import canary_policy
from mloop.uris import ModelUri

MIN_HOLDOUT_ROWS = 30
FAILED_RULE = "retraining.failed"

logger = logging.getLogger("mloop.retraining")


@dataclass(frozen=True)
class Plan:
    """What a retraining would do now: the champion, the triggers that fire, and the verdict.

    ``action`` is ``retrain`` or ``skip``; ``reason`` says why.
    """

    model: str
    champion_version: int
    fired: list[Fired]
    action: str
    reason: str
    notes: list[str] = field(default_factory=list)


def plan_retraining(
    client: Client, model: str, *, force: bool = False, now: float | None = None
) -> Plan:
    """What ``retrain`` would do now, without doing it (nothing is written).

    A retraining waits (``skip``) while a rollout of the model runs, even when forced: a
    challenger trained then could neither start its canary nor move the alias safely.
    Raises NotFound when the model has no policy or its alias names no version.
    """
    moment = time.time() if now is None else now
    policy = client.retraining.policy(model)
    champion = client.registry.get_alias(policy.model, policy.alias)
    decisions = client.retraining.decisions(policy.model, limit=200)
    fired = fired_triggers(client, policy, champion, decisions, moment)
    if force:
        fired = [Fired("manual", "forced by the caller"), *fired]
    if not fired:
        return Plan(policy.model, champion, [], "skip", "no trigger fired")
    running = client.rollouts.running(policy.model)
    if running is not None:
        return Plan(policy.model, champion, fired, "skip", _rollout_waits(running))
    blocked = None if force else held_back(policy, decisions, moment)
    if blocked is not None:
        return Plan(policy.model, champion, fired, "skip", blocked)
    held = _holdout_rows(client, policy, moment)
    if held < MIN_HOLDOUT_ROWS:
        return Plan(policy.model, champion, fired, "skip", _too_few(held))
    return Plan(policy.model, champion, fired, "retrain", "; ".join(f.reason for f in fired))


def _holdout_rows(client: Client, policy: RetrainingPolicy, now: float) -> int:
    """How many labelled production rows of the window the holdout would take."""
    window = parse_window(policy.window, now)
    outputs = client.prediction_log.read_model_window(policy.model, window, columns=[PREDICTION])
    return math.ceil(int(outputs[LABEL].notna().sum()) * policy.holdout)


def _too_few(held: int) -> str:
    return (
        f"only {held} labelled production rows for the holdout "
        f"(at least {MIN_HOLDOUT_ROWS}): wait for more labels"
    )


def _rollout_waits(rollout: Rollout) -> str:
    return f"rollout {rollout.id} of {rollout.model} is running; retraining waits until it ends"


def retrain(
    client: Client,
    model: str,
    *,
    force: bool = False,
    now: float | None = None,
    progress: Progress | None = None,
) -> Decision:
    """Retrain ``model`` if its policy says so (or ``force``); return the last decision made.

    The decision is ``skipped`` (no trigger, a running rollout, cool-down, frequency, the lock
    is taken, too few labelled rows), ``promoted``, ``canary``, ``rejected`` or ``failed``.
    The lock is held on a short lease its heartbeat renews (see ``LockLease``), so a killed
    retraining frees it within a lease. A retraining that raises, or is interrupted (Ctrl-C),
    first records its ``failed`` decision, so the history never ends at ``triggered`` or
    ``trained``. Raises NotFound when the model has no policy or no champion, InvalidInput for
    a recipe that cannot be imported or a Dask scheduler that cannot be reached (field
    ``dask_address``).
    """
    plan = plan_retraining(client, model, force=force, now=now)
    trigger = ",".join(f.name for f in plan.fired)
    base = Decision(
        plan.model, DecisionKind.SKIPPED, 0.0, plan.reason, trigger, plan.champion_version
    )
    if plan.action == "skip":
        return client.retraining.record(base) if plan.fired else base
    policy = client.retraining.policy(model)
    lock = LockLease(client.retraining, policy.model, longest=policy.lock_seconds)
    if not lock.acquire():
        reason = f"another retraining of {policy.model} holds the lock"
        return client.retraining.record(_with(base, DecisionKind.SKIPPED, reason))
    try:
        trail = [client.retraining.record(_with(base, DecisionKind.TRIGGERED, plan.reason))]
        try:
            return _attempt(client, policy, trail, progress)
        except BaseException as exc:
            _ended_by(client, policy, trail[-1], exc)
            raise
    finally:
        lock.release()


def _with(decision: Decision, kind: DecisionKind, reason: str, **changes: Any) -> Decision:
    values = {**decision.__dict__, "kind": kind, "reason": reason, "at": 0.0, "id": 0, **changes}
    return Decision(**values)


def _attempt(
    client: Client, policy: RetrainingPolicy, trail: list[Decision], progress: Progress | None
) -> Decision:
    """Assemble, train, judge: the decision it ends in. ``trail`` holds the decisions recorded
    so far (``triggered``, then ``trained``); a failure is recorded on the newest."""
    base = trail[0]
    champion = int(base.champion_version or 0)
    data = assemble(client, policy, champion, time.time())
    if len(data.holdout) < MIN_HOLDOUT_ROWS:
        return client.retraining.record(
            _with(base, DecisionKind.SKIPPED, _too_few(len(data.holdout)))
        )
    try:
        challenger = train_challenger(client, policy, champion, base.trigger, data, progress)
    except RecipeError as exc:
        reason = f"the recipe failed, the champion keeps serving: {exc}"
        return _failed(client, policy, _with(base, DecisionKind.FAILED, reason, run_id=exc.run_id))
    trail.append(client.retraining.record(_trained(base, data, challenger)))
    return _judge(client, policy, trail[-1], data, challenger)


def _failed(client: Client, policy: RetrainingPolicy, failed: Decision) -> Decision:
    """Raise the ``retraining.failed`` alert with the reason of ``failed``; record it."""
    sighting = AlertSighting(
        FAILED_RULE, policy.model, "recipe", Severity.CRITICAL, failed.reason, None
    )
    client.monitoring.raise_alert(sighting)
    return client.retraining.record(failed)


def _ended_by(client: Client, policy: RetrainingPolicy, last: Decision, exc: BaseException) -> None:
    """Record the ``failed`` decision of a retraining ``exc`` ended, after ``last``: an error
    also raises the alert; an interruption (Ctrl-C, exit) only says so. A store that cannot
    record it is logged, so ``exc`` still reaches the caller."""
    try:
        if isinstance(exc, Exception):
            reason = f"the retraining failed, the champion keeps serving: {exc}"
            _failed(client, policy, _with(last, DecisionKind.FAILED, reason))
        else:
            reason = f"interrupted ({type(exc).__name__}), the champion keeps serving"
            client.retraining.record(_with(last, DecisionKind.FAILED, reason))
    except MloopError as unrecorded:
        logger.warning("the failure of retraining %s was not recorded: %s", policy.model,
                       unrecorded)  # fmt: skip


def _trained(base: Decision, data: TrainingSet, challenger: Challenger) -> Decision:
    return _with(
        base,
        DecisionKind.TRAINED,
        f"challenger v{challenger.version} trained on {len(data.train)} rows "
        f"({data.base_rows} from the champion's data, {data.production_rows} from production)",
        challenger_version=challenger.version,
        run_id=challenger.run_id,
    )


def _judge(
    client: Client,
    policy: RetrainingPolicy,
    trained: Decision,
    data: TrainingSet,
    challenger: Challenger,
) -> Decision:
    uri = ModelUri.of_version(policy.model, int(trained.champion_version or 0))
    champion = client.registry.load_model(uri).estimator
    report = judge(policy.gate, champion, challenger.model, data.holdout, policy.target)
    features = [c for c in data.holdout.columns if c != policy.target]
    report["shadow"] = shadow_replay(challenger.model, data.shadow, features)
    reason = gate_reason(report)
    client.tracking.set_tags(challenger.run_id, {"mloop.retraining.gate": reason})
    client.tracking.log_metrics(challenger.run_id, gate_metrics(report))
    if not report["passed"]:
        return client.retraining.record(_with(trained, DecisionKind.REJECTED, reason, gate=report))
    return _promote(client, policy, trained, report, reason)


def _promote(
    client: Client, policy: RetrainingPolicy, trained: Decision, report: dict[str, Any], reason: str
) -> Decision:
    """The decision a passed gate ends in: ``canary`` or ``promoted``; ``failed`` (the
    challenger stays registered without an alias) when a rollout of the model started
    while it trained, so neither a canary nor an alias move may happen now."""
    version = int(trained.challenger_version or 0)
    running = client.rollouts.running(policy.model)
    if running is not None:
        return _unaliased(client, trained, report, reason, _rollout_waits(running))
    if policy.on_pass == "canary":
        canary = canary_policy(policy)
        try:
            client.rollouts.start(policy.model, version, canary, reason=f"retraining: {reason}")
        except Conflict as exc:
            return _unaliased(client, trained, report, reason, str(exc))
        how = f"{reason}; a canary of v{version} started (steps {list(canary.steps)})"
        return client.retraining.record(_with(trained, DecisionKind.CANARY, how, gate=report))
    client.registry.set_alias(policy.model, policy.alias, version, reason=f"retraining: {reason}")
    return client.retraining.record(_with(trained, DecisionKind.PROMOTED, reason, gate=report))


def _unaliased(
    client: Client, trained: Decision, report: dict[str, Any], reason: str, why: str
) -> Decision:
    """The ``failed`` decision of a passed challenger that may not go further, recorded."""
    version = trained.challenger_version
    told = f"{reason}, but v{version} stays registered without an alias: {why}"
    return client.retraining.record(_with(trained, DecisionKind.FAILED, told, gate=report))
