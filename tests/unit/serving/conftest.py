"""A small fitted classifier with the signature mloop records for it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mloop.modelio import infer_signature
from mloop.modelio.loaded import LoadedModel
from mloop.modelio.signature import Signature


@pytest.fixture(scope="session")
def train() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, 60),
            "score": rng.normal(size=60),
            "plan": pd.Categorical(rng.choice(["basic", "pro"], 60)),
        }
    )


@pytest.fixture(scope="session")
def signature(train: pd.DataFrame) -> Signature:
    return Signature.from_dict(infer_signature(train))


def loaded_model(train: pd.DataFrame, signature: Signature, version: int) -> LoadedModel:
    """A logistic regression on the numeric columns, registered as churn ``version``."""
    estimator = LogisticRegression().fit(train[["age", "score"]], train["score"] > 0)
    model = LoadedModel(estimator, "churn", version, "run", "digest", signature)
    return model
