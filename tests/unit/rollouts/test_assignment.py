"""Stable assignment: same arm in every process, exact shares, independent salts, few moves."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from mloop.errors import InvalidInput
from mloop.rollouts import assign, unit_point
from mloop.services.rollouts import shares

IDS = [f"customer-{i}" for i in range(100_000)]
WEIGHTS = {"champion": 0.7, "challenger": 0.2, "holdout": 0.1}


def test_the_same_ids_land_in_the_same_arms_in_another_process() -> None:
    sample = IDS[:2000]
    script = (
        "import json, sys\nfrom mloop.rollouts import assign\n"
        "ids, weights = json.load(sys.stdin)\n"
        "print(json.dumps([assign(i, 'salt-1', weights) for i in ids]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    there = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps([sample, WEIGHTS]),
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert json.loads(there.stdout) == [assign(i, "salt-1", WEIGHTS) for i in sample]


def test_each_arm_gets_its_weight_within_one_percent_over_100000_ids() -> None:
    arms = [assign(i, "salt-1", WEIGHTS) for i in IDS]
    for arm, weight in WEIGHTS.items():
        assert arms.count(arm) / len(IDS) == pytest.approx(weight, abs=0.01)


def test_two_salts_place_units_independently() -> None:
    even = {"a": 1.0, "b": 1.0}
    first = np.array([assign(i, "salt-1", even) == "a" for i in IDS[:20_000]])
    second = np.array([assign(i, "salt-2", even) == "a" for i in IDS[:20_000]])
    table = [[np.sum(first & second), np.sum(first & ~second)],
             [np.sum(~first & second), np.sum(~first & ~second)]]  # fmt: skip
    assert stats.chi2_contingency(table).pvalue > 0.001
    points = [unit_point(i, "salt-2") for i in IDS[:20_000]]
    assert stats.kstest(points, "uniform").pvalue > 0.001


def test_a_canary_step_moves_only_units_to_the_challenger() -> None:
    before = [assign(i, "s", {"champion": 0.95, "challenger": 0.05}) for i in IDS[:20_000]]
    after = [assign(i, "s", {"champion": 0.75, "challenger": 0.25}) for i in IDS[:20_000]]
    moved = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert set(moved) == {("champion", "challenger")}
    assert len(moved) / 20_000 == pytest.approx(0.20, abs=0.01)


def test_a_zero_weight_arm_gets_nobody_and_bad_weights_are_refused() -> None:
    assert {assign(i, "s", {"a": 0.0, "b": 1.0}) for i in IDS[:1000]} == {"b"}
    for bad in ({}, {"a": -1.0, "b": 2.0}, {"a": 0.0}, {"a": float("nan")}):
        with pytest.raises(InvalidInput) as raised:
            assign("u", "s", bad)
        assert raised.value.field == "weights"


def test_each_canary_step_moves_exactly_the_units_between_the_old_and_new_boundary() -> None:
    sample = IDS[:20_000]
    points = np.array([unit_point(i, "s") for i in sample])
    schedule = (0.05, 0.25, 0.5, 1.0)
    arms = [np.array([assign(i, "s", shares(t)) for i in sample]) for t in schedule]
    for (before, after), (s, t) in zip(
        itertools.pairwise(arms), itertools.pairwise(schedule), strict=True
    ):
        moved = before != after
        assert set(before[moved]) == {"champion"} and set(after[moved]) == {"challenger"}
        must_move = (points >= 1 - t) & (points < 1 - s)
        assert np.array_equal(moved, must_move)
        assert moved.mean() == pytest.approx(t - s, abs=0.01)
    challenger_sets = [set(np.flatnonzero(a == "challenger")) for a in arms]
    assert all(a <= b for a, b in itertools.pairwise(challenger_sets))


def test_a_share_going_down_moves_only_challenger_units_back() -> None:
    sample = IDS[:20_000]
    before = np.array([assign(i, "s", shares(0.5)) for i in sample])
    after = np.array([assign(i, "s", shares(0.3)) for i in sample])
    moved = before != after
    assert set(before[moved]) == {"challenger"} and set(after[moved]) == {"champion"}
    assert moved.mean() == pytest.approx(0.2, abs=0.01)
    back = np.array([assign(i, "s", shares(0.0)) for i in sample])
    assert set(back) == {"champion"}
