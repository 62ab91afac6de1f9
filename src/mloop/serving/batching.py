"""Adaptive micro-batching: requests that arrive while the model is busy share one call."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass
class _Pending:
    frame: pd.DataFrame
    future: asyncio.Future[Any]
    tag: Any = None


BatchHook = Callable[[pd.DataFrame, Any, list[Any]], None]
TURN_PATIENCE_SECONDS = 0.005
TURN_PATIENCE_CALLS = 3.0
CALL_SMOOTHING = 0.2
INLINE_CALL_SECONDS = 0.001
logger = logging.getLogger("mloop.serving")


class MicroBatcher:
    """Merges concurrent frames into one ``predict`` call and hands each caller its rows.

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
    than ``INLINE_CALL_SECONDS`` (its rows times a moving average of the wall time per row
    that earlier calls took, measured around the call alone): that one runs on the event
    loop's thread, which then spends no time handing the batch over and waiting for the
    interpreter lock (which a busy predict thread holds for up to the switch interval, 5 ms), and
    holds up the loop for less than that. The first call, a model that waits (sleeps, calls
    out) or becomes slow, and a batch large enough to pass the bound run in the thread.
    """

    def __init__(
        self,
        predict: Callable[[pd.DataFrame], Any],
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
        self._row_seconds = 0.0

    async def submit(self, frame: pd.DataFrame, tag: Any = None) -> Any:
        """Predict ``frame`` as part of the next batch; return its share of the outputs.

        ``tag`` travels with the frame to the ``on_batch`` hook, which sees each merged batch
        with its outputs once (the prediction log records batches, not single requests).
        """
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run())
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(frame, future, tag))
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
        batch, rows = [first], len(first.frame)
        deadline = asyncio.get_running_loop().time() + self._max_wait
        while rows < self._max_rows:
            item = await self._next(deadline)
            if item is None:
                break
            if rows + len(item.frame) > self._max_rows:
                self._carry = item
                break
            batch.append(item)
            rows += len(item.frame)
        return batch

    def _drain(self, batch: list[_Pending]) -> None:
        """Add what queued up while waiting for the turn, up to ``max_rows``."""
        rows = sum(len(p.frame) for p in batch)
        while self._carry is None and not self._queue.empty():
            item = self._queue.get_nowait()
            if rows + len(item.frame) > self._max_rows:
                self._carry = item
                break
            batch.append(item)
            rows += len(item.frame)

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
        frames = [p.frame for p in batch]
        merged = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        began = loop.time()
        try:
            if 0 < len(merged) * self._row_seconds < INLINE_CALL_SECONDS:
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

    def _timed_predict(self, merged: pd.DataFrame) -> Any:
        """Call the model, folding the call's wall time per row into a moving average."""
        began = time.perf_counter()
        outputs = self._predict(merged)
        per_row = (time.perf_counter() - began) / max(len(merged), 1)
        if self._row_seconds == 0:
            self._row_seconds = per_row
        self._row_seconds += CALL_SMOOTHING * (per_row - self._row_seconds)
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

    def _answer(self, merged: pd.DataFrame, outputs: Any, batch: list[_Pending]) -> None:
        self._report(merged, outputs, batch)
        start = 0
        for pending in batch:
            stop = start + len(pending.frame)
            if not pending.future.done():
                pending.future.set_result(self._split(outputs, start, stop))
            start = stop

    def _report(self, merged: pd.DataFrame, outputs: Any, batch: list[_Pending]) -> None:
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
