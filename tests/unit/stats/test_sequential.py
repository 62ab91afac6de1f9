"""The sequential test under peeking: 500 simulated experiments with a look every 100 units."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mloop.rollouts import thompson_shares
from mloop.stats import sequential_proportions, two_proportion_test
from mloop.stats.ab import two_proportion_z
from mloop.stats.sequential import sequential_p_values

RUNS, UNITS, LOOK = 500, 4000, 100
ALPHA = 0.05
SIMULATION_ERROR = 3 * math.sqrt(ALPHA * (1 - ALPHA) / RUNS)


def _looks(p_a: float, p_b: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative successes per arm at every look, for RUNS experiments (UNITS per arm)."""
    rng = np.random.default_rng(seed)
    at = np.arange(LOOK, UNITS + 1, LOOK)
    x_a = np.cumsum(rng.random((RUNS, UNITS)) < p_a, axis=1)[:, at - 1]
    x_b = np.cumsum(rng.random((RUNS, UNITS)) < p_b, axis=1)[:, at - 1]
    return x_a, x_b, np.broadcast_to(at, x_a.shape)


def test_peeking_keeps_the_sequential_test_at_alpha_but_not_the_z_test() -> None:
    x_a, x_b, n = _looks(0.3, 0.3, seed=1)
    sequential = (sequential_p_values(x_a, n, x_b, n) <= ALPHA).any(axis=1).mean()
    _, z_p = two_proportion_z(x_a, n, x_b, n)
    fixed = (z_p <= ALPHA).any(axis=1).mean()
    assert sequential <= ALPHA + SIMULATION_ERROR
    assert fixed > ALPHA + SIMULATION_ERROR  # 40 looks at a fixed-horizon test: ~25% errors


def test_with_a_real_effect_the_sequential_test_stops_on_the_better_arm() -> None:
    x_a, x_b, n = _looks(0.30, 0.36, seed=2)
    crossed = sequential_p_values(x_a, n, x_b, n) <= ALPHA
    stopped = crossed.any(axis=1)
    first = crossed.argmax(axis=1)
    rows = np.arange(RUNS)
    picked_b = x_b[rows, first] > x_a[rows, first]
    assert stopped.mean() > 0.8
    assert (stopped & picked_b).mean() > 0.8


def test_scalar_and_vector_forms_agree_and_the_interval_matches_the_p_value() -> None:
    rng = np.random.default_rng(4)
    for _ in range(200):
        n_a, n_b = rng.integers(50, 3000, 2)
        x_a, x_b = rng.binomial(n_a, 0.4), rng.binomial(n_b, 0.43)
        result = sequential_proportions(x_a, n_a, x_b, n_b, alpha=ALPHA)
        assert result.p_value == pytest.approx(float(sequential_p_values(x_a, n_a, x_b, n_b)))
        excludes_zero = result.ci_low > 0 or result.ci_high < 0
        assert excludes_zero == result.decided
        fixed = two_proportion_test(x_a, n_a, x_b, n_b, alpha=ALPHA)
        assert result.ci_high - result.ci_low > fixed.ci_high - fixed.ci_low


def test_no_data_gives_an_infinite_interval_and_bad_tuning_is_refused() -> None:
    result = sequential_proportions(0, 0, 3, 10)
    assert (result.ci_low, result.ci_high, result.p_value) == (-math.inf, math.inf, 1.0)
    with pytest.raises(ValueError, match="tuning"):
        sequential_proportions(1, 10, 2, 10, tuning=0)


def test_thompson_sampling_has_less_regret_than_a_fixed_split() -> None:
    rates = {"champion": 0.30, "challenger": 0.40}
    rng = np.random.default_rng(5)
    batches, batch, runs = 20, 100, 40
    regret = []
    for _ in range(runs):
        wins = {arm: [0, 0] for arm in rates}
        lost = 0.0
        for _ in range(batches):
            shares = thompson_shares({a: (w, n) for a, (w, n) in wins.items()}, 0.05, rng)
            sent = rng.multinomial(batch, [shares[a] for a in rates])
            for arm, count in zip(rates, sent, strict=True):
                wins[arm][0] += rng.binomial(count, rates[arm])
                wins[arm][1] += count
                lost += count * (max(rates.values()) - rates[arm])
        regret.append(lost)
    fixed_split = batches * batch * 0.5 * 0.10
    assert np.mean(regret) < 0.5 * fixed_split
    assert min(wins[a][1] for a in rates) >= 0.05 * batch  # the floor keeps both arms learning
