"""Champion against challenger on the same rows: paired bootstrap and McNemar's test.

Both compare two binary classifiers scored on one labelled holdout. ``difference`` is always
the challenger's improvement (challenger minus champion; champion minus challenger for log
loss, where lower is better), so a positive difference favours the challenger.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from mloop.stats._inputs import probabilities

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
LOWER_IS_BETTER = frozenset({"log_loss"})
NEEDS_SCORES = frozenset({"roc_auc", "log_loss"})
PAIRED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
_CELLS_PER_BATCH = 4_000_000


@dataclass(frozen=True)
class Scored:
    """One model's outputs on the holdout: predicted positives and positive-class scores."""

    predicted: BoolArray
    scores: FloatArray | None = None


@dataclass(frozen=True)
class PairedComparison:
    """Both models' metric on all rows, the improvement, its interval and one-sided p-value.

    ``p_value`` tests "the improvement is at most ``margin``" (bootstrap) or "both models are
    right equally often" (McNemar).
    """

    metric: str
    champion: float
    challenger: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int


def _confusion(truth: BoolArray, predicted: BoolArray) -> tuple[FloatArray, ...]:
    tp = np.asarray(np.sum(truth & predicted, axis=-1, dtype=np.float64))
    fp = np.asarray(np.sum(~truth & predicted, axis=-1, dtype=np.float64))
    fn = np.asarray(np.sum(truth & ~predicted, axis=-1, dtype=np.float64))
    return tp, fp, fn, np.asarray(truth.shape[-1] - tp - fp - fn)


def _ratio(top: FloatArray, bottom: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)


def _roc_auc(truth: BoolArray, scores: FloatArray) -> FloatArray:
    """Mann-Whitney AUC per row of a (k, n) batch (Hanley and McNeil 1982)."""
    ranks = stats.rankdata(scores, axis=-1)
    positives = truth.sum(axis=-1).astype(np.float64)
    negatives = truth.shape[-1] - positives
    top = np.sum(np.where(truth, ranks, 0.0), axis=-1) - positives * (positives + 1) / 2
    return _ratio(top, positives * negatives)


def _log_loss(truth: BoolArray, scores: FloatArray) -> FloatArray:
    eps = np.finfo(np.float64).eps
    clipped = np.clip(scores, eps, 1 - eps)
    return np.asarray(-np.mean(np.where(truth, np.log(clipped), np.log1p(-clipped)), axis=-1))


def metric_values(metric: str, truth: BoolArray, model: Scored) -> FloatArray:
    """``metric`` of a model on each row of a (k, n) batch of resampled rows (or one (n,) set).

    NaN where it is undefined (no predicted positives for precision, one class for AUC).
    Raises ValueError for an unknown metric or a score metric without scores.
    """
    if metric not in PAIRED_METRICS:
        raise ValueError(f"metric {metric!r} is not one of {', '.join(PAIRED_METRICS)}")
    if metric in NEEDS_SCORES:
        if model.scores is None:
            raise ValueError(f"{metric} needs positive-class scores")
        return (_roc_auc if metric == "roc_auc" else _log_loss)(truth, model.scores)
    tp, fp, fn, tn = _confusion(truth, model.predicted)
    return {
        "accuracy": lambda: (tp + tn) / truth.shape[-1],
        "precision": lambda: _ratio(tp, tp + fp),
        "recall": lambda: _ratio(tp, tp + fn),
        "f1": lambda: _ratio(2 * tp, 2 * tp + fp + fn),
    }[metric]()


def _improvement(metric: str) -> Callable[[FloatArray, FloatArray], FloatArray]:
    if metric in LOWER_IS_BETTER:
        return lambda champion, challenger: champion - challenger
    return lambda champion, challenger: challenger - champion


def _take(model: Scored, rows: npt.NDArray[np.intp]) -> Scored:
    scores = None if model.scores is None else model.scores[rows]
    return Scored(model.predicted[rows], scores)


def _checked(truth: npt.ArrayLike, *models: Scored) -> BoolArray:
    actual = np.asarray(truth, dtype=bool)
    if actual.ndim != 1 or actual.size == 0:
        raise ValueError("truth must be a non-empty one-dimensional array")
    for model in models:
        if model.predicted.shape != actual.shape:
            raise ValueError("every model must score each row of truth once")
        if model.scores is not None:
            probabilities(model.scores, "scores")
    return actual


def bootstrap_improvements(
    metric: str,
    truth: npt.ArrayLike,
    champion: Scored,
    challenger: Scored,
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> FloatArray:
    """The improvement in ``metric`` on each of ``resamples`` resamples of the rows.

    Each resample draws n row indices with replacement and scores both models on the same
    rows (the paired bootstrap of Efron and Tibshirani 1993, ch. 16). Resamples where the
    metric is undefined are NaN. Raises ValueError for mismatched inputs.
    """
    actual = _checked(truth, champion, challenger)
    rng, n = np.random.default_rng(seed), actual.size
    batch, improve = max(1, _CELLS_PER_BATCH // n), _improvement(metric)
    found: list[FloatArray] = []
    for start in range(0, resamples, batch):
        rows = rng.integers(0, n, size=(min(batch, resamples - start), n))
        values = [
            metric_values(metric, actual[rows], _take(m, rows)) for m in (champion, challenger)
        ]
        found.append(improve(*values))
    return np.concatenate(found) if found else np.empty(0)


def paired_bootstrap(
    metric: str,
    truth: npt.ArrayLike,
    champion: Scored,
    challenger: Scored,
    *,
    margin: float = 0.0,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> PairedComparison:
    """The improvement with its percentile interval at ``confidence`` (two-sided).

    ``p_value`` is the one-sided bootstrap p-value of "improvement <= margin":
    ``(1 + #{resampled improvement <= margin}) / (1 + resamples)`` (Davison and Hinkley 1997,
    eq. 4.11). The interval and p-value are NaN when every resample is undefined.
    """
    actual = _checked(truth, champion, challenger)
    draws = bootstrap_improvements(
        metric, actual, champion, challenger, resamples=resamples, seed=seed
    )
    draws = draws[np.isfinite(draws)]
    low, high, p_value = math.nan, math.nan, math.nan
    if draws.size:
        low, high = (
            float(q) for q in np.quantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2])
        )
        p_value = float((1 + np.sum(draws <= margin)) / (1 + draws.size))
    before, after = (float(metric_values(metric, actual, m)) for m in (champion, challenger))
    difference = float(_improvement(metric)(np.asarray(before), np.asarray(after)))
    return PairedComparison(metric, before, after, difference, low, high, p_value, int(actual.size))


def mcnemar(
    truth: npt.ArrayLike, champion: Scored, challenger: Scored, *, confidence: float = 0.95
) -> PairedComparison:
    """McNemar's exact test of accuracy on paired predictions (McNemar 1947).

    With ``b`` rows only the champion gets right and ``c`` rows only the challenger gets
    right, the one-sided p-value is ``P(X >= c)`` for ``X ~ Binomial(b + c, 1/2)`` (1 when
    ``b + c == 0``); the interval of the accuracy difference ``(c - b) / n`` is the Wald
    interval for paired proportions (Agresti 2013, Categorical Data Analysis, sec. 11.1.1).
    """
    actual = _checked(truth, champion, challenger)
    right_before, right_after = champion.predicted == actual, challenger.predicted == actual
    b = int(np.sum(right_before & ~right_after))
    c = int(np.sum(~right_before & right_after))
    n = actual.size
    p_value = float(stats.binom.sf(c - 1, b + c, 0.5)) if b + c else 1.0
    difference = (c - b) / n
    spread = math.sqrt(max((b + c) - (c - b) ** 2 / n, 0.0)) / n
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return PairedComparison(
        "accuracy",
        float(right_before.mean()),
        float(right_after.mean()),
        difference,
        difference - z * spread,
        difference + z * spread,
        p_value,
        n,
    )
