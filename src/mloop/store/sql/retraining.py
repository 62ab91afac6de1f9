"""Store queries for retraining: policies, the decisions audit trail and the retraining lock."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Row, delete, insert, or_, select, update

from mloop.entities import Decision, DecisionKind
from mloop.errors import Conflict, NotFound
from mloop.store.sql import schema as t
from mloop.store.sql.base import SqlDatabase


def _decision(row: Row[Any]) -> Decision:
    values = row._asdict()
    values["kind"] = DecisionKind(values["kind"])
    values["gate"] = dict(values["gate"] or {})
    return Decision(**values)


class SqlRetrainingStore:
    """Retraining policies as JSON documents, decisions, and locks in the leases table."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def save_policy(self, model: str, policy: dict[str, Any], user: str) -> None:
        """Store (or replace) the retraining policy of a model."""
        table = t.retraining_policies
        values = {"policy": policy, "updated_at": time.time(), "updated_by": user}
        with self._db.write() as conn:
            conn.execute(delete(table).where(table.c.model == model))
            conn.execute(insert(table).values(model=model, **values))

    def get_policy(self, model: str) -> dict[str, Any]:
        """The retraining policy of a model; NotFound when it has none."""
        table = t.retraining_policies
        with self._db.read() as conn:
            found = conn.execute(select(table.c.policy).where(table.c.model == model)).scalar()
        if found is None:
            raise NotFound(f"model {model!r} has no retraining policy", field="model")
        return dict(found)

    def delete_policy(self, model: str) -> None:
        """Remove the retraining policy of a model; NotFound when it has none."""
        table = t.retraining_policies
        with self._db.write() as conn:
            deleted = conn.execute(delete(table).where(table.c.model == model)).rowcount
        if not deleted:
            raise NotFound(f"model {model!r} has no retraining policy", field="model")

    def list_policies(self) -> list[dict[str, Any]]:
        """Every stored policy, by model name."""
        table = t.retraining_policies
        with self._db.read() as conn:
            rows = conn.execute(select(table.c.policy).order_by(table.c.model))
            return [dict(policy) for (policy,) in rows]

    def record_decision(self, decision: Decision) -> int:
        """Append a decision to the audit trail; return its id."""
        values = {k: v for k, v in decision.__dict__.items() if k != "id"}
        values["kind"] = DecisionKind(decision.kind).value
        with self._db.write() as conn:
            inserted = conn.execute(insert(t.retraining_decisions).values(**values))
            (decision_id,) = inserted.inserted_primary_key or (0,)
        return int(decision_id)

    def list_decisions(self, model: str, *, limit: int = 1000) -> list[Decision]:
        """The newest ``limit`` decisions of a model, oldest first."""
        table = t.retraining_decisions
        query = (
            select(table)
            .where(table.c.model == model)
            .order_by(table.c.at.desc(), table.c.id.desc())
            .limit(limit)
        )
        with self._db.read() as conn:
            rows = list(conn.execute(query))
        return [_decision(row) for row in reversed(rows)]

    def acquire_lock(self, name: str, holder: str, seconds: float) -> bool:
        """Take or renew a lock unless another holder has an unexpired one; True when ours.

        One conditional UPDATE (or one INSERT on the primary key) decides, so two callers at
        once on SQLite or PostgreSQL never both win.
        """
        now = time.time()
        table = t.leases
        taken = (
            update(table)
            .where(table.c.name == name, or_(table.c.holder == holder, table.c.expires_at <= now))
            .values(holder=holder, expires_at=now + seconds)
        )
        with self._db.write() as conn:
            if conn.execute(taken).rowcount == 1:
                return True
            if conn.execute(select(table.c.name).where(table.c.name == name)).first():
                return False
        return self._insert_lock(name, holder, now + seconds)

    def _insert_lock(self, name: str, holder: str, expires_at: float) -> bool:
        try:
            with self._db.write() as conn:
                conn.execute(
                    insert(t.leases).values(name=name, holder=holder, expires_at=expires_at)
                )
        except Conflict:
            return False
        return True

    def release_lock(self, name: str, holder: str) -> None:
        """Give a lock back if ``holder`` has it; otherwise do nothing."""
        table = t.leases
        with self._db.write() as conn:
            conn.execute(delete(table).where(table.c.name == name, table.c.holder == holder))
