"""A churn model with a labelled reference, and a way to fill its prediction log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mloop
from mloop.demo import churn_pipeline
from mloop.modelio.outputs import predict_outputs
from mloop.prediction_log import output_columns
from mloop.scenario import TARGET, churn_customers


@dataclass
class Monitored:
    """A registered churn model (v1, champion) with a reference profile from a hold-out set."""

    client: mloop.Client
    model: object

    def log(
        self, data: pd.DataFrame, *, start: float, chunk_rows: int = 2000, feedback: float = 0.0
    ) -> list[str]:
        """Write ``data`` to the prediction log as the model's answers; label a share of them."""
        features = data.drop(columns=[TARGET])
        outputs = output_columns(predict_outputs(self.model, features))
        ids = [uuid.uuid4().hex for _ in range(len(data))]
        frame = pd.DataFrame({"prediction_id": ids, "ts": start + np.arange(len(data)) * 0.01})
        frame["unit_id"] = None
        frame["latency_ms"] = 1.0
        frame = pd.concat(
            [frame, features.add_prefix("feature.").reset_index(drop=True), pd.DataFrame(outputs)],
            axis=1,
        )
        for begin in range(0, len(frame), chunk_rows):
            self.client.prediction_log.write_chunk(
                model="churn",
                version=1,
                arm="",
                frame=frame.iloc[begin : begin + chunk_rows],
            )
        labelled = int(len(data) * feedback)
        if labelled:
            truth = data[TARGET].to_numpy()
            self.client.feedback({ids[i]: int(truth[i]) for i in range(labelled)})
        return ids


@pytest.fixture
def monitored(sqlite_url: str) -> Monitored:
    data = churn_customers(8000, seed=11)
    train, holdout = data.iloc[:6000], data.iloc[6000:]
    model = churn_pipeline(LogisticRegression(max_iter=1000)).fit(
        train.drop(columns=[TARGET]), train[TARGET]
    )
    client = mloop.Client(sqlite_url)
    run_id = client.create_run("churn", "lr")
    client.log_model(run_id, model, input_example=train.drop(columns=[TARGET]))
    client.register_model(
        run_id, "churn", reference=holdout.drop(columns=[TARGET]), reference_labels=holdout[TARGET]
    )
    client.set_alias("churn", "champion", 1, reason="first")
    return Monitored(client, model)
