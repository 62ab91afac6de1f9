"""What a model answers for a frame: predictions, and class probabilities when it has them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mloop.modelio.arrays import takes_array
from mloop.modelio.rows import Rows
from mloop.modelio.signature import Signature


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


class Predictor:
    """``predict_outputs`` for one fitted estimator, with what it answers looked up once.

    Whether the estimator has ``predict_proba`` and ``classes_``, and its classes as an array
    and as Python values, are read when the predictor is made (a server makes one per loaded
    model), not on every call; the estimator must not be refitted afterwards. Given the
    model's ``signature``, rows with exactly its columns reach the estimator as one numpy
    array (``Rows.array()``, ``frame.to_numpy()``) when ``mloop.modelio.arrays.takes_array``
    finds the answers the same.
    """

    def __init__(self, estimator: Any, signature: Signature | None = None) -> None:
        self.estimator = estimator
        self._classes: tuple[np.ndarray, tuple[Any, ...]] | None = None
        if hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_"):
            classes = np.asarray(estimator.classes_)
            labels = tuple(c.item() if hasattr(c, "item") else c for c in classes)
            self._classes = (classes, labels)
        self._array_columns: tuple[str, ...] | None = None
        if signature is not None and takes_array(estimator, signature, self._answer):
            self._array_columns = tuple(signature.names)

    @property
    def takes_array(self) -> bool:
        """Whether rows of the signature's columns are passed as a numpy array."""
        return self._array_columns is not None

    def __call__(self, rows: Rows | pd.DataFrame) -> Outputs:
        """The outputs for ``rows`` (see ``predict_outputs``); raises what the estimator raises."""
        predictions, probabilities = self._answer(self._input(rows))
        if probabilities is None or self._classes is None:
            return Outputs(predictions)
        return Outputs(predictions, probabilities, self._classes[1])

    def _input(self, rows: Rows | pd.DataFrame) -> Any:
        """What the estimator gets: the array, or the frame."""
        if isinstance(rows, pd.DataFrame):
            if self._array_columns is not None and tuple(rows.columns) == self._array_columns:
                return rows.to_numpy()
            return rows
        if rows.names == self._array_columns:
            return rows.array()
        return rows.frame

    def _answer(self, data: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions and probabilities (None without ``predict_proba``) for a frame or array."""
        if self._classes is None:
            return np.asarray(self.estimator.predict(data)), None
        probabilities = np.asarray(self.estimator.predict_proba(data), dtype=np.float64)
        return self._classes[0].take(np.argmax(probabilities, axis=1)), probabilities


def finite_outputs(predict: Callable[[Any], Outputs], rows: Any) -> Outputs:
    """``predict(rows)`` with numpy's floating-point warnings silenced, checked finite.

    Raises ValueError naming the first row whose prediction or probability is NaN or
    infinite (say, a linear model overflowing on inputs near the float64 limit), which JSON
    could only carry as null; raises what ``predict`` raises.
    """
    with np.errstate(all="ignore"):
        outputs = predict(rows)
    for array in (outputs.predictions, outputs.probabilities):
        if array is not None and array.dtype.kind == "f":
            broken = ~np.isfinite(array)
            if broken.any():
                row = int(np.argwhere(broken)[0][0])
                raise ValueError(
                    f"the model answered {array[broken][0]} for row {row}: "
                    "its inputs may be beyond what it can compute"
                )
    return outputs


def predict_outputs(estimator: Any, frame: pd.DataFrame) -> Outputs:
    """Run the estimator; a classifier's prediction is the class of highest probability.

    Returns predictions, with probabilities and classes for an estimator that has
    ``predict_proba`` and ``classes_``; raises what the estimator raises.
    """
    return Predictor(estimator)(frame)


def split_outputs(outputs: Outputs, start: int, stop: int) -> Outputs:
    """The batcher's splitter: one caller's share of a merged batch."""
    return outputs.rows(start, stop)


def plain(value: Any) -> Any:
    """A numpy scalar as the matching Python value, for JSON."""
    return value.item() if isinstance(value, np.generic) else value
