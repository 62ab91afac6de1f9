"""Store queries that keep the prediction log lawful and small: retention, erasure, roll-ups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, union, update

from mloop.entities import Erasure, PredictionChunk, ProfileRollup
from mloop.errors import Conflict
from mloop.store.sql import schema as t
from mloop.store.sql.base import SqlDatabase
from mloop.store.sql.predictions import IN_LIST_SIZE

_chunks = t.prediction_chunks.c
_rollups = t.profile_rollups.c


def _chunk(row: Row[Any]) -> PredictionChunk:
    return PredictionChunk(**row._asdict())


def _rollup(row: Row[Any]) -> ProfileRollup:
    values = row._asdict()
    values["chunk_ids"] = [int(i) for i in values["chunk_ids"]]
    values["profile"] = dict(values["profile"])
    return ProfileRollup(**values)


def _delete_in(conn: Connection, column: Any, values: Sequence[Any]) -> int:
    """Delete the rows whose ``column`` is one of ``values``; return how many."""
    deleted = 0
    for start in range(0, len(values), IN_LIST_SIZE):
        part = list(values[start : start + IN_LIST_SIZE])
        deleted += conn.execute(delete(column.table).where(column.in_(part))).rowcount
    return deleted


class SqlLogLifecycleStore:
    """Expired chunks, chunk rewrites, referenced blobs, roll-ups and the erasure audit."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def expired_chunks(self, before: float) -> list[PredictionChunk]:
        """Chunks with a row older than ``before`` (epoch seconds), oldest first."""
        query = select(t.prediction_chunks).where(_chunks.start_time < before)
        with self._db.read() as conn:
            return [_chunk(row) for row in conn.execute(query.order_by(_chunks.start_time))]

    def all_chunks(self) -> list[PredictionChunk]:
        """Every chunk of every model, oldest first."""
        query = select(t.prediction_chunks).order_by(_chunks.start_time, _chunks.id)
        with self._db.read() as conn:
            return [_chunk(row) for row in conn.execute(query)]

    def replace_chunk(
        self,
        chunk: PredictionChunk,
        kept: PredictionChunk | None,
        removed_ids: Sequence[str],
        kept_ids: Sequence[str],
    ) -> int:
        """Swap a chunk for ``kept`` (None: drop it), deleting the removed rows' ids, their
        labels, the chunk's profile and the roll-ups over its time; returns labels deleted.

        Raises Conflict when the chunk is gone or holds another blob than ``chunk`` says.
        """
        with self._db.write() as conn:
            current = conn.execute(
                select(_chunks.digest).where(_chunks.id == chunk.id)
            ).scalar_one_or_none()
            if current != chunk.digest:
                raise Conflict(f"chunk {chunk.id} changed while it was rewritten; run again")
            conn.execute(delete(t.chunk_profiles).where(t.chunk_profiles.c.chunk_id == chunk.id))
            self._drop_rollups_over(conn, chunk)
            labels = _delete_in(conn, t.labels.c.prediction_id, removed_ids)
            _delete_in(conn, t.prediction_ids.c.prediction_id, removed_ids)
            if kept is None:
                labels += self._drop_chunk(conn, chunk.id)
            else:
                self._update_chunk(conn, chunk.id, kept, kept_ids)
        return labels

    def _drop_chunk(self, conn: Connection, chunk_id: int) -> int:
        """Delete a chunk, its prediction ids and their labels; return the labels deleted."""
        ids = t.prediction_ids.c
        in_chunk = select(ids.prediction_id).where(ids.chunk_id == chunk_id)
        labels = conn.execute(delete(t.labels).where(t.labels.c.prediction_id.in_(in_chunk)))
        conn.execute(delete(t.prediction_ids).where(ids.chunk_id == chunk_id))
        conn.execute(delete(t.prediction_chunks).where(_chunks.id == chunk_id))
        return int(labels.rowcount)

    def _drop_rollups_over(self, conn: Connection, chunk: PredictionChunk) -> None:
        conn.execute(
            delete(t.profile_rollups).where(
                _rollups.model == chunk.model,
                _rollups.version == chunk.version,
                _rollups.arm == chunk.arm,
                _rollups.start_time <= chunk.end_time,
                _rollups.end_time > chunk.start_time,
            )
        )

    def _update_chunk(
        self, conn: Connection, chunk_id: int, kept: PredictionChunk, kept_ids: Sequence[str]
    ) -> None:
        fields = ("start_time", "end_time", "n_rows", "digest", "size")
        values = {name: getattr(kept, name) for name in fields}
        conn.execute(update(t.prediction_chunks).where(_chunks.id == chunk_id).values(**values))
        ids = t.prediction_ids
        renumber = (
            update(ids)
            .where(ids.c.prediction_id == bindparam("pid"))
            .values(row=bindparam("new_row"))
        )
        rows = [{"pid": pid, "new_row": row} for row, pid in enumerate(kept_ids)]
        if rows:
            conn.execute(renumber, rows)
        labels = t.labels.c
        new_row = select(ids.c.row).where(ids.c.prediction_id == labels.prediction_id)
        conn.execute(
            update(t.labels)
            .where(labels.chunk_id == chunk_id)
            .values(row=new_row.scalar_subquery())
        )

    def referenced_digests(self) -> set[str]:
        """Every blob address a row of the store names (chunks, artifacts, models)."""
        query = union(
            select(_chunks.digest),
            select(t.artifacts.c.digest),
            select(t.logged_models.c.digest),
            select(t.model_versions.c.digest),
        )
        with self._db.read() as conn:
            return {str(digest) for digest in conn.execute(query).scalars()}

    def delete_labels(self, prediction_ids: Sequence[str]) -> int:
        """Delete the labels of these prediction ids; return how many there were."""
        with self._db.write() as conn:
            return _delete_in(conn, t.labels.c.prediction_id, list(prediction_ids))

    def record_erasure(self, erasure: Erasure) -> int:
        """Append an erasure to its audit trail; return its id."""
        values = {k: v for k, v in erasure.__dict__.items() if k != "id"}
        with self._db.write() as conn:
            (erasure_id,) = conn.execute(
                insert(t.erasures).values(**values)
            ).inserted_primary_key or (0,)
        return int(erasure_id)

    def list_erasures(self, limit: int = 100) -> list[Erasure]:
        """The newest ``limit`` erasures, newest first."""
        query = select(t.erasures).order_by(t.erasures.c.id.desc()).limit(limit)
        with self._db.read() as conn:
            return [Erasure(**row._asdict()) for row in conn.execute(query)]

    def save_rollup(self, rollup: ProfileRollup) -> int:
        """Store a roll-up, replacing one of the same model, version, arm, period and start."""
        values = {k: v for k, v in rollup.__dict__.items() if k != "id"}
        with self._db.write() as conn:
            conn.execute(
                delete(t.profile_rollups).where(
                    _rollups.model == rollup.model,
                    _rollups.version == rollup.version,
                    _rollups.arm == rollup.arm,
                    _rollups.period == rollup.period,
                    _rollups.start_time == rollup.start_time,
                )
            )
            result = conn.execute(insert(t.profile_rollups).values(**values))
            (rollup_id,) = result.inserted_primary_key or (0,)
        return int(rollup_id)

    def list_rollups(
        self, model: str, version: int | None, arm: str | None, start: float, end: float
    ) -> list[ProfileRollup]:
        """Roll-ups of a model (version, arm when given) wholly inside [start, end), oldest
        first."""
        where = [_rollups.model == model, _rollups.start_time >= start, _rollups.end_time <= end]
        if version is not None:
            where.append(_rollups.version == version)
        if arm is not None:
            where.append(_rollups.arm == arm)
        query = select(t.profile_rollups).where(*where).order_by(_rollups.start_time, _rollups.id)
        with self._db.read() as conn:
            return [_rollup(row) for row in conn.execute(query)]

    def delete_rollups_before(self, before: float) -> int:
        """Delete roll-ups that end at or before ``before``; return how many."""
        with self._db.write() as conn:
            return conn.execute(
                delete(t.profile_rollups).where(_rollups.end_time <= before)
            ).rowcount

    def forget_unjoined_labels(self, before: float) -> int:
        """Delete labels received before ``before`` whose prediction is not in the log."""
        labels, logged = t.labels.c, t.prediction_ids.c
        joined = select(logged.prediction_id).where(logged.prediction_id == labels.prediction_id)
        query = delete(t.labels).where(labels.received_at < before, ~joined.exists())
        with self._db.write() as conn:
            return int(conn.execute(query).rowcount)

    def forget_idempotency_keys(self, before: float) -> int:
        """Delete idempotency keys recorded before ``before``; return how many."""
        table = t.idempotency_keys
        with self._db.write() as conn:
            return conn.execute(delete(table).where(table.c.created_at < before)).rowcount
