"""Through the batcher, each kind of model answers exactly what it answered on the old path.

The old path built each request's frame keyed by column name, merged a batch with
``pd.concat``, looked the estimator's classes up on every call and passed the estimator the
frame (a model of number columns now gets ``frame.to_numpy()``); the reference below does just
that, and the answers must match bit for bit (NaN where NaN), errors included.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mloop.modelio import infer_signature
from mloop.modelio.frame import rows_from_records
from mloop.modelio.loaded import LoadedModel
from mloop.modelio.outputs import Outputs
from mloop.modelio.rows import Rows
from mloop.modelio.signature import Signature
from mloop.serving.config import ServeConfig
from mloop.serving.served import ServedModel, serve_model

ROWS = 24


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 300
    spend = rng.normal(50, 20, n)
    spend[rng.random(n) < 0.2] = np.nan
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "score": rng.normal(size=n),
            "spend": spend,
            "plan": rng.choice(["basic", "pro", "team"], n),
        }
    )


def _target(train: pd.DataFrame) -> pd.Series:
    return (train["score"] + (train["plan"] == "pro")) > 0.3


def _models(train: pd.DataFrame) -> dict[str, tuple[Any, list[str]]]:
    """Fitted models of each kind, with the columns each is fitted on."""
    numeric = ["age", "score"]
    by_name = ColumnTransformer(
        [("plan", OneHotEncoder(), ["plan"]), ("numbers", "passthrough", ["age", "score"])]
    )
    makers: dict[str, tuple[Any, list[str]]] = {
        "scaled-logistic": (make_pipeline(StandardScaler(), LogisticRegression()), numeric),
        "forest": (RandomForestClassifier(n_estimators=10, random_state=0), numeric),
        "boosting-nan": (HistGradientBoostingClassifier(max_iter=20), ["age", "spend"]),
        "columns-by-name": (
            Pipeline([("columns", by_name), ("model", LogisticRegression())]),
            ["plan", "age", "score"],
        ),
        "regressor": (Ridge(), numeric),
    }
    target = _target(train)
    fitted = {}
    for name, (estimator, columns) in makers.items():
        y = train["score"] if name == "regressor" else target
        fitted[name] = (estimator.fit(train[columns], y), columns)
    return fitted


def _records(train: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    rows = train[columns].head(ROWS).astype(object)
    return [
        {k: None if isinstance(v, float) and np.isnan(v) else v for k, v in row.items()}
        for row in rows.to_dict("records")
    ]


def _old_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The request frame as the old path built it: columns keyed by name."""
    return pd.DataFrame({name: frame[name] for name in frame.columns}, copy=False)


def _old_outputs(estimator: Any, requests: list[Rows]) -> Outputs:
    """The old path: concat the batch, look the classes up, predict."""
    olds = [_old_frame(r.frame) for r in requests]
    merged = olds[0] if len(olds) == 1 else pd.concat(olds, ignore_index=True)
    if hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_"):
        probabilities = np.asarray(estimator.predict_proba(merged), dtype=np.float64)
        classes = np.asarray(estimator.classes_)
        labels = tuple(c.item() if hasattr(c, "item") else c for c in classes)
        return Outputs(classes.take(np.argmax(probabilities, axis=1)), probabilities, labels)
    return Outputs(np.asarray(estimator.predict(merged)))


def _served(estimator: Any, signature: Signature, sizes: list[int]) -> ServedModel:
    model = LoadedModel(estimator, "churn", 1, "run", "digest", signature)
    config = ServeConfig("models:/churn/1", batch_max_wait_ms=200.0)
    return serve_model(
        model, config, lambda served, merged, outputs, tags: sizes.append(len(merged))
    )


async def _batched(served: ServedModel, requests: list[Rows]) -> list[Outputs | BaseException]:
    answers = await asyncio.gather(*(served.infer(r) for r in requests), return_exceptions=True)
    served.close()
    return answers


def _assert_same(got: Outputs, expected: Outputs) -> None:
    assert got.predictions.dtype == expected.predictions.dtype
    np.testing.assert_array_equal(got.predictions, expected.predictions, strict=True)
    assert got.classes == expected.classes
    if expected.probabilities is None:
        assert got.probabilities is None
    else:
        assert got.probabilities is not None
        np.testing.assert_array_equal(got.probabilities, expected.probabilities, strict=True)


@pytest.mark.parametrize(
    "kind", ["scaled-logistic", "forest", "boosting-nan", "columns-by-name", "regressor"]
)
def test_one_batch_answers_each_request_bit_for_bit_as_the_old_path(
    train: pd.DataFrame, kind: str
) -> None:
    estimator, columns = _models(train)[kind]
    signature = Signature.from_dict(infer_signature(train[columns]))
    frames = [rows_from_records([r], signature, max_rows=10) for r in _records(train, columns)]
    if kind == "boosting-nan":
        assert any(f.frame["spend"].isna().any() for f in frames)
    sizes: list[int] = []
    served = _served(estimator, signature, sizes)
    assert served.predictor.takes_array is (kind != "columns-by-name")  # numbers only
    answers = asyncio.run(_batched(served, frames))
    assert sizes == [ROWS]  # one model call for the whole batch
    expected = _old_outputs(estimator, frames)
    for row, answer in enumerate(answers):
        assert isinstance(answer, Outputs)
        _assert_same(answer, expected.rows(row, row + 1))
    alone = asyncio.run(_batched(_served(estimator, signature, []), frames[:1]))[0]
    assert isinstance(alone, Outputs)
    _assert_same(alone, _old_outputs(estimator, frames[:1]))
    model = LoadedModel(estimator, "churn", 1, "run", "digest", signature)
    unbatched = serve_model(model, ServeConfig("models:/churn/1", batching=False), None)
    _assert_same(asyncio.run(unbatched.infer(frames[1])), _old_outputs(estimator, frames[1:2]))


def test_a_request_the_estimator_refuses_fails_alone_with_the_estimators_error(
    train: pd.DataFrame,
) -> None:
    estimator, columns = _models(train)["columns-by-name"]
    signature = Signature.from_dict(infer_signature(train[columns]))
    records = _records(train, columns)[:4]
    records[2]["plan"] = "enterprise"  # a string column: mloop passes it, the encoder refuses it
    frames = [rows_from_records([r], signature, max_rows=10) for r in records]
    with pytest.raises(ValueError) as alone:
        _old_outputs(estimator, frames[2:3])
    sizes: list[int] = []
    answers = asyncio.run(_batched(_served(estimator, signature, sizes), frames))
    refused = answers[2]
    assert type(refused) is ValueError and str(refused) == str(alone.value)
    for row in (0, 1, 3):
        answer = answers[row]
        assert isinstance(answer, Outputs)
        _assert_same(answer, _old_outputs(estimator, frames[row : row + 1]))
    assert sorted(sizes) == [1, 1, 1]  # the merged call failed; each good request logged alone
