"""Shadow scoring off the request path: rows gathered for a window, scored in few model calls.

Nobody waits for a shadow model's answer, so there is no reason to call it once per champion
micro-batch. The queue gathers the requests a shadow model must score for ``window_seconds``
and hands them over merged, at most ``max_rows`` rows per call, one scoring at a time: with
the champion's micro-batches of a few rows, the shadow model is called tens of times less
often, and its calls stop competing with the champion's for the interpreter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mloop.modelio.rows import Rows
from mloop.serving.served import ServedModel

SHADOW_WINDOW_SECONDS = 0.02
SHADOW_QUEUE_CALLS = 20


@dataclass(frozen=True)
class ShadowRows:
    """One request's rows for the shadow model, with their prediction ids and unit ids."""

    rows: Rows
    ids: list[str]
    units: list[str | None] | None

    @property
    def unit_ids(self) -> list[str | None]:
        """One unit id (or None) per row."""
        return self.units or [None] * len(self.ids)


ShadowScorer = Callable[[ServedModel, list[ShadowRows]], Awaitable[None]]
DropHook = Callable[[ServedModel, int], None]


class ShadowQueue:
    """Collects requests for shadow models and scores them together every window.

    ``score`` gets one shadow model and the requests gathered for it (together at most
    ``max_rows`` rows, except a single larger request); it must not raise. Scorings run one
    at a time; requests arriving meanwhile go in the next window.

    The queue holds at most ``max_queued_rows`` rows (by default ``SHADOW_QUEUE_CALLS`` calls
    of ``max_rows``): when a shadow model scores slower than requests arrive, the requests
    beyond that are not scored (``on_drop`` hears of each with its row count), so a slow
    challenger never grows the server's memory. Callers are never affected either way.
    """

    def __init__(
        self,
        score: ShadowScorer,
        *,
        max_rows: int,
        window_seconds: float = SHADOW_WINDOW_SECONDS,
        max_queued_rows: int | None = None,
        on_drop: DropHook | None = None,
    ) -> None:
        self._score = score
        self._max_rows = max_rows
        self._window = window_seconds
        self._max_queued = max_queued_rows or SHADOW_QUEUE_CALLS * max_rows
        self._on_drop = on_drop
        self._gathered: list[tuple[ServedModel, ShadowRows]] = []
        self._queued_rows = 0
        self._arrived = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    def add(self, shadow: ServedModel, rows: ShadowRows) -> bool:
        """Queue ``rows`` for ``shadow``; returns at once (scored within about a window).

        Returns False, without queueing, when the queue is full.
        """
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run())
        if self._queued_rows + len(rows.ids) > self._max_queued:
            if self._on_drop is not None:
                self._on_drop(shadow, len(rows.ids))
            return False
        self._gathered.append((shadow, rows))
        self._queued_rows += len(rows.ids)
        self._arrived.set()
        return True

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            await asyncio.sleep(self._window)
            await self.drain()

    async def drain(self) -> None:
        """Score everything gathered so far now (the server calls this before stopping)."""
        gathered, self._gathered = self._gathered, []
        self._queued_rows = 0
        self._arrived.clear()
        for shadow, requests in _by_model(gathered):
            for chunk in _chunks(requests, self._max_rows):
                await self._score(shadow, chunk)

    def close(self) -> None:
        """Stop the scoring task; requests not scored yet are dropped."""
        if self._worker is not None:
            self._worker.cancel()


def _by_model(
    gathered: list[tuple[ServedModel, ShadowRows]],
) -> list[tuple[ServedModel, list[ShadowRows]]]:
    """The gathered requests per shadow model, in arrival order (a reload adds a model)."""
    groups: dict[int, tuple[ServedModel, list[ShadowRows]]] = {}
    for shadow, rows in gathered:
        groups.setdefault(id(shadow), (shadow, []))[1].append(rows)
    return list(groups.values())


def _chunks(requests: list[ShadowRows], max_rows: int) -> list[list[ShadowRows]]:
    """Consecutive runs of requests of at most ``max_rows`` rows (a larger request alone)."""
    chunks: list[list[ShadowRows]] = []
    rows = max_rows
    for request in requests:
        size = len(request.ids)
        if rows + size > max_rows:
            chunks.append([])
            rows = 0
        chunks[-1].append(request)
        rows += size
    return chunks
