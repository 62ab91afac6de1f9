"""Windows over the prediction log: the newest N rows, a time range, or fixed chunks of them."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mloop import predictions
from mloop.entities import PredictionChunk
from mloop.errors import InvalidInput
from mloop.profiles import (
    DatasetProfile,
    merge_all,
    on_reference,
    profile_from_dict,
    profile_to_dict,
    window_profile,
)
from mloop.registry import Client

FEATURE_PREFIX = "feature."
_PERIOD = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Window:
    """Which rows of the log to look at: the newest ``last_n``, or those in [start, end)."""

    last_n: int | None = None
    start: float | None = None
    end: float | None = None

    def describe(self) -> str:
        """The window in words, for reports."""
        if self.last_n is not None:
            return f"last {self.last_n} predictions"
        return f"{self.start or 'beginning'} to {self.end or 'now'}"


def parse_window(text: str, now: float | None = None) -> Window:
    """``10000`` is the newest 10,000 rows; ``30m``, ``6h``, ``7d`` the rows of that period."""
    text = text.strip().lower()
    if text.isdigit() and int(text) > 0:
        return Window(last_n=int(text))
    match = _PERIOD.match(text)
    if match is None:
        raise InvalidInput(
            f"window {text!r}: give a row count (10000) or a period (30m, 6h, 7d)", field="window"
        )
    seconds = float(match[1]) * _SECONDS[match[2]]
    return Window(start=(now or time.time()) - seconds)


def log_columns(log: pd.DataFrame) -> pd.DataFrame:
    """The log with model inputs under their own names, next to outputs and labels."""
    renamed = {
        c: c.removeprefix(FEATURE_PREFIX) for c in log.columns if c.startswith(FEATURE_PREFIX)
    }
    outputs = [
        c for c in log.columns if c in {"ts", "prediction", "label"} or c.startswith("proba.")
    ]
    keep = [*renamed, *outputs]
    return log[keep].rename(columns=renamed)


def read_window(
    client: Client,
    model: str,
    version: int | None,
    arm: str | None,
    window: Window,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The window's rows (inputs, outputs, labels; or only ``columns`` of them), oldest first."""
    log = client.read_predictions(
        model,
        version=version,
        arm=arm,
        start=window.start,
        end=window.end,
        last_n=window.last_n,
        with_feedback=True,
        columns=None if columns is None else [*columns, "prediction_id"],
    )
    return log_columns(log)


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
    store = client.store
    chunks = store.list_prediction_chunks(model, version, arm, window.start, window.end)
    stored = store.chunk_profiles([chunk.id for chunk in chunks])
    parts = []
    for chunk in chunks:
        inside = _inside(chunk, window)
        part = _stored_profile(stored.get(chunk.id), reference) if inside else None
        if part is None:
            part = _chunk_profile(client, reference, chunk, window)
            if inside:
                store.save_chunk_profile(chunk.id, profile_to_dict(part, reference=reference))
        parts.append(part)
    if not parts:
        return window_profile(reference, pd.DataFrame(columns=list(reference.columns)))
    merged = merge_all(parts)
    return DatasetProfile(merged.n_rows, merged.columns, {})


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
    rows = predictions.read_chunk(client.artifacts, chunk, start=window.start, end=window.end)
    return window_profile(reference, log_columns(rows))


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
