"""Window profiles from stored chunk profiles: compact storage, reuse, and a replaced reference."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest

from mloop.entities import PredictionChunk
from mloop.errors import InvalidInput
from mloop.monitoring.windows import (
    fixed_chunks,
    profile_window,
    read_window,
)
from mloop.prediction_log import Window, model_columns
from mloop.profiles import (
    DatasetProfile,
    NumericProfile,
    profile_from_dict,
    profile_to_dict,
    window_profile,
)
from mloop.scenario import TARGET, churn_customers
from mloop.serving.app import ModelServer
from mloop.serving.config import ServeConfig
from mloop.store import open_store

from .conftest import Monitored


def reference_of(monitored: Monitored) -> DatasetProfile:
    """The stored reference profile of churn v1."""
    return monitored.client.monitoring.reference("churn", 1).profile


def assert_same_counts(actual: DatasetProfile, expected: DatasetProfile) -> None:
    """Equal profiles, with means and squared deviations to float rounding."""
    assert actual.n_rows == expected.n_rows
    for name, column in expected.columns.items():
        merged = actual.columns[name]
        if isinstance(column, NumericProfile) and isinstance(merged, NumericProfile):
            assert merged.squared_deviations == pytest.approx(column.squared_deviations)
            if column.mean is not None:
                assert merged.mean == pytest.approx(column.mean)
            merged = replace(merged, mean=column.mean, squared_deviations=column.squared_deviations)
        assert merged == column, name


def logged_window(monitored: Monitored) -> Window:
    """6,000 logged rows in chunks of 1,000, all inside the returned window."""
    start = time.time() - 3600
    monitored.log(churn_customers(6000, seed=45), start=start, chunk_rows=1000)
    return Window(start=start, end=start + 61)


def chunk_profiles(monitored: Monitored, window: Window) -> dict[int, dict[str, Any]]:
    """The stored chunk profiles of the window's chunks."""
    chunks = monitored.client.prediction_log.chunks("churn", version=1, window=window)
    return monitored.client.monitoring.stored_chunk_profiles([chunk.id for chunk in chunks])


def test_chunk_profiles_are_stored_compactly_and_merge_to_the_raw_rows(
    monitored: Monitored,
) -> None:
    window = logged_window(monitored)
    reference = reference_of(monitored)
    first = profile_window(monitored.client, reference, "churn", 1, None, window)
    stored = chunk_profiles(monitored, window)
    assert len(stored) == 6
    for profile in stored.values():
        numeric = [c for c in profile["columns"] if c["kind"] == "numeric"]
        assert numeric and all("edges" not in c and "edges_sha256" in c for c in numeric)
    second = profile_window(monitored.client, reference, "churn", 1, None, window)
    rows = window_profile(reference, read_window(monitored.client, "churn", 1, None, window))
    assert_same_counts(first, rows)
    assert_same_counts(second, rows)


def test_the_log_writer_stores_compact_chunk_profiles(monitored: Monitored) -> None:
    ids = monitored.log(churn_customers(500, seed=47), start=time.time() - 60)
    log = monitored.client.prediction_log
    logged = log.read_chunk(log.chunks("churn", version=1)[0])
    logged["prediction_id"] = [f"again-{i}" for i in ids]
    server = ModelServer(ServeConfig("models:/churn/1", log_predictions=False), monitored.client)
    chunk = server._write_chunk("churn", 1, "", logged)
    assert isinstance(chunk, PredictionChunk)
    stored = monitored.client.monitoring.stored_chunk_profiles([chunk.id])[chunk.id]
    assert all("edges" not in c for c in stored["columns"] if c["kind"] == "numeric")
    reference = reference_of(monitored)
    restored = profile_from_dict(stored, reference=reference)
    assert restored == window_profile(reference, model_columns(logged))


@pytest.mark.parametrize("compact", [True, False])
def test_chunk_profiles_of_a_replaced_reference_are_not_merged(
    monitored: Monitored, compact: bool
) -> None:
    window = logged_window(monitored)
    old = reference_of(monitored)
    log = monitored.client.prediction_log
    for chunk in log.chunks("churn", version=1, window=window):
        stale = window_profile(old, model_columns(log.read_chunk(chunk)))
        stored = profile_to_dict(stale, reference=old if compact else None)
        open_store(monitored.client.store_url).monitoring.save_chunk_profile(chunk.id, stored)
    shifted = churn_customers(3000, seed=46, economic_downturn=1.0).drop(columns=[TARGET])
    monitored.client.set_reference("churn", 1, shifted)
    new = reference_of(monitored)
    assert new.columns["annual_income"] != old.columns["annual_income"]
    merged = profile_window(monitored.client, new, "churn", 1, None, window)
    rows = window_profile(new, read_window(monitored.client, "churn", 1, None, window))
    assert_same_counts(merged, rows)


def test_fixed_chunks_by_size_and_by_period() -> None:
    ts = pd.Series([0.0, 1.0, 2.0, 10.0, 11.0, 25.0])
    frame = pd.DataFrame({"x": range(6)})
    by_size = [(start, end, len(part)) for start, end, part in fixed_chunks(frame, ts, size=4)]
    assert by_size == [(0.0, 10.0, 4), (11.0, 25.0, 2)]
    by_period = [(start, end, len(part)) for start, end, part in fixed_chunks(frame, ts, period=10)]
    assert by_period == [(0.0, 2.0, 3), (10.0, 11.0, 2), (25.0, 25.0, 1)]
    with pytest.raises(InvalidInput):
        list(fixed_chunks(frame, ts))
    with pytest.raises(InvalidInput):
        list(fixed_chunks(frame, ts, period=-1))
