"""Two processes starting a rollout of the same model at once: exactly one rollout runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, insert, literal, select, text

import mloop
from mloop.entities import RolloutState
from mloop.errors import Conflict
from mloop.services.rollouts import make_policy, shares
from mloop.store.sql import SqlStore
from mloop.store.sql import schema as t
from tests.conftest import SQL_STORES, open_store_url, store_ids

ROUNDS = 8


@pytest.fixture(params=SQL_STORES, ids=store_ids(SQL_STORES))
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """These tests reach into the database's rows and indexes: SQL stores only."""
    yield from open_store_url(request, monkeypatch)


def test_two_concurrent_starts_leave_one_running_rollout(churn: mloop.Client) -> None:
    # Two clients with their own connection pools stand for two processes.
    racers = [mloop.Client(churn.store_url) for _ in range(2)]
    for racer in racers:
        racer.rollouts.running("churn")  # open (and migrate) the store before the race
    store = SqlStore(churn.store_url)
    for _ in range(ROUNDS):
        barrier = threading.Barrier(2)

        def start(racer: mloop.Client, barrier: threading.Barrier = barrier) -> str:
            barrier.wait()
            try:
                racer.rollouts.start("churn", 2, make_policy("ab"), reason="race")
            except Conflict as exc:
                assert "already has a running rollout" in str(exc)
                return "conflict"
            return "started"

        with ThreadPoolExecutor(2) as pool:
            outcomes = sorted(pool.map(start, racers))
        assert outcomes == ["conflict", "started"]
        assert len(store.rollouts.list_rollouts("churn", RolloutState.RUNNING)) == 1
        churn.rollouts.stop("churn", reason="next round")
    rollouts = store.rollouts.list_rollouts("churn")
    store.close()
    assert len(rollouts) == ROUNDS
    starts = [d for d in churn.rollouts.decisions("churn") if d.kind == "start"]
    assert sorted(d.rollout_id for d in starts) == sorted(r.id for r in rollouts)


def test_the_store_itself_refuses_a_second_running_rollout(churn: mloop.Client) -> None:
    """A writer that skipped the check (a race's loser) cannot commit a second running row."""
    first = churn.rollouts.start("churn", 2, make_policy("ab"))
    store = SqlStore(churn.store_url)
    with pytest.raises(Conflict):
        _copy_as_running(store, first.id)
    running = store.rollouts.list_rollouts("churn", RolloutState.RUNNING)
    assert [r.id for r in running] == [first.id]
    churn.rollouts.stop("churn")
    copy = _copy_as_running(store, first.id)
    assert store.rollouts.get_rollout(copy).state == RolloutState.RUNNING
    store.close()


def _copy_as_running(store: SqlStore, rollout_id: int) -> int:
    """Insert a running copy of a rollout's row with plain SQL; returns the new id."""
    table = t.rollouts
    copied = [c for c in table.columns if c.name not in {"id", "state"}]
    source = select(*copied, literal("running")).where(table.c.id == rollout_id)
    with store.db.write() as conn:
        conn.execute(insert(table).from_select([*(c.name for c in copied), "state"], source))
        return int(conn.execute(select(func.max(table.c.id))).scalar_one())


def test_upgrading_a_store_with_two_running_rollouts_stops_the_older(churn: mloop.Client) -> None:
    first = churn.rollouts.start("churn", 2, make_policy("ab"))
    store = SqlStore(churn.store_url)
    with store.db.write() as conn:  # the store as revision 0010 left it, after a lost race
        conn.execute(text("DROP INDEX uq_rollouts_running_model"))
        conn.execute(text("DROP INDEX IF EXISTS ix_labels_chunk_positions"))  # added by 0013
        conn.execute(text("ALTER TABLE labels DROP COLUMN row"))  # added by 0013
        conn.execute(text("UPDATE alembic_version SET version_num = '0010'"))
    newer = _copy_as_running(store, first.id)
    store.close()
    upgraded = SqlStore(churn.store_url)
    running = upgraded.rollouts.list_rollouts("churn", RolloutState.RUNNING)
    older = upgraded.rollouts.get_rollout(first.id)
    upgraded.close()
    assert [r.id for r in running] == [newer]
    assert older.state == RolloutState.STOPPED and older.weights["challenger"] == 0.0
    stop = churn.rollouts.decisions("churn", first.id)[-1]
    assert stop.kind == "stop" and "newer rollout" in stop.reason
    with pytest.raises(Conflict):
        churn.rollouts.start("churn", 2, make_policy("ab"))


def test_two_servers_deciding_on_the_same_state_record_one_decision(churn: mloop.Client) -> None:
    rollout = churn.rollouts.start("churn", 2, make_policy("canary", steps=(0.1, 0.5, 1.0)))
    racers = [mloop.Client(churn.store_url) for _ in range(2)]
    barrier = threading.Barrier(2)

    def advance(racer: mloop.Client) -> str:
        barrier.wait()
        try:
            racer.rollouts.decide(rollout, "advance", "held", step=1, weights=shares(0.5))
        except Conflict as exc:
            assert "changed since it was read" in str(exc)
            return "conflict"
        return "decided"

    with ThreadPoolExecutor(2) as pool:
        assert sorted(pool.map(advance, racers)) == ["conflict", "decided"]
    assert [d.kind for d in churn.rollouts.decisions("churn")] == ["start", "advance"]
    with pytest.raises(Conflict):  # a stale snapshot cannot move the rollout either
        churn.rollouts.decide(rollout, "weights", "late", weights=shares(0.2))
    current = churn.rollouts.running("churn")
    assert current is not None and current.step == 1
    assert churn.rollouts.decide(current, "advance", "held", step=2, weights=shares(1.0)).step == 2
