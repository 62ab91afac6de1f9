"""Offline batch scoring: a CSV or Parquet file in, the same rows with predictions out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mloop.errors import InvalidInput, NotFound
from mloop.modelio.frame import frame_from_columns
from mloop.modelio.loaded import LoadedModel
from mloop.modelio.outputs import predict_outputs

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


def read_batches(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """The file's rows in frames of at most ``rows``."""
    if not path.is_file():
        raise NotFound(f"input file {str(path)!r} does not exist")
    if file_format(path) == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
            yield batch.to_pandas()
    else:
        yield from pd.read_csv(path, chunksize=rows)


def scored(model: LoadedModel, chunk: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    """A chunk validated against the model's signature, with prediction (and proba.*) columns."""
    columns = {
        str(c): chunk[c].astype(object).where(chunk[c].notna(), None).tolist() for c in chunk
    }
    frame = frame_from_columns(columns, model.signature, max_rows=max_rows)
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
        for chunk in read_batches(source, batch_rows):
            result = scored(model, chunk, max_rows=batch_rows)
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
