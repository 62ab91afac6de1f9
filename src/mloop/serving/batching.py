"""Adaptive micro-batching: requests that arrive while the model is busy share one call."""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mloop.modelio.rows import Rows


@dataclass
class _Pending:
    rows: Rows
    future: asyncio.Future[Any]
    tag: Any = None


BatchHook = Callable[[Rows, Any, list[Any]], None]
TURN_PATIENCE_SECONDS = 0.005
TURN_PATIENCE_CALLS = 3.0
CALL_SMOOTHING = 0.2
INLINE_CALL_SECONDS = sys.getswitchinterval()
WAIT_WINDOW = 8
logger = logging.getLogger("mloop.serving")


class RowCost:
    """What a model call holds up the thread that makes it, per row.

    ``cpu`` is a moving average of the calling thread's CPU time per row
    (``time.thread_time``). ``wait`` is the rest of a call's wall time per row, the least of
    the last ``WAIT_WINDOW`` calls: a model that sleeps or calls out waits in every call, while
    the waits that are not the model's (the process waiting for a core, a call in the predict
    thread waiting for the interpreter lock behind a busy loop) come and go. A moving average of
    those would keep a fast model off the loop's thread for as long as the machine is busy.
    """

    def __init__(self) -> None:
        self.cpu = 0.0
        self.calls = 0
        self._waits: deque[float] = deque(maxlen=WAIT_WINDOW)

    @property
    def wait(self) -> float:
        """Seconds per row a call waits besides its CPU time (0 before the first call)."""
        return min(self._waits, default=0.0)

    def add(self, rows: int, cpu: float, wait: float) -> None:
        """Fold one call of ``rows`` rows that took ``cpu`` and ``wait`` seconds."""
        rows = max(rows, 1)
        cpu_row = max(cpu, 0.0) / rows
        if self.calls == 0:
            self.cpu = cpu_row
        self.calls += 1
        self.cpu += CALL_SMOOTHING * (cpu_row - self.cpu)
        self._waits.append(max(wait, 0.0) / rows)

    def seconds(self, rows: int) -> float:
        """The expected seconds of a call of ``rows`` rows; infinite before the first call."""
        return rows * (self.cpu + self.wait) if self.calls else math.inf


class MicroBatcher:
    """Merges concurrent requests' rows into one ``predict`` call and hands each caller its share.

    A request that finds the model idle runs at once; requests arriving while a call is in
    flight queue up and go together in the next call (up to ``max_rows``), optionally waiting
    ``max_wait_ms`` for company. Results are split back by row offsets. A merged call that
    raises is repeated request by request, so only the requests the model refuses fail.

    Batchers sharing one ``turn`` (the arms of one server) call their models one at a time:
    a batcher waiting for its turn keeps collecting, so with two arms each call carries the
    requests that arrived during the other arm's call instead of the two arms' threads
    contending for the interpreter with half-empty batches. A batcher waits for its turn at most
    ``TURN_PATIENCE_CALLS`` times as long as its own calls take (a moving average of their
    wall time, so the wait stretches when the machine is busy and every call is slower), and
    at least ``TURN_PATIENCE_SECONDS``; then it calls anyway: a slow or stuck arm never holds
    the other back longer than that.

    A model call runs in the batcher's predict thread, except a call expected to take less
    than ``INLINE_CALL_SECONDS`` (its rows times the ``RowCost`` of earlier calls): that one
    runs on the event loop's thread. The bound is the interpreter's switch interval (5 ms): a
    call in the predict thread keeps the interpreter lock that long before the loop gets it
    back, so a shorter call holds the loop up no longer on its thread, and saves handing the
    batch over and the lock back and forth. The first call, a model that waits (sleeps, calls
    out) or becomes slow, and a batch large enough to pass the bound run in the thread.
    """

    def __init__(
        self,
        predict: Callable[[Rows], Any],
        split: Callable[[Any, int, int], Any],
        *,
        max_rows: int = 512,
        max_wait_ms: float = 0.0,
        on_batch: BatchHook | None = None,
        turn: asyncio.Lock | None = None,
    ) -> None:
        self._predict = predict
        self._split = split
        self._max_rows = max_rows
        self._max_wait = max_wait_ms / 1000
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mloop-predict")
        self._worker: asyncio.Task[None] | None = None
        self._carry: _Pending | None = None
        self._on_batch = on_batch
        self._turn = turn or asyncio.Lock()
        self._call_seconds = 0.0
        self._cost = RowCost()

    async def submit(self, rows: Rows, tag: Any = None) -> Any:
        """Predict ``rows`` as part of the next batch; return their share of the outputs.

        ``tag`` travels with the rows to the ``on_batch`` hook, which sees each merged batch
        with its outputs once (the prediction log records batches, not single requests).
        """
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run())
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(rows, future, tag))
        return await future

    async def _next(self, deadline: float) -> _Pending | None:
        if self._carry is not None:
            item, self._carry = self._carry, None
            return item
        if not self._queue.empty():
            return self._queue.get_nowait()
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), remaining)
        except TimeoutError:
            return None

    async def _collect(self) -> list[_Pending]:
        first = self._carry or await self._queue.get()
        self._carry = None
        batch, rows = [first], len(first.rows)
        deadline = asyncio.get_running_loop().time() + self._max_wait
        while rows < self._max_rows:
            item = await self._next(deadline)
            if item is None:
                break
            if rows + len(item.rows) > self._max_rows:
                self._carry = item
                break
            batch.append(item)
            rows += len(item.rows)
        return batch

    def _drain(self, batch: list[_Pending]) -> None:
        """Add what queued up while waiting for the turn, up to ``max_rows``."""
        rows = sum(len(p.rows) for p in batch)
        while self._carry is None and not self._queue.empty():
            item = self._queue.get_nowait()
            if rows + len(item.rows) > self._max_rows:
                self._carry = item
                break
            batch.append(item)
            rows += len(item.rows)

    async def _run(self) -> None:
        while True:
            batch = await self._collect()
            held = await self._take_turn()
            try:
                self._drain(batch)
                await self._call(batch)
            finally:
                if held:
                    self._turn.release()

    async def _call(self, batch: list[_Pending]) -> None:
        """Predict the merged batch and answer each caller. When the merged call raises, each
        request is predicted alone, so one request's bad rows fail that request only."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            merged = Rows.merge([p.rows for p in batch])
            if self._cost.seconds(len(merged)) < INLINE_CALL_SECONDS:
                outputs = self._timed_predict(merged)
            else:
                outputs = await loop.run_in_executor(self._executor, self._timed_predict, merged)
        except Exception as exc:
            if len(batch) > 1:
                for pending in batch:
                    await self._call([pending])
            elif not batch[0].future.done():
                batch[0].future.set_exception(exc)
            return
        self._call_seconds += CALL_SMOOTHING * (loop.time() - began - self._call_seconds)
        self._answer(merged, outputs, batch)

    def _timed_predict(self, merged: Rows) -> Any:
        """Call the model, folding what the call cost into the batcher's ``RowCost``."""
        wall, cpu = time.perf_counter(), time.thread_time()
        outputs = self._predict(merged)
        cpu = time.thread_time() - cpu
        self._cost.add(len(merged), cpu, time.perf_counter() - wall - cpu)
        return outputs

    @property
    def patience(self) -> float:
        """Seconds this batcher waits for its turn before calling anyway."""
        return max(TURN_PATIENCE_SECONDS, TURN_PATIENCE_CALLS * self._call_seconds)

    async def _take_turn(self) -> bool:
        """Wait for the shared turn (at most the patience); True when this batcher holds it."""
        try:
            await asyncio.wait_for(self._turn.acquire(), self.patience)
        except TimeoutError:
            return False
        return True

    def _answer(self, merged: Rows, outputs: Any, batch: list[_Pending]) -> None:
        self._report(merged, outputs, batch)
        start = 0
        for pending in batch:
            stop = start + len(pending.rows)
            if not pending.future.done():
                pending.future.set_result(self._split(outputs, start, stop))
            start = stop

    def _report(self, merged: Rows, outputs: Any, batch: list[_Pending]) -> None:
        if self._on_batch is None:
            return
        try:
            self._on_batch(merged, outputs, [p.tag for p in batch])
        except Exception:
            logger.exception("the batch hook failed; the answers are still sent")

    def close(self) -> None:
        """Stop the batching task and the predict thread."""
        if self._worker is not None:
            self._worker.cancel()
        self._executor.shutdown(wait=False)
