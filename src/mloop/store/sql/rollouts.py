"""Store queries for rollouts: the rollout rows, their decisions and per-server tallies."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from mloop.entities import Rollout, RolloutDecision, RolloutMode, RolloutPolicy, RolloutState
from mloop.errors import Conflict, NotFound
from mloop.store.sql import schema as t
from mloop.store.sql.base import SqlDatabase
from mloop.store.sql.upsert import insert_if_absent


def _policy_json(policy: RolloutPolicy) -> dict[str, Any]:
    values = asdict(policy)
    values["mode"] = RolloutMode(policy.mode).value
    values["steps"] = list(policy.steps)
    values["secondary"] = list(policy.secondary)
    return values


def _policy(values: dict[str, Any]) -> RolloutPolicy:
    known = set(RolloutPolicy.__dataclass_fields__)
    kept = {key: value for key, value in values.items() if key in known}
    kept["mode"] = RolloutMode(kept["mode"])
    kept["steps"] = tuple(float(share) for share in kept.get("steps", ()))
    kept["secondary"] = tuple(str(name) for name in kept.get("secondary", ()))
    return RolloutPolicy(**kept)


def _rollout(row: Row[Any]) -> Rollout:
    values = row._asdict()
    values.pop("mode")
    values["policy"] = _policy(dict(values["policy"]))
    values["state"] = RolloutState(values["state"])
    values["weights"] = {str(arm): float(w) for arm, w in dict(values["weights"]).items()}
    return Rollout(**values)


def _decision(row: Row[Any]) -> RolloutDecision:
    values = row._asdict()
    values["arms"] = dict(values["arms"])
    values["versions"] = {str(arm): int(v) for arm, v in dict(values["versions"]).items()}
    values["statistics"] = dict(values["statistics"])
    return RolloutDecision(**values)


def _insert_decision(conn: Connection, decision: RolloutDecision, rollout_id: int) -> None:
    values = asdict(decision)
    values.pop("id")
    values["rollout_id"] = rollout_id
    conn.execute(insert(t.rollout_decisions).values(**values))


class SqlRolloutStore:
    """Rollouts, their audited decisions, and request tallies per server and arm."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def create_rollout(self, rollout: Rollout, decision: RolloutDecision) -> Rollout:
        """Store a running rollout and its start decision; Conflict if the model has one.

        Atomic across processes: the partial unique index ``uq_rollouts_running_model`` lets
        only one of two concurrent starts for the same model commit; the other gets Conflict.
        """
        table = t.rollouts
        running = (table.c.model == rollout.model, table.c.state == RolloutState.RUNNING.value)
        values = asdict(rollout)
        values.pop("id")
        values.update(
            mode=RolloutMode(rollout.policy.mode).value,
            state=RolloutState(rollout.state).value,
            policy=_policy_json(rollout.policy),
        )
        taken = Conflict(f"model {rollout.model!r} already has a running rollout")
        with self._db.write() as conn:
            if conn.execute(select(func.count()).select_from(table).where(*running)).scalar():
                raise taken
            try:
                inserted = conn.execute(insert(table).values(**values)).inserted_primary_key
            except IntegrityError as exc:
                raise taken from exc
            rollout_id = int(inserted[0]) if inserted else 0
            _insert_decision(conn, decision, rollout_id)
            return _rollout(conn.execute(select(table).where(table.c.id == rollout_id)).one())

    def get_rollout(self, rollout_id: int) -> Rollout:
        """The rollout with this id, or NotFound."""
        with self._db.read() as conn:
            row = conn.execute(select(t.rollouts).where(t.rollouts.c.id == rollout_id)).first()
        if row is None:
            raise NotFound(f"rollout {rollout_id} does not exist")
        return _rollout(row)

    def list_rollouts(self, model: str, state: RolloutState | None = None) -> list[Rollout]:
        """Rollouts of a model (in ``state`` when given), newest first."""
        table = t.rollouts
        query = select(table).where(table.c.model == model)
        if state is not None:
            query = query.where(table.c.state == RolloutState(state).value)
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(table.c.id.desc()))
            return [_rollout(row) for row in rows]

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

        ``based_on`` is the ``updated_at`` of the rollout the decision was taken on: when the
        rollout changed since (another server decided first), nothing is written. Raises
        NotFound for an unknown rollout, Conflict when it is no longer running or changed.
        """
        table = t.rollouts
        where = table.c.id == decision.rollout_id
        with self._db.write() as conn:
            row = conn.execute(select(table).where(where)).first()
            if row is None:
                raise NotFound(f"rollout {decision.rollout_id} does not exist")
            if row.state != RolloutState.RUNNING.value:
                raise Conflict(f"rollout {row.id} of {row.model!r} is {row.state}, not running")
            changed = Conflict(
                f"rollout {row.id} of {row.model!r} changed since it was read; decide again"
            )
            if based_on is not None and row.updated_at != based_on:
                raise changed
            changes: dict[str, Any] = {"state": RolloutState(state).value, "step": step}
            changes.update(updated_at=decision.at, weights=weights)
            if weights != dict(row.weights):
                changes["weights_at"] = decision.at
            unchanged = (table.c.state == row.state, table.c.updated_at == row.updated_at)
            if conn.execute(update(table).where(where, *unchanged).values(**changes)).rowcount != 1:
                raise changed
            _insert_decision(conn, decision, row.id)
            return _rollout(conn.execute(select(table).where(where)).one())

    def list_decisions(self, model: str, rollout_id: int | None = None) -> list[RolloutDecision]:
        """Decisions of a model's rollouts (of one rollout when given), oldest first."""
        table = t.rollout_decisions
        query = select(table).where(table.c.model == model)
        if rollout_id is not None:
            query = query.where(table.c.rollout_id == rollout_id)
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(table.c.at, table.c.id))
            return [_decision(row) for row in rows]

    def record_tally(
        self, rollout_id: int, arm: str, holder: str, requests: int, errors: int
    ) -> None:
        """Store one server's running totals of answered and failed requests of an arm."""
        table = t.rollout_tallies
        key = {"rollout_id": rollout_id, "arm": arm, "holder": holder}
        totals = {"requests": requests, "errors": errors, "updated_at": time.time()}
        with self._db.write() as conn:
            insert_if_absent(conn, table, {**key, **totals})
            where = [table.c[name] == value for name, value in key.items()]
            conn.execute(update(table).where(*where).values(**totals))

    def tallies(self, rollout_id: int) -> dict[str, tuple[int, int]]:
        """Requests and errors per arm of a rollout, summed over every server."""
        table = t.rollout_tallies
        query = (
            select(table.c.arm, func.sum(table.c.requests), func.sum(table.c.errors))
            .where(table.c.rollout_id == rollout_id)
            .group_by(table.c.arm)
        )
        with self._db.read() as conn:
            return {arm: (int(n), int(e)) for arm, n, e in conn.execute(query)}
