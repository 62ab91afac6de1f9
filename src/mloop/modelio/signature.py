"""Model signatures: the columns a model takes, their types, categories and observed ranges."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidInput

MAX_CATEGORIES = 1000


def _kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    return "string"


def _column(name: str, series: pd.Series) -> dict[str, Any]:
    kind = _kind(series)
    spec: dict[str, Any] = {
        "name": name,
        "dtype": str(series.dtype),
        "kind": kind,
        "nullable": bool(series.isna().any()),
    }
    values = series.dropna()
    if kind in {"integer", "number"} and len(values):
        spec["min"] = float(values.min())
        spec["max"] = float(values.max())
    if kind in {"category", "string", "boolean"}:
        observed = sorted({_plain(v) for v in values.unique()}, key=str)
        if isinstance(series.dtype, pd.CategoricalDtype):
            observed = [_plain(v) for v in series.cat.categories]
        if len(observed) <= MAX_CATEGORIES:
            spec["categories"] = observed
    return spec


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def infer_signature(frame: pd.DataFrame, outputs: Any = None) -> dict[str, Any]:
    """Describe a model's inputs (and optionally outputs) from an example frame."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput("a signature is inferred from a pandas DataFrame of model inputs")
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise InvalidInput("the example frame has duplicate column names")
    signature: dict[str, Any] = {
        "inputs": [
            _column(name, frame[col]) for name, col in zip(names, frame.columns, strict=True)
        ]
    }
    if outputs is not None:
        array = np.asarray(outputs)
        signature["outputs"] = {"dtype": str(array.dtype), "shape": [-1, *array.shape[1:]]}
    return signature
