"""Multiple-testing corrections for the p-values of many features or metrics tested at once."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from mloop.stats._inputs import FloatArray


def adjust_p_values(
    p_values: npt.ArrayLike, method: Literal["bh", "bonferroni"] = "bh"
) -> FloatArray:
    """Benjamini-Hochberg (FDR) or Bonferroni (FWER) adjusted p-values; NaN stays NaN, uncounted."""
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
    else:
        raise ValueError(f"method must be 'bh' or 'bonferroni', got {method!r}")
    return adjusted
