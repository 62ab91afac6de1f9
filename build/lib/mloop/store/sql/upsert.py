"""Dialect-specific INSERT ... ON CONFLICT, the one place the store needs it."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, and_, or_
from sqlalchemy.dialects import postgresql, sqlite


@cache
def _latest_statement(dialect_name: str, table: Table) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    newer = or_(
        stmt.excluded.step > table.c.step,
        and_(stmt.excluded.step == table.c.step, stmt.excluded.timestamp >= table.c.timestamp),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.run_id, table.c.key],
        set_={
            "value": stmt.excluded.value,
            "step": stmt.excluded.step,
            "timestamp": stmt.excluded.timestamp,
        },
        where=newer,
    )
    return stmt


def upsert_latest(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows keyed by (run_id, key), replacing a stored row only by a later step."""
    conn.execute(_latest_statement(conn.dialect.name, table), rows)


def insert_if_absent(conn: Connection, table: Table, row: dict[str, Any]) -> None:
    """Insert a row unless one with the same primary key exists (safe under concurrency)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).values(**row).on_conflict_do_nothing())


@cache
def _new_keys_statement(dialect_name: str, table: Table) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing().returning(table.c.key)


def insert_new_keys(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[str]:
    """Insert keyed rows, skipping keys already stored; return the keys that were inserted."""
    result = conn.execute(_new_keys_statement(conn.dialect.name, table), rows)
    return [row.key for row in result]


def upsert_labels(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert labels keyed by prediction id; a later label replaces the label and ``updated_at``.

    ``received_at`` keeps the time the first label of the id arrived.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.prediction_id],
        set_={"label": stmt.excluded.label, "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(stmt, rows)
