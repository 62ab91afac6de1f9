"""Run search: filters and orderings compiled to SQL over the runs tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, not_, or_, select

from mloop.entities import RunQuery
from mloop.errors import InvalidInput
from mloop.store.filters import BoolOp, Comparison, Condition, parse_filter, parse_order_by
from mloop.store.sql import schema as t

_KEYED = {"metrics": t.latest_metrics, "params": t.params, "tags": t.run_tags}


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "IN":
        return column.in_(list(value))
    if op == "NOT IN":
        return column.not_in(list(value))
    if op == "LIKE":
        return column.like(value, escape="\\")
    if op == "ILIKE":
        return column.ilike(value, escape="\\")
    comparisons = {
        "=": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }
    return comparisons[op](value)


def _attribute(key: str) -> Any:
    return t.runs.c.id if key == "run_id" else t.runs.c[key]


def _clause(condition: Condition) -> ColumnElement[bool]:
    if isinstance(condition, BoolOp):
        parts = [_clause(item) for item in condition.items]
        return and_(*parts) if condition.op == "and" else or_(*parts)
    return _comparison(condition)


def _comparison(c: Comparison) -> ColumnElement[bool]:
    if c.entity == "attributes":
        return _compare(_attribute(c.key), c.op, c.value)
    table = _KEYED[c.entity]
    if c.op in {"!=", "NOT IN"}:
        positive = "=" if c.op == "!=" else "IN"
        matches = _keyed_exists(table, c.key, _compare(table.c.value, positive, c.value))
        return and_(_keyed_exists(table, c.key, None), not_(matches))
    return _keyed_exists(table, c.key, _compare(table.c.value, c.op, c.value))


def _keyed_exists(table: Any, key: str, test: ColumnElement[bool] | None) -> ColumnElement[bool]:
    conditions = [table.c.run_id == t.runs.c.id, table.c.key == key]
    if test is not None:
        conditions.append(test)
    return exists().where(*conditions)


def _order_column(clause: str) -> list[Any]:
    entity, key, descending = parse_order_by(clause)
    if entity == "attributes":
        column: Any = _attribute(key)
    else:
        table = _KEYED[entity]
        column = (
            select(table.c.value)
            .where(table.c.run_id == t.runs.c.id, table.c.key == key)
            .scalar_subquery()
        )
    ordered = column.desc() if descending else column.asc()
    return [column.is_(None), ordered]


def search_query(search: RunQuery) -> Select[Any]:
    """The SELECT over ``runs`` for a search: filter, ordering (then newest first) and limit.

    Raises InvalidInput for a malformed filter or ordering, or ``max_results`` below 1.
    """
    if search.max_results < 1:
        raise InvalidInput(f"max_results must be at least 1, got {search.max_results}")
    condition = parse_filter(search.filter)
    ids = list(search.experiment_ids)
    where: list[ColumnElement[bool]] = [t.runs.c.experiment_id.in_(ids) if ids else false()]
    if condition is not None:
        where.append(_clause(condition))
    ordering = [part for clause in search.order_by for part in _order_column(clause)]
    ordering += [t.runs.c.start_time.desc(), t.runs.c.id]
    return select(t.runs).where(*where).order_by(*ordering).limit(search.max_results)
