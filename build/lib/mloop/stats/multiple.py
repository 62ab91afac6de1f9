"""Multiple-testing corrections for the p-values of many features or metrics tested at once."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from mloop.stats._inputs import FloatArray


def adjust_p_values(
    p_values: npt.ArrayLike, method: Literal["bh", "bonferroni", "holm"] = "bh"
) -> FloatArray:
    """Benjamini-Hochberg (FDR), Bonferroni or Holm (both FWER) adjusted p-values.

    Returns an array of the input's shape; NaN stays NaN and is not counted as a test. Holm's
    step-down adjustment (Holm 1979) is checked against statsmodels' ``multipletests``. Raises
    ValueError for p-values outside [0, 1], a non-1-D input or another method.
    """
    values = np.asarray(p_values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"p_values must be one-dimensional, got shape {values.shape}")
    tested = ~np.isnan(values)
    if ((values[tested] < 0) | (values[tested] > 1)).any():
        raise ValueError("p_values must lie in [0, 1]")
    adjusted = np.full_like(values, np.nan)
    if method == "bh":
        if tested.any():
            adjusted[tested] = stats.false_discovery_control(values[tested], method="bh")
    elif method == "bonferroni":
        adjusted[tested] = np.minimum(values[tested] * tested.sum(), 1.0)
    elif method == "holm":
        adjusted[tested] = _holm(values[tested])
    else:
        raise ValueError(f"method must be 'bh', 'bonferroni' or 'holm', got {method!r}")
    return adjusted


def _holm(values: FloatArray) -> FloatArray:
    """Holm's step-down adjusted p-values: the running maximum of (m - i) p_(i), capped at 1."""
    order = np.argsort(values, kind="stable")
    scaled = values[order] * (len(values) - np.arange(len(values)))
    adjusted = np.empty_like(values)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted
