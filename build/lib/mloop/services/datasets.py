"""Datasets a run keeps as Parquet artifacts: where they are named and how they are written."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pyarrow as pa

from mloop.errors import IntegrityError, InvalidInput
from mloop.fingerprint import dataset_frame, split_dataset_frame

DATASET_FOLDER = "datasets"


def dataset_path(name: str) -> str:
    """The artifact path of a stored dataset: ``datasets/<name>.parquet``."""
    return f"{DATASET_FOLDER}/{name}.parquet"


def dataset_parquet(name: str, features: Any, target: Any = None) -> bytes:
    """Features and target as zstd Parquet bytes (target columns as ``target.<name>``).

    Raises InvalidInput for data Parquet cannot hold.
    """
    frame, _ = dataset_frame(name, features, target)
    sink = io.BytesIO()
    try:
        frame.to_parquet(sink, index=False, compression="zstd")
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
        raise InvalidInput(f"dataset {name!r} cannot be stored as Parquet: {exc}") from exc
    return sink.getvalue()


def read_dataset_parquet(data: bytes) -> tuple[pd.DataFrame, Any]:
    """The features and target of Parquet bytes made by ``dataset_parquet``.

    Raises IntegrityError when the bytes are not Parquet.
    """
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise IntegrityError(f"a stored dataset is not readable Parquet: {exc}") from exc
    return split_dataset_frame(frame)
