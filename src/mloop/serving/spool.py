"""The prediction log's local spool: answered rows on disk before the answer is sent.

Each server process appends every answered micro-batch to its own segment file (opened
``O_APPEND``, one ``os.write`` per micro-batch, no fsync) and holds an exclusive ``flock`` on it.
The operating system keeps written data when the process dies, so rows the log writer still
buffered survive a killed worker. Once the writer has stored a segment's rows in the log, the
segment is deleted. A starting server drains segments nobody holds a lock on (their process is
gone) into the log, skipping prediction ids already logged, then deletes them.

A record is ``<u32 header length><u64 body length><header JSON><body>``, the header naming the
model, version and arm of the rows. The body is an Arrow IPC stream, or, when the header has
``"format": "columns"`` (``columns_record``), the raw bytes of the numeric columns one after the
other, the header listing each column's numpy dtype or holding its values as JSON. Building an
Arrow batch and its IPC stream for each micro-batch cost a busy server's event loop about as
much CPU as the model call; the column record is a few buffer copies and one small JSON.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import logging
import os
import re
import struct
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

logger = logging.getLogger("mloop.serving.log")
_FRAMING = struct.Struct("<IQ")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

RowsWriter = Callable[[str, int, str, pd.DataFrame], object]
LoggedIds = Callable[[list[str]], set[str]]


def spool_directory(home: Path, model: str, store_url: str) -> Path:
    """Where servers of ``model`` on the store at ``store_url`` spool: one folder per pair."""
    store = hashlib.sha256(store_url.encode()).hexdigest()[:12]
    return home / "spool" / f"{_UNSAFE.sub('_', model)}-{store}"


def spool_record(model: str, version: int, arm: str, rows: pd.DataFrame | pa.RecordBatch) -> bytes:
    """One record of the spool: the framing, the header and ``rows`` as an Arrow IPC stream."""
    header = json.dumps({"model": model, "version": version, "arm": arm}).encode()
    batch = (
        rows
        if isinstance(rows, pa.RecordBatch)
        else pa.RecordBatch.from_pandas(rows, preserve_index=False)
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as stream:
        stream.write_batch(batch)
    body = sink.getvalue()
    return b"".join((_FRAMING.pack(len(header), body.size), header, body.to_pybytes()))


def columns_record(
    model: str, version: int, arm: str, columns: Mapping[str, Any], rows: int
) -> bytes | None:
    """One record of the spool holding ``columns`` (``rows`` rows each) as they are.

    A column is a numpy array of numbers or booleans (its bytes, in its dtype), a numpy array of
    objects or a list (its values as JSON), or None (no values: a string column of nulls).
    Returns None when a column is anything else (a pandas extension array) or holds a value JSON
    cannot hold; such rows need ``spool_record``.
    """
    specs: list[dict[str, Any]] = []
    buffers: list[memoryview] = []
    for name, values in columns.items():
        if values is None:
            specs.append({"name": name, "null": True})
        elif isinstance(values, list):
            specs.append({"name": name, "values": values})
        elif isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
            specs.append({"name": name, "dtype": values.dtype.str})
            buffers.append(np.ascontiguousarray(values).data)
        elif isinstance(values, np.ndarray) and values.dtype.kind == "O":
            specs.append({"name": name, "values": values.tolist()})
        else:
            return None
    head = {"model": model, "version": version, "arm": arm, "format": "columns", "rows": rows}
    try:
        header = json.dumps({**head, "columns": specs}).encode()
    except (TypeError, ValueError):
        return None
    body = b"".join(buffers)
    return b"".join((_FRAMING.pack(len(header), len(body)), header, body))


def _columns_table(header: dict[str, Any], body: bytes) -> pa.Table:
    """The rows of a ``columns_record`` as the Arrow table ``spool_record`` would have held."""
    rows, offset = int(header["rows"]), 0
    arrays = []
    for spec in header["columns"]:
        if spec.get("null"):
            arrays.append(pa.nulls(rows, pa.string()))
        elif "values" in spec:
            arrays.append(pa.array(np.array(spec["values"], dtype=object), from_pandas=True))
        else:
            dtype = np.dtype(spec["dtype"])
            arrays.append(pa.array(np.frombuffer(body, dtype, count=rows, offset=offset)))
            offset += rows * dtype.itemsize
    return pa.Table.from_arrays(arrays, names=[spec["name"] for spec in header["columns"]])


@dataclass(frozen=True)
class Segment:
    """One spool file this process holds open and locked."""

    path: Path
    fd: int


class Spool:
    """The segment files of one server process; not thread-safe (the log writer serializes)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._segments: list[Segment] = []
        self._name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._numbers = itertools.count()

    def open(self) -> None:
        """Create the directory and the first segment."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._segments.append(self._new_segment())

    def append(self, record: bytes) -> None:
        """Append one record to the current segment with one write (more only if cut short)."""
        view = memoryview(record)
        while view:
            view = view[os.write(self._segments[-1].fd, view) :]

    def rotate(self) -> list[Segment]:
        """Start a new segment; return the older ones still on disk (oldest first)."""
        self._segments.append(self._new_segment())
        return self._segments[:-1]

    def remove(self, segments: list[Segment]) -> None:
        """Delete segments whose rows are in the log."""
        for segment in segments:
            segment.path.unlink(missing_ok=True)
            os.close(segment.fd)
            self._segments.remove(segment)

    def close(self, *, keep: bool) -> None:
        """Release every segment; delete them unless ``keep`` (rows not in the log yet)."""
        for segment in self._segments:
            if not keep:
                segment.path.unlink(missing_ok=True)
            os.close(segment.fd)
        self._segments = []

    def _new_segment(self) -> Segment:
        """A locked segment, renamed to ``*.spool`` only once locked so no drainer takes it.

        Segments are numbered by a counter of this spool, never reused: a number taken from the
        segments still open would repeat after a removal, and the rename would then replace the
        live segment's file.
        """
        number = next(self._numbers)
        opening = self.directory / f"{self._name}-{number}.opening"
        fd = os.open(opening, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = opening.with_suffix(".spool")
        opening.rename(path)
        return Segment(path, fd)


def drain_orphans(directory: Path, write: RowsWriter, logged: LoggedIds) -> int:
    """Write the rows of segments left by processes that are gone into the log; delete them.

    Ids already logged are skipped, so draining twice writes nothing twice. A segment the store
    refuses stays on disk for the next start. Returns the number of rows written.
    """
    if not directory.is_dir():
        return 0
    written = 0
    for path in sorted(directory.glob("*.spool")):
        fd = _lock_orphan(path)
        if fd is None:
            continue
        try:
            written += _drain(path, write, logged)
            path.unlink(missing_ok=True)
        except Exception:
            logger.exception("could not drain the spool file %s; it is kept", path)
        finally:
            os.close(fd)
    return written


def _lock_orphan(path: Path) -> int | None:
    """A locked descriptor of a segment nobody else holds, or None."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _drain(path: Path, write: RowsWriter, logged: LoggedIds) -> int:
    groups: dict[tuple[str, int, str], list[pa.Table]] = {}
    for key, table in _records(path.read_bytes()):
        groups.setdefault(key, []).append(table)
    written = 0
    for (model, version, arm), tables in groups.items():
        frame = pa.concat_tables(tables, promote_options="permissive").to_pandas()
        frame = frame.drop_duplicates("prediction_id", ignore_index=True)
        done = logged(frame["prediction_id"].tolist())
        frame = frame[~frame["prediction_id"].isin(done)].reset_index(drop=True)
        if len(frame):
            write(model, version, arm, frame)
            written += len(frame)
    return written


def _records(data: bytes) -> Iterator[tuple[tuple[str, int, str], pa.Table]]:
    """The complete records of a segment; a record cut short by a crash ends the segment."""
    offset = 0
    while offset + _FRAMING.size <= len(data):
        header_size, body_size = _FRAMING.unpack_from(data, offset)
        start = offset + _FRAMING.size
        end = start + header_size + body_size
        if end > len(data):
            return
        header = json.loads(data[start : start + header_size])
        body = data[start + header_size : end]
        table = (
            _columns_table(header, body)
            if header.get("format") == "columns"
            else pa.ipc.open_stream(pa.py_buffer(body)).read_all()
        )
        yield (header["model"], int(header["version"]), header["arm"]), table
        offset = end
