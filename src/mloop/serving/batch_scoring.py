"""Offline batch scoring: a CSV or Parquet file in, the same rows with predictions out.

Many files are scored as independent jobs by an executor's ``map`` (in this process, or on
Dask workers), each into a file of the same name and format.

A CSV's cells are typed by the model's signature, exactly as ``/invocations`` types a CSV body.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mloop.errors import InvalidInput, MalformedRequest, NotFound
from mloop.modelio.frame import frame_from_columns
from mloop.modelio.loaded import LoadedModel
from mloop.modelio.outputs import predict_outputs
from mloop.modelio.signature import Signature
from mloop.modelio.text import text_columns, typed_columns

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def file_format(path: Path) -> str:
    """'csv' or 'parquet', from the file's suffix."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InvalidInput(f"{path}: use a .csv or .parquet file", field=str(path))
    return kind


def count_rows(path: Path) -> int:
    """How many data rows a CSV or Parquet file holds."""
    if file_format(path) == "parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


@dataclass(frozen=True)
class Batch:
    """Columns of values read from a file, and where in the file they are (for errors)."""

    place: str
    columns: dict[str, list[Any]]


def read_batches(path: Path, rows: int, signature: Signature) -> Iterator[Batch]:
    """The file's rows, at most ``rows`` at a time, as columns of values.

    CSV cells are read as text and converted by ``signature`` (see ``mloop.modelio.text``).
    Raises NotFound for a missing file, MalformedRequest for text that is not CSV, and
    InvalidInput naming the feature, the file's line and the text of a cell that does not convert.
    """
    if not path.is_file():
        raise NotFound(f"input file {str(path)!r} does not exist")
    if file_format(path) == "parquet":
        start = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
            place = f"{path.name} rows {start + 1}-{start + batch.num_rows}"
            yield Batch(place, _columns(batch.to_pandas()))
            start += batch.num_rows
        return
    line = 2
    for cells in _csv_parts(path, rows):
        count = len(next(iter(cells.values()), []))
        where = partial(_line, path.name, line)
        place = f"{path.name} lines {line}-{line + count - 1}"
        yield Batch(place, typed_columns(cells, signature, where))
        line += count


def _csv_parts(path: Path, rows: int) -> Iterator[dict[str, list[str]]]:
    """The CSV file's cells as text, ``rows`` at a time; a malformed file is named."""
    try:
        yield from text_columns(path, rows=rows)
    except MalformedRequest as exc:
        raise MalformedRequest(f"{path.name}: {exc.message}", field=str(path)) from exc


def _line(name: str, first: int, row: int) -> str:
    return f"{name} line {first + row}"


def _columns(chunk: pd.DataFrame) -> dict[str, list[Any]]:
    return {str(c): chunk[c].astype(object).where(chunk[c].notna(), None).tolist() for c in chunk}


def scored(model: LoadedModel, batch: Batch, max_rows: int) -> pd.DataFrame:
    """A batch validated against the model's signature, with prediction (and proba.*) columns.

    Raises InvalidInput naming the feature and the batch's place in the file.
    """
    try:
        frame = frame_from_columns(batch.columns, model.signature, max_rows=max_rows)
    except InvalidInput as exc:
        raise InvalidInput(f"{batch.place}: {exc.message}", field=exc.field) from exc
    outputs = predict_outputs(model.estimator, frame)
    result = frame.copy()
    result["prediction"] = outputs.predictions
    if outputs.probabilities is not None and outputs.classes is not None:
        for index, label in enumerate(outputs.classes):
            result[f"proba.{label}"] = outputs.probabilities[:, index]
    return result


def score_file(
    model: LoadedModel,
    source: Path,
    target: Path,
    *,
    batch_rows: int = 10_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Score every row of ``source`` into ``target`` batch by batch; return the row count."""
    output_kind = file_format(target)
    temp = target.with_name(f".{target.name}.partial")
    writer: pq.ParquetWriter | None = None
    total = 0
    try:
        for batch in read_batches(source, batch_rows, model.signature):
            result = scored(model, batch, max_rows=batch_rows)
            if output_kind == "parquet":
                table = pa.Table.from_pandas(result, preserve_index=False)
                writer = writer or pq.ParquetWriter(temp, table.schema)
                writer.write_table(table)
            else:
                result.to_csv(temp, mode="a", header=total == 0, index=False)
            total += len(result)
            if progress is not None:
                progress(len(result))
        if writer is not None:
            writer.close()
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
    return total


@dataclass(frozen=True)
class FileJob:
    """One file to score and where its predictions go."""

    source: Path
    target: Path


@dataclass(frozen=True)
class FileScorer:
    """Scores one ``FileJob`` with one model; picklable, so a Dask worker can run it too."""

    model: LoadedModel
    batch_rows: int = 10_000

    def __call__(self, job: FileJob) -> int:
        """Score ``job.source`` into ``job.target``; return the row count.

        Raises InvalidInput naming the file when it has no rows or cannot be read.
        """
        try:
            if count_rows(job.source) == 0:
                raise InvalidInput(f"{job.source} has no rows", field=str(job.source))
            return score_file(self.model, job.source, job.target, batch_rows=self.batch_rows)
        except (pa.ArrowException, UnicodeDecodeError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise InvalidInput(
                f"{job.source} cannot be read: {reason}", field=str(job.source)
            ) from exc


MapTasks = Callable[[Callable[[Any], Any], Sequence[Any], Callable[[int], None] | None], list[Any]]


def score_files(
    model: LoadedModel,
    jobs: Sequence[FileJob],
    map_tasks: MapTasks,
    *,
    batch_rows: int = 10_000,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Score every job's file with ``map_tasks`` (an executor's ``map``); return rows per file.

    The predictions are written next to their targets under temporary names and moved into
    place only when every file has been scored, so a failure leaves no output behind.
    ``progress(done)`` is called with the number of files finished. Raises what scoring a file
    raises (see ``read_batches``).
    """
    token = uuid.uuid4().hex[:8]
    staged = [FileJob(j.source, j.target.with_name(f".{token}.{j.target.name}")) for j in jobs]
    try:
        rows = map_tasks(FileScorer(model, batch_rows), staged, progress)
        for stage, job in zip(staged, jobs, strict=True):
            stage.target.replace(job.target)
    finally:
        for stage in staged:
            stage.target.unlink(missing_ok=True)
    return [int(n) for n in rows]
