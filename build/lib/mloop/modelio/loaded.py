"""A loaded model: the estimator plus where it came from, with the predict methods it has."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mloop.modelio.signature import Signature

_DELEGATED = frozenset({"predict_proba", "predict_log_proba", "decision_function", "classes_"})


@dataclass
class LoadedModel:
    """An estimator from the store with ``predict`` (and ``predict_proba`` if it has one)."""

    estimator: Any
    name: str
    version: int | None
    run_id: str
    digest: str
    signature: Signature = field(default_factory=Signature)

    def predict(self, frame: Any) -> Any:
        """Predictions of the estimator for the rows of ``frame``."""
        return self.estimator.predict(frame)

    def __getattr__(self, name: str) -> Any:
        if name in _DELEGATED:
            return getattr(self.estimator, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
