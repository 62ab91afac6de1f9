"""The retraining service: policies, the decisions audit trail and the retraining lock."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from mloop.entities import Decision, EventKind, RetrainingPolicy
from mloop.errors import InvalidInput, NotFound
from mloop.services.events import EventPublisher, tell
from mloop.services.integers import integer
from mloop.services.retraining_policy import check_policy, policy_from_dict, policy_to_dict
from mloop.store import ModelStore, RetrainingStore
from mloop.uris import model_name


def lock_name(model: str) -> str:
    """The name of the lock one retraining of ``model`` holds."""
    return f"retraining:{model}"


class RetrainingService:
    """What retraining keeps in the store, typed: policies, decisions, the lock."""

    def __init__(
        self,
        retraining: RetrainingStore,
        models: ModelStore,
        user: str,
        *,
        events: EventPublisher | None = None,
    ) -> None:
        self._retraining = retraining
        self._models = models
        self._user = user
        self._events = events

    def set_policy(self, policy: RetrainingPolicy) -> RetrainingPolicy:
        """Store the retraining policy of ``policy.model`` (replacing one it had).

        Returns the checked policy. Raises InvalidInput naming the first bad field, NotFound
        when no registered model has the policy's name.
        """
        if not isinstance(policy, RetrainingPolicy):
            raise InvalidInput("set_policy takes a RetrainingPolicy", field="policy")
        checked = check_policy(policy)
        self._models.list_model_versions(checked.model)
        self._retraining.save_policy(checked.model, policy_to_dict(checked), self._user)
        return checked

    def delete_policy(self, model: str) -> None:
        """Remove the retraining policy of ``model``: nothing retrains it automatically any
        more; its decisions stay in the history. Raises NotFound when it has none."""
        self._retraining.delete_policy(model_name(model))

    def policy(self, model: str) -> RetrainingPolicy:
        """The retraining policy of ``model``; NotFound when it has none, saying so when no
        registered model has that name."""
        name = model_name(model)
        try:
            return policy_from_dict(self._retraining.get_policy(name))
        except NotFound:
            self._models.list_model_versions(name)
            raise

    def policies(self) -> list[RetrainingPolicy]:
        """Every stored policy, by model name."""
        return [policy_from_dict(found) for found in self._retraining.list_policies()]

    def record(self, decision: Decision) -> Decision:
        """Append a decision to the audit trail (stamped now when ``at`` is 0); returns it."""
        stamped = decision if decision.at else replace(decision, at=time.time())
        recorded = replace(stamped, id=self._retraining.record_decision(stamped))
        tell(self._events, EventKind.RETRAINING_DECIDED, recorded)
        return recorded

    def decisions(self, model: str, *, limit: int = 1000) -> list[Decision]:
        """The newest ``limit`` decisions of ``model``, oldest first."""
        count = integer("limit", limit, minimum=1)
        return self._retraining.list_decisions(model_name(model), limit=count)

    def acquire_lock(self, model: str, holder: str, seconds: float) -> bool:
        """Take (or renew) the retraining lock of ``model`` for ``seconds``; False if taken."""
        return self._retraining.acquire_lock(lock_name(model), holder, seconds)

    def release_lock(self, model: str, holder: str) -> None:
        """Give the retraining lock of ``model`` back if ``holder`` has it."""
        self._retraining.release_lock(lock_name(model), holder)


def decision_record(decision: Decision) -> dict[str, Any]:
    """A decision as JSON-able fields: kind, at, reason, trigger, champion_version,
    challenger_version, run_id and gate (empty when no gate ran)."""
    return {
        "kind": decision.kind.value,
        "at": decision.at,
        "reason": decision.reason,
        "trigger": decision.trigger,
        "champion_version": decision.champion_version,
        "challenger_version": decision.challenger_version,
        "run_id": decision.run_id,
        "gate": decision.gate,
    }
