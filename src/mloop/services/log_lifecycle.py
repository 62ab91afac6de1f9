"""The prediction log over the years: retention, erasure of a unit's rows, orphan blobs.

Rows leave the log by rewriting the chunks that hold them: the kept rows go to a new blob, the
index swaps it in (with the removed ids, their labels, the chunk's profile and the roll-ups
over it) in one transaction, and the old blob is deleted once no row names it. A crash between
the two steps leaves only an orphan blob, which ``collect_blobs`` removes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mloop.artifacts import ArtifactStore
from mloop.entities import Erasure, PredictionChunk
from mloop.errors import InvalidInput
from mloop.prediction_log import PREDICTION_ID, TS, UNIT_ID
from mloop.store.protocols import LogLifecycleStore

DAY = 86_400.0
BLOB_GRACE_SECONDS = DAY
"""An unreferenced blob younger than this may be an upload whose index row is on its way."""

RowFilter = Callable[[pa.Table], Any]
"""Given a chunk's rows, a boolean mask of the rows to remove."""


@dataclass(frozen=True)
class Pruned:
    """What a rewrite removed: rows, labels, chunks rewritten and chunks dropped whole."""

    rows: int = 0
    labels: int = 0
    rewritten: int = 0
    dropped: int = 0

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(
            self.rows + other.rows,
            self.labels + other.labels,
            self.rewritten + other.rewritten,
            self.dropped + other.dropped,
        )


@dataclass(frozen=True)
class RetentionReport:
    """One retention pass: the cutoff (epoch s), what was pruned, and blobs deleted."""

    cutoff: float
    pruned: Pruned
    blobs_deleted: int
    rollups_deleted: int


def _parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def _check_unit(unit: str) -> str:
    if not isinstance(unit, str) or not 0 < len(unit) <= 256:
        raise InvalidInput(f"unit id {unit!r} must be 1 to 256 characters", field="unit")
    return unit


class PredictionLogLifecycle:
    """Retention, erasure and blob collection over the log's index and the artifact store."""

    def __init__(self, lifecycle: LogLifecycleStore, artifacts: ArtifactStore, user: str) -> None:
        self._store = lifecycle
        self._artifacts = artifacts
        self._user = user

    def retain(self, days: float, *, now: float | None = None) -> RetentionReport:
        """Remove every row older than ``days`` days, with its labels, profiles and blobs.

        Chunks wholly older are dropped, chunks across the cutoff rewritten; roll-ups that end
        before it, and labels received before it for predictions never logged, are deleted.
        Returns what was removed. Raises InvalidInput for days <= 0.
        """
        if isinstance(days, bool) or not isinstance(days, int | float) or not days > 0:
            raise InvalidInput(f"retention days must be positive, got {days!r}", field="days")
        cutoff = (time.time() if now is None else now) - days * DAY
        expired = self._store.expired_chunks(cutoff)
        pruned = self._prune(expired, lambda table: pc.less(table[TS], cutoff), cutoff)
        pruned += Pruned(labels=self._store.forget_unjoined_labels(cutoff))
        rollups = self._store.delete_rollups_before(cutoff)
        self._store.forget_idempotency_keys(cutoff)
        blobs = self._delete_unreferenced([chunk.digest for chunk in expired])
        return RetentionReport(cutoff, pruned, blobs, rollups)

    def erase(self, unit: str) -> Erasure:
        """Remove every logged row of one unit (a customer) and their labels, audited.

        Rewrites each chunk holding the unit's rows; returns the audit record (rows, labels,
        chunks touched, who, when). Raises InvalidInput for an empty or over-long unit id.
        """
        wanted = _check_unit(unit)
        chunks = self._store.all_chunks()

        def of_unit(table: pa.Table) -> Any:
            if UNIT_ID not in table.column_names:
                return pa.array(np.zeros(table.num_rows, dtype=bool))
            units = pc.cast(table[UNIT_ID], pa.string())
            return pc.fill_null(pc.equal(units, wanted), False)

        pruned = self._prune(chunks, of_unit, None)
        self._delete_unreferenced([chunk.digest for chunk in chunks])
        erasure = Erasure(
            wanted,
            pruned.rows,
            pruned.labels,
            pruned.rewritten + pruned.dropped,
            self._user,
            time.time(),
        )
        return replace(erasure, id=self._store.record_erasure(erasure))

    def erasures(self, limit: int = 100) -> list[Erasure]:
        """The newest ``limit`` erasures, newest first."""
        return self._store.list_erasures(limit)

    def collect_blobs(self, *, grace_seconds: float = BLOB_GRACE_SECONDS) -> int:
        """Delete blobs no row of the store names, older than ``grace_seconds``; return how many.

        The candidates are listed before the referenced set is read, so a blob indexed
        meanwhile is kept.
        """
        candidates = list(self._artifacts.blobs_older_than(time.time() - grace_seconds))
        return self._delete_unreferenced(candidates)

    def _delete_unreferenced(self, digests: Sequence[str]) -> int:
        if not digests:
            return 0
        referenced = self._store.referenced_digests()
        return sum(self._artifacts.delete(d) for d in set(digests) if d not in referenced)

    def _prune(
        self, chunks: Sequence[PredictionChunk], remove: RowFilter, before: float | None
    ) -> Pruned:
        total = Pruned()
        for chunk in chunks:
            if before is not None and chunk.end_time < before:
                labels = self._store.replace_chunk(chunk, None, [], [])
                total += Pruned(chunk.n_rows, labels, 0, 1)
            else:
                total += self._rewrite(chunk, remove)
        return total

    def _rewrite(self, chunk: PredictionChunk, remove: RowFilter) -> Pruned:
        """Drop the rows ``remove`` marks from one chunk; nothing happens when it marks none."""
        table = pq.read_table(pa.BufferReader(self._artifacts.get_bytes(chunk.digest)))
        mask = remove(table)
        removed = int(pc.sum(mask).as_py() or 0)
        if removed == 0:
            return Pruned()
        ids = table[PREDICTION_ID].to_pylist()
        gone = [pid for pid, flag in zip(ids, mask.to_pylist(), strict=True) if flag]
        kept_table = table.filter(pc.invert(mask))
        if kept_table.num_rows == 0:
            return Pruned(removed, self._store.replace_chunk(chunk, None, gone, []), 0, 1)
        data = _parquet(kept_table)
        times = kept_table[TS]
        kept = replace(
            chunk,
            start_time=float(pc.min(times).as_py()),
            end_time=float(pc.max(times).as_py()),
            n_rows=kept_table.num_rows,
            digest=self._artifacts.put_bytes(data),
            size=len(data),
        )
        kept_ids = kept_table[PREDICTION_ID].to_pylist()
        return Pruned(removed, self._store.replace_chunk(chunk, kept, gone, kept_ids), 1, 0)
