"""Store queries for the prediction log: the chunk index, prediction ids and feedback labels."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Table,
    Text,
    bindparam,
    case,
    cast,
    func,
    insert,
    select,
    type_coerce,
    update,
)

from mloop.entities import ChunkLabels, ChunkQuery, PredictionChunk
from mloop.errors import Conflict, InvalidInput
from mloop.store.sql import schema as t
from mloop.store.sql.base import SqlDatabase
from mloop.store.sql.engine import json_value
from mloop.store.sql.upsert import upsert_labels

IN_LIST_SIZE = 500
_T = TypeVar("_T")
_chunks = t.prediction_chunks.c
_labels = t.labels.c
_ids = t.prediction_ids.c


def _insert_many(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT ``rows`` (values in ``columns`` order) with one executemany of the driver.

    The statement is compiled once for the connection's dialect and the rows go to the
    driver as they are: SQLAlchemy's own executemany prepares every row's parameters in
    Python, which was more than half of indexing a prediction log chunk.
    """
    compiled = insert(table).values({c: bindparam(c) for c in columns}).compile(conn)
    params: list[Any] = rows
    if not compiled.positional:
        params = [dict(zip(columns, row, strict=True)) for row in rows]
    elif list(compiled.positiontup or ()) != list(columns):
        order = [columns.index(name) for name in compiled.positiontup or ()]
        params = [tuple(row[i] for i in order) for row in rows]
    conn.exec_driver_sql(str(compiled), params)


def _batches(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """Slices of ``items`` short enough for an IN list on any dialect."""
    for start in range(0, len(items), IN_LIST_SIZE):
        yield items[start : start + IN_LIST_SIZE]


def _chunk(row: Row[Any]) -> PredictionChunk:
    return PredictionChunk(**row._asdict())


def _overlapping(start: float | None, end: float | None) -> list[ColumnElement[bool]]:
    """Conditions for chunks with at least one row time in [start, end)."""
    where = []
    if start is not None:
        where.append(_chunks.end_time >= start)
    if end is not None:
        where.append(_chunks.start_time < end)
    return where


def _inside(first: float, last: float, start: float | None, end: float | None) -> bool:
    """Whether a chunk whose rows span [first, last] lies wholly in [start, end)."""
    return (start is None or first >= start) and (end is None or last < end)


def _check_rows(meta: PredictionChunk, ids: Sequence[str], times: Sequence[float]) -> None:
    if not len(ids) == len(times) == meta.n_rows:
        raise InvalidInput(
            f"a chunk of {meta.n_rows} rows needs as many prediction ids and times, "
            f"got {len(ids)} ids and {len(times)} times"
        )
    if len(set(ids)) != len(ids):
        counts = Counter(ids)
        repeated = next(pid for pid in ids if counts[pid] > 1)
        raise Conflict(f"prediction id {repeated!r} appears twice in one chunk")


class SqlPredictionLogStore:
    """The prediction log index: chunks by model and time, prediction ids, feedback labels."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def record_prediction_chunk(
        self, meta: PredictionChunk, prediction_ids: Sequence[str], times: Sequence[float]
    ) -> int:
        """Index a written chunk and every prediction id in it atomically; return the chunk id."""
        _check_rows(meta, prediction_ids, times)
        try:
            with self._db.write() as conn:
                same = conn.execute(self._same_chunk(meta)).scalar()
                if same is not None:
                    return int(same)
                return self._insert_chunk(conn, meta, prediction_ids, times)
        except Conflict as exc:
            raise Conflict(self._duplicates_message(prediction_ids)) from exc

    def _insert_chunk(
        self,
        conn: Connection,
        meta: PredictionChunk,
        prediction_ids: Sequence[str],
        times: Sequence[float],
    ) -> int:
        values = {k: v for k, v in meta.__dict__.items() if k != "id"}
        result = conn.execute(insert(t.prediction_chunks).values(**values))
        (chunk_id,) = result.inserted_primary_key or (0,)
        rows = [
            (pid, chunk_id, row, at)
            for row, (pid, at) in enumerate(zip(prediction_ids, times, strict=True))
        ]
        _insert_many(conn, t.prediction_ids, ("prediction_id", "chunk_id", "row", "at"), rows)
        in_chunk = select(_ids.prediction_id).where(_ids.chunk_id == chunk_id)
        conn.execute(
            update(t.labels)
            .where(_labels.chunk_id.is_(None), _labels.prediction_id.in_(in_chunk))
            .values(chunk_id=chunk_id, row=_logged(_ids.row))
        )
        return int(chunk_id)

    def _same_chunk(self, meta: PredictionChunk) -> Any:
        """The id of an identical chunk already indexed, so a retried write is harmless."""
        return select(_chunks.id).where(
            _chunks.model == meta.model,
            _chunks.version == meta.version,
            _chunks.start_time == meta.start_time,
            _chunks.arm == meta.arm,
            _chunks.digest == meta.digest,
        )

    def _duplicates_message(self, prediction_ids: Sequence[str]) -> str:
        known = sorted(self._known_ids(prediction_ids))
        shown = ", ".join(repr(pid) for pid in known[:5])
        more = f" and {len(known) - 5} more" if len(known) > 5 else ""
        return f"prediction ids already logged: {shown}{more}; nothing of the chunk was written"

    def _known_ids(self, prediction_ids: Sequence[str]) -> set[str]:
        column = t.prediction_ids.c.prediction_id
        with self._db.read() as conn:
            return {
                pid
                for batch in _batches(prediction_ids)
                for pid in conn.execute(select(column).where(column.in_(batch))).scalars()
            }

    def list_prediction_chunks(self, query: ChunkQuery) -> list[PredictionChunk]:
        """The chunks ``query`` selects, oldest first."""
        if query.last_n_rows is not None and query.last_n_rows <= 0:
            return []
        where = [_chunks.model == query.model, *_overlapping(query.start, query.end)]
        if query.version is not None:
            where.append(_chunks.version == query.version)
        if query.arm is not None:
            where.append(_chunks.arm == query.arm)
        with self._db.read() as conn:
            if query.last_n_rows is not None:
                bound = self._newest_bound(conn, where, query.start, query.end, query.last_n_rows)
                if bound is not None:
                    where.append(_chunks.end_time >= bound)
            chosen = select(t.prediction_chunks).where(*where)
            rows = conn.execute(chosen.order_by(_chunks.start_time, _chunks.id))
            return [_chunk(row) for row in rows]

    def _newest_bound(
        self,
        conn: Connection,
        where: list[ColumnElement[bool]],
        start: float | None,
        end: float | None,
        last_n: int,
    ) -> float | None:
        """A time no later than the newest ``last_n`` rows of the window; None if all count.

        Walks chunks from the newest end, counting rows of chunks wholly inside the window;
        chunks that overlap in time (several writers) are all kept by the bound.
        """
        query = (
            select(_chunks.start_time, _chunks.end_time, _chunks.n_rows)
            .where(*where)
            .order_by(_chunks.end_time.desc(), _chunks.id.desc())
            .execution_options(yield_per=256)
        )
        counted, bound = 0, float("inf")
        result = conn.execute(query)
        try:
            for row in result:
                if _inside(row.start_time, row.end_time, start, end):
                    counted += row.n_rows
                    bound = min(bound, row.start_time)
                    if counted >= last_n:
                        return bound
        finally:
            result.close()
        return None

    def record_feedback(self, labels: Mapping[str, Any]) -> int:
        """Store labels by prediction id, logged yet or not; a later label of an id wins.

        Returns how many labels were stored.
        """
        now = time.time()
        rows = [
            {"prediction_id": pid, "label": label, "received_at": now, "updated_at": now}
            for pid, label in sorted(labels.items())
        ]
        with self._db.write() as conn:
            for start in range(0, len(rows), IN_LIST_SIZE):
                batch = rows[start : start + IN_LIST_SIZE]
                upsert_labels(conn, t.labels, batch)
                self._attach_labels(conn, [row["prediction_id"] for row in batch])
        return len(rows)

    def _attach_labels(self, conn: Connection, prediction_ids: list[str]) -> None:
        """Give labels of already logged predictions their chunk and row, for reads by chunk."""
        conn.execute(
            update(t.labels)
            .where(_labels.chunk_id.is_(None), _labels.prediction_id.in_(prediction_ids))
            .values(chunk_id=_logged(_ids.chunk_id), row=_logged(_ids.row))
        )

    def unjoined_labels(self, prediction_ids: Sequence[str]) -> dict[str, float]:
        """Ids among these with a stored label but no logged prediction yet.

        Returns each such id with the time (epoch seconds) its first label arrived.
        """
        labels, logged = t.labels.c, t.prediction_ids.c
        query = select(labels.prediction_id, labels.received_at).where(
            ~select(logged.prediction_id)
            .where(logged.prediction_id == labels.prediction_id)
            .exists()
        )
        with self._db.read() as conn:
            return {
                pid: float(at)
                for batch in _batches(list(prediction_ids))
                for pid, at in conn.execute(query.where(labels.prediction_id.in_(batch)))
            }

    def logged_ids(self, prediction_ids: Sequence[str]) -> set[str]:
        """The ids among these that are in the log."""
        return self._known_ids(prediction_ids)

    def feedback_for(self, prediction_ids: Sequence[str]) -> dict[str, Any]:
        """The labels received for these prediction ids; ids without feedback are absent."""
        column = t.labels.c.prediction_id
        with self._db.read() as conn:
            return {
                pid: label
                for batch in _batches(list(prediction_ids))
                for pid, label in conn.execute(
                    select(column, t.labels.c.label).where(column.in_(batch))
                )
            }

    def labels_of_chunks(self, chunk_ids: Sequence[int]) -> list[ChunkLabels]:
        """The labels of the predictions logged in these chunks, by row; one entry per chunk
        that has labels, in no particular order.

        The database builds each chunk's row and label lists (one aggregated, indexed read per
        batch of chunks), so a retraining window's hundreds of thousands of labels cross as a
        few values; labels whose chunk was not attached yet (written concurrently with their
        chunk) are found through ``prediction_ids``.
        """
        found: dict[int, ChunkLabels] = {}
        with self._db.read() as conn:
            postgres = conn.dialect.name == "postgresql"
            stored = _stored_label(conn)
            for batch in _batches(list(chunk_ids)):
                for chunk_id, rows, labels in _driver_rows(conn, _labels_by_chunk(batch, postgres)):
                    decoded = _json_list(labels)
                    values = decoded if postgres else _sqlite_labels(decoded)
                    found[int(chunk_id)] = ChunkLabels(int(chunk_id), _json_list(rows), values)
                for chunk_id, row, label in _driver_rows(conn, _unattached_labels(batch, stored)):
                    entry = found.setdefault(int(chunk_id), ChunkLabels(int(chunk_id), [], []))
                    entry.rows.append(int(row))
                    entry.labels.append(json_value(label))
        return list(found.values())


def _driver_rows(conn: Connection, query: Select[Any]) -> Sequence[tuple[Any, ...]]:
    """The rows of ``query`` as tuples straight from the database driver.

    Skips SQLAlchemy's per-row result objects and type processing, so it only suits columns
    the driver already returns as wanted (text, numbers).
    """
    result = conn.execute(query)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _stored_label(conn: Connection) -> ColumnElement[Any]:
    """The label column as the database stores it, left for ``json_value`` to decode.

    SQLite keeps a number as a number and anything else as JSON text; PostgreSQL's ``json`` is
    read as its text. Skipping the per-row JSON processing is what makes large reads fast.
    """
    if conn.dialect.name == "postgresql":
        return cast(_labels.label, Text)
    return type_coerce(_labels.label, Text)


def _logged(column: ColumnElement[Any]) -> Any:
    """``column`` of the logged prediction of the label being updated (NULL when not logged)."""
    return select(column).where(_ids.prediction_id == _labels.prediction_id).scalar_subquery()


def _sqlite_labels(values: list[Any]) -> list[Any]:
    """Labels from SQLite's JSON array: its JSON texts decoded, its numbers as they are."""
    return [orjson.loads(value) if type(value) is str else value for value in values]


def _json_list(value: Any) -> list[Any]:
    """A JSON array the driver returned as text (SQLite) or already decoded (PostgreSQL)."""
    return value if isinstance(value, list) else list(orjson.loads(value))


def _labels_by_chunk(chunk_ids: Sequence[int], postgres: bool) -> Select[Any]:
    """(chunk id, rows, labels) of these chunks' attached labels: two JSON arrays per chunk.

    PostgreSQL aggregates the stored JSON values as they are. SQLite's JSON arrays hold its
    numbers as numbers and its JSON texts as strings, left for ``json_value``; a real goes as
    its 17-digit text, since SQLite writes reals into JSON with 15 digits and would round it.
    """
    if postgres:
        aggregated = [func.json_agg(_labels.row), func.json_agg(_labels.label)]
    else:
        label = type_coerce(_labels.label, Text)
        exact = case((func.typeof(label) == "real", func.printf("%!.17g", label)), else_=label)
        aggregated = [func.json_group_array(_labels.row), func.json_group_array(exact)]
    return (
        select(_labels.chunk_id, *aggregated)
        .where(_labels.chunk_id.in_(chunk_ids))
        .group_by(_labels.chunk_id)
    )


def _unattached_labels(chunk_ids: Sequence[int], label: ColumnElement[Any]) -> Select[Any]:
    """(chunk id, row, stored label) of labels of these chunks' rows not attached yet."""
    return (
        select(_ids.chunk_id, _ids.row, label)
        .select_from(t.labels)
        .join(t.prediction_ids, _ids.prediction_id == _labels.prediction_id)
        .where(_labels.chunk_id.is_(None), _ids.chunk_id.in_(chunk_ids))
    )
