"""Windows over the prediction log: the newest N rows, a time range, or fixed chunks of them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from mloop.client import Client
from mloop.entities import PredictionChunk
from mloop.errors import InvalidInput
from mloop.prediction_log import PREDICTION_ID, Window, model_columns
from mloop.profiles import (
    DatasetProfile,
    merge_all,
    on_reference,
    profile_from_dict,
    window_profile,
)


def read_window(
    client: Client,
    model: str,
    version: int | None,
    arm: str | None,
    window: Window,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The window's rows (inputs, outputs, labels; or only ``columns`` of them), oldest first."""
    log = client.prediction_log.read_window(
        model,
        window,
        version=version,
        arm=arm,
        columns=None if columns is None else [*columns, PREDICTION_ID],
    )
    return model_columns(log)


def _inside(chunk: PredictionChunk, window: Window) -> bool:
    return (window.start is None or chunk.start_time >= window.start) and (
        window.end is None or chunk.end_time < window.end
    )


def profile_window(
    client: Client,
    reference: DatasetProfile,
    model: str,
    version: int | None,
    arm: str | None,
    window: Window,
) -> DatasetProfile:
    """The window's profile, merged from stored chunk profiles; only edge chunks are reread.

    Chunks without a stored profile, or with one made on another reference, are profiled from
    their rows once and the new profile kept.
    """
    if window.last_n is not None:
        return window_profile(reference, read_window(client, model, version, arm, window))
    chunks = client.prediction_log.chunks(
        model, version=version, arm=arm, window=Window(start=window.start, end=window.end)
    )
    stored = client.monitoring.stored_chunk_profiles([chunk.id for chunk in chunks])
    parts = []
    for chunk in chunks:
        inside = _inside(chunk, window)
        part = _stored_profile(stored.get(chunk.id), reference) if inside else None
        if part is None:
            part = _chunk_profile(client, reference, chunk, window)
            if inside:
                client.monitoring.save_chunk_profile(chunk.id, part, reference)
        parts.append(part)
    if not parts:
        return window_profile(reference, pd.DataFrame(columns=list(reference.columns)))
    return merge_all(parts)


def _stored_profile(
    data: dict[str, Any] | None, reference: DatasetProfile
) -> DatasetProfile | None:
    """A stored chunk profile on ``reference``; None when absent or made on another reference."""
    if data is None:
        return None
    try:
        profile = profile_from_dict(data, reference=reference)
    except InvalidInput:
        return None
    return profile if on_reference(profile, reference) else None


def _chunk_profile(
    client: Client, reference: DatasetProfile, chunk: PredictionChunk, window: Window
) -> DatasetProfile:
    """The profile of a chunk's rows inside the window, read from the log."""
    rows = client.prediction_log.read_chunk(chunk, start=window.start, end=window.end)
    return window_profile(reference, model_columns(rows))


def fixed_chunks(
    frame: pd.DataFrame, ts: pd.Series, *, size: int | None = None, period: float | None = None
) -> Iterator[tuple[float, float, pd.DataFrame]]:
    """Split a window into chunks of ``size`` rows or of ``period`` seconds, as NannyML does."""
    if (size is None) == (period is None):
        raise InvalidInput("give exactly one of size (rows) or period (seconds)", field="chunks")
    if len(frame) == 0:
        return
    if period is None:
        rows = int(size or 0)
        if rows < 1:
            raise InvalidInput("chunk size must be at least 1 row", field="size")
        for start in range(0, len(frame), rows):
            part = slice(start, start + rows)
            yield float(ts.iloc[part].min()), float(ts.iloc[part].max()), frame.iloc[part]
        return
    if period <= 0:
        raise InvalidInput("chunk period must be positive", field="period")
    buckets = ((ts - ts.min()) // period).astype(int)
    for _, index in frame.groupby(buckets.to_numpy()).groups.items():
        yield float(ts.loc[index].min()), float(ts.loc[index].max()), frame.loc[index]
