"""Hourly and daily roll-ups of chunk profiles, so a long drift window reads a few rows.

A roll-up merges the profiles of the chunks of one model version and arm whose rows all fall in
one UTC hour or day (``mloop.profiles`` merges exactly); a chunk across a boundary stays out and
is read on its own. A period is rolled up once it ended ``settle_seconds`` ago, and again when
its chunks change (a late chunk, an erasure).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence

from mloop.entities import PredictionChunk, ProfileRollup
from mloop.errors import InvalidInput, NotFound
from mloop.prediction_log import model_columns
from mloop.profiles import (
    DatasetProfile,
    merge_all,
    on_reference,
    profile_from_dict,
    profile_to_dict,
    window_profile,
)
from mloop.services.monitoring import MonitoringService
from mloop.services.prediction_log import PredictionLogService
from mloop.store.protocols import LogLifecycleStore

PERIODS: dict[str, float] = {"hour": 3600.0, "day": 86_400.0}
SETTLE_SECONDS = 3600.0
FAR_FUTURE = 1e15

Group = tuple[str, int, str]


def bucket(moment: float, seconds: float) -> float:
    """The start (epoch s) of the UTC period of ``seconds`` that holds ``moment``."""
    return math.floor(moment / seconds) * seconds


def stored_profile(
    data: dict[str, object] | None, reference: DatasetProfile
) -> DatasetProfile | None:
    """A stored profile made on ``reference``; None when absent or made on another one."""
    if data is None:
        return None
    try:
        profile = profile_from_dict(dict(data), reference=reference)
    except InvalidInput:
        return None
    return profile if on_reference(profile, reference) else None


class ProfileRollups:
    """Builds and lists roll-ups; without a lifecycle store (a server URL) there are none."""

    def __init__(
        self,
        lifecycle: LogLifecycleStore | None,
        monitoring: MonitoringService,
        log: PredictionLogService,
    ) -> None:
        self._store = lifecycle
        self._monitoring = monitoring
        self._log = log

    def within(
        self, model: str, version: int | None, arm: str | None, start: float, end: float | None
    ) -> list[ProfileRollup]:
        """Roll-ups wholly inside [start, end) (end None: open), oldest first."""
        if self._store is None:
            return []
        return self._store.list_rollups(model, version, arm, start, end or FAR_FUTURE)

    def roll_up(self, *, now: float | None = None, settle_seconds: float = SETTLE_SECONDS) -> int:
        """Roll up every settled hour and day whose chunks changed; return roll-ups written.

        Versions without a reference profile are skipped (nothing to profile them on).
        """
        if self._store is None:
            raise InvalidInput("roll-ups are built on the server, next to its database")
        settled = (time.time() if now is None else now) - settle_seconds
        groups: dict[Group, list[PredictionChunk]] = defaultdict(list)
        for chunk in self._store.all_chunks():
            groups[(chunk.model, chunk.version, chunk.arm)].append(chunk)
        store = self._store
        return sum(
            self._roll_up_group(store, group, chunks, settled) for group, chunks in groups.items()
        )

    def _roll_up_group(
        self,
        store: LogLifecycleStore,
        group: Group,
        chunks: list[PredictionChunk],
        settled: float,
    ) -> int:
        model, version, arm = group
        existing = {
            (r.period, r.start_time): set(r.chunk_ids)
            for r in store.list_rollups(model, version, arm, 0.0, FAR_FUTURE)
        }
        todo = {
            (period, start): members
            for period, seconds in PERIODS.items()
            for start, members in _buckets(chunks, seconds, settled).items()
            if existing.get((period, start)) != {c.id for c in members}
        }
        if not todo:
            return 0
        try:
            reference = self._monitoring.reference(model, version).profile
        except NotFound:
            return 0
        profiles = self._chunk_profiles(reference, {c.id: c for m in todo.values() for c in m})
        for (period, start), members in todo.items():
            merged = merge_all([profiles[c.id] for c in members])
            store.save_rollup(
                ProfileRollup(
                    model,
                    version,
                    arm,
                    period,
                    start,
                    start + PERIODS[period],
                    merged.n_rows,
                    sorted(c.id for c in members),
                    profile_to_dict(merged, reference=reference),
                    time.time(),
                )
            )
        return len(todo)

    def _chunk_profiles(
        self, reference: DatasetProfile, chunks: dict[int, PredictionChunk]
    ) -> dict[int, DatasetProfile]:
        """Each chunk's profile: stored when made on ``reference``, else profiled and kept."""
        stored = self._monitoring.stored_chunk_profiles(list(chunks))
        found: dict[int, DatasetProfile] = {}
        for chunk_id, chunk in chunks.items():
            profile = stored_profile(stored.get(chunk_id), reference)
            if profile is None:
                rows = model_columns(self._log.read_chunk(chunk))
                profile = window_profile(reference, rows)
                self._monitoring.save_chunk_profile(chunk_id, profile, reference)
            found[chunk_id] = profile
        return found


def _buckets(
    chunks: Sequence[PredictionChunk], seconds: float, settled: float
) -> dict[float, list[PredictionChunk]]:
    """Chunks by the settled period of ``seconds`` that wholly holds them."""
    found: dict[float, list[PredictionChunk]] = defaultdict(list)
    for chunk in chunks:
        start = bucket(chunk.start_time, seconds)
        if start == bucket(chunk.end_time, seconds) and start + seconds <= settled:
            found[start].append(chunk)
    return found
