"""Triggers and the scheduler: what fires, what holds a retraining back, who runs it."""

from __future__ import annotations

import time

import mloop
from mloop.entities import Decision, DecisionKind, MonitorKind, MonitorResult, Triggers
from mloop.retraining import RetrainingScheduler, plan_retraining
from mloop.retraining.triggers import held_back

from .conftest import Scenario, policy, train_champion

FINAL = {DecisionKind.PROMOTED, DecisionKind.REJECTED, DecisionKind.FAILED}


def test_an_estimated_drop_and_the_schedule_fire_their_triggers(client: mloop.Client) -> None:
    train_champion(client, rows=400)
    triggers = Triggers(estimated_drop=0.03, every_seconds=3600.0)
    client.set_retraining_policy(policy(triggers=triggers))
    assert plan_retraining(client, "churn").fired == []
    later = time.time() + 1
    summary = {"estimates": {"f1": {"value": 0.38}}, "reference": {"f1": 0.45}}
    client.monitoring.record_result(
        MonitorResult("churn", 1, "", MonitorKind.ESTIMATED_PERFORMANCE, None, None, 100,
                      summary, [], later)
    )  # fmt: skip
    plan = plan_retraining(client, "churn", now=later + 3600)
    fired = {f.name: f.reason for f in plan.fired}
    assert set(fired) == {"estimated_drop", "schedule"}
    assert "estimated f1 fell 0.070" in fired["estimated_drop"]
    assert plan.action == "skip"  # what a retraining would find: no labelled rows to hold out
    assert plan.reason.startswith("only 0 labelled production rows for the holdout")


def _decided(now: float, hours: float, kind: DecisionKind = DecisionKind.TRAINED) -> Decision:
    return Decision("churn", kind, now - hours * 3600, "new labels")


def test_the_daily_maximum_and_the_cool_down_hold_a_retraining_back() -> None:
    now = 1_700_000_000.0
    trained = [_decided(now, hours) for hours in (30, 20, 2)]
    chosen = policy(cooldown_seconds=3600.0, max_per_day=3)
    assert held_back(chosen, trained, now) is None
    cooling = held_back(chosen, [*trained, _decided(now, 0.25)], now)
    assert cooling is not None and cooling.startswith("cool-down: the last challenger was trained")
    busy = held_back(chosen, [*trained, _decided(now, 5)], now)
    assert busy == "maximum frequency: 3 challengers trained in the last 24 h (at most 3)"


def test_attempts_that_trained_nothing_count_neither_for_the_maximum_nor_the_cool_down() -> None:
    now = 1_700_000_000.0
    chosen = policy(cooldown_seconds=3600.0, max_per_day=2)
    untrained = (DecisionKind.TRIGGERED, DecisionKind.SKIPPED, DecisionKind.FAILED)
    attempts = [_decided(now, 0.1 * i, kind) for i in range(1, 10) for kind in untrained]
    later = now + 3600  # past the back-off of the failed attempts (at most the cool-down)
    assert held_back(chosen, [_decided(now, 5), *attempts], later) is None
    busy = held_back(chosen, [_decided(now, 5), _decided(now, 3), *attempts], later)
    assert busy is not None and "2 challengers trained" in busy


def test_failed_attempts_in_a_row_back_off_doubling_up_to_the_cool_down() -> None:
    now = 1_700_000_000.0
    chosen = policy(cooldown_seconds=600.0, max_per_day=10)
    trained = _decided(now, 5)

    def failures(*seconds_ago: float) -> list[Decision]:
        return [
            Decision("churn", DecisionKind.FAILED, now - s, "recipe failed") for s in seconds_ago
        ]

    once = held_back(chosen, [trained, *failures(30)], now)
    assert once == (
        "back-off: 1 attempt(s) in a row failed, the last 30 s ago; the next may start in 30 s "
        "(--force retries now)"
    )
    assert held_back(chosen, [trained, *failures(61)], now) is None
    thrice = held_back(chosen, [trained, *failures(900, 500, 100)], now)
    assert thrice is not None and "3 attempt(s)" in thrice and "in 140 s" in thrice  # 240 s
    capped = held_back(chosen, [trained, *failures(*range(2000, 100, -100))], now)
    assert capped is not None and "in 400 s" in capped  # 19 in a row, the last 200 s ago: 600 s
    rejected = Decision("churn", DecisionKind.REJECTED, now - 200, "gate failed")
    assert held_back(chosen, [*failures(900, 500), rejected, *failures(100)], now) is None


def test_the_scheduler_runs_the_policy_by_itself(scenario: Scenario) -> None:
    client = scenario.client
    client.set_retraining_policy(policy(cooldown_seconds=3600.0))
    scheduler = RetrainingScheduler(client, "churn", every_seconds=0.2)
    scheduler.start()
    try:
        deadline = time.monotonic() + 240
        while (
            time.monotonic() < deadline
            and not {d.kind for d in client.retraining.decisions("churn")} & FINAL
        ):
            time.sleep(0.2)
    finally:
        scheduler.stop()
    decisions = client.retraining.decisions("churn")
    first = decisions[0]
    assert first.kind is DecisionKind.TRIGGERED and "new labelled rows" in first.reason
    assert {d.kind for d in decisions} & FINAL
