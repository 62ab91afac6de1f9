"""A classifier that answers like another one, only slower: a challenger for latency guardrails.

Servers load it with skops when ``MLOOP_TRUSTED_TYPES`` names this module.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

TRUST = "tests.integration.serving.slow_model."


class SlowClassifier(ClassifierMixin, BaseEstimator):
    """Delegates to a fitted ``model`` after sleeping ``delay_seconds`` per call."""

    def __init__(self, model: Any = None, delay_seconds: float = 0.2) -> None:
        self.model = model
        self.delay_seconds = delay_seconds

    def fit(self, features: Any, labels: Any) -> SlowClassifier:
        self.classes_ = np.asarray(self.model.classes_)
        return self

    def predict_proba(self, features: Any) -> np.ndarray:
        time.sleep(self.delay_seconds)
        return np.asarray(self.model.predict_proba(features))

    def predict(self, features: Any) -> np.ndarray:
        return self.classes_.take(np.argmax(self.predict_proba(features), axis=1))
