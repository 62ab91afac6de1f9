"""Request input (records, columns or rows) checked against a signature, as ``Rows`` or a frame."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidInput
from mloop.modelio.rows import Rows
from mloop.modelio.signature import ColumnSpec, Signature

Spec = ColumnSpec
SignatureLike = Signature | Mapping[str, Any]
Column = Sequence[Any] | np.ndarray

_NUMBERS: tuple[type, ...] = (int, float, np.integer, np.floating)
_SCALARS: tuple[type, ...] = (str, bool, int, float, np.generic)
_TIMESTAMPS: tuple[type, ...] = (str, datetime, np.datetime64)
_NESTED: tuple[type, ...] = (list, tuple, dict, set, Mapping)
_INT64_LIMIT = 2.0**63
_FLOAT_LIMIT = sys.float_info.max
_SHOWN = 10
_UNTYPED = ColumnSpec("")


def frame_from_records(
    records: Sequence[Mapping[str, Any]], signature: SignatureLike, *, max_rows: int
) -> pd.DataFrame:
    """A validated frame from a list of ``{feature: value}`` objects, one per row (see
    ``rows_from_records``)."""
    return rows_from_records(records, signature, max_rows=max_rows).frame


def frame_from_columns(
    columns: Mapping[str, Column], signature: SignatureLike, *, max_rows: int
) -> pd.DataFrame:
    """A validated frame from ``{feature: [value, ...]}`` (see ``rows_from_columns``)."""
    return rows_from_columns(columns, signature, max_rows=max_rows).frame


def frame_from_rows(
    columns: Sequence[str] | None,
    rows: Sequence[Sequence[Any]] | np.ndarray,
    signature: SignatureLike,
    *,
    max_rows: int,
) -> pd.DataFrame:
    """A validated frame from rows of values (see ``rows_from_lists``)."""
    return rows_from_lists(columns, rows, signature, max_rows=max_rows).frame


def rows_from_records(
    records: Sequence[Mapping[str, Any]], signature: SignatureLike, *, max_rows: int
) -> Rows:
    """Validated rows from a list of ``{feature: value}`` objects, one per row.

    Columns come in the signature's order (the first record's without one). Raises
    InvalidInput naming the record or feature: not an object, a missing or unknown feature, a
    value of the wrong type, out of range or null where the signature forbids it, or a batch
    that is empty or over ``max_rows``.
    """
    _check_batch(records, "records", max_rows)
    specs = _specs(signature)
    names = list(specs) or list(_record(records, 0))
    if not names:
        raise InvalidInput("records[0] has no features", field="records[0]")
    expected = set(names)
    for i in range(len(records)):
        if (keys := _record(records, i).keys()) != expected:
            _check_names(keys, names, f" (records[{i}])")
    columns = {name: list(map(itemgetter(name), records)) for name in names}
    return _rows(columns, specs)


def rows_from_columns(
    columns: Mapping[str, Column], signature: SignatureLike, *, max_rows: int
) -> Rows:
    """Validated rows from ``{feature: [value, ...]}``, one equally long list per feature.

    Raises InvalidInput as ``rows_from_records`` does, and for lists of different lengths.
    """
    if not isinstance(columns, Mapping):
        raise InvalidInput("columns must be an object of feature name -> list of values")
    specs = _specs(signature)
    names = list(specs) or list(columns)
    _check_names(columns.keys(), names, "")
    length = None
    for name in names:
        values = columns[name]
        if not _is_list(values):
            raise InvalidInput(f"feature {name!r}: expected a list of values", field=name)
        length = len(values) if length is None else length
        if len(values) != length:
            raise InvalidInput(
                f"feature {name!r} has {len(values)} values, expected {length} like "
                f"feature {names[0]!r}",
                field=name,
            )
    _check_size(length or 0, max_rows)
    return _rows({name: columns[name] for name in names}, specs)


def rows_from_lists(
    columns: Sequence[str] | None,
    rows: Sequence[Sequence[Any]] | np.ndarray,
    signature: SignatureLike,
    *,
    max_rows: int,
) -> Rows:
    """Validated rows from lists of values, in ``columns`` order or else the signature's.

    Raises InvalidInput as ``rows_from_records`` does, for a name given twice, and for a row
    whose length is not the number of columns.
    """
    if columns is not None and not _is_list(columns):
        raise InvalidInput("columns must be a list of feature names", field="columns")
    specs = _specs(signature)
    given = list(specs) if columns is None else [str(c) for c in columns]
    if not given:
        raise InvalidInput("column names are required: the model has no signature", field="columns")
    if len(set(given)) != len(given):
        twice = next(c for c in given if given.count(c) > 1)
        raise InvalidInput(f"feature {twice!r} is named twice in columns", field=twice)
    names = list(specs) or given
    _check_batch(rows, "rows", max_rows)
    matrix = rows if isinstance(rows, np.ndarray) and rows.ndim == 2 else None
    if matrix is None or matrix.shape[1] != len(given):
        _check_widths(rows, len(given))
    _check_names(given, names, "")
    if matrix is not None:
        cells: Mapping[str, Column] = {name: matrix[:, j] for j, name in enumerate(given)}
    else:
        cells = dict(zip(given, zip(*rows, strict=True), strict=True))
    return _rows({name: cells[name] for name in names}, specs)


def _specs(signature: SignatureLike) -> dict[str, Spec]:
    return Signature.coerce(signature).by_name


def _is_list(values: Any) -> bool:
    if isinstance(values, np.ndarray):
        return values.ndim == 1
    return isinstance(values, Sequence) and not isinstance(values, str | bytes)


def _check_batch(items: Any, what: str, max_rows: int) -> None:
    if not _is_list(items) and not (isinstance(items, np.ndarray) and items.ndim == 2):
        raise InvalidInput(f"{what} must be a list", field=what)
    _check_size(len(items), max_rows)


def _check_size(count: int, max_rows: int) -> None:
    if count == 0:
        raise InvalidInput("empty batch: send at least one row")
    if count > max_rows:
        raise InvalidInput(f"batch of {count} rows is over the limit of {max_rows} rows")


def _record(records: Sequence[Any], i: int) -> Mapping[str, Any]:
    record = records[i]
    if not isinstance(record, Mapping):
        raise InvalidInput(
            f"records[{i}] must be an object of feature values, got {_show(record)}",
            field=f"records[{i}]",
        )
    return record


def _check_names(given: Collection[str], names: Sequence[str], where: str) -> None:
    for name in names:
        if name not in given:
            raise InvalidInput(f"missing feature {name!r}{where}", field=name)
    known = set(names)
    for name in given:
        if name not in known:
            listed = ", ".join(names[:_SHOWN]) + (", ..." if len(names) > _SHOWN else "")
            raise InvalidInput(
                f"unknown feature {name!r}{where}; expected: {listed}", field=str(name)
            )


def _check_widths(rows: Column, width: int) -> None:
    for i, row in enumerate(rows):
        if not _is_list(row) or len(row) != width:
            shape = f"{len(row)} values" if _is_list(row) else _show(row)
            raise InvalidInput(
                f"rows[{i}]: expected a list of {width} values (one per column), got {shape}",
                field=f"rows[{i}]",
            )


def _rows(columns: Mapping[str, Column], specs: Mapping[str, Spec]) -> Rows:
    """Each column converted by its kind's checks."""
    converted = []
    for name, values in columns.items():
        spec = specs.get(name, _UNTYPED)
        converted.append(_CONVERTERS.get(spec.kind, _untyped)(name, values, spec))
    return Rows(tuple(columns), converted)


def _types(values: Column) -> set[type]:
    if isinstance(values, np.ndarray) and values.dtype != object:
        return {values.dtype.type}
    return set(map(type, values))


def _accepts(kind: type, accepted: tuple[type, ...]) -> bool:
    return issubclass(kind, accepted) and (kind is not bool or bool in accepted)


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _check_types(
    name: str, values: Column, accepted: tuple[type, ...], expected: str, spec: Spec
) -> set[type]:
    """The cell types of a column, after refusing any cell that is not of an accepted type."""
    types = _types(values)
    nullable = spec.nullable
    if all(_accepts(t, accepted) or (nullable and t is type(None)) for t in types):
        return types
    for i, value in enumerate(values):
        if _is_null(value) and not _accepts(type(value), accepted):
            if not nullable:
                raise _null(name, i)
        elif not _accepts(type(value), accepted):
            raise InvalidInput(
                f"feature {name!r}: expected {expected}, got {_show(value)} (row {i})", field=name
            )
    return types


def _null(name: str, row: int) -> InvalidInput:
    return InvalidInput(f"feature {name!r}: null/NaN is not allowed (row {row})", field=name)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _first(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def _out_of_range(name: str, values: Column, row: int) -> InvalidInput:
    return InvalidInput(
        f"feature {name!r}: {_show(values[row])} is out of range (row {row})", field=name
    )


def _floats(name: str, values: Column) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except OverflowError:
        row = next(i for i, v in enumerate(values) if v is not None and abs(v) > _FLOAT_LIMIT)
        raise _out_of_range(name, values, row) from None


def _check_finite(name: str, array: np.ndarray, spec: Spec) -> None:
    missing = np.isnan(array)
    if missing.any() and not spec.nullable:
        raise _null(name, _first(missing))
    infinite = np.isinf(array)
    if infinite.any():
        allowed = (array == math.inf) & (spec.max == math.inf)
        allowed |= (array == -math.inf) & (spec.min == -math.inf)
        if (refused := infinite & ~allowed).any():
            row = _first(refused)
            raise InvalidInput(f"feature {name!r}: infinity is not allowed (row {row})", field=name)


def _number(name: str, values: Column, spec: Spec) -> np.ndarray:
    _check_types(name, values, _NUMBERS, "a number", spec)
    array = _floats(name, values)
    _check_finite(name, array, spec)
    return array


def _integer(name: str, values: Column, spec: Spec) -> np.ndarray:
    types = _check_types(name, values, _NUMBERS, "an integer", spec)
    if all(issubclass(t, int | np.integer) for t in types):
        try:
            return np.asarray(values, dtype=np.int64)
        except OverflowError:
            row = next(i for i, v in enumerate(values) if abs(v) >= _INT64_LIMIT)
            raise _out_of_range(name, values, row) from None
    array = _floats(name, values)
    _check_finite(name, array, spec)
    finite = np.isfinite(array)
    if (fractional := finite & (array != np.trunc(array))).any():
        row = _first(fractional)
        raise InvalidInput(
            f"feature {name!r}: expected an integer, got {_show(values[row])} (row {row})",
            field=name,
        )
    if not finite.all():
        return array
    if (too_large := np.abs(array) >= _INT64_LIMIT).any():
        raise _out_of_range(name, values, _first(too_large))
    return array.astype(np.int64)


def _boolean(name: str, values: Column, spec: Spec) -> Any:
    types = _check_types(name, values, (bool, np.bool_), "true or false", spec)
    if spec.dtype == "boolean" or not all(issubclass(t, bool | np.bool_) for t in types):
        return pd.array(values, dtype="boolean")
    return np.asarray(values, dtype=bool)


def _string(name: str, values: Column, spec: Spec) -> Any:
    types = _check_types(name, values, (str,), "a string", spec)
    dtype = _dtype(spec, object)
    if isinstance(dtype, pd.StringDtype):
        return pd.array(values, dtype=dtype)
    array = np.asarray(values, dtype=object)
    if types != {str}:
        array[pd.isna(array)] = np.nan
    return array


def _category(name: str, values: Column, spec: Spec) -> Any:
    _check_types(name, values, _SCALARS, "a category value", spec)
    if spec.categories is None:
        return pd.Categorical(values)
    dtype = pd.CategoricalDtype(list(spec.categories))
    codes = dtype.categories.get_indexer(pd.Index(values, dtype=object))
    for row in np.flatnonzero(codes < 0).tolist():
        value = values[row]
        if not _is_null(value):
            listed = ", ".join(map(repr, dtype.categories[:_SHOWN]))
            more = ", ..." if len(dtype.categories) > _SHOWN else ""
            raise InvalidInput(
                f"feature {name!r}: unknown category {_show(value)} (row {row}); "
                f"expected one of {listed}{more}",
                field=name,
            )
        if not spec.nullable:
            raise _null(name, row)
    return pd.Categorical.from_codes(codes, dtype=dtype)


def _datetime(name: str, values: Column, spec: Spec) -> Any:
    _check_types(name, values, _TIMESTAMPS, "an ISO-8601 timestamp", spec)
    parsed = _timestamps(name, values)
    for row in np.flatnonzero(parsed.isna()).tolist():
        if not _is_null(values[row]):
            raise _not_a_timestamp(name, values, row)
        if not spec.nullable:
            raise _null(name, row)
    target = _dtype(spec, np.dtype("datetime64[ns]"))
    if not pd.api.types.is_datetime64_any_dtype(target):
        target = np.dtype("datetime64[ns]")
    tz = getattr(target, "tz", None)
    local = parsed.tz_convert(tz) if tz is not None else parsed.tz_localize(None)
    return local.astype(target).array


def _timestamps(name: str, values: Column) -> pd.DatetimeIndex:
    try:
        return pd.to_datetime(values, format="ISO8601", utc=True)
    except (ValueError, TypeError, OverflowError):
        for row, value in enumerate(values):
            try:
                pd.to_datetime([value], format="ISO8601", utc=True)
            except (ValueError, TypeError, OverflowError):
                raise _not_a_timestamp(name, values, row) from None
        raise InvalidInput(f"feature {name!r}: timestamps could not be read", field=name) from None


def _not_a_timestamp(name: str, values: Column, row: int) -> InvalidInput:
    return InvalidInput(
        f"feature {name!r}: expected an ISO-8601 timestamp, got {_show(values[row])} (row {row})",
        field=name,
    )


def _dtype(spec: Spec, default: Any) -> Any:
    try:
        return pd.api.types.pandas_dtype(spec.dtype or default)
    except TypeError:
        return default


def _untyped(name: str, values: Column, spec: Spec) -> pd.Series:
    nested = [t for t in _types(values) if issubclass(t, _NESTED)]
    if nested:
        row = next(i for i, v in enumerate(values) if isinstance(v, _NESTED))
        raise InvalidInput(
            f"feature {name!r}: expected a single value, got {_show(values[row])} (row {row})",
            field=name,
        )
    return pd.Series(values)


_CONVERTERS: dict[str, Callable[[str, Column, Spec], Any]] = {
    "number": _number,
    "integer": _integer,
    "boolean": _boolean,
    "string": _string,
    "category": _category,
    "datetime": _datetime,
}
