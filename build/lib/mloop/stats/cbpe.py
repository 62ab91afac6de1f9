"""Confidence-based performance estimation (CBPE) for binary classifiers, as NannyML does it.

Without labels, a calibrated probability p_i says row i is positive with chance p_i, which gives
an expected confusion matrix and, by simulating labels, a band around each estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from mloop.stats._inputs import FloatArray, binary_labels, probabilities, same_length
from mloop.stats.performance import confusion_metrics, roc_auc

ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
SIMULATION_CELLS = 4_000_000
"""Simulated labels held in memory at once (rows x simulations), to bound memory on big windows."""


@dataclass(frozen=True)
class Calibration:
    """A monotone map from a model's predicted probability to the observed positive rate."""

    proba: tuple[float, ...]
    calibrated: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.proba or len(self.proba) != len(self.calibrated):
            raise ValueError("a calibration needs equally many proba and calibrated knots")
        if np.any(np.diff(self.proba) <= 0):
            raise ValueError("calibration knots must be strictly increasing")

    def apply(self, proba: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities, interpolated between knots and held constant beyond them."""
        return np.interp(probabilities(proba, "proba"), self.proba, self.calibrated)

    def to_dict(self) -> dict[str, list[float]]:
        """The knots as a plain dict of lists, for storage."""
        return {"proba": list(self.proba), "calibrated": list(self.calibrated)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[float]]) -> Calibration:
        """Rebuild a calibration stored with ``to_dict``."""
        return cls(
            tuple(float(x) for x in data["proba"]), tuple(float(y) for y in data["calibrated"])
        )


IDENTITY = Calibration((0.0, 1.0), (0.0, 1.0))


class Estimate(NamedTuple):
    """An estimated metric and the band where the realised value is expected to fall."""

    value: float
    lower: float
    upper: float


def fit_calibration(proba: npt.ArrayLike, labels: npt.ArrayLike) -> Calibration:
    """Isotonic regression of 0/1 labels on predicted probability; the identity without rows."""
    scores, outcome = probabilities(proba, "proba"), binary_labels(labels, "labels")
    same_length(scores, outcome)
    if scores.size == 0:
        return IDENTITY
    knots, group = np.unique(scores, return_inverse=True)
    rows = np.bincount(group, minlength=knots.size).astype(np.float64)
    rates = np.bincount(group, weights=outcome, minlength=knots.size) / rows
    fitted = optimize.isotonic_regression(rates, weights=rows).x
    # Keep only the ends of each constant stretch: interpolation needs nothing in between.
    keep = np.ones(knots.size, dtype=bool)
    keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return Calibration(tuple(knots[keep].tolist()), tuple(fitted[keep].tolist()))


def calibration_error(proba: npt.ArrayLike, labels: npt.ArrayLike, bins: int = 10) -> float:
    """Expected calibration error over equal-width probability bins; NaN without rows."""
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    scores, outcome = probabilities(proba, "proba"), binary_labels(labels, "labels")
    same_length(scores, outcome)
    if scores.size == 0:
        return math.nan
    bin_of_row = np.minimum((scores * bins).astype(np.int64), bins - 1)
    predicted = np.bincount(bin_of_row, weights=scores, minlength=bins)
    observed = np.bincount(bin_of_row, weights=outcome, minlength=bins)
    return float(np.abs(observed - predicted).sum() / scores.size)


def estimate_performance(
    proba: npt.ArrayLike,
    threshold: float = 0.5,
    *,
    predicted: npt.ArrayLike | None = None,
    n_simulations: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Estimate]:
    """Expected accuracy, precision, recall, F1 and ROC AUC from calibrated probabilities.

    Rows are predicted positive when ``proba >= threshold`` unless the model's own 0/1
    ``predicted`` labels are given. The band holds the central ``confidence`` share of the
    metric over labels simulated as Bernoulli(proba). Everything is NaN without rows.
    """
    if n_simulations < 1 or not 0 < confidence < 1:
        raise ValueError("n_simulations must be >= 1 and confidence within (0, 1)")
    chance = probabilities(proba, "proba")
    flagged = chance >= threshold if predicted is None else binary_labels(predicted, "predicted")
    same_length(chance, flagged)
    if chance.size == 0:
        return dict.fromkeys(ESTIMATED_METRICS, Estimate(math.nan, math.nan, math.nan))
    expected = confusion_metrics(
        true_positives=chance[flagged].sum(),
        false_positives=(1 - chance[flagged]).sum(),
        false_negatives=chance[~flagged].sum(),
        true_negatives=(1 - chance[~flagged]).sum(),
    )
    values = {name: float(value) for name, value in expected.items()}
    values["roc_auc"] = roc_auc(chance, chance)
    simulated = _simulated_metrics(chance, flagged, n_simulations, np.random.default_rng(seed))
    tail = (1 - confidence) / 2
    return {
        name: Estimate(values[name], *_central_interval(simulated[name], tail))
        for name in ESTIMATED_METRICS
    }


def _simulated_metrics(
    chance: FloatArray, flagged: npt.NDArray[np.bool_], simulations: int, rng: np.random.Generator
) -> dict[str, FloatArray]:
    """Each metric's realised value under ``simulations`` draws of labels ~ Bernoulli(chance)."""
    rows = chance.size
    # One matrix product per chunk gives, per simulation: true positives, rank sum, positives.
    columns = np.column_stack((flagged, stats.rankdata(chance), np.ones(rows)))
    chunk = max(1, SIMULATION_CELLS // rows)
    sums = np.vstack(
        [
            (rng.random((min(chunk, simulations - done), rows)) < chance) @ columns
            for done in range(0, simulations, chunk)
        ]
    )
    true_positives, positive_rank_sum, positives = sums.T
    flagged_rows = float(flagged.sum())
    metrics = confusion_metrics(
        true_positives=true_positives,
        false_positives=flagged_rows - true_positives,
        false_negatives=positives - true_positives,
        true_negatives=rows - flagged_rows - positives + true_positives,
    )
    pairs = positives * (rows - positives)
    above_negatives = positive_rank_sum - positives * (positives + 1) / 2
    metrics["roc_auc"] = np.divide(
        above_negatives, pairs, out=np.full_like(pairs, np.nan), where=pairs > 0
    )
    return metrics


def _central_interval(draws: FloatArray, tail: float) -> tuple[float, float]:
    """The ``tail`` and ``1 - tail`` quantiles of the defined draws; NaN if there are none."""
    defined = draws[~np.isnan(draws)]
    if defined.size == 0:
        return math.nan, math.nan
    lower, upper = np.quantile(defined, [tail, 1 - tail])
    return float(lower), float(upper)
