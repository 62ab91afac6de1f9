"""Which models a server hands a plain array, and that they answer it as they answer the frame."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from mloop.modelio import infer_signature
from mloop.modelio.frame import frame_from_records
from mloop.modelio.outputs import Predictor
from mloop.modelio.signature import Signature


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 200
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "score": rng.normal(size=n),
            "plan": rng.choice(["basic", "pro"], n),
        }
    )


def _target(train: pd.DataFrame) -> pd.Series:
    return train["score"] > 0


def _signature(frame: pd.DataFrame) -> Signature:
    return Signature.from_dict(infer_signature(frame))


class _Rounded:
    """A model from outside scikit-learn: it may read the frame by name, so it keeps the frame."""

    def fit(self, frame: pd.DataFrame, y: Any) -> _Rounded:
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(frame["score"] > 0)


NUMERIC = ["age", "score"]


def _cases() -> dict[str, tuple[Any, bool]]:
    by_name = ColumnTransformer([("numbers", StandardScaler(), ["age", "score"])])
    by_dtype = ColumnTransformer(
        [("numbers", StandardScaler(), make_column_selector(dtype_include="number"))]
    )
    return {
        "scaled-logistic": (make_pipeline(StandardScaler(), LogisticRegression()), True),
        "forest": (RandomForestClassifier(n_estimators=5, random_state=0), True),
        "columns-by-name": (make_pipeline(by_name, LogisticRegression()), False),
        "column-selector": (make_pipeline(by_dtype, LogisticRegression()), False),
        "function": (make_pipeline(FunctionTransformer(np.tanh), LogisticRegression()), False),
        "outside-sklearn": (_Rounded(), False),
    }


@pytest.mark.parametrize("kind", list(_cases()))
def test_only_plain_scikit_learn_models_of_number_columns_take_the_array(
    train: pd.DataFrame, kind: str
) -> None:
    estimator, expected = _cases()[kind]
    estimator.fit(train[NUMERIC], _target(train))
    predictor = Predictor(estimator, _signature(train[NUMERIC]))
    assert predictor.takes_array is expected
    records = train[NUMERIC].head(5).astype(object).to_dict("records")
    frame = frame_from_records(records, _signature(train[NUMERIC]), max_rows=10)
    with warnings.catch_warnings(record=True) as caught:
        outputs = predictor(frame)
    assert not [w for w in caught if "feature names" in str(w.message)]
    if hasattr(estimator, "predict_proba"):
        expected_proba = estimator.predict_proba(frame)
        assert outputs.probabilities is not None
        np.testing.assert_array_equal(outputs.probabilities, expected_proba, strict=True)
    np.testing.assert_array_equal(outputs.predictions, estimator.predict(frame), strict=True)


def test_a_string_column_keeps_the_frame(train: pd.DataFrame) -> None:
    columns = ["plan", "age", "score"]
    encoded = ColumnTransformer([("numbers", "passthrough", ["age", "score"])], remainder="drop")
    estimator = make_pipeline(encoded, LogisticRegression()).fit(train[columns], _target(train))
    assert not Predictor(estimator, _signature(train[columns])).takes_array


def test_a_model_fitted_on_an_array_or_in_another_order_keeps_the_frame(
    train: pd.DataFrame,
) -> None:
    on_array = LogisticRegression().fit(train[NUMERIC].to_numpy(), _target(train))
    assert not Predictor(on_array, _signature(train[NUMERIC])).takes_array
    reordered = LogisticRegression().fit(train[["score", "age"]], _target(train))
    assert not Predictor(reordered, _signature(train[NUMERIC])).takes_array
    assert Predictor(reordered, _signature(train[["score", "age"]])).takes_array


def test_frames_of_other_columns_still_reach_the_estimator_as_frames(train: pd.DataFrame) -> None:
    estimator = make_pipeline(StandardScaler(), LogisticRegression())
    estimator.fit(train[NUMERIC], _target(train))
    predictor = Predictor(estimator, _signature(train[NUMERIC]))
    assert predictor.takes_array
    with pytest.raises(ValueError, match="feature names"):
        predictor(train[["score", "age"]].head(2))


@pytest.mark.parametrize("score", [1e308, -1.7e308, 5e-324])
def test_extreme_values_get_the_answer_or_the_error_the_frame_gets(
    train: pd.DataFrame, score: float
) -> None:
    narrow = train[NUMERIC].assign(score=train["score"] / 4)  # 1e308 scales past the float range
    estimator = make_pipeline(StandardScaler(), LogisticRegression())
    estimator.fit(narrow, _target(train))
    signature = Signature.from_dict(
        {"inputs": [{"name": "age", "kind": "integer"}, {"name": "score", "kind": "number"}]}
    )
    predictor = Predictor(estimator, signature)
    assert predictor.takes_array
    frame = frame_from_records([{"age": 30, "score": score}], signature, max_rows=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        by_frame = _outcome(lambda: estimator.predict_proba(frame))
        by_array = _outcome(lambda: predictor(frame).probabilities)
    assert type(by_array) is type(by_frame)
    if isinstance(by_frame, np.ndarray):
        np.testing.assert_array_equal(by_array, by_frame, strict=True)
    else:
        assert str(by_array) == str(by_frame) and "infinity" in str(by_frame)


def _outcome(call: Any) -> Any:
    try:
        return call()
    except ValueError as exc:
        return exc
