"""Micro-batching merges concurrent requests and gives each caller exactly its own rows."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from mloop.modelio.outputs import Outputs, predict_outputs, split_outputs
from mloop.modelio.rows import Rows
from mloop.serving import batching
from mloop.serving.batching import TURN_PATIENCE_CALLS, TURN_PATIENCE_SECONDS, MicroBatcher


@pytest.fixture(scope="module")
def model_and_rows() -> tuple[RandomForestClassifier, pd.DataFrame]:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    model = RandomForestClassifier(n_estimators=15, random_state=0).fit(frame, frame["a"] > 0)
    return model, frame


def test_concurrent_requests_share_calls_and_match_unbatched(
    model_and_rows: tuple[RandomForestClassifier, pd.DataFrame],
) -> None:
    model, frame = model_and_rows
    sizes: list[int] = []
    gate = threading.Event()

    def slow_predict(batch: Rows) -> Outputs:
        gate.wait(5)
        return predict_outputs(model, batch.frame)

    async def scenario() -> list[Outputs]:
        batcher = MicroBatcher(
            slow_predict,
            split_outputs,
            max_rows=64,
            on_batch=lambda merged, outputs, tags: sizes.append(len(merged)),
        )
        parts = [
            Rows.of_frame(frame.iloc[i : i + 3].reset_index(drop=True)) for i in range(0, 120, 3)
        ]
        tasks = [asyncio.create_task(batcher.submit(part)) for part in parts]
        await asyncio.sleep(0.05)
        gate.set()
        results = await asyncio.gather(*tasks)
        batcher.close()
        return results

    results = asyncio.run(scenario())
    merged = np.concatenate([r.predictions for r in results])
    expected = predict_outputs(model, frame.iloc[:120])
    assert np.array_equal(merged, expected.predictions)
    assert np.allclose(np.concatenate([r.probabilities for r in results]), expected.probabilities)
    assert len(sizes) < 40
    assert max(sizes) <= 64
    assert sum(sizes) == 120


def test_a_lone_request_does_not_wait_for_company() -> None:
    async def scenario() -> float:
        batcher = MicroBatcher(_echo, split_outputs, max_wait_ms=0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await batcher.submit(_one({"a": [1.0]}))
        batcher.close()
        return loop.time() - started

    assert asyncio.run(scenario()) < 0.5


def test_errors_reach_every_caller() -> None:
    def failing(batch: Rows) -> Outputs:
        raise ValueError("model blew up")

    async def scenario() -> None:
        batcher = MicroBatcher(failing, split_outputs)
        frames = [_one({"a": [1.0]}) for _ in range(3)]
        outcomes = await asyncio.gather(
            *(batcher.submit(f) for f in frames), return_exceptions=True
        )
        assert all(isinstance(o, ValueError) for o in outcomes)
        batcher.close()

    asyncio.run(scenario())


def test_waiting_for_company_fills_a_batch() -> None:
    sizes: list[int] = []

    async def scenario() -> None:
        batcher = MicroBatcher(
            _echo,
            split_outputs,
            max_rows=8,
            max_wait_ms=200,
            on_batch=lambda merged, outputs, tags: sizes.append(len(merged)),
        )
        first = asyncio.create_task(batcher.submit(_one({"a": [1.0]})))
        await asyncio.sleep(0.02)
        rest = [asyncio.create_task(batcher.submit(_one({"a": [float(i)]}))) for i in range(2, 9)]
        answers = await asyncio.gather(first, *rest)
        assert [a.predictions.tolist() for a in answers] == [[float(i)] for i in range(1, 9)]
        batcher.close()

    asyncio.run(scenario())
    assert sizes == [8]


def _one(columns: dict[str, list[float]]) -> Rows:
    return Rows.of_frame(pd.DataFrame(columns))


def _echo(batch: Rows) -> Outputs:
    return Outputs(np.asarray(batch.columns[0]))


def test_arms_sharing_a_turn_never_call_their_models_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batching, "TURN_PATIENCE_SECONDS", 5.0)  # no give-up on a busy machine
    calls: list[tuple[str, float, float]] = []
    lock = threading.Lock()

    def timed(arm: str) -> Callable[[Rows], Outputs]:
        def predict(batch: Rows) -> Outputs:
            began = time.perf_counter()
            time.sleep(0.002)
            with lock:
                calls.append((arm, began, time.perf_counter()))
            return _echo(batch)

        return predict

    async def scenario() -> None:
        turn = asyncio.Lock()
        arms = {arm: MicroBatcher(timed(arm), split_outputs, turn=turn) for arm in "ab"}
        frames = [_one({"a": [float(i)]}) for i in range(60)]
        answers = await asyncio.gather(*(arms["ab"[i % 2]].submit(f) for i, f in enumerate(frames)))
        assert [a.predictions.tolist() for a in answers] == [[float(i)] for i in range(60)]
        for batcher in arms.values():
            batcher.close()

    asyncio.run(scenario())
    spans = sorted((began, ended) for _, began, ended in calls)
    assert all(ended <= began for (_, ended), (began, _) in itertools.pairwise(spans))
    assert len(calls) < 60  # each call took what queued during the other arm's


def test_a_slow_arm_holds_the_other_back_no_longer_than_the_patience() -> None:
    def slow(batch: Rows) -> Outputs:
        time.sleep(0.5)
        return _echo(batch)

    async def scenario() -> float:
        turn = asyncio.Lock()
        stuck, fast = (MicroBatcher(p, split_outputs, turn=turn) for p in (slow, _echo))
        slow_call = asyncio.create_task(stuck.submit(_one({"a": [0.0]})))
        await asyncio.sleep(0.05)  # the slow arm holds the turn now
        started = time.perf_counter()
        await fast.submit(_one({"a": [1.0]}))
        waited = time.perf_counter() - started
        await slow_call
        stuck.close()
        fast.close()
        return waited

    assert asyncio.run(scenario()) < TURN_PATIENCE_SECONDS + 0.2


def test_the_patience_stretches_with_the_batchers_own_call_time() -> None:
    def slowish(batch: Rows) -> Outputs:
        time.sleep(0.03)
        return _echo(batch)

    async def scenario() -> tuple[float, float]:
        batcher = MicroBatcher(slowish, split_outputs)
        before = batcher.patience
        for i in range(20):
            await batcher.submit(_one({"a": [float(i)]}))
        batcher.close()
        return before, batcher.patience

    before, after = asyncio.run(scenario())
    assert before == TURN_PATIENCE_SECONDS
    assert 0.02 * TURN_PATIENCE_CALLS < after < 0.2 * TURN_PATIENCE_CALLS


def _threads_of(predict: Callable[[Rows], Outputs], frames: list[Rows]) -> tuple[int, list[int]]:
    """The loop's thread id, and the thread each of ``frames``' calls ran on, one at a time."""
    threads: list[int] = []

    def recorded(batch: Rows) -> Outputs:
        threads.append(threading.get_ident())
        return predict(batch)

    async def scenario() -> int:
        batcher = MicroBatcher(recorded, split_outputs, max_rows=1000)
        for frame in frames:
            await batcher.submit(frame)
        batcher.close()
        return threading.get_ident()

    return asyncio.run(scenario()), threads


def _rows(count: int) -> Rows:
    return Rows(("a",), [np.arange(count, dtype=np.float64)])


def test_a_short_call_runs_on_the_loops_thread_after_the_first() -> None:
    loop_thread, threads = _threads_of(_echo, [_rows(1)] * 5)
    assert threads[0] != loop_thread  # nothing is known of the model's speed yet
    assert threads[1:] == [loop_thread] * 4


def test_a_model_that_waits_and_a_batch_past_the_bound_run_in_the_predict_thread() -> None:
    def waits(batch: Rows) -> Outputs:
        time.sleep(batching.INLINE_CALL_SECONDS * 2)
        return _echo(batch)

    loop_thread, threads = _threads_of(waits, [_rows(1)] * 4)
    assert loop_thread not in threads

    def per_row(batch: Rows) -> Outputs:
        time.sleep(len(batch) * batching.INLINE_CALL_SECONDS / 100)
        return _echo(batch)

    loop_thread, threads = _threads_of(per_row, [_rows(2), _rows(2), _rows(300)])
    assert threads[1] == loop_thread  # 2 rows: about a fiftieth of the bound
    assert threads[2] != loop_thread  # 300 rows: three times the bound


def test_a_wait_counts_when_every_recent_call_waited() -> None:
    cost = batching.RowCost()
    assert cost.seconds(1) == float("inf")
    cost.add(5, cpu=0.0005, wait=0.005)  # waited for a core, or for the lock behind the loop
    assert cost.seconds(5) > batching.INLINE_CALL_SECONDS
    cost.add(5, cpu=0.0005, wait=0.0)  # a call that waited for nothing
    for _ in range(batching.WAIT_WINDOW - 1):
        cost.add(5, cpu=0.0005, wait=0.006)
    assert cost.seconds(5) == pytest.approx(0.0005)
    cost.add(5, cpu=0.0005, wait=0.006)  # now every call in the window waited
    assert cost.seconds(5) == pytest.approx(0.0065)
