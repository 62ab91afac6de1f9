"""The prediction log writer: buffers answered requests and writes them in the background.

With a spool, every answered micro-batch is also appended to a local file before it is buffered,
so rows still buffered when the process is killed are written by the next server that starts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from mloop.errors import Conflict, MloopError
from mloop.modelio.outputs import Outputs
from mloop.modelio.rows import Rows
from mloop.prediction_log import (
    FEATURE_PREFIX,
    LATENCY_MS,
    PREDICTION_ID,
    TS,
    UNIT_ID,
    feature_columns,
    output_columns,
)
from mloop.serving.spool import LoggedIds, Spool, columns_record, spool_record

logger = logging.getLogger("mloop.serving.log")
MAX_PENDING_ROWS = 1_000_000
RETRYABLE = {"store_unavailable"}

ChunkWriter = Callable[[str, int, str, pd.DataFrame], object]
RowsHook = Callable[[str, int, int], None]
"""Told the model, the version and a number of rows (written, or dropped)."""


@dataclass(frozen=True)
class Answered:
    """Answered rows (one request, or a micro-batch of them) as handed over: nothing copied.

    ``latency_ms`` is one number for all rows or one per row.
    """

    prediction_ids: Sequence[str]
    ts: float
    unit_ids: Sequence[str | None] | None
    latency_ms: float | Sequence[float]
    features: Rows
    outputs: Outputs


def log_frame(entries: Sequence[Answered]) -> pd.DataFrame:
    """Assemble buffered requests into the prediction log's columns: one frame of their rows."""
    features = feature_columns(Rows.merge([e.features for e in entries]).frame)
    counts = [len(e.features) for e in entries]
    columns: dict[str, object] = {
        "prediction_id": [pid for e in entries for pid in e.prediction_ids],
        "ts": np.repeat([e.ts for e in entries], counts),
        "unit_id": [u for e in entries for u in (e.unit_ids or [None] * len(e.features))],
        "latency_ms": np.concatenate(
            [
                np.broadcast_to(np.asarray(e.latency_ms, dtype=np.float64), (n,))
                for e, n in zip(entries, counts, strict=True)
            ]
        ),
    }
    head = pd.DataFrame(columns)
    first = entries[0].outputs
    stacked = None
    if first.probabilities is not None and first.classes is not None:
        stacked = np.concatenate(
            [e.outputs.probabilities for e in entries if e.outputs.probabilities is not None]
        )
    predictions = np.concatenate([e.outputs.predictions for e in entries])
    outputs = output_columns(Outputs(predictions, stacked, first.classes))
    return pd.concat([head, features, pd.DataFrame(outputs)], axis=1)


def _spool_append(spool: Spool, record: bytes) -> None:
    try:
        spool.append(record)
    except OSError:
        logger.exception("could not spool answered rows; they are only in memory")


def log_columns(answered: Answered) -> dict[str, Any]:
    """One answered request (or micro-batch) as the log's columns, nothing converted.

    ``prediction_id`` is a list of strings, ``unit_id`` a list or None (no units), ``ts`` and
    ``latency_ms`` float64 arrays, features and outputs the arrays handed over.
    """
    rows = len(answered.features)
    units = answered.unit_ids
    columns: dict[str, Any] = {
        PREDICTION_ID: list(answered.prediction_ids),
        TS: np.full(rows, answered.ts),
        UNIT_ID: list(units) if units is not None and any(u is not None for u in units) else None,
        LATENCY_MS: _latency(answered.latency_ms, rows),
    }
    features = answered.features
    for name, values in zip(features.names, features.columns, strict=True):
        columns[f"{FEATURE_PREFIX}{name}"] = values
    columns.update(output_columns(answered.outputs))
    return columns


def log_batch(answered: Answered) -> pa.RecordBatch:
    """One answered request (or micro-batch) in the log's columns as an Arrow record batch,
    built column by column from the arrays as handed over, without a DataFrame."""
    columns = log_columns(answered)
    rows = len(answered.features)
    arrays = [_arrow(values, rows) for values in columns.values()]
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))


def spooled(model: str, version: int, arm: str, answered: Answered) -> bytes:
    """The spool record of an answered request: its columns as they are when every one is a
    plain array or a list of JSON values (``columns_record``), else an Arrow batch."""
    record = columns_record(model, version, arm, log_columns(answered), len(answered.features))
    return record or spool_record(model, version, arm, log_batch(answered))


def _latency(latency_ms: float | Sequence[float], rows: int) -> np.ndarray:
    """The latency column: one number repeated for every row, or one number per row."""
    if isinstance(latency_ms, int | float):
        return np.full(rows, float(latency_ms))
    return np.asarray(latency_ms, dtype=np.float64)


def _arrow(values: Any, rows: int) -> pa.Array:
    """One column of ``log_columns`` as Arrow: None as ``rows`` string nulls, a list (ids,
    units) as strings, numbers as they are (a NaN stays NaN, which reads back the same as the
    null pandas' conversion would make of it), anything else through pandas' rules."""
    if values is None:
        return pa.nulls(rows, pa.string())
    if isinstance(values, list):
        return pa.array(values, pa.string())
    array = np.asarray(values)
    if array.dtype.kind in "biuf":
        return pa.array(array)
    return pa.array(array, from_pandas=True)


class PredictionLogWriter:
    """Collects answered requests per model version; writes them as chunks off the request path.

    ``logged`` returns which of some prediction ids are in the log already; with it, a chunk the
    store refuses for such ids is written without their rows instead of being dropped whole.
    """

    def __init__(
        self,
        write_chunk: ChunkWriter,
        *,
        flush_rows: int = 5_000,
        flush_seconds: float = 2.0,
        on_written: RowsHook | None = None,
        on_dropped: RowsHook | None = None,
        spool: Spool | None = None,
        logged: LoggedIds | None = None,
    ) -> None:
        self._write_chunk = write_chunk
        self._on_dropped = on_dropped
        self._logged = logged
        self._flush_rows = flush_rows
        self._flush_seconds = flush_seconds
        self._on_written = on_written
        self._spool = spool
        self._pending: dict[tuple[str, int, str], list[Answered]] = {}
        self._pending_rows = 0
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._writing: list[Answered] = []
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="mloop-prediction-log", daemon=True)
        self.dropped_rows = 0

    def start(self) -> None:
        """Open the spool and start the background writer thread."""
        if self._spool is not None:
            self._spool.open()
        self._thread.start()

    def record(self, model: str, version: int, arm: str, answered: Answered) -> None:
        """Queue one answered request, spooled first when there is a spool.

        Never blocks on the store; the spool costs one local file write.
        """
        record = None
        if self._spool is not None:
            record = spooled(model, version, arm, answered)
        with self._lock:
            if self._pending_rows >= MAX_PENDING_ROWS:
                self._drop(model, version, len(answered.features))
                return
            if record is not None and self._spool is not None:
                _spool_append(self._spool, record)
            self._pending.setdefault((model, version, arm), []).append(answered)
            self._pending_rows += len(answered.features)
            full = self._pending_rows >= self._flush_rows
        if full:
            self._wake.set()

    def pending_ids(self) -> set[str]:
        """Prediction ids answered but not yet written (buffered, or being written now)."""
        with self._lock:
            entries = [e for group in self._pending.values() for e in group] + self._writing
            return {pid for e in entries for pid in e.prediction_ids}

    def flush(self) -> None:
        """Write everything buffered now, in the calling thread; waits for a flush under way."""
        with self._flushing:
            with self._lock:
                pending, self._pending, self._pending_rows = self._pending, {}, 0
                self._writing = [e for group in pending.values() for e in group]
                written = self._spool.rotate() if self._spool and pending else []
            try:
                stored = self._write_all(pending)
            finally:
                with self._lock:
                    self._writing = []
            if stored and self._spool is not None:
                with self._lock:
                    self._spool.remove(written)

    def _write_all(self, pending: dict[tuple[str, int, str], list[Answered]]) -> bool:
        """Write the buffered groups; False when some were put back for a retry.

        Rows whose prediction id came earlier in the group or is in the log already are left
        out (counted in ``dropped_rows``, warned once) so that the other rows are still written.
        """
        stored = True
        reused: list[str] = []
        for (model, version, arm), entries in pending.items():
            try:
                written, left_out = self._write_new(model, version, arm, log_frame(entries))
            except MloopError as exc:
                if exc.code in RETRYABLE:
                    logger.warning(
                        "could not write %d logged requests (%s); will retry", len(entries), exc
                    )
                    self._requeue((model, version, arm), entries)
                    stored = False
                else:
                    logger.error(
                        "dropped %d logged requests the store refused: %s", len(entries), exc
                    )
                    self._drop(model, version, sum(len(e.features) for e in entries))
                continue
            except Exception:
                logger.exception("could not write %d logged predictions; will retry", len(entries))
                self._requeue((model, version, arm), entries)
                stored = False
                continue
            reused += left_out
            if left_out:
                self._drop(model, version, len(left_out))
            if self._on_written is not None and written:
                self._on_written(model, version, written)
        if reused:
            logger.warning(
                "%d predictions reuse an id already logged (e.g. %r): a prediction id must be "
                "unique, so they are not logged",
                len(reused),
                reused[0],
            )
        return stored

    def _write_new(
        self, model: str, version: int, arm: str, frame: pd.DataFrame
    ) -> tuple[int, list[str]]:
        """Write the rows of ``frame`` whose prediction ids are new: the first row of each id,
        less the ids the store refuses as logged before.

        Returns the number of rows written and the ids of the rows left out. Raises what the
        chunk writer raises, Conflict included when the ids it names cannot be found in the log.
        """
        repeated = frame[PREDICTION_ID].duplicated()
        left_out: list[str] = frame.loc[repeated, PREDICTION_ID].tolist()
        frame = frame.loc[~repeated].reset_index(drop=True)
        while len(frame):
            try:
                self._write_chunk(model, version, arm, frame)
                return len(frame), left_out
            except Conflict:
                logged = self._logged(frame[PREDICTION_ID].tolist()) if self._logged else set()
                if not logged:
                    raise
                known = frame[PREDICTION_ID].isin(logged)
                left_out += frame.loc[known, PREDICTION_ID].tolist()
                frame = frame.loc[~known].reset_index(drop=True)
        return 0, left_out

    def _drop(self, model: str, version: int, rows: int) -> None:
        """Count rows the log cannot keep, in ``dropped_rows`` and through ``on_dropped``."""
        self.dropped_rows += rows
        if self._on_dropped is not None:
            self._on_dropped(model, version, rows)

    def _requeue(self, key: tuple[str, int, str], entries: list[Answered]) -> None:
        with self._lock:
            self._pending.setdefault(key, [])[:0] = entries
            self._pending_rows += sum(len(e.features) for e in entries)

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            self.flush()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread and write what is left; nothing answered is lost."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        while self._pending_rows and time.monotonic() < deadline:
            self.flush()
            if self._pending_rows:
                time.sleep(0.2)
        if self._spool is not None:
            self._spool.close(keep=bool(self._pending_rows))
