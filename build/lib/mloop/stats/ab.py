"""Fixed-horizon tests of an A/B experiment: two proportions, two means, the split, its size.

Every test reports the difference b - a (the challenger minus the champion). Sources:
the two-proportion z-test with a pooled variance and an unpooled Wald interval, and Welch's
t-test, as in statsmodels' ``proportions_ztest`` / ``confint_proportions_2indep(method="wald")``
and scipy's ``ttest_ind(equal_var=False)``; the sample-ratio-mismatch check is Pearson's
chi-square goodness of fit (``scipy.stats.chisquare``); power and sample size use Cohen's
arcsine effect size h (Cohen 1988, ch. 6), as statsmodels' ``NormalIndPower`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from mloop.stats._inputs import FloatArray, counts, sample


@dataclass(frozen=True)
class Comparison:
    """The difference b - a, its (1 - alpha) confidence interval, the statistic and p-value."""

    difference: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    alpha: float


@dataclass(frozen=True)
class SampleRatio:
    """A sample-ratio-mismatch check: chi-square statistic, p-value and the expected counts."""

    statistic: float
    p_value: float
    expected: tuple[float, ...]


def _alpha(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return float(alpha)


def _successes(x: float, n: float, name: str) -> None:
    if n < 0 or x < 0 or x > n:
        raise ValueError(f"{name}: need 0 <= successes <= trials, got {x} of {n}")


def two_proportion_z(
    x_a: npt.ArrayLike, n_a: npt.ArrayLike, x_b: npt.ArrayLike, n_b: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Vectorised pooled z statistics of b - a and their two-sided p-values (NaN without data)."""
    xa, na, xb, nb = (np.asarray(v, dtype=np.float64) for v in (x_a, n_a, x_b, n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (xa + xb) / (na + nb)
        se = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
        z = (xb / nb - xa / na) / se
    return z, 2 * stats.norm.sf(np.abs(z))


def two_proportion_test(x_a: int, n_a: int, x_b: int, n_b: int, alpha: float = 0.05) -> Comparison:
    """Compare the success rates x_b/n_b and x_a/n_a of two arms.

    Returns the difference b - a with its unpooled Wald interval, the pooled z statistic and
    its two-sided p-value (NaN when an arm has no trials or every trial had the same outcome).
    Raises ValueError for counts outside 0 <= x <= n or alpha outside (0, 1).
    """
    _successes(x_a, n_a, "arm a")
    _successes(x_b, n_b, "arm b")
    level = _alpha(alpha)
    z, p = two_proportion_z(x_a, n_a, x_b, n_b)
    if n_a == 0 or n_b == 0:
        return Comparison(math.nan, math.nan, math.nan, math.nan, math.nan, level)
    pa, pb = x_a / n_a, x_b / n_b
    se = math.sqrt(pa * (1 - pa) / n_a + pb * (1 - pb) / n_b)
    half = float(stats.norm.ppf(1 - level / 2)) * se
    return Comparison(pb - pa, pb - pa - half, pb - pa + half, float(z), float(p), level)


def welch_test(a: npt.ArrayLike, b: npt.ArrayLike, alpha: float = 0.05) -> Comparison:
    """Welch's t-test of mean(b) - mean(a), without assuming equal variances.

    Returns the difference with its t interval on the Welch-Satterthwaite degrees of freedom,
    the t statistic and the two-sided p-value. Raises ValueError for non-finite values, an arm
    with fewer than two values, or alpha outside (0, 1).
    """
    first, second = sample(a, "a"), sample(b, "b")
    level = _alpha(alpha)
    if first.size < 2 or second.size < 2:
        raise ValueError("each arm needs at least two values")
    va, vb = first.var(ddof=1) / first.size, second.var(ddof=1) / second.size
    difference = float(second.mean() - first.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        return Comparison(difference, difference, difference, math.nan, math.nan, level)
    df = (va + vb) ** 2 / (va**2 / (first.size - 1) + vb**2 / (second.size - 1))
    t = difference / se
    half = float(stats.t.ppf(1 - level / 2, df)) * se
    p = 2 * stats.t.sf(abs(t), df)
    return Comparison(difference, difference - half, difference + half, t, float(p), level)


def srm_test(observed: npt.ArrayLike, weights: npt.ArrayLike) -> SampleRatio:
    """Check that arms got units in the planned proportions (sample ratio mismatch).

    ``observed`` holds the units per arm, ``weights`` the planned shares (any positive scale).
    Returns Pearson's chi-square statistic with k - 1 degrees of freedom and its p-value (NaN
    with no units); p below 0.001 is the usual sign of a broken split. Raises ValueError for
    negative counts, non-positive weights or lengths that differ.
    """
    units, shares = counts(observed, "counts"), sample(weights, "weights")
    if units.size != shares.size or units.size < 2:
        raise ValueError("counts and weights need the same length, at least two arms")
    if (shares <= 0).any():
        raise ValueError("weights must be positive")
    expected = units.sum() * shares / shares.sum()
    if units.sum() == 0:
        return SampleRatio(math.nan, math.nan, tuple(expected.tolist()))
    statistic = float(((units - expected) ** 2 / expected).sum())
    p = float(stats.chi2.sf(statistic, units.size - 1))
    return SampleRatio(statistic, p, tuple(expected.tolist()))


def effect_size_h(baseline: float, mde: float) -> float:
    """Cohen's h between ``baseline`` and ``baseline + mde``; ValueError outside [0, 1]."""
    target = baseline + mde
    if not 0 <= baseline <= 1 or not 0 <= target <= 1 or mde == 0:
        raise ValueError(
            f"baseline {baseline} and baseline + mde {target} must lie in [0, 1], mde nonzero"
        )
    return 2 * math.asin(math.sqrt(target)) - 2 * math.asin(math.sqrt(baseline))


def power_proportions(baseline: float, mde: float, n: float, alpha: float = 0.05) -> float:
    """Power of the two-sided two-proportion test with ``n`` units per arm for lift ``mde``.

    Returns a probability in [0, 1]. Raises ValueError as ``effect_size_h``, or for n < 0.
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    shift = abs(effect_size_h(baseline, mde)) * math.sqrt(n / 2)
    z = stats.norm.ppf(1 - _alpha(alpha) / 2)
    return float(stats.norm.sf(z - shift) + stats.norm.cdf(-z - shift))


def sample_size_proportions(
    baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Units per arm for the two-sided test to detect an absolute lift ``mde`` over ``baseline``.

    Returns the smallest whole number of units per arm. Raises ValueError for rates outside
    [0, 1], a zero ``mde``, or alpha or power outside (0, 1).
    """
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power}")
    h = abs(effect_size_h(baseline, mde))
    z = stats.norm.ppf(1 - _alpha(alpha) / 2) + stats.norm.ppf(power)
    n = math.ceil(2 * (z / h) ** 2)
    while n > 1 and power_proportions(baseline, mde, n - 1, alpha) >= power:
        n -= 1
    return n
