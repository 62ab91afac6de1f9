"""A sequential test of two proportions that stays valid however often it is looked at.

The test is the mixture sequential probability ratio test (mSPRT) with a normal mixture over
the difference θ = p_b - p_a, on the normal approximation of θ̂ (Johari, Koomen, Pekelis and
Walsh, "Always valid inference: continuous monitoring of A/B tests", Operations Research 2022,
section 4). With V the estimated variance of θ̂ and τ the mixture's scale (``tuning``), the
likelihood ratio against θ = θ0 is

    Λ(θ0) = sqrt(V / (V + τ²)) · exp(τ² (θ̂ - θ0)² / (2 V (V + τ²))).

The always-valid p-value is 1 / Λ(0) (capped at 1; a caller looking repeatedly keeps the
running minimum), and the confidence sequence is every θ0 with Λ(θ0) < 1 / alpha — the normal
mixture boundary of Howard, Ramdas, McAuliffe and Sekhon (Annals of Statistics 2021, eq. 14).
Both are exact for Gaussian increments and hold asymptotically for proportions.

``tuning`` = τ is the scale of differences the test is most sensitive to, in the units of the
difference; the default 0.05 suits conversion or accuracy differences of a few points. Any τ
keeps the error guarantee; a τ near the true effect stops soonest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mloop.stats._inputs import FloatArray

DEFAULT_TUNING = 0.05


@dataclass(frozen=True)
class SequentialResult:
    """The always-valid p-value of b - a = 0 and the (1 - alpha) confidence sequence."""

    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float
    tuning: float

    @property
    def decided(self) -> bool:
        """Whether the test rejects b - a = 0 at level alpha."""
        return self.p_value <= self.alpha


def _variance(
    xa: FloatArray, na: FloatArray, xb: FloatArray, nb: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """θ̂ and its variance; rates are smoothed as (x + 1) / (n + 2) so V stays positive."""
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = xb / nb - xa / na
        pa, pb = (xa + 1) / (na + 2), (xb + 1) / (nb + 2)
        variance = pa * (1 - pa) / na + pb * (1 - pb) / nb
    return theta, variance


def sequential_p_values(
    x_a: npt.ArrayLike,
    n_a: npt.ArrayLike,
    x_b: npt.ArrayLike,
    n_b: npt.ArrayLike,
    tuning: float = DEFAULT_TUNING,
) -> FloatArray:
    """Vectorised mSPRT p-values 1 / Λ(0) (capped at 1; 1 where an arm has no trials)."""
    xa, na, xb, nb = (np.asarray(v, dtype=np.float64) for v in (x_a, n_a, x_b, n_b))
    theta, v = _variance(xa, na, xb, nb)
    tau2 = _tuning(tuning) ** 2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = 0.5 * np.log(v / (v + tau2)) + tau2 * theta**2 / (2 * v * (v + tau2))
        p = np.minimum(1.0, np.exp(-log_ratio))
    return np.where((na > 0) & (nb > 0), p, 1.0)


def _tuning(tuning: float) -> float:
    if not tuning > 0 or not math.isfinite(tuning):
        raise ValueError(f"tuning must be a positive number, got {tuning}")
    return float(tuning)


def sequential_proportions(
    x_a: int,
    n_a: int,
    x_b: int,
    n_b: int,
    alpha: float = 0.05,
    tuning: float = DEFAULT_TUNING,
) -> SequentialResult:
    """The mSPRT of p_b - p_a after x_a of n_a and x_b of n_b successes.

    Returns the observed difference, its always-valid confidence sequence (infinite while an
    arm has no trials) and the always-valid p-value. Raises ValueError for counts outside
    0 <= x <= n, alpha outside (0, 1) or a non-positive tuning.
    """
    for x, n, name in ((x_a, n_a, "arm a"), (x_b, n_b, "arm b")):
        if n < 0 or x < 0 or x > n:
            raise ValueError(f"{name}: need 0 <= successes <= trials, got {x} of {n}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    tau = _tuning(tuning)
    p = float(sequential_p_values(x_a, n_a, x_b, n_b, tau))
    if n_a == 0 or n_b == 0:
        return SequentialResult(math.nan, -math.inf, math.inf, p, alpha, tau)
    observed = [np.asarray(c, dtype=np.float64) for c in (x_a, n_a, x_b, n_b)]
    theta, v = (float(value) for value in _variance(*observed))
    tau2 = tau**2
    radius = math.sqrt(v * (v + tau2) / tau2 * (2 * math.log(1 / alpha) + math.log((v + tau2) / v)))
    return SequentialResult(theta, theta - radius, theta + radius, p, alpha, tau)
