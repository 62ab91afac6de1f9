"""What a model answers for a frame: predictions, and class probabilities when it has them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Outputs:
    """Predictions for a batch of rows, with probabilities and class labels for classifiers."""

    predictions: np.ndarray
    probabilities: np.ndarray | None = None
    classes: tuple[Any, ...] | None = None

    def rows(self, start: int, stop: int) -> Outputs:
        """The outputs of rows ``start`` to ``stop``."""
        proba = None if self.probabilities is None else self.probabilities[start:stop]
        return Outputs(self.predictions[start:stop], proba, self.classes)

    def __len__(self) -> int:
        return len(self.predictions)


def predict_outputs(estimator: Any, frame: pd.DataFrame) -> Outputs:
    """Run the estimator; a classifier's prediction is the class of highest probability."""
    if hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_"):
        probabilities = np.asarray(estimator.predict_proba(frame), dtype=np.float64)
        classes = np.asarray(estimator.classes_)
        predictions = classes.take(np.argmax(probabilities, axis=1))
        return Outputs(
            predictions,
            probabilities,
            tuple(c.item() if hasattr(c, "item") else c for c in classes),
        )
    return Outputs(np.asarray(estimator.predict(frame)))


def split_outputs(outputs: Outputs, start: int, stop: int) -> Outputs:
    """The batcher's splitter: one caller's share of a merged batch."""
    return outputs.rows(start, stop)


def plain(value: Any) -> Any:
    """A numpy scalar as the matching Python value, for JSON."""
    return value.item() if isinstance(value, np.generic) else value
