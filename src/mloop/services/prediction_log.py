"""The prediction log service: served predictions as Parquet blobs, indexed in the store."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pandas.api.extensions import ExtensionDtype, take

from mloop.artifacts import ArtifactStore
from mloop.entities import ChunkQuery, FeedbackResult, PredictionChunk
from mloop.errors import InvalidInput, NotFound
from mloop.prediction_log import (
    EMPTY_DTYPES,
    LOG_COLUMNS,
    REQUIRED_COLUMNS,
    Window,
    check_prediction_id,
)
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


def _needed(columns: list[str] | None, with_feedback: bool) -> set[str] | None:
    """The stored columns a read needs, or None for all of them."""
    if columns is None:
        return None
    return {*columns, "ts", *(["prediction_id"] if with_feedback else [])}


def _in_window(table: pa.Table, start: float | None, end: float | None) -> pa.Table:
    """Rows with ``start <= ts < end``."""
    if start is not None:
        table = table.filter(pc.greater_equal(table["ts"], start))
    if end is not None:
        table = table.filter(pc.less(table["ts"], end))
    return table


def _read_chunk(
    artifacts: ArtifactStore,
    chunk: PredictionChunk,
    needed: set[str] | None,
    window: tuple[float | None, float | None],
) -> pa.Table:
    """The rows of one chunk inside the window, with its version and arm as columns."""
    source = pq.ParquetFile(pa.BufferReader(artifacts.get_bytes(chunk.digest)))
    names = source.schema_arrow.names
    table = source.read(columns=None if needed is None else [n for n in names if n in needed])
    table = _in_window(table.replace_schema_metadata(None), *window)
    rows = table.num_rows
    for name, value in (("version", pa.scalar(chunk.version, pa.int64())), ("arm", chunk.arm)):
        if needed is None or name in needed:
            table = table.append_column(name, pa.repeat(value, rows))
    return table


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


def _joined(prediction_ids: pd.Series, labels: Mapping[str, Any]) -> Any:
    """Each id's label, NaN where none arrived: ``prediction_ids.map(labels)``, vectorised.

    The ids are matched by an Arrow hash lookup (in the ids' own string type, so the million
    ids of a large window are not cast) and the labels taken in one step, so the values and
    dtype are those ``map`` gives (integers become floats when an id has no label).
    """
    mapper = pd.Series(list(labels.values()), dtype=None if labels else np.float64)
    ids = pa.array(prediction_ids)
    if not pa.types.is_large_string(ids.type):
        ids = ids.cast(pa.string())
    found = pc.index_in(ids, value_set=pa.array(list(labels), ids.type))
    values = mapper.array if isinstance(mapper.dtype, ExtensionDtype) else mapper.to_numpy()
    return take(values, found.fill_null(-1).to_numpy(), allow_fill=True)


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
    ) -> pd.DataFrame:
        """Logged predictions of a model in [start, end) or its newest ``last_n`` rows.

        Returns one row per prediction, oldest first, with the log columns (or ``columns``)
        and, with feedback, ``label`` (NaN where none arrived). Raises InvalidInput for bad
        bounds.
        """
        _check_window(start, end, last_n)
        wanted = None if columns is None else [str(name) for name in columns]
        label = ["label"] if with_feedback else []
        chunks = self._predictions.list_prediction_chunks(
            ChunkQuery(model, version, arm, start, end, last_n)
        )
        if not chunks:
            return _empty([*(LOG_COLUMNS if wanted is None else wanted), *label])
        needed = _needed(wanted, with_feedback)
        tables = [_read_chunk(self._artifacts, chunk, needed, (start, end)) for chunk in chunks]
        frame = _oldest_first(_concat(tables))
        if last_n is not None:
            frame = frame.iloc[-last_n:].reset_index(drop=True)
        if with_feedback:
            labels = self._predictions.feedback_for_chunks([chunk.id for chunk in chunks])
            frame["label"] = _joined(frame["prediction_id"], labels)
        return frame if wanted is None else frame.reindex(columns=[*wanted, *label])

    def read_window(
        self,
        model: str,
        window: Window,
        *,
        version: int | None = None,
        arm: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The rows of a window of the log with their labels, oldest first (see ``read``)."""
        return self.read(
            model,
            version=version,
            arm=arm,
            start=window.start,
            end=window.end,
            last_n=window.last_n,
            with_feedback=True,
            columns=columns,
        )

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
        needed = None if columns is None else {*columns, "ts"}
        return _read_chunk(self._artifacts, chunk, needed, (start, end)).to_pandas()

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
        arrived (``unknown``). Raises InvalidInput for a bad id or a label ``kind`` refuses.
        """
        if not isinstance(labels, Mapping):
            raise InvalidInput("labels must map prediction ids to labels", field="labels")
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
