"""The retraining store on every implementation (SQL, and over HTTP) and backend: policies,
decisions, the lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

import mloop
from mloop.entities import Decision, DecisionKind
from mloop.errors import InvalidInput, NotFound
from mloop.retraining import lease
from mloop.retraining.lease import LockLease
from mloop.store import Store
from tests.conftest import STORES, open_store_url, store_ids

from .conftest import policy, train_champion


@pytest.fixture(params=STORES, ids=store_ids(STORES))
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every store implementation on every backend."""
    yield from open_store_url(request, monkeypatch)


def test_a_policy_round_trips_and_bad_fields_are_named(client: mloop.Client) -> None:
    train_champion(client, rows=200)
    stored = client.set_retraining_policy(policy(candidates=({"C": 0.1}, {"C": 1.0})))
    assert client.retraining.policy("churn") == stored
    assert stored.candidates == ({"C": 0.1}, {"C": 1.0})
    with pytest.raises(InvalidInput) as bad:
        client.set_retraining_policy(policy(holdout=1.5))
    assert bad.value.field == "holdout"
    with pytest.raises(InvalidInput, match="entry point"):
        client.set_retraining_policy(policy(recipe="not a recipe"))
    with pytest.raises(NotFound):
        client.retraining.policy("other")
    client.retraining.delete_policy("churn")
    assert client.retraining.policies() == []
    with pytest.raises(NotFound, match="no retraining policy"):
        client.retraining.policy("churn")
    with pytest.raises(NotFound, match="no retraining policy"):
        client.retraining.delete_policy("churn")


def test_decisions_come_back_oldest_first(store: Store) -> None:
    for kind, at in ((DecisionKind.TRIGGERED, 1.0), (DecisionKind.PROMOTED, 2.0)):
        store.retraining.record_decision(Decision("churn", kind, at, "why", gate={"passed": True}))
    found = store.retraining.list_decisions("churn")
    assert [(d.kind, d.gate) for d in found] == [
        (DecisionKind.TRIGGERED, {"passed": True}),
        (DecisionKind.PROMOTED, {"passed": True}),
    ]
    assert [d.kind for d in store.retraining.list_decisions("churn", limit=1)] == ["promoted"]


def test_the_lock_is_exclusive_renewable_and_expires(store: Store) -> None:
    locks = store.retraining
    assert locks.acquire_lock("retraining:churn", "a", 0.5)
    assert not locks.acquire_lock("retraining:churn", "b", 0.5)
    assert locks.acquire_lock("retraining:churn", "a", 0.5)
    time.sleep(0.6)
    assert locks.acquire_lock("retraining:churn", "b", 30)
    locks.release_lock("retraining:churn", "a")
    assert not locks.acquire_lock("retraining:churn", "a", 30)
    locks.release_lock("retraining:churn", "b")
    assert locks.acquire_lock("retraining:churn", "a", 30)


def test_a_held_lease_is_renewed_until_released_or_held_for_its_longest(
    client: mloop.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lease, "LEASE_SECONDS", 0.6)
    held = LockLease(client.retraining, "churn", longest=3600)
    assert held.acquire()
    assert not LockLease(client.retraining, "churn", longest=3600).acquire()
    time.sleep(1.5)  # past two leases: the heartbeat renewed it
    assert not client.retraining.acquire_lock("churn", "b", 30)
    held.release()
    assert client.retraining.acquire_lock("churn", "b", 30)
    client.retraining.release_lock("churn", "b")
    capped = LockLease(client.retraining, "churn", longest=1.0)
    assert capped.acquire()
    time.sleep(1.6)  # renewals stop at the longest hold, so the lock lapses unreleased
    assert client.retraining.acquire_lock("churn", "b", 30)
    capped.release()
    assert not client.retraining.acquire_lock("churn", "c", 30)


def test_of_many_callers_at_once_exactly_one_gets_the_lock(store: Store) -> None:
    winners: list[str] = []
    start = threading.Barrier(6)

    def take(holder: str) -> None:
        start.wait()
        if store.retraining.acquire_lock("retraining:race", holder, 30):
            winners.append(holder)

    threads = [threading.Thread(target=take, args=(f"h{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
