"""The prediction log: Parquet chunks indexed in the store, windows, feedback, integrity."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mloop
from mloop.entities import PredictionChunk
from mloop.errors import Conflict, IntegrityError, InvalidInput
from mloop.prediction_log import Window, model_columns
from mloop.store import open_store

T0 = 1_700_000_000.0


def _frame(ids: list[str], ts: np.ndarray, *, classifier: bool = False) -> pd.DataFrame:
    n = len(ids)
    rng = np.random.default_rng(len(ids))
    columns: dict[str, object] = {
        "prediction_id": ids,
        "ts": ts,
        "unit_id": [f"u{i % 7}" for i in range(n)],
        "latency_ms": rng.uniform(1, 5, n),
        "feature.age": rng.integers(18, 90, n),
        "feature.region": rng.choice(["N", "S"], n),
    }
    if classifier:
        p = rng.uniform(0, 1, n)
        columns |= {"prediction": (p > 0.5).astype(int), "proba.0": 1 - p, "proba.1": p}
    else:
        columns["prediction"] = rng.normal(size=n)
    return pd.DataFrame(columns)


def _write(
    client: mloop.Client,
    prefix: str,
    seconds: range,
    *,
    version: int = 1,
    arm: str = "",
    offset: float = 0.0,
    classifier: bool = False,
) -> PredictionChunk:
    ids = [f"{prefix}{s}" for s in seconds]
    frame = _frame(ids, T0 + offset + np.array(seconds, dtype=float), classifier=classifier)
    return client.prediction_log.write_chunk(model="churn", version=version, arm=arm, frame=frame)


def _read(client: mloop.Client, **kwargs: Any) -> pd.DataFrame:
    return client.prediction_log.read("churn", **kwargs)


def test_round_trip_across_versions_and_an_arm(client: mloop.Client) -> None:
    first = _write(client, "a", range(0, 10))
    _write(client, "b", range(10, 20))
    third = _write(client, "c", range(15, 25), version=2, arm="challenger", classifier=True)
    assert (first.n_rows, first.start_time, first.end_time) == (10, T0, T0 + 9)
    assert first.id > 0 and len(first.digest) == 64 and first.size > 0
    frame = _read(client)
    assert len(frame) == 30
    assert frame["ts"].is_monotonic_increasing
    assert frame.groupby("version").size().to_dict() == {1: 20, 2: 10}
    assert set(frame.loc[frame["version"] == 2, "arm"]) == {"challenger"}
    assert set(frame.loc[frame["version"] == 1, "arm"]) == {""}
    assert frame.loc[frame["version"] == 1, "proba.1"].isna().all()
    assert frame.loc[frame["version"] == 2, "proba.1"].notna().all()
    written = _frame([f"c{s}" for s in range(15, 25)], T0 + np.arange(15, 25.0), classifier=True)
    challenger = _read(client, arm="challenger").drop(columns=["version", "arm"])
    pd.testing.assert_frame_equal(challenger, written, check_dtype=False)
    assert len(_read(client, version=1)) == 20
    assert len(_read(client, version=2, arm="")) == 0
    assert [c.id for c in client.prediction_log.chunks("churn", version=2)] == [third.id]
    assert list(_read(client, columns=["ts", "proba.1"]).columns) == ["ts", "proba.1"]


def test_versions_with_different_prediction_types_read_together(client: mloop.Client) -> None:
    _write(client, "n", range(0, 5))
    frame = _frame([f"s{i}" for i in range(5)], T0 + np.arange(5, 10.0))
    client.prediction_log.write_chunk(
        model="churn",
        version=2,
        arm="",
        frame=frame.assign(prediction=["yes", "no", "yes", "no", "yes"]).drop(
            columns=["feature.region"]
        ),
    )
    both = _read(client)
    assert list(both["prediction"].iloc[5:]) == ["yes", "no", "yes", "no", "yes"]
    assert both["prediction"].iloc[:5].map(type).eq(float).all()
    assert both["feature.region"].iloc[5:].isna().all()


def _recording_reads(client: mloop.Client, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    read: list[str] = []
    original = client.artifacts.get_bytes

    def get_bytes(digest: str) -> bytes:
        read.append(digest)
        return original(digest)

    monkeypatch.setattr(client.artifacts, "get_bytes", get_bytes)
    return read


def test_window_and_last_n_read_only_overlapping_chunks(
    client: mloop.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = [_write(client, f"w{i}-", range(10 * i, 10 * i + 10)) for i in range(4)]
    read = _recording_reads(client, monkeypatch)
    window = client.prediction_log.chunks("churn", window=Window(start=T0 + 12, end=T0 + 22))
    assert [c.id for c in window] == [chunks[1].id, chunks[2].id]
    frame = _read(client, start=T0 + 12, end=T0 + 22)
    assert read == [c.digest for c in window]
    assert list(frame["ts"] - T0) == list(range(12, 22))
    newest = client.prediction_log.chunks("churn", window=Window(last_n=15))
    assert [c.id for c in newest] == [chunks[2].id, chunks[3].id]
    read.clear()
    frame = _read(client, last_n=5)
    assert read == [chunks[3].digest]
    assert list(frame["ts"] - T0) == list(range(35, 40))
    frame = _read(client, end=T0 + 25, last_n=12)
    assert list(frame["ts"] - T0) == list(range(13, 25))
    assert len(_read(client, last_n=1000)) == 40


def test_last_n_is_exact_when_writers_overlap_in_time(client: mloop.Client) -> None:
    _write(client, "a", range(0, 100), arm="a")
    _write(client, "b", range(0, 100), arm="b", offset=0.5)
    assert len(client.prediction_log.chunks("churn", window=Window(last_n=10))) == 2
    frame = _read(client, last_n=10)
    assert list(frame["ts"] - T0) == [95, 95.5, 96, 96.5, 97, 97.5, 98, 98.5, 99, 99.5]


def test_feedback_known_unknown_and_corrected(client: mloop.Client) -> None:
    _write(client, "p", range(10))
    result = client.prediction_log.record_feedback(
        {"p1": 1, "p2": "churned", "nope": 0, "p3": True}
    )
    assert result.accepted == 4
    assert result.unknown == ["nope"]
    assert client.prediction_log.feedback_for(["p1", "p2", "p3", "nope"]) == {
        "p1": 1,
        "p2": "churned",
        "nope": 0,
        "p3": True,
    }
    assert client.prediction_log.record_feedback({"p1": 0.25}).accepted == 1
    assert client.prediction_log.feedback_for(["p1"]) == {"p1": 0.25}
    frame = _read(client, with_feedback=True, columns=["prediction_id", "prediction"])
    assert list(frame.columns) == ["prediction_id", "prediction", "label"]
    labels = dict(zip(frame["prediction_id"], frame["label"], strict=True))
    assert labels["p1"] == 0.25 and labels["p2"] == "churned"
    assert pd.isna(labels["p0"]) and pd.isna(labels["p9"])


def test_the_model_view_of_a_window_is_the_log_as_the_model_saw_it(client: mloop.Client) -> None:
    _write(client, "m", range(0, 10), classifier=True)
    _write(client, "n", range(10, 20), classifier=True)
    client.prediction_log.record_feedback({f"m{i}": i % 2 for i in range(0, 20, 3)})
    client.prediction_log.record_feedback({f"n{i}": "late" for i in (12, 18)})
    window = Window(start=T0 + 5, end=T0 + 15)
    seen = client.prediction_log.read_model_window("churn", window)
    logged = _read(client, start=window.start, end=window.end, with_feedback=True)
    pd.testing.assert_frame_equal(seen, model_columns(logged))
    assert "prediction_id" not in seen.columns
    assert seen["ts"].tolist() == [T0 + i for i in range(5, 15)]
    labels = seen["label"].tolist()
    assert pd.isna(labels[0]) and labels[1] == 0 and labels[4] == 1 and labels[7] == "late"
    outputs = client.prediction_log.read_model_window("churn", window, columns=["prediction"])
    assert list(outputs.columns) == ["ts", "prediction", "label"]
    empty = client.prediction_log.read_model_window("nobody", window)
    assert empty.empty and list(empty.columns) == ["ts", "prediction", "label"]


def test_five_thousand_labels_in_one_call(client: mloop.Client) -> None:
    _write(client, "q", range(6000))
    labels = {f"q{i}": i % 2 for i in range(5000)} | {f"ghost{i}": 1 for i in range(100)}
    result = client.prediction_log.record_feedback(labels)
    assert result.accepted == 5100
    assert result.unknown == [f"ghost{i}" for i in range(100)]
    stored = client.prediction_log.feedback_for(list(labels))
    assert len(stored) == 5100 and stored["q4999"] == 1
    frame = _read(client, with_feedback=True)
    assert frame["label"].notna().sum() == 5000


def test_feedback_refuses_bad_ids_and_labels(client: mloop.Client) -> None:
    _write(client, "p", range(3))
    with pytest.raises(InvalidInput, match=r"x{65}"):
        client.prediction_log.record_feedback({"x" * 65: 1})
    with pytest.raises(InvalidInput, match="p1"):
        client.prediction_log.record_feedback({"p0": 1, "p1": [1, 2]})
    with pytest.raises(InvalidInput, match="p2"):
        client.prediction_log.record_feedback({"p2": float("nan")})
    assert client.prediction_log.feedback_for(["p0", "p1", "p2"]) == {}
    assert client.prediction_log.record_feedback({"p0": np.int64(1)}).accepted == 1
    assert client.prediction_log.feedback_for(["p0"]) == {"p0": 1}


def test_duplicate_prediction_ids_write_nothing(client: mloop.Client) -> None:
    first = _write(client, "d", range(0, 5))
    assert (
        open_store(client.store_url).predictions.record_prediction_chunk(
            first, [f"d{i}" for i in range(5)], [T0 + i for i in range(5)]
        )
        == first.id
    )
    with pytest.raises(Conflict, match="'d4'"):
        _write(client, "d", range(4, 9))
    with pytest.raises(Conflict, match="twice"):
        client.prediction_log.write_chunk(
            model="churn",
            version=1,
            arm="",
            frame=_frame(["e1", "e1"], np.array([T0, T0 + 1])),
        )
    assert [c.id for c in client.prediction_log.chunks("churn")] == [first.id]
    assert client.prediction_log.record_feedback({"d5": 1, "e1": 1}).unknown == ["d5", "e1"]
    assert len(_read(client)) == 5


def test_an_empty_window_is_an_empty_frame(client: mloop.Client) -> None:
    empty = _read(client, with_feedback=True)
    assert empty.empty
    assert list(empty.columns) == [
        "prediction_id",
        "ts",
        "unit_id",
        "latency_ms",
        "prediction",
        "version",
        "arm",
        "label",
    ]
    _write(client, "p", range(10))
    before = _read(client, end=T0, with_feedback=True)
    assert before.empty and "label" in before.columns
    inside_gap = _read(client, start=T0 + 3.2, end=T0 + 3.8)
    assert inside_gap.empty and "feature.age" in inside_gap.columns
    assert _read(client, version=9, columns=["ts"]).columns.tolist() == ["ts"]


def test_invalid_chunks_are_refused(client: mloop.Client) -> None:
    def write(frame: object) -> None:
        client.prediction_log.write_chunk(model="churn", version=1, arm="", frame=frame)

    with pytest.raises(InvalidInput, match="at least one row"):
        write(_frame([], np.array([])))
    with pytest.raises(InvalidInput, match="ts"):
        write(_frame(["a"], np.array([T0])).drop(columns=["ts"]))
    with pytest.raises(InvalidInput, match="prediction_id"):
        write(pd.DataFrame({"ts": [T0]}))
    with pytest.raises(InvalidInput, match="epoch seconds"):
        write(_frame(["a"], np.array([np.nan])))
    with pytest.raises(InvalidInput, match=r"x{65}"):
        write(_frame(["x" * 65], np.array([T0])))
    with pytest.raises(InvalidInput, match="last_n"):
        _read(client, last_n=0)
    assert client.prediction_log.chunks("churn") == []


def test_a_changed_blob_fails_the_read(client: mloop.Client) -> None:
    chunk = _write(client, "p", range(10))
    path = Path(client.artifacts_url) / "blobs" / chunk.digest[:2] / chunk.digest
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    with pytest.raises(IntegrityError):
        _read(client)


def test_a_million_rows_and_a_fast_recent_window(sqlite_url: str) -> None:
    client = mloop.Client(sqlite_url)
    rng = np.random.default_rng(0)
    n_chunks, rows = 100, 10_000
    started = time.perf_counter()
    for i in range(n_chunks):
        index = np.arange(i * rows, (i + 1) * rows)
        frame = pd.DataFrame(
            {
                "prediction_id": [f"{j:012x}" for j in index],
                "ts": T0 + index * 0.01,
                "unit_id": None,
                "latency_ms": rng.uniform(1, 5, rows),
                "feature.age": rng.integers(18, 90, rows),
                "feature.income": rng.normal(50_000, 10_000, rows),
                "prediction": rng.uniform(0, 1, rows),
            }
        )
        client.prediction_log.write_chunk(model="churn", version=1, arm="", frame=frame)
    wrote = time.perf_counter() - started
    started = time.perf_counter()
    recent = _read(client, last_n=20_000)
    read = time.perf_counter() - started
    print(f"\nprediction log: wrote 1,000,000 rows in {wrote:.2f} s, read 20,000 in {read:.3f} s")
    assert len(recent) == 20_000
    assert recent["prediction_id"].iloc[-1] == f"{n_chunks * rows - 1:012x}"
    assert recent["ts"].is_monotonic_increasing
    assert len(client.prediction_log.chunks("churn", window=Window(last_n=20_000))) == 2
