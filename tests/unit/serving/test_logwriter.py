"""The prediction log writer: assembles columns, retries what the store could not take."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mloop
from mloop.errors import Conflict, StoreUnavailable
from mloop.modelio.outputs import Outputs
from mloop.modelio.rows import Rows
from mloop.serving.logwriter import (
    Answered,
    PredictionLogWriter,
    log_batch,
    log_columns,
    log_frame,
    spooled,
)
from mloop.serving.spool import Spool, _records, columns_record


def _answered(ids: list[str], start: float) -> Answered:
    features = pd.DataFrame({"x": [start + i for i in range(len(ids))], "region": ["N"] * len(ids)})
    probabilities = np.tile([0.25, 0.75], (len(ids), 1))
    outputs = Outputs(np.ones(len(ids), dtype=int), probabilities, (0, 1))
    return Answered(ids, 1000.0 + start, None, 2.5, Rows.of_frame(features), outputs)


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

    dropped: list[tuple[str, int, int]] = []
    writer = PredictionLogWriter(
        refuse, flush_rows=1000, flush_seconds=60, on_dropped=lambda *told: dropped.append(told)
    )
    writer.record("churn", 1, "", _answered(["a", "b"], 0))
    writer.flush()
    assert writer.pending_ids() == set()
    assert writer.dropped_rows == 2 and dropped == [("churn", 1, 2)]


@pytest.mark.parametrize("units", [["u1", None], [None, None], None])
def test_the_spooled_batch_holds_what_the_log_frame_holds(units: list[str | None] | None) -> None:
    features = pd.DataFrame({"age": [41, 35], "region": ["N", None], "score": [0.5, np.nan]})
    outputs = Outputs(np.array([1, 0]), np.array([[0.2, 0.8], [0.6, 0.4]]), [0, 1])
    rows = Rows.of_frame(features)
    answered = Answered(["a", "b"], 1_700_000_000.0, units, [1.5, 2.5], rows, outputs)
    spooled = log_batch(answered).to_pandas()
    expected = log_frame([answered])
    assert list(spooled.columns) == list(expected.columns)
    for frame in (spooled, expected):  # a unit column without units: NaN in one, None in other
        frame["unit_id"] = frame["unit_id"].astype(object).where(frame["unit_id"].notna(), None)
    pd.testing.assert_frame_equal(spooled, expected, check_dtype=False)


SPOOLED_FEATURES = {
    "numbers and strings": pd.DataFrame(
        {"age": [41, 35], "region": ["N", None], "score": [0.5, np.nan], "vip": [True, False]}
    ),
    "categories": pd.DataFrame({"plan": pd.Categorical(["a", "b"]), "x": [1.0, 2.0]}),
    "nullable integers": pd.DataFrame({"n": pd.array([1, None], dtype="Int64")}),
}


@pytest.mark.parametrize("kind", list(SPOOLED_FEATURES))
@pytest.mark.parametrize("labels", [[0, 1], ["stay", "churn"]])
@pytest.mark.parametrize("units", [["u1", None], None])
def test_a_spool_record_reads_back_as_the_arrow_batch_of_its_rows(
    kind: str, labels: list[object], units: list[str | None] | None
) -> None:
    rows = Rows.of_frame(SPOOLED_FEATURES[kind])
    outputs = Outputs(np.array(labels), np.array([[0.2, 0.8], [0.6, 0.4]]), labels)
    answered = Answered(["a", "b"], 1_700_000_000.5, units, [1.5, 2.5], rows, outputs)
    [(key, table)] = list(_records(spooled("churn", 3, "challenger", answered)))
    assert key == ("churn", 3, "challenger")
    assert table.schema == log_batch(answered).schema
    pd.testing.assert_frame_equal(table.to_pandas(), log_batch(answered).to_pandas())


def test_columns_the_column_record_cannot_hold_leave_it_to_arrow() -> None:
    plain = {"prediction_id": ["a"], "x": np.array([1.0])}
    assert columns_record("churn", 1, "", plain, 1) is not None
    for column in (pd.array([1], dtype="Int64"), np.array([pd.Timestamp("2026-01-01")], object)):
        assert columns_record("churn", 1, "", {**plain, "y": column}, 1) is None
    categories = Rows.of_frame(pd.DataFrame({"plan": pd.Categorical(["a"])}))
    answered = Answered(["a"], 1.0, None, 1.0, categories, Outputs(np.array([1]), None, None))
    assert log_columns(answered)["feature.plan"] is categories.columns[0]


def _store_writer(client: mloop.Client, spool_dir: Path) -> PredictionLogWriter:
    """A writer into ``client``'s prediction log, spooling to ``spool_dir``, flushed by hand."""

    def write(model: str, version: int, arm: str, frame: pd.DataFrame) -> object:
        return client.prediction_log.write_chunk(model=model, version=version, arm=arm, frame=frame)

    writer = PredictionLogWriter(
        write,
        flush_rows=1000,
        flush_seconds=60,
        spool=Spool(spool_dir),
        logged=client.prediction_log.logged_ids,
    )
    writer.start()
    return writer


def _logged(client: mloop.Client) -> dict[str, float]:
    """The logged prediction ids with their feature ``x``; fails when an id appears twice."""
    frame = client.prediction_log.read("churn", columns=["prediction_id", "feature.x"])
    assert frame["prediction_id"].is_unique
    return dict(zip(frame["prediction_id"], frame["feature.x"], strict=True))


def _spooled_bytes(spool_dir: Path) -> int:
    return sum(path.stat().st_size for path in spool_dir.glob("*.spool"))


def test_a_reused_id_in_one_flush_keeps_its_first_row_and_every_other_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = mloop.Client(f"sqlite:///{tmp_path}/m.db")
    writer = _store_writer(client, tmp_path / "spool")
    writer.record("churn", 1, "", _answered(["dup-1"], 0))
    writer.record("churn", 1, "", _answered(["a-0", "a-1"], 10))
    writer.record("churn", 1, "", _answered(["dup-1"], 20))
    writer.record("churn", 2, "", _answered(["b"], 30))
    with caplog.at_level(logging.WARNING, "mloop.serving.log"):
        writer.flush()
    assert _logged(client) == {"dup-1": 0.0, "a-0": 10.0, "a-1": 11.0, "b": 30.0}
    assert writer.dropped_rows == 1
    assert writer.pending_ids() == set()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "1 predictions reuse an id already logged (e.g. 'dup-1'): a prediction id must be "
        "unique, so they are not logged"
    ]
    assert _spooled_bytes(tmp_path / "spool") == 0
    writer.close(timeout=10)


def test_ids_logged_in_an_earlier_flush_leave_the_rest_of_the_flush_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = mloop.Client(f"sqlite:///{tmp_path}/m.db")
    writer = _store_writer(client, tmp_path / "spool")
    writer.record("churn", 1, "", _answered(["dup-1", "dup-2"], 0))
    writer.flush()
    writer.record("churn", 1, "", _answered(["new-1", "dup-1"], 10))
    writer.record("churn", 1, "", _answered(["dup-2"], 20))
    writer.record("churn", 1, "", _answered(["new-2"], 30))
    with caplog.at_level(logging.WARNING, "mloop.serving.log"):
        writer.flush()
    assert _logged(client) == {"dup-1": 0.0, "dup-2": 1.0, "new-1": 10.0, "new-2": 30.0}
    assert writer.dropped_rows == 2
    assert writer.pending_ids() == set()
    assert "2 predictions reuse an id already logged (e.g. 'dup-1')" in caplog.text
    assert _spooled_bytes(tmp_path / "spool") == 0
    writer.close(timeout=10)
    assert not list((tmp_path / "spool").glob("*.spool"))


def test_a_flush_of_only_logged_ids_writes_nothing_and_empties_the_spool(tmp_path: Path) -> None:
    client = mloop.Client(f"sqlite:///{tmp_path}/m.db")
    writer = _store_writer(client, tmp_path / "spool")
    writer.record("churn", 1, "", _answered(["dup-1"], 0))
    writer.flush()
    writer.record("churn", 1, "", _answered(["dup-1"], 10))
    writer.record("churn", 1, "", _answered(["dup-1"], 20))
    writer.flush()
    assert _logged(client) == {"dup-1": 0.0}
    assert writer.dropped_rows == 2
    assert _spooled_bytes(tmp_path / "spool") == 0
    writer.close(timeout=10)
