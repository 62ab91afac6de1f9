"""Thompson sampling over binary rewards, applied as traffic shares with a floor per arm.

Each arm's success rate gets a Beta(1 + successes, 1 + failures) posterior; an arm's share is
the posterior probability that it is the best arm (estimated from joint draws), then raised to
at least ``floor`` so every arm keeps learning. Source: Thompson (1933); the batched,
probability-matching form of Russo, Van Roy et al., "A Tutorial on Thompson Sampling" (2018),
section 6.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

DRAWS = 4000


def thompson_shares(
    rewards: Mapping[str, tuple[int, int]],
    floor: float = 0.05,
    rng: np.random.Generator | None = None,
) -> dict[str, float]:
    """Traffic shares per arm from (successes, trials), summing to 1, each at least ``floor``.

    Raises ValueError for a floor outside [0, 1 / arms] or counts outside 0 <= successes <=
    trials.
    """
    arms = list(rewards)
    if not arms or not 0 <= floor <= 1 / len(arms):
        raise ValueError(f"floor must lie in [0, 1/{len(arms)}], got {floor}")
    wins = np.array([rewards[arm][0] for arm in arms], dtype=np.float64)
    trials = np.array([rewards[arm][1] for arm in arms], dtype=np.float64)
    if ((wins < 0) | (wins > trials)).any():
        raise ValueError("need 0 <= successes <= trials for every arm")
    generator = rng or np.random.default_rng()
    draws = generator.beta(1 + wins, 1 + trials - wins, size=(DRAWS, len(arms)))
    best = np.bincount(draws.argmax(axis=1), minlength=len(arms)) / DRAWS
    shares = floor + (1 - floor * len(arms)) * best
    return {arm: float(share) for arm, share in zip(arms, shares, strict=True)}
