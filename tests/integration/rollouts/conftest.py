"""The model the rollout tests roll out: churn v1 (champion) and v2."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

import mloop


@pytest.fixture
def churn(client: mloop.Client) -> mloop.Client:
    """churn v1 (champion) and v2, two constant classifiers."""
    features = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    for label in (0, 1):
        model = DummyClassifier(strategy="constant", constant=label).fit(features, [0, 1, 0, 1])
        run_id = client.create_run("churn", f"constant-{label}")
        client.log_model(run_id, model, input_example=features)
        client.register_model(run_id, "churn")
    client.set_alias("churn", "champion", 1)
    return client
