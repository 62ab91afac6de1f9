"""The gate's statistics against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sklearn.metrics import f1_score, log_loss

from mloop.stats import Scored, bootstrap_improvements, mcnemar, paired_bootstrap


def _pair(n: int, seed: int = 0) -> tuple[np.ndarray, Scored, Scored]:
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.3
    champion = np.where(rng.random(n) < 0.75, truth, ~truth)
    challenger = np.where(rng.random(n) < 0.82, truth, ~truth)
    scores = [
        np.clip(np.where(p, 0.7, 0.3) + rng.normal(0, 0.1, n), 0.01, 0.99)
        for p in (champion, challenger)
    ]
    return truth, Scored(champion, scores[0]), Scored(challenger, scores[1])


def test_bootstrap_interval_matches_a_direct_resampling_loop() -> None:
    truth, champion, challenger = _pair(400)
    found = paired_bootstrap("f1", truth, champion, challenger, resamples=1500, seed=1)
    rng = np.random.default_rng(99)
    direct = []
    for _ in range(1500):
        rows = rng.integers(0, truth.size, truth.size)
        direct.append(
            f1_score(truth[rows], challenger.predicted[rows])
            - f1_score(truth[rows], champion.predicted[rows])
        )
    low, high = np.quantile(direct, [0.025, 0.975])
    assert found.difference == pytest.approx(
        f1_score(truth, challenger.predicted) - f1_score(truth, champion.predicted)
    )
    assert found.ci_low == pytest.approx(low, abs=0.015)
    assert found.ci_high == pytest.approx(high, abs=0.015)
    share = (1 + np.sum(np.asarray(direct) <= 0)) / 1501
    assert found.p_value == pytest.approx(share, abs=0.01)


def test_each_resample_scores_both_models_on_the_same_rows() -> None:
    truth, champion, _ = _pair(200)
    draws = bootstrap_improvements("accuracy", truth, champion, champion, resamples=50)
    assert np.all(draws == 0)


def test_log_loss_improvement_is_the_champion_minus_the_challenger() -> None:
    truth, champion, challenger = _pair(300)
    found = paired_bootstrap("log_loss", truth, champion, challenger, resamples=50)
    expected = log_loss(truth, champion.scores) - log_loss(truth, challenger.scores)
    assert found.difference == pytest.approx(expected)


def test_an_undefined_metric_gives_nan_not_an_error() -> None:
    truth = np.zeros(50, dtype=bool)
    nobody = Scored(np.zeros(50, dtype=bool))
    found = paired_bootstrap("recall", truth, nobody, nobody, resamples=20)
    assert math.isnan(found.champion) and math.isnan(found.ci_low)


def test_mcnemar_is_the_exact_binomial_test_of_the_discordant_rows() -> None:
    truth, champion, challenger = _pair(500, seed=4)
    found = mcnemar(truth, champion, challenger)
    right_a, right_b = champion.predicted == truth, challenger.predicted == truth
    b, c = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    expected = scipy_stats.binomtest(c, b + c, 0.5, alternative="greater").pvalue
    assert found.p_value == pytest.approx(expected)
    assert found.difference == pytest.approx((c - b) / 500)
    se = math.sqrt((b + c) / 500**2 - (c - b) ** 2 / 500**3)
    assert found.ci_low == pytest.approx((c - b) / 500 - 1.959964 * se, abs=1e-6)


def test_mcnemar_agrees_with_statsmodels() -> None:
    contingency = pytest.importorskip("statsmodels.stats.contingency_tables")
    truth, champion, challenger = _pair(500, seed=4)
    right_a, right_b = champion.predicted == truth, challenger.predicted == truth
    table = [
        [np.sum(right_a & right_b), np.sum(right_a & ~right_b)],
        [np.sum(~right_a & right_b), np.sum(~right_a & ~right_b)],
    ]
    two_sided = contingency.mcnemar(table, exact=True).pvalue
    assert min(1.0, 2 * mcnemar(truth, champion, challenger).p_value) == pytest.approx(two_sided)


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="every model"):
        paired_bootstrap("f1", [True, False], Scored(np.array([True])), Scored(np.array([True])))
