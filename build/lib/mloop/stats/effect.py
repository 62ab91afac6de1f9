"""Effect sizes of drift that keep their meaning at every sample size.

Plug-in distances between two histograms grow with the number of bins and shrink with the
sample sizes even when nothing changed. The functions here work on few bins of equal reference
mass (``merge_bins``), subtract the expected no-change value (``jensen_shannon_corrected``), or
measure on the reference's rank scale, where every bin weighs its share of the reference
(``wasserstein_rank``). Counts follow ``mloop.stats.binned``; NaN when either histogram is empty.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from mloop.stats._inputs import FloatArray, count_pair
from mloop.stats.binned import jensen_shannon, mean_abs_linear


def merge_bins(
    reference_counts: npt.ArrayLike,
    current_counts: npt.ArrayLike,
    groups: int,
    *,
    ordered: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """Both histograms summed into at most ``groups`` groups of about equal reference mass.

    With ``ordered`` bins (numeric histograms) only neighbours merge, so the groups are quantile
    bins of the reference; otherwise (categories) bins are first sorted by reference count, so
    frequent categories stay alone and rare ones pool. Bins the reference never saw join the
    last group. Returns two count vectors of equal length (at most ``groups``). Raises
    ValueError for ``groups`` < 1 or mismatched counts.
    """
    if groups < 1:
        raise ValueError(f"groups must be at least 1, got {groups}")
    reference, current = count_pair(reference_counts, current_counts)
    order = np.arange(reference.size) if ordered else np.argsort(-reference, kind="stable")
    reference, current = reference[order], current[order]
    total = reference.sum()
    if total == 0:
        return reference, current
    before = (np.cumsum(reference) - reference) / total
    group = np.minimum((before * groups).astype(np.int64), groups - 1)
    _, group = np.unique(group, return_inverse=True)
    size = int(group.max()) + 1
    merged_reference = np.bincount(group, reference, minlength=size).astype(np.float64)
    return merged_reference, np.bincount(group, current, minlength=size).astype(np.float64)


def jensen_shannon_corrected(
    reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike
) -> float:
    """Jensen-Shannon distance (base 2) less its expected value when nothing changed.

    The plug-in divergence of two samples of sizes n and m from one distribution over k occupied
    bins is about (k - 1)(1/n + 1/m) / (8 ln 2) bits (the chi-square limit of the divergence,
    as in Miller's 1955 bias correction of entropy); that is subtracted from the squared distance
    before the square root, floored at 0. Returns a distance in [0, 1]; NaN if one is empty.
    """
    reference, current = count_pair(reference_counts, current_counts)
    distance = jensen_shannon(reference, current)
    if math.isnan(distance):
        return math.nan
    occupied = int(np.count_nonzero(reference + current))
    bias = (occupied - 1) * (1 / reference.sum() + 1 / current.sum()) / (8 * math.log(2))
    return math.sqrt(max(distance**2 - bias, 0.0))


def wasserstein_rank(reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike) -> float:
    """Wasserstein distance of two ordered histograms on the reference's rank scale.

    Each value is replaced by its rank in the reference (its reference CDF, within [0, 1]),
    mass spread uniformly within each bin; the result is the mean absolute gap between the two
    CDFs over the reference's quantiles, in shares of the population (0.02 = values moved two
    percentiles on average). Any monotone change of units (log, scaling) leaves it unchanged,
    so a 10% cut on a skewed positive column counts as much as the same rank shift of a symmetric
    one. Checked against the exact distance of the rank-transformed samples
    (``scipy.stats.wasserstein_distance``) in the tests. NaN if one histogram is empty.
    """
    reference, current = count_pair(reference_counts, current_counts)
    if reference.sum() == 0 or current.sum() == 0:
        return math.nan
    reference_cdf = np.concatenate(([0.0], np.cumsum(reference) / reference.sum()))
    current_cdf = np.concatenate(([0.0], np.cumsum(current) / current.sum()))
    gap = current_cdf - reference_cdf
    # Bins the reference leaves empty (below its minimum, above its maximum) have no width on
    # this scale: current mass there shows up as the gap at rank 0 or rank 1.
    return float(np.diff(reference_cdf) @ mean_abs_linear(gap[:-1], gap[1:]))
