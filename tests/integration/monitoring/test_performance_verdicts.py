"""Performance alerts need enough labels and a drop the interval supports; undefined is NaN."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mloop.monitoring.alerts import DEFAULT_RULES
from mloop.monitoring.monitor import _performance_signals
from mloop.monitoring.performance import realized_performance
from mloop.reference import ReferenceMeta, Task

META = ReferenceMeta(
    Task.CLASSIFICATION,
    ("x",),
    ("prediction", "proba.0", "proba.1"),
    classes=(0, 1),
    positive_class=1,
    metrics={"accuracy": 0.9, "precision": 0.88, "recall": 0.88, "f1": 0.88},
)


def _alerts(window: pd.DataFrame) -> list[str]:
    result = realized_performance(window, META)
    signals = _performance_signals("performance", result)
    return [rule.name for rule in DEFAULT_RULES for s in signals if rule.breached(s)]


def _window(labels: np.ndarray, predictions: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"prediction": predictions, "label": labels})


def test_all_negative_labels_leave_f1_undefined_and_raise_nothing() -> None:
    window = _window(np.zeros(400, dtype=int), np.r_[np.ones(20, int), np.zeros(380, int)])
    result = realized_performance(window, META)
    assert result is not None and math.isnan(result["metrics"]["f1"])
    assert result["undefined"]["recall"] == "no actual positives"
    assert "f1" not in result["drop"] and _alerts(window) == []


def test_one_to_five_labels_never_alert() -> None:
    for labels in range(1, 6):
        window = _window(np.ones(labels, dtype=int), np.zeros(labels, dtype=int))
        assert _alerts(window) == []


def test_a_real_accuracy_drop_of_a_tenth_with_500_labels_alerts() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 500)
    wrong = rng.random(500) < 0.2
    window = _window(labels, np.where(wrong, 1 - labels, labels))
    result = realized_performance(window, META)
    assert result is not None
    lower, upper = result["intervals"]["accuracy"]
    assert lower < result["metrics"]["accuracy"] < upper < META.metrics["accuracy"]
    assert "accuracy-drop" in _alerts(window)
