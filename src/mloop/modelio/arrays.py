"""Whether a served estimator gives the same answers for a plain array as for its frame.

scikit-learn validates a DataFrame on every call (feature names, dtypes, the conversion): for
a scaled logistic regression on nine columns that is ~320 of the ~490 microseconds a one-row
``predict_proba`` takes. A server calls its model once per micro-batch, so for a model whose
answers cannot depend on getting a frame it passes ``frame.to_numpy()`` instead, which is
the array scikit-learn makes of such a frame itself.

A model takes the array path only when all of these hold, checked once when it is loaded:
every input column is of kind ``number`` or ``integer`` (the request frame's columns are then
numpy float64 or int64, never an extension or object dtype); the estimator and every estimator
nested in it is a scikit-learn class, with no callable among their parameters (a
``FunctionTransformer``'s function or a column selector may read the frame); the estimator
records ``feature_names_in_`` equal to the signature's columns in order (what a frame must
match anyway); and a probe frame built from the signature's ranges gets bit-identical
predictions and probabilities both ways. Anything else keeps the frame.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mloop.modelio.signature import ColumnSpec, Signature

ARRAY_KINDS = frozenset({"number", "integer"})
FEATURE_NAMES_WARNING = r"X does not have valid feature names, but \w+ was fitted with feature"

Answer = Callable[[Any], tuple[np.ndarray, np.ndarray | None]]


def takes_array(estimator: Any, signature: Signature, answer: Answer) -> bool:
    """True when ``answer(frame.to_numpy())`` equals ``answer(frame)`` for this model's frames.

    ``answer`` runs the estimator and returns its predictions and probabilities (or None). On
    True, scikit-learn's warning that an array has no feature names is silenced for the
    process (the array is in the order of the names it was fitted with). Never raises: any
    error of the probe keeps the frame.
    """
    names = [spec.name for spec in signature.inputs]
    if not names or any(spec.kind not in ARRAY_KINDS for spec in signature.inputs):
        return False
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is None or list(fitted) != names or not _plain_sklearn(estimator):
        return False
    frame = _probe(signature.inputs)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=FEATURE_NAMES_WARNING)
            same = _same(answer(frame), answer(frame.to_numpy()))
    except Exception:
        return False
    if same:
        warnings.filterwarnings("ignore", message=FEATURE_NAMES_WARNING, category=UserWarning)
    return same


def _plain_sklearn(estimator: Any) -> bool:
    """Whether the estimator and everything nested in it are scikit-learn classes, no callables."""
    if not type(estimator).__module__.startswith("sklearn."):
        return False
    try:
        params = estimator.get_params(deep=True)
    except Exception:
        return False
    for value in params.values():
        if hasattr(value, "get_params"):
            if not type(value).__module__.startswith("sklearn."):
                return False
        elif callable(value):
            return False
    return True


def _probe(specs: tuple[ColumnSpec, ...]) -> pd.DataFrame:
    """Three rows per column: its observed minimum, midpoint and maximum (0, 0.5, 1 if unknown)."""
    columns: dict[str, np.ndarray] = {}
    for spec in specs:
        low = spec.min if spec.min is not None and math.isfinite(spec.min) else 0.0
        high = spec.max if spec.max is not None and math.isfinite(spec.max) else 1.0
        values = np.array([low, (low + high) / 2, high], dtype=np.float64)
        columns[spec.name] = np.round(values).astype(np.int64) if spec.kind == "integer" else values
    return pd.DataFrame(columns)


def _same(
    by_frame: tuple[np.ndarray, np.ndarray | None], by_array: tuple[np.ndarray, np.ndarray | None]
) -> bool:
    (predictions, probabilities), (array_predictions, array_probabilities) = by_frame, by_array
    if not np.array_equal(predictions, array_predictions):
        return False
    if probabilities is None or array_probabilities is None:
        return probabilities is None and array_probabilities is None
    return bool(np.array_equal(probabilities, array_probabilities))
