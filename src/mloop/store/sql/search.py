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


def _requires(condition: Condition | None, entity: str, key: str) -> bool:
    """Whether every run ``condition`` matches holds ``entity.key`` (so it is never null)."""
    if condition is None:
        return False
    if isinstance(condition, Comparison):
        return condition.entity == entity and condition.key == key
    found = [_requires(item, entity, key) for item in condition.items]
    return any(found) if condition.op == "and" else all(found)


def _ordered(
    query: Select[Any], condition: Condition | None, position: int, clause: str
) -> tuple[Select[Any], list[Any]]:
    """The query joined to what ``clause`` orders by, and the ORDER BY terms.

    A metric, param or tag joins its table on the key (an inner join when the filter already
    requires the key, so its index can deliver rows in order and the LIMIT stops the scan;
    else an outer join, its runs without the key last).
    """
    entity, key, descending = parse_order_by(clause)
    if entity == "attributes":
        column: Any = _attribute(key)
        return query, [column.is_(None), column.desc() if descending else column.asc()]
    table = _KEYED[entity].alias(f"order_{position}")
    on = and_(table.c.run_id == t.runs.c.id, table.c.key == key)
    ordered = table.c.value.desc() if descending else table.c.value.asc()
    if _requires(condition, entity, key):
        return query.join(table, on), [ordered]
    return query.outerjoin(table, on), [table.c.value.is_(None), ordered]


def search_query(search: RunQuery) -> Select[Any]:
    """The SELECT over ``runs`` for a search: filter, ordering (then newest first), the page's
    offset and limit, all in the database.

    Raises InvalidInput for a malformed filter or ordering, ``max_results`` below 1 or a
    negative ``offset``.
    """
    if search.max_results < 1:
        raise InvalidInput(f"max_results must be at least 1, got {search.max_results}")
    if search.offset < 0:
        raise InvalidInput(f"offset must be at least 0, got {search.offset}", field="offset")
    condition = parse_filter(search.filter)
    ids = list(search.experiment_ids)
    where: list[ColumnElement[bool]] = [t.runs.c.experiment_id.in_(ids) if ids else false()]
    if condition is not None:
        where.append(_clause(condition))
    query, ordering = select(t.runs), []
    for position, clause in enumerate(search.order_by):
        query, terms = _ordered(query, condition, position, clause)
        ordering += terms
    ordering += [t.runs.c.start_time.desc(), t.runs.c.id]
    query = query.where(*where).order_by(*ordering)
    return query.limit(search.max_results).offset(search.offset)
