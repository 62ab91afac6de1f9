"""Validated input rows kept as their column arrays, with the DataFrame built only when asked.

A server parses every request into a handful of rows and merges the requests of a micro-batch
into one model call. Building a DataFrame per request and concatenating the frames of each
batch cost more than the model call of a small linear model; ``Rows`` keeps what the checks in
``mloop.modelio.frame`` produced (one array per column) and merges batches column by column.
A model that takes a plain array (``mloop.modelio.arrays``) gets ``Rows.array()``; any other
model, and anything outside the request path, gets ``Rows.frame``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd


class Rows:
    """Rows of named columns: ``names`` (n_columns,) and one array-like of n_rows per column.

    A column is a numpy array, or a pandas extension array or Series (categories, nullable
    booleans and strings, timestamps with a time zone). Columns are not copied; nothing here
    changes them.
    """

    def __init__(self, names: tuple[str, ...], columns: Sequence[Any]) -> None:
        if len(names) != len(columns):
            raise ValueError(f"{len(names)} names for {len(columns)} columns")
        self.names = names
        self.columns = tuple(columns)

    @classmethod
    def of_frame(cls, frame: pd.DataFrame) -> Rows:
        """The columns of ``frame`` (its column labels as strings), without copying; ``frame``
        itself becomes the rows' ``frame`` when its index is the RangeIndex that one has."""
        names = tuple(str(name) for name in frame.columns.tolist())
        rows = cls(names, [_column(frame.iloc[:, i]) for i in range(frame.shape[1])])
        if frame.index.equals(pd.RangeIndex(len(frame))):
            rows.__dict__["frame"] = frame
        return rows

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame (built once, then kept) with a RangeIndex of n_rows."""
        data = {position: column for position, column in enumerate(self.columns)}
        frame = pd.DataFrame(data, copy=False)
        frame.columns = column_index(self.names)
        return frame

    def array(self) -> np.ndarray:
        """The rows as one numpy array of shape (n_rows, n_columns), columns in ``names`` order.

        It is what ``DataFrame.to_numpy()`` gives for numpy columns: the same dtype (float64
        for numbers mixed with integers) and the same column-major memory order, which matters
        because a model's floating-point sums can differ in the last bit between orders.
        Raises ValueError when there are no columns.
        """
        if not self.columns:
            raise ValueError("rows without columns have no array")
        return np.vstack(self.columns).T

    @staticmethod
    def merge(parts: Sequence[Rows]) -> Rows:
        """``parts`` one after the other: n_rows is the sum of theirs.

        Parts with the same names and plain numpy columns of the same dtypes are joined array by
        array; any other mix goes through ``pandas.concat`` of their frames, whose dtype rules
        then apply. Raises ValueError for no parts.
        """
        if not parts:
            raise ValueError("nothing to merge")
        first = parts[0]
        if len(parts) == 1:
            return first
        if all(_same_plain_columns(first, part) for part in parts):
            columns = [
                np.concatenate([part.columns[i] for part in parts]) for i in range(len(first.names))
            ]
            return Rows(first.names, columns)
        return Rows.of_frame(pd.concat([part.frame for part in parts], ignore_index=True))


def _column(series: pd.Series) -> Any:
    """A numpy array for a numpy dtype, else the extension array itself."""
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return series.array
    return series.to_numpy()


def _same_plain_columns(first: Rows, other: Rows) -> bool:
    if other.names != first.names:
        return False
    return all(
        isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
        for a, b in zip(first.columns, other.columns, strict=True)
    )


@functools.lru_cache(maxsize=256)
def column_index(names: tuple[str, ...]) -> pd.Index:
    """One shared (immutable) column index per tuple of names."""
    return pd.Index(list(names))
