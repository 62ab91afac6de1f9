"""Dataset fingerprints: a content hash, the schema and the size of what a run trained on."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from mloop.entities import DatasetFingerprint
from mloop.errors import InvalidInput


def _as_frame(data: Any, prefix: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame(name=str(data.name) if data.name is not None else prefix)
    array = np.asarray(data)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise InvalidInput(f"a dataset must be 1- or 2-dimensional, got {array.ndim} dimensions")
    return pd.DataFrame(array, columns=[f"{prefix}{i}" for i in range(array.shape[1])])


TARGET_PREFIX = "target."


def dataset_frame(name: str, features: Any, target: Any = None) -> tuple[pd.DataFrame, str | None]:
    """Features and target as one frame (target columns as ``target.<name>``) and the target's
    name (comma-separated for several columns, None without one).

    Raises InvalidInput when the target's length differs from the features'.
    """
    frame = _as_frame(features, "x")
    if target is None:
        return frame, None
    labels = _as_frame(target, "y")
    labels.columns = [f"{TARGET_PREFIX}{c}" for c in labels.columns]
    if len(labels) != len(frame):
        raise InvalidInput(
            f"dataset {name!r}: {len(frame)} rows of features but {len(labels)} labels"
        )
    target_name = ",".join(str(c).removeprefix(TARGET_PREFIX) for c in labels.columns)
    joined = pd.concat([frame.reset_index(drop=True), labels.reset_index(drop=True)], axis=1)
    return joined, target_name


def split_dataset_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, Any]:
    """The features and target (a Series for one column, a frame for several, None for none)
    of a frame made by ``dataset_frame``."""
    targets = [c for c in frame.columns if str(c).startswith(TARGET_PREFIX)]
    features = frame.drop(columns=targets)
    labels = frame[targets].rename(columns=lambda c: str(c).removeprefix(TARGET_PREFIX))
    if not targets:
        return features, None
    return features, labels.iloc[:, 0] if len(targets) == 1 else labels


def fingerprint_dataset(name: str, features: Any, target: Any = None) -> DatasetFingerprint:
    """Hash a dataset's content (values, column names and dtypes) and describe its schema."""
    frame, target_name = dataset_frame(name, features, target)
    schema = {str(column): str(dtype) for column, dtype in frame.dtypes.items()}
    digest = hashlib.sha256(repr(list(schema.items())).encode())
    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest.update(np.ascontiguousarray(row_hashes).tobytes())
    return DatasetFingerprint(name, digest.hexdigest(), len(frame), schema, target_name)
