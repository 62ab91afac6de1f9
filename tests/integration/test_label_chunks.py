"""Labels are read by the chunk of their prediction: before, after and during its logging."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import mloop
from mloop.entities import ChunkLabels
from mloop.store import HEAD_REVISION, open_store, upgrade_store
from mloop.store.sql.migrate import MIGRATIONS_DIR
from tests.conftest import SQL_STORES, open_store_url, store_ids

T0 = 1_700_000_000.0


@pytest.fixture(params=SQL_STORES, ids=store_ids(SQL_STORES))
def sql_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from open_store_url(request, monkeypatch)


def _log(client: mloop.Client, ids: list[str], start: float = 0.0) -> None:
    frame = pd.DataFrame(
        {
            "prediction_id": ids,
            "ts": T0 + start + np.arange(len(ids), dtype=float),
            "feature.x": np.arange(len(ids), dtype=float),
            "prediction": np.zeros(len(ids), dtype=int),
        }
    )
    client.prediction_log.write_chunk(model="m", version=1, arm="", frame=frame)


def _labels(client: mloop.Client) -> dict[str, object]:
    frame = client.prediction_log.read("m", with_feedback=True)
    return {
        pid: label
        for pid, label in zip(frame["prediction_id"], frame["label"], strict=True)
        if not pd.isna(label)
    }


def test_labels_before_and_after_logging_and_label_kinds_are_read_alike(sql_url: str) -> None:
    client = mloop.Client(sql_url)
    client.prediction_log.record_feedback({"a0": 1, "a1": "churned", "b0": 0.30000000000000004})
    _log(client, ["a0", "a1", "a2"])
    _log(client, ["b0", "b1"], start=10)
    client.prediction_log.record_feedback({"a2": True, "b1": 1e20, "ghost": 3})
    expected = {"a0": 1, "a1": "churned", "a2": True, "b0": 0.30000000000000004, "b1": 1e20}
    assert _labels(client) == expected
    chunks = [chunk.id for chunk in client.prediction_log.chunks("m")]
    predictions = open_store(sql_url).predictions
    assert _by_position(predictions.labels_of_chunks(chunks)) == {
        (chunks[0], 0): 1,
        (chunks[0], 1): "churned",
        (chunks[0], 2): True,
        (chunks[1], 0): 0.30000000000000004,
        (chunks[1], 1): 1e20,
    }
    assert _by_position(predictions.labels_of_chunks(chunks[1:])) == {
        (chunks[1], 0): 0.30000000000000004,
        (chunks[1], 1): 1e20,
    }


def _by_position(found: list[ChunkLabels]) -> dict[tuple[int, int], object]:
    return {
        (entry.chunk_id, row): label
        for entry in found
        for row, label in zip(entry.rows, entry.labels, strict=True)
    }


def test_a_window_cutting_chunks_keeps_each_label_on_its_row(sql_url: str) -> None:
    client = mloop.Client(sql_url)
    ids = [f"w{i}" for i in range(30)]
    _log(client, ids[:10])
    _log(client, ids[10:20], start=10)
    _log(client, ids[20:], start=20)
    labels = {pid: float(i) * 1.5 for i, pid in enumerate(ids) if i % 3 != 1}
    client.prediction_log.record_feedback(labels)
    frame = client.prediction_log.read("m", start=T0 + 4, end=T0 + 25, with_feedback=True)
    assert frame["prediction_id"].tolist() == ids[4:25]
    for pid, label in zip(frame["prediction_id"], frame["label"], strict=True):
        assert label == labels[pid] if pid in labels else pd.isna(label)
    newest = client.prediction_log.read("m", last_n=7, with_feedback=True)
    assert newest["prediction_id"].tolist() == ids[23:]
    assert [labels.get(pid) for pid in ids[23:]] == [
        None if pd.isna(v) else v for v in newest["label"]
    ]


def test_labels_keep_their_rows_when_a_chunk_is_rewritten(sql_url: str) -> None:
    client = mloop.Client(sql_url)
    ids = [f"e{i}" for i in range(8)]
    frame = pd.DataFrame(
        {
            "prediction_id": ids,
            "ts": T0 + np.arange(8, dtype=float),
            "unit_id": ["u1" if i in (1, 4) else f"k{i}" for i in range(8)],
            "feature.x": np.arange(8, dtype=float),
            "prediction": np.zeros(8, dtype=int),
        }
    )
    client.prediction_log.write_chunk(model="m", version=1, arm="", frame=frame)
    client.prediction_log.record_feedback({pid: i for i, pid in enumerate(ids)})
    assert client.log_lifecycle.erase("u1").rows == 2
    after = client.prediction_log.read("m", with_feedback=True)
    kept = [pid for pid in ids if pid not in {"e1", "e4"}]
    assert after["prediction_id"].tolist() == kept
    assert after["label"].tolist() == [ids.index(pid) for pid in kept]


def test_a_label_whose_chunk_was_not_attached_is_still_read(sql_url: str) -> None:
    client = mloop.Client(sql_url)
    _log(client, ["c0", "c1"])
    client.prediction_log.record_feedback({"c0": 0, "c1": 1})
    engine = sa.create_engine(sql_url)
    with engine.begin() as conn:  # what a feedback racing its chunk's write can leave behind
        conn.exec_driver_sql("UPDATE labels SET chunk_id = NULL WHERE prediction_id = 'c1'")
    engine.dispose()
    assert _labels(client) == {"c0": 0, "c1": 1}


def test_labels_stored_before_the_upgrade_are_read_by_chunk(sqlite_url: str) -> None:
    Path(sqlite_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = sa.create_engine(sqlite_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
        conn.exec_driver_sql(
            "INSERT INTO prediction_chunks VALUES (1, 'm', 1, '', 0, 1, 2, 'd', 1, 0)"
        )
        conn.exec_driver_sql("INSERT INTO prediction_ids VALUES ('p1', 1, 0, 0.5)")
        conn.exec_driver_sql("INSERT INTO labels VALUES ('p1', '\"yes\"', 7.0, 7.0)")
        conn.exec_driver_sql("INSERT INTO labels VALUES ('early', '1', 7.0, 7.0)")
    engine.dispose()
    assert upgrade_store(sqlite_url) == ("0007", HEAD_REVISION)
    predictions = open_store(sqlite_url).predictions
    assert _by_position(predictions.labels_of_chunks([1])) == {(1, 0): "yes"}
