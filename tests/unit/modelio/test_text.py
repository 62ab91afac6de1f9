"""CSV cells are read as text and typed by the signature, so CSV and JSON answer alike."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mloop.errors import InvalidInput, MalformedRequest
from mloop.modelio import frame_from_columns, frame_from_records, infer_signature
from mloop.modelio.text import csv_columns, text_columns, typed_columns

TRAIN = pd.DataFrame(
    {
        "zip": ["02139", "10001", "NA"],
        "region": ["NA", "EU", None],
        "age": [25, 40, 61],
        "income": [3.5e4, np.nan, 8.1e4],
        "active": [True, False, True],
        "plan": pd.Categorical(["basic", "pro", "basic"]),
        "tier": pd.Categorical([1, 2, 3]),
        "seen": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
    }
)
SIGNATURE = infer_signature(TRAIN)
RECORDS: list[dict[str, Any]] = [
    {"zip": "02139", "region": "NA", "age": 7, "income": 1.5e4, "active": True,
     "plan": "pro", "tier": 2, "seen": "2024-05-01T10:00:00"},
    {"zip": "00501", "region": None, "age": -3, "income": None, "active": False,
     "plan": "basic", "tier": 1, "seen": "2024-05-02"},
]  # fmt: skip
CSV = (
    b"zip,region,age,income,active,plan,tier,seen\n"
    b"02139,NA,7,15000.0,true,pro,2,2024-05-01T10:00:00\n"
    b"00501,,-3,,False,basic,1,2024-05-02\n"
)


def from_csv(body: bytes, signature: Any = SIGNATURE) -> pd.DataFrame:
    return frame_from_columns(typed_columns(csv_columns(body), signature), signature, max_rows=10)


def test_csv_and_json_give_the_same_frame() -> None:
    frame = from_csv(CSV)
    pd.testing.assert_frame_equal(frame, frame_from_records(RECORDS, SIGNATURE, max_rows=10))
    assert frame["zip"].tolist() == ["02139", "00501"] and frame["region"].iloc[0] == "NA"


def test_a_text_feature_keeps_its_text_and_an_integer_feature_reads_it() -> None:
    as_text = {"inputs": [{"name": "region", "kind": "string"}, {"name": "zip", "kind": "string"}]}
    assert from_csv(b"region,zip\nNA,02139\n", as_text).to_dict("records") == [
        {"region": "NA", "zip": "02139"}
    ]
    as_int = {"inputs": [{"name": "region", "kind": "string"}, {"name": "zip", "kind": "integer"}]}
    assert from_csv(b"region,zip\nNA,02139\n", as_int)["zip"].tolist() == [2139]


@pytest.mark.parametrize(
    ("kind", "cell", "value"),
    [
        ("number", " 1e3", 1000.0),
        ("number", "-.5", -0.5),
        ("integer", "+12", 12),
        ("integer", "3.0", 3),
        ("boolean", "TRUE", True),
        ("boolean", "0", False),
        ("string", " x ", " x "),
        ("datetime", "2024-05-01", pd.Timestamp("2024-05-01")),
    ],
)
def test_each_kind_converts_its_text(kind: str, cell: str, value: Any) -> None:
    signature = {"inputs": [{"name": "f", "kind": kind}]}
    assert from_csv(f'f\n"{cell}"\n'.encode(), signature)["f"].tolist() == [value]


@pytest.mark.parametrize("kind", ["number", "integer", "boolean", "string", "category", "datetime"])
def test_an_empty_cell_is_missing_whatever_the_kind(kind: str) -> None:
    nullable = {
        "inputs": [{"name": "a", "kind": "integer"}, {"name": "f", "kind": kind, "nullable": True}]
    }
    frame = from_csv(b"a,f\n1,\n", nullable)
    assert frame["f"].isna().all()
    strict = {"inputs": [{"name": "a", "kind": "integer"}, {"name": "f", "kind": kind}]}
    with pytest.raises(InvalidInput, match=r"feature 'f': null/NaN is not allowed \(row 0\)"):
        from_csv(b"a,f\n1,\n", strict)


@pytest.mark.parametrize(
    ("kind", "cell", "words"),
    [
        ("number", "NA", "'NA' is not a number (row 1)"),
        ("number", "1_000", "'1_000' is not a number (row 1)"),
        ("number", "12,5", "'12,5' is not a number (row 1)"),
        ("integer", "seven", "'seven' is not an integer (row 1)"),
        ("integer", "1.5", "expected an integer, got 1.5 (row 1)"),
        ("boolean", "maybe", "'maybe' is not true or false (row 1)"),
        ("datetime", "yesterday", "expected an ISO-8601 timestamp, got 'yesterday' (row 1)"),
    ],
)
def test_a_cell_that_does_not_convert_is_named_with_row_and_text(
    kind: str, cell: str, words: str
) -> None:
    signature = {"inputs": [{"name": "f", "kind": kind}]}
    first = "2024-01-01" if kind == "datetime" else "1"
    with pytest.raises(InvalidInput) as caught:
        from_csv(f'f\n{first}\n"{cell}"\n'.encode(), signature)
    assert caught.value.field == "f" and words in caught.value.message


def test_rows_are_named_by_the_callers_label() -> None:
    signature = {"inputs": [{"name": "f", "kind": "number"}]}
    with pytest.raises(InvalidInput, match=r"'x' is not a number \(data.csv line 4\)"):
        typed_columns({"f": ["1", "x"]}, signature, lambda row: f"data.csv line {row + 3}")


def test_categories_are_matched_by_their_text_and_unknown_ones_named() -> None:
    frame = from_csv(CSV)
    assert frame["tier"].tolist() == [2, 1] and frame["plan"].tolist() == ["pro", "basic"]
    with pytest.raises(InvalidInput, match="unknown category '7'"):
        from_csv(CSV.replace(b",pro,2,", b",pro,7,"))


def test_without_a_signature_numbers_are_read_and_text_is_kept() -> None:
    columns = typed_columns({"a": ["1", "", "3"], "b": ["1.5", "2", ""], "c": ["01", "x", ""]}, {})
    assert columns == {"a": [1, None, 3], "b": [1.5, 2, None], "c": ["01", "x", None]}


def test_unknown_columns_are_left_for_the_frame_to_name() -> None:
    signature = {"inputs": [{"name": "f", "kind": "number"}]}
    with pytest.raises(InvalidInput) as caught:
        from_csv(b"f,extra\n1,x\n", signature)
    assert caught.value.field == "extra"


@pytest.mark.parametrize("body", [b"", b"a,b\n1,2,3,4\n\xff\xfe", b'a\n"unterminated\n'])
def test_text_that_is_not_csv_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedRequest, match="malformed CSV"):
        csv_columns(body)


def test_a_file_is_read_in_chunks_of_text() -> None:
    chunks = list(text_columns(io.BytesIO(b"a,b\n01,x\n2,\n3,z\n"), rows=2))
    assert chunks == [{"a": ["01", "2"], "b": ["x", ""]}, {"a": ["3"], "b": ["z"]}]


@pytest.mark.parametrize("row", ["1,2,3", "1", ""])
def test_a_csv_row_of_the_wrong_width_is_named(row: str) -> None:
    body = f"a,b\n1,2\n\n{row}\n".encode()
    if not row:  # a blank line is no row
        assert csv_columns(body) == {"a": ["1"], "b": ["2"]}
        return
    with pytest.raises(InvalidInput) as refused:
        csv_columns(body)
    assert refused.value.field == "rows[1]"
    assert f"has {len(row.split(','))} cells; the header names 2 columns" in refused.value.message


@pytest.mark.parametrize(
    ("body", "field", "said"),
    [
        (b"x,x,c\n1,2,3\n", "x", "CSV column 'x' is named twice"),
        (b"x,c,\n1,2,3\n", "header", "CSV column 2 has no name"),
    ],
)
def test_a_csv_header_is_refused_in_the_bodys_own_terms(body: bytes, field: str, said: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        csv_columns(body)
    assert refused.value.field == field and said in refused.value.message


def test_a_csv_file_row_with_more_cells_than_the_header_is_malformed() -> None:
    with pytest.raises(MalformedRequest, match="malformed CSV"):
        list(text_columns(io.BytesIO(b"a,b\n1,2\n3,4,5\n"), rows=10))
