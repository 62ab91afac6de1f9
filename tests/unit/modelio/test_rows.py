"""Rows: merged column by column, the same frame and array pandas gives, whatever the dtypes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mloop.modelio.frame import rows_from_records
from mloop.modelio.outputs import Predictor
from mloop.modelio.rows import Rows
from mloop.modelio.signature import Signature, infer_signature

TRAIN = pd.DataFrame(
    {
        "age": [30, 41, 52, 23, 64, 35],
        "score": [0.5, -1.0, 2.0, 0.1, -0.3, 1.2],
        "plan": ["basic", "pro", "team", "pro", "basic", "team"],
    }
)


def _records(count: int, start: int = 0) -> list[dict[str, object]]:
    return [
        {"age": 20 + i, "score": i / 7, "plan": ["basic", "pro", "team"][i % 3]}
        for i in range(start, start + count)
    ]


def test_merged_rows_equal_pandas_concat_of_the_frames() -> None:
    signature = Signature.from_dict(infer_signature(TRAIN))
    parts = [rows_from_records(_records(n, 10 * n), signature, max_rows=10) for n in (1, 3, 2)]
    merged = Rows.merge(parts)
    expected = pd.concat([p.frame for p in parts], ignore_index=True)
    assert len(merged) == 6 and merged.names == ("age", "score", "plan")
    pd.testing.assert_frame_equal(merged.frame, expected)


def test_plain_numeric_columns_merge_array_by_array_and_give_to_numpys_array() -> None:
    numbers = TRAIN[["age", "score"]]
    signature = Signature.from_dict(infer_signature(numbers))
    records = numbers.to_dict("records")
    parts = [rows_from_records(records[i : i + 2], signature, max_rows=10) for i in (0, 2, 4)]
    merged = Rows.merge(parts)
    assert all(isinstance(column, np.ndarray) for column in merged.columns)
    assert [c.dtype for c in merged.columns] == [np.dtype("int64"), np.dtype("float64")]
    np.testing.assert_array_equal(merged.array(), numbers.to_numpy(), strict=True)
    assert merged.array().flags.f_contiguous and numbers.to_numpy().flags.f_contiguous
    assert Rows.merge(parts[:1]) is parts[0]


@pytest.mark.parametrize(
    "second",
    [
        pd.DataFrame({"a": [2.5], "b": ["y"]}),  # a float where the first part has integers
        pd.DataFrame({"a": [2], "b": pd.Categorical(["y"])}),  # an extension column
        pd.DataFrame({"b": ["y"], "a": [2]}),  # the columns in another order
    ],
)
def test_other_mixes_merge_as_pandas_concat_does(second: pd.DataFrame) -> None:
    first = pd.DataFrame({"a": [1], "b": ["x"]})
    merged = Rows.merge([Rows.of_frame(first), Rows.of_frame(second)])
    expected = pd.concat([first, second], ignore_index=True)
    pd.testing.assert_frame_equal(merged.frame, expected)


def test_bad_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="2 names for 1 columns"):
        Rows(("a", "b"), [np.zeros(2)])
    with pytest.raises(ValueError, match="nothing to merge"):
        Rows.merge([])
    with pytest.raises(ValueError, match="no array"):
        Rows((), []).array()


def test_a_predictor_answers_rows_as_it_answers_their_frame() -> None:
    numbers = TRAIN[["age", "score"]]
    signature = Signature.from_dict(infer_signature(numbers))
    model = LogisticRegression().fit(numbers, [0, 1, 1, 0, 1, 0])
    predictor = Predictor(model, signature)
    assert predictor.takes_array
    rows = rows_from_records(numbers.to_dict("records"), signature, max_rows=10)
    by_rows, by_frame = predictor(rows), predictor(rows.frame)
    np.testing.assert_array_equal(by_rows.predictions, by_frame.predictions, strict=True)
    assert by_rows.probabilities is not None and by_frame.probabilities is not None
    np.testing.assert_array_equal(by_rows.probabilities, by_frame.probabilities, strict=True)
    np.testing.assert_array_equal(by_rows.probabilities, model.predict_proba(numbers), strict=True)


def test_rows_of_a_frame_keep_that_frame() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": pd.Categorical(["x", "y"])})
    rows = Rows.of_frame(frame)
    assert rows.frame is frame and rows.names == ("a", "b") and len(rows) == 2
    shifted = Rows.of_frame(frame.set_axis([5, 6]))
    assert shifted.frame.index.equals(pd.RangeIndex(2))
    pd.testing.assert_frame_equal(shifted.frame, frame)
