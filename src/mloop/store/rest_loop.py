"""Rollouts and retraining over HTTP: the ``RolloutStore`` and ``RetrainingStore`` protocols
implemented by calls to ``mloop server``'s ``/rollouts`` and retraining resources."""

from __future__ import annotations

from typing import Any

from mloop.entities import Decision, Rollout, RolloutDecision, RolloutState
from mloop.store.rest_session import RestSession, part, records
from mloop.store.wire import decode, encode


class RestRolloutStore:
    """Rollouts, their decisions and tallies through the server's ``/rollouts`` resources."""

    def __init__(self, session: RestSession) -> None:
        self._s = session

    def create_rollout(self, rollout: Rollout, decision: RolloutDecision) -> Rollout:
        """Store a running rollout and its start decision; Conflict if the model has one."""
        body = {"rollout": encode(rollout), "decision": encode(decision)}
        return decode(Rollout, self._s.call("POST", "/rollouts", body))

    def get_rollout(self, rollout_id: int) -> Rollout:
        """The rollout with this id, or NotFound."""
        return decode(Rollout, self._s.call("GET", f"/rollouts/{int(rollout_id)}"))

    def list_rollouts(self, model: str, state: RolloutState | None = None) -> list[Rollout]:
        """Rollouts of a model (in ``state`` when given), newest first."""
        found = self._s.call(
            "GET", f"/models/{part(model)}/rollouts", state=None if state is None else state.value
        )
        return records(Rollout, found)

    def apply_decision(
        self,
        decision: RolloutDecision,
        *,
        state: RolloutState,
        step: int,
        weights: dict[str, float],
        based_on: float | None = None,
    ) -> Rollout:
        """Record a decision and the rollout's new state in one write; returns the rollout.

        Raises NotFound for an unknown rollout and Conflict when it is no longer running or
        changed since ``based_on`` (the ``updated_at`` the decision was taken on).
        """
        body = {"decision": encode(decision), "state": RolloutState(state).value, "step": step}
        body["weights"] = dict(weights)
        body["based_on"] = based_on
        path = f"/rollouts/{int(decision.rollout_id)}/decisions"
        return decode(Rollout, self._s.call("POST", path, body))

    def list_decisions(self, model: str, rollout_id: int | None = None) -> list[RolloutDecision]:
        """Decisions of a model's rollouts (of one rollout when given), oldest first."""
        path = f"/models/{part(model)}/rollout-decisions"
        return records(RolloutDecision, self._s.call("GET", path, rollout_id=rollout_id))

    def record_tally(
        self, rollout_id: int, arm: str, holder: str, requests: int, errors: int
    ) -> None:
        """Store one server's running totals of answered and failed requests of an arm."""
        body = {"arm": arm, "holder": holder, "requests": requests, "errors": errors}
        self._s.call("PUT", f"/rollouts/{int(rollout_id)}/tallies", body)

    def tallies(self, rollout_id: int) -> dict[str, tuple[int, int]]:
        """Requests and errors per arm of a rollout, summed over every server."""
        found = self._s.call("GET", f"/rollouts/{int(rollout_id)}/tallies")
        return {arm: (int(n["requests"]), int(n["errors"])) for arm, n in found.items()}


class RestRetrainingStore:
    """Retraining policies, decisions and the lock through the server's retraining resources."""

    def __init__(self, session: RestSession) -> None:
        self._s = session

    def save_policy(self, model: str, policy: dict[str, Any], user: str) -> None:
        """Store (or replace) the retraining policy of a model."""
        body = {"policy": policy, "user": user}
        self._s.call("PUT", f"/models/{part(model)}/retraining-policy", body)

    def get_policy(self, model: str) -> dict[str, Any]:
        """The retraining policy of a model; NotFound when it has none."""
        return dict(self._s.call("GET", f"/models/{part(model)}/retraining-policy"))

    def delete_policy(self, model: str) -> None:
        """Remove the retraining policy of a model; NotFound when it has none."""
        self._s.call("DELETE", f"/models/{part(model)}/retraining-policy")

    def list_policies(self) -> list[dict[str, Any]]:
        """Every stored policy, by model name."""
        return [dict(policy) for policy in self._s.call("GET", "/retraining-policies")]

    def record_decision(self, decision: Decision) -> int:
        """Append a decision to the audit trail; return its id."""
        path = f"/models/{part(decision.model)}/retraining-decisions"
        return int(self._s.call("POST", path, decision)["id"])

    def list_decisions(self, model: str, *, limit: int = 1000) -> list[Decision]:
        """The newest ``limit`` decisions of a model, oldest first."""
        path = f"/models/{part(model)}/retraining-decisions"
        return records(Decision, self._s.call("GET", path, limit=limit))

    def acquire_lock(self, name: str, holder: str, seconds: float) -> bool:
        """Take (or renew) a lock that expires after ``seconds`` unless another holder has it."""
        body = {"name": name, "holder": holder, "seconds": seconds}
        return bool(self._s.call("POST", "/retraining-locks", body)["held"])

    def release_lock(self, name: str, holder: str) -> None:
        """Give a lock back if ``holder`` has it; otherwise do nothing."""
        self._s.call("POST", "/retraining-locks/release", {"name": name, "holder": holder})
