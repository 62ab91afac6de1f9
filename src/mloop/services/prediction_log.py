"""The prediction log service: served predictions as Parquet blobs, indexed in the store."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.api.extensions import ExtensionDtype, take

from mloop.artifacts import ArtifactStore
from mloop.entities import ChunkLabels, ChunkQuery, FeedbackResult, PredictionChunk
from mloop.errors import InvalidInput, NotFound
from mloop.prediction_log import (
    EMPTY_DTYPES,
    LABEL,
    LOG_COLUMNS,
    PREDICTION_ID,
    REQUIRED_COLUMNS,
    SHADOW_MARK,
    TS,
    Window,
    check_prediction_id,
    is_model_column,
    model_columns,
)
from mloop.services.chunk_cache import ChunkCache, ChunkRead
from mloop.services.labels import ANY_LABEL, LabelKind, checked_labels
from mloop.store import PredictionLogStore


def _checked_times(frame: Any) -> np.ndarray:
    """The ``ts`` column as float epoch seconds, refusing an empty or incomplete frame."""
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise InvalidInput("a prediction log chunk needs a DataFrame with at least one row")
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise InvalidInput(f"a prediction log chunk needs the columns {missing}", field=missing[0])
    times = pd.to_numeric(frame["ts"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if not np.isfinite(times).all():
        raise InvalidInput("every ts of a prediction log chunk must be epoch seconds", field="ts")
    return times


def _parquet(frame: pd.DataFrame) -> bytes:
    """The frame as zstd-compressed Parquet bytes."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InvalidInput(f"the prediction log chunk cannot be stored as Parquet: {exc}") from exc
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def _in_window(table: pa.Table, start: float | None, end: float | None) -> np.ndarray | None:
    """The positions of the rows with ``start <= ts < end``; None when every row is in."""
    if start is None and end is None:
        return None
    times = table["ts"].to_numpy()
    inside = np.ones(len(times), dtype=bool)
    if start is not None:
        inside &= times >= start
    if end is not None:
        inside &= times < end
    return None if inside.all() else np.flatnonzero(inside)


def _read_chunk(
    artifacts: ArtifactStore,
    chunk: PredictionChunk,
    keep: Callable[[str], bool] | None,
    window: tuple[float | None, float | None],
) -> ChunkRead:
    """The rows of one chunk inside the window, with its version and arm as columns.

    Reads the columns ``keep`` accepts (None: all; ``ts`` always). Returns the table and the
    kept rows' positions in the chunk (None: every row was kept).
    """
    source = pq.ParquetFile(pa.BufferReader(artifacts.get_bytes(chunk.digest)))
    names = source.schema_arrow.names
    table = source.read(columns=None if keep is None else [n for n in names if n == TS or keep(n)])
    table = table.replace_schema_metadata(None)
    kept = _in_window(table, *window)
    if kept is not None:
        table = table.take(kept)
    rows = table.num_rows
    for name, value in (("version", pa.scalar(chunk.version, pa.int64())), ("arm", chunk.arm)):
        if keep is None or keep(name):
            table = table.append_column(name, pa.repeat(value, rows))
    return table, kept


ChunkReader = Callable[[Sequence[PredictionChunk]], list[ChunkRead]]


def _reader(
    artifacts: ArtifactStore,
    keep: Callable[[str], bool] | None,
    window: tuple[float | None, float | None],
    cache: ChunkCache | None = None,
    columns: Sequence[str] | None = None,
) -> ChunkReader:
    """What reads chunks for one query: straight from their blobs, or through ``cache``
    (keyed by the chunk, its digest, ``columns`` and ``window``)."""

    def read(chunks: Sequence[PredictionChunk]) -> list[ChunkRead]:
        if cache is None:
            return [_read_chunk(artifacts, chunk, keep, window) for chunk in chunks]
        shape = (None if columns is None else tuple(columns), window)
        keys = [(chunk.id, chunk.digest, shape) for chunk in chunks]
        reads = []
        for chunk, key in zip(chunks, keys, strict=True):
            found = cache.get(key)
            if found is None:
                found = _read_chunk(artifacts, chunk, keep, window)
                cache.put(key, found)
            reads.append(found)
        cache.keep_only(set(keys))
        return reads

    return read


def _concat(tables: list[pa.Table]) -> pd.DataFrame:
    """Tables of chunks with possibly different columns as one frame; missing values are NaN."""
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
        return table.to_pandas(split_blocks=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        frames = [table.to_pandas() for table in tables if table.num_rows]
        return pd.concat(frames, ignore_index=True) if frames else tables[0].to_pandas()


def _oldest_first(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows by ``ts``, ties in their order; a frame already in order is not copied."""
    if frame["ts"].is_monotonic_increasing:
        return frame
    return frame.sort_values("ts", kind="stable", ignore_index=True)


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    """A frame without rows that still has the columns a reader expects."""
    return pd.DataFrame(
        {name: pd.Series(dtype=EMPTY_DTYPES.get(name, "object")) for name in columns}
    )


def _placed(
    found: Sequence[ChunkLabels],
    chunks: Sequence[PredictionChunk],
    read: Sequence[tuple[pa.Table, np.ndarray | None]],
    length: int,
) -> Any:
    """The label of each row of the concatenated chunk tables, NaN where none arrived.

    Each chunk's labels go to their rows by position (labels of rows outside the window are
    dropped), then are taken in one step, so the values and dtype are those of a Series of the
    window's labels (integers become floats when a row has no label).
    """
    by_chunk = {entry.chunk_id: entry for entry in found}
    at, values, offset = [], [], 0
    for chunk, (table, kept) in zip(chunks, read, strict=True):
        entry = by_chunk.get(chunk.id)
        if entry is not None and entry.rows:
            rows = np.asarray(entry.rows, dtype=np.int64)
            labels = entry.labels
            if kept is not None:
                index = np.minimum(np.searchsorted(kept, rows), max(len(kept) - 1, 0))
                inside = kept[index] == rows if len(kept) else np.zeros(len(rows), dtype=bool)
                rows = index[inside]
                labels = [label for label, keep in zip(labels, inside, strict=True) if keep]
            at.append(offset + rows)
            values.extend(labels)
        offset += table.num_rows
    mapper = pd.Series(values, dtype=None if values else np.float64)
    found_at = np.full(length, -1, dtype=np.int64)
    if at:
        found_at[np.concatenate(at)] = np.arange(len(values))
    array = mapper.array if isinstance(mapper.dtype, ExtensionDtype) else mapper.to_numpy()
    return take(array, found_at, allow_fill=True)


def _check_window(start: float | None, end: float | None, last_n: int | None) -> None:
    for name, bound in (("start", start), ("end", end)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float)):
            raise InvalidInput(f"{name} must be epoch seconds, got {bound!r}", field=name)
    if last_n is not None and (
        isinstance(last_n, bool) or not isinstance(last_n, int) or last_n <= 0
    ):
        raise InvalidInput(f"last_n must be a positive integer, got {last_n!r}", field="last_n")


class PredictionLogService:
    """Writes and reads the prediction log and its feedback over a store and artifact store."""

    def __init__(self, predictions: PredictionLogStore, artifacts: ArtifactStore) -> None:
        self._predictions = predictions
        self._artifacts = artifacts

    def write_chunk(self, *, model: str, version: int, arm: str, frame: Any) -> PredictionChunk:
        """Store served rows of one model version and arm (log columns) as one chunk.

        Returns the chunk's index row. Raises InvalidInput for a frame without the required
        columns, with bad ids or times, or one Parquet cannot hold; Conflict for ids logged before.
        """
        if not isinstance(model, str) or not 0 < len(model) <= 256:
            raise InvalidInput(f"model name {model!r} must be 1 to 256 characters", field="model")
        if not isinstance(arm, str) or len(arm) > 128:
            raise InvalidInput(
                f"arm {arm!r} must be a string of at most 128 characters", field="arm"
            )
        times = _checked_times(frame)
        ids = [check_prediction_id(pid) for pid in frame["prediction_id"].tolist()]
        data = _parquet(frame.assign(ts=times))
        meta = PredictionChunk(
            model=model,
            version=int(version),
            arm=arm,
            start_time=float(times.min()),
            end_time=float(times.max()),
            n_rows=len(ids),
            digest=self._artifacts.put_bytes(data),
            size=len(data),
            created_at=time.time(),
        )
        return replace(
            meta, id=self._predictions.record_prediction_chunk(meta, ids, times.tolist())
        )

    def read(
        self,
        model: str,
        *,
        version: int | None = None,
        arm: str | None = None,
        start: float | None = None,
        end: float | None = None,
        last_n: int | None = None,
        with_feedback: bool = False,
        columns: Sequence[str] | None = None,
        cache: ChunkCache | None = None,
    ) -> pd.DataFrame:
        """Logged predictions of a model in [start, end) or its newest ``last_n`` rows.

        Returns one row per prediction, oldest first, with the log columns (or ``columns``)
        and, with feedback, ``label`` (NaN where none arrived; labels are read every time).
        With ``cache``, chunks read before with the same columns and window are not read
        again, and the cache keeps only this read's chunks. Raises InvalidInput for bad
        bounds, ``start`` not before ``end`` included.
        """
        _check_window(start, end, last_n)
        if start is not None and end is not None and start >= end:
            raise InvalidInput(f"start {start} is not before end {end}", field="start")
        wanted = None if columns is None else [str(name) for name in columns]
        query = ChunkQuery(model, version, arm, start, end, last_n)
        keep = None if wanted is None else {*wanted, TS}.__contains__
        reader = _reader(self._artifacts, keep, (start, end), cache, wanted)
        frame = self._rows(query, reader, with_feedback)
        label = [LABEL] if with_feedback else []
        if frame is None:
            return _empty([*(LOG_COLUMNS if wanted is None else wanted), *label])
        return frame if wanted is None else frame.reindex(columns=[*wanted, *label])

    def _rows(
        self, query: ChunkQuery, reader: ChunkReader, with_feedback: bool
    ) -> pd.DataFrame | None:
        """The rows of ``query``'s window as ``reader`` reads each chunk, oldest first, and
        ``label`` last with feedback; None when no chunk holds a row of it."""
        chunks = self._predictions.list_prediction_chunks(query)
        if not chunks:
            return None
        read = reader(chunks)
        frame = _concat([table for table, _ in read])
        if with_feedback:
            found = self._predictions.labels_of_chunks([chunk.id for chunk in chunks])
            frame[LABEL] = _placed(found, chunks, read, len(frame))
        frame = _oldest_first(frame)
        if query.last_n_rows is not None:
            frame = frame.iloc[-query.last_n_rows :].reset_index(drop=True)
        return frame

    def read_model_window(
        self,
        model: str,
        window: Window,
        *,
        version: int | None = None,
        arm: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """A window's rows as the model saw them, with their labels, oldest first.

        Returns ``model_columns`` of the window (inputs under their own names, ``ts``,
        ``prediction``, ``proba.*``, ``label``); only those columns of the log are read (or
        only the log columns ``columns``), not the ids, units or latencies. Raises InvalidInput
        for bad bounds.
        """
        _check_window(window.start, window.end, window.last_n)
        query = ChunkQuery(model, version, arm, window.start, window.end, window.last_n)
        keep = is_model_column if columns is None else {*columns}.__contains__
        reader = _reader(self._artifacts, keep, (window.start, window.end))
        frame = self._rows(query, reader, with_feedback=True)
        if frame is None:
            frame = _empty([*(LOG_COLUMNS if columns is None else columns), LABEL])
        return model_columns(frame)

    def chunks(
        self,
        model: str,
        *,
        version: int | None = None,
        arm: str | None = None,
        window: Window | None = None,
    ) -> list[PredictionChunk]:
        """The index rows of the chunks that hold rows of ``window`` (all when None)."""
        window = window or Window()
        query = ChunkQuery(model, version, arm, window.start, window.end, window.last_n)
        return self._predictions.list_prediction_chunks(query)

    def read_chunk(
        self,
        chunk: PredictionChunk,
        *,
        start: float | None = None,
        end: float | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The rows of one chunk (inside [start, end) when given), hash-verified."""
        keep = None if columns is None else {*columns}.__contains__
        table, _ = _read_chunk(self._artifacts, chunk, keep, (start, end))
        return table.to_pandas()

    def record_feedback(
        self,
        labels: Mapping[str, Any],
        *,
        kind: LabelKind = ANY_LABEL,
        pending_seconds: float = 0.0,
    ) -> FeedbackResult:
        """Store ground-truth labels by prediction id, whether or not the prediction is logged yet.

        A label joins its prediction whenever that lands in the log; a later label of an id
        replaces the earlier one. Returns how many were stored, the ids not in the log yet
        (``pending``) and the ids still not in the log ``pending_seconds`` after their first label
        arrived (``unknown``). Raises InvalidInput for a bad id, a shadow row's id (``~shadow``:
        it is judged on the label of the answer it shadowed) or a label ``kind`` refuses.
        """
        if not isinstance(labels, Mapping):
            raise InvalidInput("labels must map prediction ids to labels", field="labels")
        for pid in labels:
            if isinstance(pid, str) and pid.endswith(SHADOW_MARK):
                raise InvalidInput(
                    f"prediction id {pid!r} is a shadow row's: it takes the label of the answer "
                    f"it shadowed; send the label for {pid.removesuffix(SHADOW_MARK)!r}",
                    field=PREDICTION_ID,
                )
        clean = checked_labels({check_prediction_id(pid): v for pid, v in labels.items()}, kind)
        if not clean:
            return FeedbackResult(0, [])
        accepted = self._predictions.record_feedback(clean)
        waiting = self._predictions.unjoined_labels(list(clean))
        overdue = time.time() - pending_seconds
        unknown = [pid for pid in clean if pid in waiting and waiting[pid] <= overdue]
        pending = [pid for pid in clean if pid in waiting and waiting[pid] > overdue]
        return FeedbackResult(accepted, unknown, pending)

    def feedback_status(self, prediction_id: str, *, pending_seconds: float = 0.0) -> str:
        """Whether the label of a prediction id is ``joined``, ``pending`` or ``unknown``.

        ``pending``: the prediction is not in the log and its first label arrived less than
        ``pending_seconds`` ago. Raises NotFound when no label of the id was received.
        """
        pid = check_prediction_id(prediction_id)
        if not self._predictions.feedback_for([pid]):
            raise NotFound(f"no label was received for prediction {pid!r}", field="prediction_id")
        first = self._predictions.unjoined_labels([pid]).get(pid)
        if first is None:
            return "joined"
        return "pending" if first > time.time() - pending_seconds else "unknown"

    def feedback_for(self, prediction_ids: Sequence[str]) -> dict[str, Any]:
        """The labels stored for the given prediction ids (ids without one are left out)."""
        return self._predictions.feedback_for(prediction_ids)

    def logged_ids(self, prediction_ids: Sequence[str]) -> set[str]:
        """The ids among these whose predictions are in the log."""
        return self._predictions.logged_ids(prediction_ids)
