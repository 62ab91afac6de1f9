"""Turn array-likes into the flat float vectors the statistics work on, or raise ValueError."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def sample(values: npt.ArrayLike, name: str) -> FloatArray:
    """A 1-D float vector of finite values."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def counts(values: npt.ArrayLike, name: str) -> FloatArray:
    """A 1-D float vector of finite, non-negative histogram counts."""
    array = sample(values, name)
    if (array < 0).any():
        raise ValueError(f"{name} contains negative counts")
    return array


def count_pair(
    reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Two count vectors over the same bins."""
    reference = counts(reference_counts, "reference_counts")
    current = counts(current_counts, "current_counts")
    if reference.size != current.size:
        raise ValueError(
            f"reference_counts and current_counts differ in length: "
            f"{reference.size} != {current.size}"
        )
    return reference, current


def probabilities(values: npt.ArrayLike, name: str) -> FloatArray:
    """A 1-D float vector of values in [0, 1]."""
    array = sample(values, name)
    if ((array < 0) | (array > 1)).any():
        raise ValueError(f"{name} must lie in [0, 1]")
    return array


def binary_labels(values: npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    """A 1-D boolean vector from labels given as 0/1 or False/True."""
    array = sample(values, name)
    if not np.isin(array, (0.0, 1.0)).all():
        raise ValueError(f"{name} must hold only 0 and 1")
    return array == 1.0


def same_length(first: npt.NDArray[np.generic], second: npt.NDArray[np.generic]) -> None:
    """Raise ValueError unless two vectors have the same length."""
    if first.shape != second.shape:
        raise ValueError(f"lengths differ: {first.shape[0]} != {second.shape[0]}")
