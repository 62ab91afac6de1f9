"""The prediction log writer: assembles columns, retries what the store could not take."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mloop.errors import Conflict, StoreUnavailable
from mloop.modelio.outputs import Outputs
from mloop.serving.logwriter import Answered, PredictionLogWriter, log_batch, log_frame


def _answered(ids: list[str], start: float) -> Answered:
    features = pd.DataFrame({"x": [start + i for i in range(len(ids))], "region": ["N"] * len(ids)})
    probabilities = np.tile([0.25, 0.75], (len(ids), 1))
    outputs = Outputs(np.ones(len(ids), dtype=int), probabilities, (0, 1))
    return Answered(ids, 1000.0 + start, None, 2.5, features, outputs)


def test_log_frame_columns() -> None:
    frame = log_frame([_answered(["a"], 0), _answered(["b-0", "b-1"], 10)])
    assert list(frame.columns) == [
        "prediction_id", "ts", "unit_id", "latency_ms", "feature.x", "feature.region",
        "prediction", "proba.0", "proba.1",
    ]  # fmt: skip
    assert frame["prediction_id"].tolist() == ["a", "b-0", "b-1"]
    assert frame["ts"].tolist() == [1000.0, 1010.0, 1010.0]
    assert frame["feature.x"].tolist() == [0.0, 10.0, 11.0]
    assert frame["proba.1"].tolist() == [0.75] * 3


def test_close_writes_everything_and_store_outages_are_retried() -> None:
    written: list[pd.DataFrame] = []
    failures = [StoreUnavailable("down")]

    def write(model: str, version: int, arm: str, frame: pd.DataFrame) -> None:
        if failures:
            raise failures.pop()
        written.append(frame)

    writer = PredictionLogWriter(write, flush_rows=1000, flush_seconds=60)
    writer.start()
    writer.record("churn", 1, "", _answered(["a"], 0))
    writer.record("churn", 2, "", _answered(["b"], 1))
    assert writer.pending_ids() == {"a", "b"}
    writer.close(timeout=10)
    assert sorted(f["prediction_id"][0] for f in written) == ["a", "b"]
    assert writer.pending_ids() == set()


def test_refused_chunks_are_dropped_not_retried_forever() -> None:
    def refuse(model: str, version: int, arm: str, frame: pd.DataFrame) -> None:
        raise Conflict("duplicate prediction id")

    writer = PredictionLogWriter(refuse, flush_rows=1000, flush_seconds=60)
    writer.record("churn", 1, "", _answered(["a", "b"], 0))
    writer.flush()
    assert writer.pending_ids() == set()
    assert writer.dropped_rows == 2


def test_the_spooled_batch_holds_what_the_log_frame_holds() -> None:
    features = pd.DataFrame({"age": [41, 35], "region": ["N", None], "score": [0.5, np.nan]})
    outputs = Outputs(np.array([1, 0]), np.array([[0.2, 0.8], [0.6, 0.4]]), [0, 1])
    answered = Answered(["a", "b"], 1_700_000_000.0, ["u1", None], [1.5, 2.5], features, outputs)
    spooled = log_batch(answered).to_pandas()
    expected = log_frame([answered])
    assert list(spooled.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(spooled, expected, check_dtype=False)
