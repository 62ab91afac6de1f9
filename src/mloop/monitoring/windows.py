"""Windows over the prediction log: the newest N rows, a time range, or fixed chunks of them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pandas as pd

from mloop.client import Client
from mloop.entities import PredictionChunk
from mloop.errors import InvalidInput
from mloop.prediction_log import Window, model_columns
from mloop.profiles import DatasetProfile, merge_all, window_profile
from mloop.services.rollups import stored_profile


def read_window(
    client: Client,
    model: str,
    version: int | None,
    arm: str | None,
    window: Window,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The window's rows (inputs, outputs, labels; or only ``columns`` of them), oldest first."""
    return client.prediction_log.read_model_window(
        model, window, version=version, arm=arm, columns=columns
    )


def _inside(chunk: PredictionChunk, window: Window) -> bool:
    return (window.start is None or chunk.start_time >= window.start) and (
        window.end is None or chunk.end_time < window.end
    )


@dataclass(frozen=True)
class WindowProfile:
    """A window's profile and what it was merged from: roll-ups, stored chunk profiles, and
    chunks whose rows were read."""

    profile: DatasetProfile
    rollups: int = 0
    stored: int = 0
    read: int = 0


def profile_window(
    client: Client,
    reference: DatasetProfile,
    model: str,
    version: int | None,
    arm: str | None,
    window: Window,
) -> DatasetProfile:
    """The window's profile, merged from roll-ups and stored chunk profiles (see
    ``window_sources``)."""
    return window_sources(client, reference, model, version, arm, window).profile


def window_sources(
    client: Client,
    reference: DatasetProfile,
    model: str,
    version: int | None,
    arm: str | None,
    window: Window,
) -> WindowProfile:
    """The window's profile from the fewest stored parts: daily then hourly roll-ups wholly
    inside it, then stored chunk profiles; only edge chunks (and chunks without a profile on
    this reference, whose new profile is kept) are read from the log.
    """
    if window.last_n is not None:
        rows = read_window(client, model, version, arm, window)
        return WindowProfile(window_profile(reference, rows), read=1)
    chunks = client.prediction_log.chunks(
        model, version=version, arm=arm, window=Window(start=window.start, end=window.end)
    )
    rolled, covered = _rollups(client, reference, model, version, arm, window, chunks)
    rest = [chunk for chunk in chunks if chunk.id not in covered]
    stored = client.monitoring.stored_chunk_profiles([chunk.id for chunk in rest])
    parts, read = list(rolled), 0
    for chunk in rest:
        inside = _inside(chunk, window)
        part = stored_profile(stored.get(chunk.id), reference) if inside else None
        if part is None:
            part, read = _chunk_profile(client, reference, chunk, window), read + 1
            if inside:
                client.monitoring.save_chunk_profile(chunk.id, part, reference)
        parts.append(part)
    if not parts:
        empty = window_profile(reference, pd.DataFrame(columns=list(reference.columns)))
        return WindowProfile(empty)
    return WindowProfile(merge_all(parts), len(rolled), len(rest) - read, read)


def _rollups(
    client: Client,
    reference: DatasetProfile,
    model: str,
    version: int | None,
    arm: str | None,
    window: Window,
    chunks: Sequence[PredictionChunk],
) -> tuple[list[DatasetProfile], set[int]]:
    """Roll-ups on ``reference`` inside the window that cover none of the same chunks (days
    first), with the ids of the chunks they cover."""
    if window.start is None:
        return [], set()
    present = {chunk.id for chunk in chunks}
    found = client.rollups.within(model, version, arm, window.start, window.end)
    found.sort(key=lambda rollup: (rollup.period != "day", rollup.start_time))
    chosen: list[DatasetProfile] = []
    covered: set[int] = set()
    for rollup in found:
        ids = set(rollup.chunk_ids)
        if ids & covered or not ids <= present:
            continue
        profile = stored_profile(rollup.profile, reference)
        if profile is not None:
            chosen.append(profile)
            covered |= ids
    return chosen, covered


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
