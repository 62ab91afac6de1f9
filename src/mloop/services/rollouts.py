"""The rollout service: start, decide, stop and read rollouts; their audited decisions.

A rollout has two arms, ``champion`` (the version the policy's alias holds at the start) and
``challenger``. Every change of a rollout is a decision row whose JSON form (``decision_json``)
has ``kind``, ``at``, ``reason``, ``arms`` (traffic shares after it), ``versions`` and
``statistics``; a promotion also moves the alias, audited by the registry.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import asdict, fields, replace
from typing import Any

from mloop.config import Settings
from mloop.entities import (
    EventKind,
    Rollout,
    RolloutDecision,
    RolloutMode,
    RolloutPolicy,
    RolloutState,
)
from mloop.errors import InvalidInput, NotFound
from mloop.services.chunk_cache import ChunkCache
from mloop.services.events import EventPublisher, tell
from mloop.services.integers import integer
from mloop.services.prediction_log import PredictionLogService
from mloop.services.registry import RegistryService
from mloop.services.rollout_analysis import RolloutAnalysis, analyze_rollout
from mloop.store import RolloutStore
from mloop.uris import alias_name, model_name

CHAMPION, CHALLENGER = "champion", "challenger"
PROMOTE_WHEN = ("better", "not_worse", "guardrails")
METRICS = ("accuracy", "reward")
SECONDARY_METRICS = (*METRICS, "latency_ms")
ARM_CACHE_BYTES = 64 * 2**20
"""Bytes of chunk tables kept per arm of a running rollout (about a million rows' ids, times,
predictions and latencies); rows beyond it are read from the log at every analysis."""
DECISION_KINDS = ("start", "advance", "weights", "promote", "rollback", "stop")
DEFAULT_STEPS = {
    RolloutMode.AB: (0.5,),
    RolloutMode.CANARY: (0.05, 0.25, 0.5, 1.0),
    RolloutMode.SHADOW: (0.0,),
    RolloutMode.BANDIT: (0.5,),
}


def decision_json(decision: RolloutDecision) -> dict[str, Any]:
    """A decision as JSON-ready values: kind, at, reason, user, arms, versions, statistics."""
    return asdict(decision)


def policy_json(policy: RolloutPolicy) -> dict[str, Any]:
    """A rollout policy as JSON-ready values: every ``RolloutPolicy`` field, mode as its name,
    steps and secondary as lists."""
    values = asdict(policy)
    values["mode"] = RolloutMode(policy.mode).value
    values["steps"] = list(policy.steps)
    values["secondary"] = list(policy.secondary)
    return values


def shares(challenger_share: float) -> dict[str, float]:
    """The arms' traffic shares when the challenger gets ``challenger_share`` of it."""
    return {CHAMPION: round(1.0 - challenger_share, 12), CHALLENGER: challenger_share}


def _fraction(name: str, value: Any, *, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{name} must be a number, got {value!r}", field=name)
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be {_range(low, high)}, got {value}", field=name)
    return float(value)


def _range(low: float, high: float) -> str:
    """The allowed range of a number as a person would say it."""
    if high == math.inf:
        return "positive" if 0 < low < 1e-6 else f"at least {low}"
    lowest = "above 0" if 0 < low < 1e-6 else f"at least {low}"
    return f"{lowest} and at most {high}"


def check_policy(policy: RolloutPolicy) -> RolloutPolicy:
    """The policy with validated fields; raises InvalidInput naming the first bad field."""
    mode = _mode(policy.mode)
    steps = tuple(_fraction("steps", share) for share in policy.steps)
    if not steps:
        raise InvalidInput("steps need at least one challenger share", field="steps")
    if mode == RolloutMode.SHADOW and steps != DEFAULT_STEPS[mode]:
        raise InvalidInput(
            f"a shadow rollout sends every request to both arms and only the champion answers: "
            f"it takes no challenger share, got steps {', '.join(f'{share:g}' for share in steps)}",
            field="steps",
        )
    if mode != RolloutMode.SHADOW and steps[0] <= 0:
        raise InvalidInput(
            f"the first step must give the challenger a share above 0, got {steps[0]:g}",
            field="steps",
        )
    if list(steps) != sorted(steps):
        raise InvalidInput(f"steps {list(steps)} must not decrease", field="steps")
    if mode != RolloutMode.CANARY and len(steps) > 1:
        raise InvalidInput(
            f"{mode.value} rollouts take one challenger share, got {len(steps)} steps; "
            "steps are for a canary",
            field="steps",
        )
    if policy.promote_when not in PROMOTE_WHEN:
        raise InvalidInput(f"promote_when must be one of {PROMOTE_WHEN}", field="promote_when")
    if policy.metric not in METRICS:
        raise InvalidInput(f"metric must be one of {METRICS}", field="metric")
    for name in policy.secondary:
        if name not in SECONDARY_METRICS or name == policy.metric:
            raise InvalidInput(
                f"secondary metric {name!r}: use one of {SECONDARY_METRICS} other than the "
                "primary metric",
                field="secondary",
            )
    for name in ("alpha", "srm_alpha"):
        _fraction(name, getattr(policy, name), low=1e-9, high=0.5)
    for name in ("tuning", "mde", "evaluate_every_seconds"):
        _fraction(name, getattr(policy, name), low=1e-9, high=math.inf)
    _fraction("margin", policy.margin)
    _fraction("max_error_rate", policy.max_error_rate)
    _fraction("floor", policy.floor, high=0.5)
    integer("min_sample", policy.min_sample, minimum=1)
    integer("guardrail_min_requests", policy.guardrail_min_requests, minimum=1)
    if policy.max_sample is not None:
        integer("max_sample", policy.max_sample, minimum=1)
    for name in ("max_p99_ms", "max_p99_ratio"):
        if getattr(policy, name) is not None:
            _fraction(name, getattr(policy, name), low=1e-9, high=math.inf)
    secondary = tuple(policy.secondary)
    return replace(
        policy, mode=mode, steps=steps, alias=alias_name(policy.alias), secondary=secondary
    )


def check_weights(weights: dict[str, float]) -> dict[str, float]:
    """Traffic shares of the two arms, each in [0, 1]; InvalidInput (``weights``) otherwise."""
    if set(weights) != {CHAMPION, CHALLENGER}:
        raise InvalidInput(
            f"weights must name the arms {CHAMPION} and {CHALLENGER}, got {sorted(weights)}",
            field="weights",
        )
    return {arm: _fraction("weights", share) for arm, share in weights.items()}


def check_decision(decision: RolloutDecision) -> RolloutDecision:
    """``decision`` if its kind is known and its arms and versions name the two arms.

    Raises InvalidInput naming the first bad field.
    """
    if decision.kind not in DECISION_KINDS:
        raise InvalidInput(f"kind must be one of {DECISION_KINDS}", field="kind")
    model_name(decision.model)
    check_weights(decision.arms)
    if set(decision.versions) != {CHAMPION, CHALLENGER}:
        raise InvalidInput("versions must name the champion and challenger", field="versions")
    return decision


def _mode(mode: Any) -> RolloutMode:
    try:
        return RolloutMode(mode)
    except ValueError:
        known = ", ".join(m.value for m in RolloutMode)
        raise InvalidInput(f"mode {mode!r} is not one of {known}", field="mode") from None


def make_policy(mode: str | RolloutMode, /, **options: Any) -> RolloutPolicy:
    """A validated policy of ``mode`` with ``options`` (fields of ``RolloutPolicy``).

    Steps default by mode (canary: 5, 25, 50, 100%). Raises InvalidInput for an unknown option
    or a bad value, naming it.
    """
    checked = _mode(mode)
    known = {f.name for f in fields(RolloutPolicy)} - {"mode"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidInput(f"unknown rollout option(s): {', '.join(unknown)}", field=unknown[0])
    given = {key: value for key, value in options.items() if value is not None}
    for name in ("steps", "secondary"):
        if name in given:
            if not isinstance(given[name], list | tuple):
                raise InvalidInput(f"{name} must be a list, got {given[name]!r}", field=name)
            given[name] = tuple(given[name])
    given.setdefault("steps", DEFAULT_STEPS[checked])
    if checked == RolloutMode.CANARY:
        given.setdefault("promote_when", "guardrails")
    return check_policy(RolloutPolicy(mode=checked, **given))


class RolloutService:
    """Rollouts of registered models: their rows, decisions, tallies and analysis."""

    def __init__(
        self,
        rollouts: RolloutStore,
        registry: RegistryService,
        prediction_log: PredictionLogService,
        settings: Settings,
        *,
        events: EventPublisher | None = None,
    ) -> None:
        self._rollouts = rollouts
        self._registry = registry
        self._log = prediction_log
        self._settings = settings
        self._events = events
        self._caches: dict[str, tuple[int, dict[str, ChunkCache]]] = {}

    def start(
        self, model: str, challenger: int, policy: RolloutPolicy, *, reason: str = ""
    ) -> Rollout:
        """Start rolling ``challenger`` out against the version ``policy.alias`` holds now.

        Returns the running rollout. Raises NotFound for a missing model, alias or version,
        InvalidInput for a bad policy or a challenger that is the champion, Conflict when the
        model already has a running rollout.
        """
        name, checked = model_name(model), check_policy(policy)
        champion = self._registry.get_alias(name, checked.alias)
        version = self._registry.get_model_version(
            name, integer("challenger", challenger, minimum=1)
        ).version
        if version == champion:
            raise InvalidInput(
                f"version {version} is already {name}@{checked.alias}", field="challenger"
            )
        now = time.time()
        weights = shares(checked.steps[0])
        rollout = Rollout(
            0,
            name,
            champion,
            version,
            checked,
            secrets.token_hex(8),
            RolloutState.RUNNING,
            0,
            weights,
            now,
            now,
            now,
        )
        start = self._decision(rollout, "start", reason or f"{checked.mode} started", weights)
        created = self._rollouts.create_rollout(rollout, start)
        tell(self._events, EventKind.ROLLOUT_DECIDED, replace(start, rollout_id=created.id))
        return created

    def create(self, rollout: Rollout, start: RolloutDecision) -> Rollout:
        """Store a rollout another client built with ``start`` (what ``start`` stores).

        Returns the stored rollout. Raises InvalidInput for a bad policy, weights or decision,
        NotFound for a missing version, Conflict when the model already has a running rollout.
        """
        check_policy(rollout.policy)
        check_weights(rollout.weights)
        for arm in (CHAMPION, CHALLENGER):
            self._registry.get_model_version(rollout.model, getattr(rollout, arm))
        if rollout.champion == rollout.challenger:
            raise InvalidInput("the challenger is the champion", field="challenger")
        if check_decision(start).kind != "start" or start.model != rollout.model:
            raise InvalidInput("a rollout starts with a start decision of its model", field="kind")
        return self._rollouts.create_rollout(rollout, start)

    def apply(
        self,
        decision: RolloutDecision,
        *,
        state: RolloutState,
        step: int,
        weights: dict[str, float],
        based_on: float | None = None,
    ) -> Rollout:
        """Record a decision another client took and the rollout's state after it.

        ``based_on`` is the ``updated_at`` of the rollout the decision was taken on. Returns the
        rollout. Raises InvalidInput for a bad decision, step or weights, NotFound for an
        unknown rollout, Conflict when it is no longer running or changed since ``based_on``.
        """
        check_decision(decision)
        checked = check_weights(weights)
        step = integer("step", step, minimum=0)
        return self._rollouts.apply_decision(
            decision, state=state, step=step, weights=checked, based_on=based_on
        )

    def get(self, rollout_id: int) -> Rollout:
        """The rollout with this id; NotFound when there is none."""
        return self._rollouts.get_rollout(integer("rollout_id", rollout_id, minimum=1))

    def list_rollouts(self, model: str, state: RolloutState | None = None) -> list[Rollout]:
        """Rollouts of a model (in ``state`` when given), newest first."""
        return self._rollouts.list_rollouts(model_name(model), state)

    def tallies(self, rollout_id: int) -> dict[str, tuple[int, int]]:
        """Requests and errors per arm of a rollout, summed over every server."""
        return self._rollouts.tallies(rollout_id)

    def _decision(
        self,
        rollout: Rollout,
        kind: str,
        reason: str,
        weights: dict[str, float],
        statistics: dict[str, Any] | None = None,
    ) -> RolloutDecision:
        versions = {CHAMPION: rollout.champion, CHALLENGER: rollout.challenger}
        return RolloutDecision(
            rollout.id,
            rollout.model,
            kind,
            time.time(),
            reason,
            self._settings.user,
            weights,
            versions,
            statistics or {},
        )

    def running(self, model: str) -> Rollout | None:
        """The model's running rollout, or None."""
        found = self._rollouts.list_rollouts(model_name(model), RolloutState.RUNNING)
        return found[0] if found else None

    def latest(self, model: str) -> Rollout:
        """The model's newest rollout, running or not.

        Raises NotFound naming the model when it is not registered, or when it never had a rollout.
        """
        found = self._rollouts.list_rollouts(model_name(model))
        if not found:
            self._registry.list_model_versions(model_name(model))
            raise NotFound(f"model {model!r} has no rollout")
        return found[0]

    def decide(
        self,
        rollout: Rollout,
        kind: str,
        reason: str,
        *,
        state: RolloutState = RolloutState.RUNNING,
        step: int | None = None,
        weights: dict[str, float] | None = None,
        statistics: dict[str, Any] | None = None,
    ) -> Rollout:
        """Record a decision and apply it; a promotion moves the alias to the challenger.

        ``rollout`` is the state the decision was taken on. Returns the rollout after it. When
        the alias no longer names the champion the rollout started against (someone promoted
        or rolled back by hand meanwhile), the rollout is stopped instead, saying so: its
        statistics compared other versions than the ones now serving.
        Raises Conflict when the rollout is no longer running or changed since ``rollout`` was
        read (two servers evaluating at once record one decision).
        """
        moved = None if state == RolloutState.STOPPED else self._alias_moved(rollout)
        if moved is not None:
            return self.decide(
                rollout,
                "stop",
                f"{moved}; stopped instead of {kind!r}",
                state=RolloutState.STOPPED,
                weights=shares(0.0),
                statistics=statistics,
            )
        after = dict(rollout.weights if weights is None else weights)
        decision = self._decision(rollout, kind, reason, after, statistics)
        new_step = rollout.step if step is None else step
        updated = self._rollouts.apply_decision(
            decision, state=state, step=new_step, weights=after, based_on=rollout.updated_at
        )
        tell(self._events, EventKind.ROLLOUT_DECIDED, decision)
        if state == RolloutState.PROMOTED:
            self._registry.set_alias(
                rollout.model,
                rollout.policy.alias,
                rollout.challenger,
                reason=f"rollout {rollout.id}: {reason}",
            )
        return updated

    def stop_if_champion_moved(self, rollout: Rollout) -> Rollout | None:
        """Stop ``rollout`` when its alias no longer names the champion it started against
        (moved by hand meanwhile), saying so; returns the stopped rollout, or None when the
        alias still names it. Raises Conflict as ``decide`` does."""
        moved = self._alias_moved(rollout)
        if moved is None:
            return None
        return self.decide(
            rollout, "stop", f"{moved}; stopped", state=RolloutState.STOPPED, weights=shares(0.0)
        )

    def _alias_moved(self, rollout: Rollout) -> str | None:
        """Why the rollout's champion no longer holds its alias, or None when it still does."""
        alias = rollout.policy.alias
        try:
            now = self._registry.get_alias(rollout.model, alias)
        except NotFound:
            return f"the {alias} alias was deleted since the rollout began (v{rollout.champion})"
        if now == rollout.champion:
            return None
        return f"the {alias} alias moved from v{rollout.champion} to v{now} since the rollout began"

    def stop(self, model: str, *, reason: str = "") -> Rollout:
        """Stop the model's running rollout: all traffic back to the champion, alias unmoved.

        Raises NotFound when the model has no running rollout.
        """
        rollout = self.running(model)
        if rollout is None:
            raise NotFound(f"model {model!r} has no running rollout")
        return self.decide(
            rollout,
            "stop",
            reason or "stopped by hand",
            state=RolloutState.STOPPED,
            weights=shares(0.0),
        )

    def decisions(self, model: str, rollout_id: int | None = None) -> list[RolloutDecision]:
        """The decisions of a model's rollouts (of one when given), oldest first."""
        return self._rollouts.list_decisions(model_name(model), rollout_id)

    def record_tally(
        self, rollout_id: int, arm: str, holder: str, requests: int, errors: int
    ) -> None:
        """Store one server's running totals of answered and failed requests of an arm.

        Raises InvalidInput for an arm other than the two, or a negative count.
        """
        if arm not in (CHAMPION, CHALLENGER):
            raise InvalidInput(f"arm {arm!r} is not {CHAMPION} or {CHALLENGER}", field="arm")
        counts = [
            integer(name, n, minimum=0) for name, n in (("requests", requests), ("errors", errors))
        ]
        self._rollouts.record_tally(rollout_id, arm, holder, *counts)

    def analyze(self, model: str) -> RolloutAnalysis:
        """Counts, metric, difference, SRM, power and guardrails of the model's newest rollout.

        Raises NotFound when the model never had a rollout.
        """
        rollout = self.latest(model)
        tallies = self._rollouts.tallies(rollout.id)
        return analyze_rollout(rollout, self._log, tallies, self._arm_caches(rollout))

    def _arm_caches(self, rollout: Rollout) -> dict[str, ChunkCache] | None:
        """The chunk caches of a running rollout's arms, kept between analyses (an evaluator
        analyses the same rollout every few seconds); None, and nothing kept, once it ended."""
        if rollout.state != RolloutState.RUNNING:
            self._caches.pop(rollout.model, None)
            return None
        held = self._caches.get(rollout.model)
        if held is None or held[0] != rollout.id:
            arms = {arm: ChunkCache(ARM_CACHE_BYTES) for arm in (CHAMPION, CHALLENGER)}
            held = (rollout.id, arms)
            self._caches[rollout.model] = held
        return held[1]

    def status(self, model: str) -> dict[str, Any]:
        """The newest rollout as JSON-ready values: mode, state, arms, srm_p_value, sequential
        (p_value, ci_low, ci_high), guardrails, policy (every option it runs by, ``policy_json``)
        and decisions. NotFound without a rollout."""
        analysis = self.analyze(model)
        rollout = analysis.rollout
        status = analysis.to_dict()
        status["policy"] = policy_json(rollout.policy)
        status["decisions"] = [decision_json(d) for d in self.decisions(model, rollout.id)]
        return status
