"""Request input to a validated DataFrame: shapes, per-kind types, nulls, limits, scikit-learn."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mloop.errors import InvalidInput
from mloop.modelio import frame_from_columns, frame_from_records, frame_from_rows, infer_signature

LIMIT = 100


@pytest.fixture
def train() -> pd.DataFrame:
    """A training frame with int, float (nullable), bool, string and categorical columns."""
    return pd.DataFrame(
        {
            "age": [25, 40, 61, 33],
            "income": [3.5e4, np.nan, 8.1e4, 5.2e4],
            "active": [True, False, True, False],
            "city": ["paris", "lyon", "nice", "paris"],
            "plan": pd.Categorical(["basic", "pro", "basic", "max"]),
        }
    )


@pytest.fixture
def signature(train: pd.DataFrame) -> dict[str, Any]:
    """The signature mloop records for the training frame."""
    return infer_signature(train)


def good_records() -> list[dict[str, Any]]:
    """Two valid rows, as JSON would give them."""
    return [
        {"age": 30, "income": 4.2e4, "active": True, "city": "lyon", "plan": "pro"},
        {"age": 52, "income": None, "active": False, "city": "paris", "plan": "basic"},
    ]


def records_with(feature: str, value: Any) -> list[dict[str, Any]]:
    """The good records with ``value`` put into ``feature`` of row 1."""
    records = good_records()
    records[1][feature] = value
    return records


def rejected(call: Any, *args: Any, **kwargs: Any) -> InvalidInput:
    """The InvalidInput raised by ``call``."""
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    return caught.value


def assert_like_training(frame: pd.DataFrame, train: pd.DataFrame) -> None:
    """Same column names, order and dtypes as the training frame."""
    assert list(frame.columns) == list(train.columns)
    assert frame.dtypes.to_dict() == train.dtypes.to_dict()


# --- happy paths ---


def test_records_give_training_columns_dtypes_and_values(train, signature):
    records = [dict(reversed(list(r.items()))) for r in good_records()]
    frame = frame_from_records(records, signature, max_rows=LIMIT)
    assert_like_training(frame, train)
    assert frame["age"].tolist() == [30, 52]
    assert frame["income"].iloc[0] == 4.2e4 and math.isnan(frame["income"].iloc[1])
    assert frame["active"].tolist() == [True, False]
    assert frame["city"].tolist() == ["lyon", "paris"]
    assert frame["plan"].tolist() == ["pro", "basic"]
    assert list(frame["plan"].cat.categories) == list(train["plan"].cat.categories)


def test_columns_give_training_columns_dtypes_and_values(train, signature):
    columns = {name: list(train[name]) for name in reversed(train.columns)}
    columns["income"] = [None if pd.isna(v) else v for v in columns["income"]]
    frame = frame_from_columns(columns, signature, max_rows=LIMIT)
    assert_like_training(frame, train)
    pd.testing.assert_frame_equal(frame, train)


def test_numpy_columns_are_accepted(train, signature):
    columns = {name: train[name].to_numpy() for name in ("age", "income", "active")}
    columns |= {"city": ["nice"] * 4, "plan": ["max"] * 4}
    frame = frame_from_columns(columns, signature, max_rows=LIMIT)
    assert_like_training(frame, train)
    assert frame["age"].tolist() == train["age"].tolist()


def test_rows_follow_the_signature_order_by_default(train, signature):
    rows = [list(record.values()) for record in good_records()]
    frame = frame_from_rows(None, rows, signature, max_rows=LIMIT)
    assert_like_training(frame, train)
    assert frame["city"].tolist() == ["lyon", "paris"]


def test_rows_with_named_columns_are_reordered_to_the_signature(train, signature):
    names = ["plan", "city", "active", "income", "age"]
    rows = [[r[name] for name in names] for r in good_records()]
    frame = frame_from_rows(names, rows, signature, max_rows=LIMIT)
    assert_like_training(frame, train)
    assert frame["age"].tolist() == [30, 52]


def test_numpy_rows_are_accepted():
    numbers = pd.DataFrame({"x": [0.5, 1.5], "y": [2.0, 3.0]})
    rows = np.array([[1.0, 2.0], [3.0, 4.0]])
    frame = frame_from_rows(None, rows, infer_signature(numbers), max_rows=LIMIT)
    assert frame["y"].tolist() == [2.0, 4.0]


def test_integral_floats_are_integers_and_ints_are_numbers(train, signature):
    records = records_with("age", 41.0)
    records[0]["income"] = 40000
    frame = frame_from_records(records, signature, max_rows=LIMIT)
    assert frame["age"].dtype == np.int64 and frame["age"].tolist() == [30, 41]
    assert frame["income"].dtype == np.float64 and frame["income"].iloc[0] == 40000.0


def test_nullable_number_accepts_null_and_nan(signature):
    records = records_with("income", float("nan"))
    records[0]["income"] = None
    frame = frame_from_records(records, signature, max_rows=LIMIT)
    assert frame["income"].isna().all()


# --- batch shape ---


@pytest.mark.parametrize(
    "call",
    [
        lambda s: frame_from_records([], s, max_rows=LIMIT),
        lambda s: frame_from_columns(
            {n: [] for n in ("age", "income", "active", "city", "plan")}, s, max_rows=LIMIT
        ),
        lambda s: frame_from_rows(None, [], s, max_rows=LIMIT),
        lambda s: frame_from_columns({}, {}, max_rows=LIMIT),
    ],
)
def test_empty_batch_is_refused(signature, call):
    error = rejected(call, signature)
    assert "empty batch" in error.message


def test_too_many_rows_is_refused_naming_the_limit(signature):
    error = rejected(frame_from_records, good_records() * 2, signature, max_rows=3)
    assert "4 rows" in error.message and "limit of 3" in error.message


def test_a_record_that_is_not_an_object_is_refused(signature):
    error = rejected(frame_from_records, [good_records()[0], [1, 2]], signature, max_rows=LIMIT)
    assert error.field == "records[1]" and "records[1]" in error.message


def test_records_that_are_not_a_list_are_refused(signature):
    error = rejected(frame_from_records, good_records()[0], signature, max_rows=LIMIT)
    assert error.field == "records"


def test_a_missing_feature_is_named(signature):
    records = good_records()
    del records[1]["city"]
    error = rejected(frame_from_records, records, signature, max_rows=LIMIT)
    assert error.field == "city"
    assert "missing feature 'city'" in error.message and "records[1]" in error.message


def test_an_unknown_feature_is_named(signature):
    error = rejected(frame_from_records, records_with("colour", "red"), signature, max_rows=LIMIT)
    assert error.field == "colour" and "unknown feature 'colour'" in error.message


def test_columns_missing_unknown_and_uneven_are_named(train, signature):
    columns = {name: list(train[name].astype(object)) for name in train.columns}
    del columns["plan"]
    assert rejected(frame_from_columns, columns, signature, max_rows=LIMIT).field == "plan"
    columns["plan"] = ["basic"] * 4
    columns["extra"] = [1] * 4
    assert rejected(frame_from_columns, columns, signature, max_rows=LIMIT).field == "extra"
    del columns["extra"]
    columns["city"] = ["paris"] * 3
    error = rejected(frame_from_columns, columns, signature, max_rows=LIMIT)
    assert error.field == "city" and "3 values, expected 4" in error.message
    columns["city"] = "paris"
    error = rejected(frame_from_columns, columns, signature, max_rows=LIMIT)
    assert error.field == "city" and "list of values" in error.message


def test_rows_of_the_wrong_width_are_named(signature):
    rows = [list(r.values()) for r in good_records()]
    rows[1] = rows[1][:-1]
    error = rejected(frame_from_rows, None, rows, signature, max_rows=LIMIT)
    assert error.field == "rows[1]" and "5 values" in error.message
    rows[1] = 7
    assert rejected(frame_from_rows, None, rows, signature, max_rows=LIMIT).field == "rows[1]"


def test_rows_with_a_missing_or_repeated_column_are_refused(signature):
    rows = [[1, 2.0, True, "x", "pro"]]
    names = ["age", "income", "active", "city", "city"]
    error = rejected(frame_from_rows, names, rows, signature, max_rows=LIMIT)
    assert error.field == "city" and "twice" in error.message
    error = rejected(frame_from_rows, names[:4], [row[:4] for row in rows], signature, max_rows=9)
    assert error.field == "plan" and "missing" in error.message
    assert rejected(frame_from_rows, "age", rows, signature, max_rows=LIMIT).field == "columns"


# --- values per kind ---


@pytest.mark.parametrize(
    ("feature", "value", "words"),
    [
        ("age", "abc", "expected an integer, got 'abc'"),
        ("age", 3.5, "expected an integer, got 3.5"),
        ("age", True, "expected an integer, got True"),
        ("income", "abc", "expected a number, got 'abc'"),
        ("income", False, "expected a number, got False"),
        ("income", [1.0], "expected a number"),
        ("active", 1, "expected true or false, got 1"),
        ("active", "yes", "expected true or false"),
        ("city", 5, "expected a string, got 5"),
        ("plan", "gold", "unknown category 'gold'"),
        ("plan", {"a": 1}, "expected a category value"),
        ("age", 2**70, "out of range"),
        ("income", 10**400, "out of range"),
    ],
)
def test_a_value_of_the_wrong_type_is_named_with_its_row(signature, feature, value, words):
    error = rejected(frame_from_records, records_with(feature, value), signature, max_rows=LIMIT)
    assert error.field == feature
    assert f"feature {feature!r}" in error.message and words in error.message
    assert "(row 1)" in error.message


@pytest.mark.parametrize(
    ("feature", "value"),
    [("age", None), ("age", float("nan")), ("active", None), ("city", None), ("plan", None)],
)
def test_null_is_refused_where_training_had_none(signature, feature, value):
    error = rejected(frame_from_records, records_with(feature, value), signature, max_rows=LIMIT)
    assert error.field == feature and "null/NaN is not allowed (row 1)" in error.message


def test_the_same_checks_apply_to_columns_and_rows(signature):
    rows = [list(r.values()) for r in records_with("age", 3.5)]
    error = rejected(frame_from_rows, None, rows, signature, max_rows=LIMIT)
    assert error.field == "age" and "(row 1)" in error.message
    columns = {name: [row[j] for row in rows] for j, name in enumerate(good_records()[0])}
    columns["age"] = [1, 2]
    columns["plan"] = ["pro", "gold"]
    error = rejected(frame_from_columns, columns, signature, max_rows=LIMIT)
    assert error.field == "plan" and "unknown category 'gold' (row 1)" in error.message


def test_nullable_values_in_every_kind():
    train = pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "b": pd.array([True, None], dtype="boolean"),
            "s": ["x", None],
            "c": pd.Categorical(["u", None]),
        }
    )
    signature = infer_signature(train)
    assert all(spec["nullable"] for spec in signature["inputs"])
    records = [
        {"n": 2, "b": False, "s": "y", "c": "u"},
        {"n": None, "b": None, "s": None, "c": None},
    ]
    frame = frame_from_records(records, signature, max_rows=LIMIT)
    assert frame.isna().sum().tolist() == [1, 1, 1, 1]
    assert frame["n"].dtype == np.float64 and frame["b"].dtype == "boolean"
    assert frame["s"].dtype == train["s"].dtype and frame["c"].dtype == train["c"].dtype


def test_infinity_is_refused_unless_training_saw_it(signature):
    error = rejected(frame_from_records, records_with("income", math.inf), signature, max_rows=9)
    assert error.field == "income" and "infinity is not allowed (row 1)" in error.message
    unbounded = infer_signature(pd.DataFrame({"x": [0.0, math.inf]}))
    frame = frame_from_records([{"x": math.inf}], unbounded, max_rows=LIMIT)
    assert frame["x"].tolist() == [math.inf]
    error = rejected(frame_from_records, [{"x": 1.0}, {"x": -math.inf}], unbounded, max_rows=9)
    assert error.field == "x" and "infinity" in error.message


def test_datetimes_are_parsed_from_iso_8601():
    train = pd.DataFrame({"at": pd.to_datetime(["2024-01-01T00:00", "2024-02-01T12:00"])})
    signature = infer_signature(train)
    records = [{"at": "2024-03-01T10:30:00"}, {"at": "2024-03-01T10:30:00+02:00"}]
    frame = frame_from_records(records, signature, max_rows=LIMIT)
    assert frame["at"].dtype == train["at"].dtype
    assert frame["at"].tolist() == [
        pd.Timestamp("2024-03-01 10:30"),
        pd.Timestamp("2024-03-01 08:30"),
    ]
    for bad in ("abc", "", "2024-13-01", 5):
        records[1]["at"] = bad
        error = rejected(frame_from_records, records, signature, max_rows=LIMIT)
        assert error.field == "at" and "expected an ISO-8601 timestamp" in error.message
        assert "(row 1)" in error.message


def test_frames_share_one_column_index_and_equal_frames_keyed_by_name(train, signature):
    dated = {**signature, "inputs": [*signature["inputs"], {"name": "at", "kind": "datetime"}]}
    untyped = {**signature, "inputs": [*signature["inputs"], {"name": "note"}]}
    frames = []
    for schema, extra in ((dated, {"at": "2024-03-01T10:30:00"}), (untyped, {"note": "hi"})):
        for records in (good_records(), good_records()[1:]):
            first, second = (
                frame_from_records([{**r, **extra} for r in records], schema, max_rows=LIMIT)
                for _ in range(2)
            )
            assert first.columns is second.columns
            frames.append(first)
    for frame in frames:
        by_name = pd.DataFrame({name: frame[name] for name in frame.columns}, copy=False)
        pd.testing.assert_frame_equal(frame, by_name, check_exact=True)
        assert frame.columns.dtype == by_name.columns.dtype
        assert [b.dtype for b in frame._mgr.blocks] == [b.dtype for b in by_name._mgr.blocks]


# --- no signature ---


@pytest.mark.parametrize("signature", [{}, {"inputs": []}])
def test_without_a_signature_any_columns_are_taken_as_given(signature):
    records = [{"b": 1, "a": "x", "c": 0.5}, {"b": 2, "a": "y", "c": None}]
    frame = frame_from_records(records, signature, max_rows=LIMIT)
    assert list(frame.columns) == ["b", "a", "c"]
    assert frame["b"].dtype == np.int64 and frame["c"].dtype == np.float64
    assert frame_from_columns({"z": [1, 2]}, signature, max_rows=LIMIT)["z"].tolist() == [1, 2]
    assert frame_from_rows(["p"], [[True]], signature, max_rows=LIMIT)["p"].dtype == bool


def test_without_a_signature_the_generic_checks_still_apply():
    records: list[dict[str, Any]] = [{"a": 1}, {"a": 2, "b": 3}]
    assert rejected(frame_from_records, records, {}, max_rows=LIMIT).field == "b"
    assert rejected(frame_from_records, [{"a": 1}], {}, max_rows=0).message.startswith("batch")
    error = rejected(frame_from_records, [{"a": [1, 2]}], {}, max_rows=LIMIT)
    assert error.field == "a" and "single value" in error.message
    error = rejected(frame_from_columns, {"a": [1], "b": [1, 2]}, {}, max_rows=LIMIT)
    assert error.field == "b"
    assert rejected(frame_from_rows, None, [[1]], {}, max_rows=LIMIT).field == "columns"
    assert rejected(frame_from_records, [{}], {}, max_rows=LIMIT).field == "records[0]"


# --- scikit-learn ---


def test_logistic_regression_predicts_on_the_frame_without_warnings():
    train = pd.DataFrame(
        {"x": [0.1, 0.4, 2.5, 3.1], "n": [1, 2, 7, 9], "f": [True] * 2 + [False] * 2}
    )
    model = LogisticRegression().fit(train, [0, 0, 1, 1])
    records = train.astype(object).to_dict("records")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = frame_from_records(records, infer_signature(train), max_rows=LIMIT)
        predicted = model.predict(frame)
    assert predicted.tolist() == model.predict(train).tolist()


def test_pipeline_predictions_match_the_training_frame(train):
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["city", "plan"]),
            (make_pipeline(SimpleImputer(), StandardScaler()), ["income", "age"]),
            remainder="passthrough",
        ),
        LogisticRegression(),
    ).fit(train, [0, 1, 1, 0])
    records = [{name: row[name] for name in train.columns} for _, row in train.iterrows()]
    records = [{k: None if pd.isna(v) else _plain(v) for k, v in r.items()} for r in records]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = frame_from_records(records, infer_signature(train), max_rows=LIMIT)
        probabilities = model.predict_proba(frame)
    np.testing.assert_allclose(probabilities, model.predict_proba(train))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def test_rows_wider_than_the_given_columns_are_named_before_the_missing_feature(signature):
    names = ["age", "income"]
    error = rejected(frame_from_rows, names, [[1, 2.0, 3]], signature, max_rows=LIMIT)
    assert error.field == "rows[0]" and "expected a list of 2 values" in error.message
