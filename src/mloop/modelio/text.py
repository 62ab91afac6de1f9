"""Text cells (CSV) turned into the values a model's signature expects.

CSV has no types, so every cell is read as text and converted by its feature's kind: numbers
and integers are parsed, ``true``/``false`` (or ``1``/``0``) are booleans, text and timestamps
stay text (``"02139"`` keeps its zero, ``"NA"`` is a word), a category is matched to its
recorded category by its text. An empty cell is a missing value whatever the kind. The values
then go through the same checks as JSON input (``frame_from_columns``).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from mloop.errors import InvalidInput, MalformedRequest
from mloop.modelio.signature import ColumnSpec, Signature

Cells = Sequence[str]
RowLabel = Callable[[int], str]

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.I)
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
_UNTYPED = ColumnSpec("")
_AS_TEXT: dict[str, Any] = {
    "dtype": str,
    "keep_default_na": False,
    "na_filter": False,
    "index_col": False,
}


def row_label(row: int) -> str:
    """How a cell's row is named in errors by default: ``row 3`` (counted from 0, as in JSON)."""
    return f"row {row}"


def text_columns(source: Any, *, rows: int | None = None) -> Iterator[dict[str, list[str]]]:
    """The cells of a CSV (a path or a binary stream) as text, by column, ``rows`` at a time.

    Nothing is guessed: every cell stays the text it was (an empty cell is ``""``). Raises
    MalformedRequest for text that is not CSV and for a row with more cells than the header.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            tables = pd.read_csv(source, chunksize=rows, **_AS_TEXT) if rows else None
            for table in tables or [pd.read_csv(source, **_AS_TEXT)]:
                yield {str(name): table[name].tolist() for name in table.columns}
    except (ValueError, pd.errors.ParserError, pd.errors.ParserWarning, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"malformed CSV: {exc}") from exc


def csv_columns(body: bytes) -> dict[str, list[str]]:
    """The cells of a whole CSV body, as text by column.

    Raises MalformedRequest for an empty body or text that is not CSV; InvalidInput for a
    header name that is empty or repeated, and naming the row (``rows[i]``, 0 for the first
    row after the header) whose number of cells is not the header's.
    """
    if not body.strip():
        raise MalformedRequest("malformed CSV: the body is empty; send a header row, then rows")
    try:
        _check_widths(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MalformedRequest(f"malformed CSV: {exc}") from exc
    return next(text_columns(io.BytesIO(body)))


def _check_widths(text: str) -> None:
    """Refuse a header with an empty or repeated name and a row with fewer or more cells than
    the header, in the body's own terms: pandas would rename such columns (``Unnamed: 3``,
    ``x.1``) and fill a short row with empty cells without a word."""
    lines = csv.reader(io.StringIO(text))
    header = next(lines, [])
    for position, name in enumerate(header):
        if not name.strip():
            raise InvalidInput(f"CSV column {position} has no name", field="header")
        if header.index(name) != position:
            raise InvalidInput(f"CSV column {name!r} is named twice", field=name)
    width = len(header)
    for row, cells in enumerate(cells for cells in lines if cells):
        if len(cells) != width:
            raise InvalidInput(
                f"CSV row {row} has {len(cells)} cells; the header names {width} columns",
                field=f"rows[{row}]",
            )


def typed_columns(
    cells: Mapping[str, Cells],
    signature: Signature | Mapping[str, Any],
    where: RowLabel = row_label,
) -> dict[str, list[Any]]:
    """Each column's text converted to its feature's kind; columns the signature lacks stay as
    they are for ``frame_from_columns`` to name.

    Raises InvalidInput naming the feature, the row (``where(i)``) and the cell's text when a
    cell does not convert.
    """
    specs = Signature.coerce(signature).by_name
    typed: dict[str, list[Any]] = {}
    for name, column in cells.items():
        spec = specs.get(name, _UNTYPED if not specs else None)
        typed[name] = list(column) if spec is None else _typed(name, column, spec, where)
    return typed


def _typed(name: str, cells: Cells, spec: ColumnSpec, where: RowLabel) -> list[Any]:
    convert = _CONVERTERS.get(spec.kind, _guessed)
    return convert(name, cells, spec, where)


def _each(
    name: str, cells: Cells, where: RowLabel, convert: Callable[[str], Any], expected: str
) -> list[Any]:
    values: list[Any] = []
    for row, text in enumerate(cells):
        try:
            values.append(convert(text.strip()) if text else None)
        except ValueError:
            raise InvalidInput(
                f"feature {name!r}: {_show(text)} is not {expected} ({where(row)})", field=name
            ) from None
    return values


def _show(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def _number(text: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise ValueError(text)
    return float(text)


def _integer(text: str) -> int | float:
    """An integer; a decimal text is left to the integer check of the frame (``3.0`` is 3)."""
    return int(text) if _INTEGER.fullmatch(text) else _number(text)


def _boolean(text: str) -> bool:
    value = _BOOLEANS.get(text.lower())
    if value is None:
        raise ValueError(text)
    return value


def _as_number(name: str, cells: Cells, spec: ColumnSpec, where: RowLabel) -> list[Any]:
    return _each(name, cells, where, _number, "a number")


def _as_integer(name: str, cells: Cells, spec: ColumnSpec, where: RowLabel) -> list[Any]:
    return _each(name, cells, where, _integer, "an integer")


def _as_boolean(name: str, cells: Cells, spec: ColumnSpec, where: RowLabel) -> list[Any]:
    return _each(name, cells, where, _boolean, "true or false")


def _as_text(name: str, cells: Cells, spec: ColumnSpec, where: RowLabel) -> list[Any]:
    return [text if text else None for text in cells]


def _as_category(name: str, cells: Cells, spec: ColumnSpec, where: RowLabel) -> list[Any]:
    """The recorded category whose text the cell is; unknown text stays text (and is refused)."""
    by_text = {str(category): category for category in spec.categories or ()}
    return [by_text.get(text, text) if text else None for text in cells]


def _guessed(name: str, cells: Cells, spec: ColumnSpec, where: RowLabel) -> list[Any]:
    """A column no signature types: numbers when every cell is one (ints stay int), else text."""
    try:
        return [_integer(text.strip()) if text else None for text in cells]
    except ValueError:
        return _as_text(name, cells, spec, where)


_CONVERTERS: dict[str, Callable[[str, Cells, ColumnSpec, RowLabel], list[Any]]] = {
    "number": _as_number,
    "integer": _as_integer,
    "boolean": _as_boolean,
    "string": _as_text,
    "category": _as_category,
    "datetime": _as_text,
}
