"""The shadow queue scores the requests of a window together, per model, in row-bounded calls."""

from __future__ import annotations

import asyncio

import pandas as pd

from mloop.modelio.rows import Rows
from mloop.modelio.signature import Signature
from mloop.serving.served import ServedModel
from mloop.serving.shadow import ShadowQueue, ShadowRows

from .conftest import loaded_model


def _rows(first: int, count: int = 1) -> ShadowRows:
    ids = [f"r{first + i}~shadow" for i in range(count)]
    frame = pd.DataFrame({"age": range(first, first + count), "score": [0.0] * count})
    return ShadowRows(Rows.of_frame(frame), ids, None)


class Recorder:
    """A scorer that records which requests each call got."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, list[str]]] = []

    async def __call__(self, shadow: ServedModel, requests: list[ShadowRows]) -> None:
        self.calls.append((shadow.version, [pid for r in requests for pid in r.ids]))


def test_requests_of_one_window_are_scored_in_one_call(
    train: pd.DataFrame, signature: Signature
) -> None:
    shadow = ServedModel(loaded_model(train, signature, 2), "challenger")
    recorder = Recorder()

    async def scenario() -> None:
        queue = ShadowQueue(recorder, max_rows=64, window_seconds=0.05)
        for i in range(10):
            queue.add(shadow, _rows(i))
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.2)
        queue.add(shadow, _rows(10))
        await asyncio.sleep(0.2)
        queue.close()

    asyncio.run(scenario())
    assert recorder.calls == [
        (2, [f"r{i}~shadow" for i in range(10)]),
        (2, ["r10~shadow"]),
    ]


def test_calls_hold_at_most_max_rows_and_keep_models_apart(
    train: pd.DataFrame, signature: Signature
) -> None:
    old = ServedModel(loaded_model(train, signature, 2), "challenger")
    new = ServedModel(loaded_model(train, signature, 3), "challenger")
    recorder = Recorder()

    async def scenario() -> None:
        queue = ShadowQueue(recorder, max_rows=4, window_seconds=60)
        for first in (0, 2, 4):
            queue.add(old, _rows(first, 2))
        queue.add(new, _rows(6, 5))  # larger than max_rows: scored alone, whole
        queue.add(old, _rows(11))
        await queue.drain()  # what a stopping server does: nothing waits for the window
        queue.close()

    asyncio.run(scenario())
    assert [(version, len(ids)) for version, ids in recorder.calls] == [(2, 4), (2, 3), (3, 5)]
    assert recorder.calls[1][1] == ["r4~shadow", "r5~shadow", "r11~shadow"]


def test_a_full_queue_drops_requests_instead_of_growing(
    train: pd.DataFrame, signature: Signature
) -> None:
    shadow = ServedModel(loaded_model(train, signature, 2), "challenger")
    recorder = Recorder()
    dropped: list[tuple[int, int]] = []
    accepted: list[bool] = []

    async def scenario() -> None:
        queue = ShadowQueue(
            recorder,
            max_rows=4,
            window_seconds=60,
            max_queued_rows=6,
            on_drop=lambda model, rows: dropped.append((model.version, rows)),
        )
        for first in (0, 2, 4, 6, 8):
            accepted.append(queue.add(shadow, _rows(first, 2)))
        accepted.append(queue.add(shadow, _rows(10, 7)))
        await queue.drain()
        accepted.append(queue.add(shadow, _rows(20, 2)))
        await queue.drain()
        queue.close()

    asyncio.run(scenario())
    assert accepted == [True, True, True, False, False, False, True]
    assert dropped == [(2, 2), (2, 2), (2, 7)]
    scored = [pid for _, ids in recorder.calls for pid in ids]
    assert scored == [f"r{i}~shadow" for i in (0, 1, 2, 3, 4, 5, 20, 21)]
