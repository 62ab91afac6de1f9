"""Bin edges from reference quantiles, and counts of values on those edges.

Layout of ``counts`` for edges ``e[0] < ... < e[n-1]`` (n >= 2): ``n + 1`` bins,

    counts[0]        v < e[0]                  underflow
    counts[i]        e[i-1] <= v < e[i]        for 1 <= i <= n-2 (closed left, open right)
    counts[n-1]      e[n-2] <= v <= e[n-1]     the last inner bin is closed on both sides
    counts[n]        v > e[n-1]                overflow

like ``np.histogram`` plus an underflow and an overflow bin. A constant reference has edges
``(c, c)``: one closed bin ``[c, c]``. A reference without finite values has no edges and one bin
that holds every value. ``-inf`` falls in the underflow bin and ``+inf`` in the overflow bin.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

QUANTILE_SAMPLE = 200_000
"""Edges of larger references come from the quantiles of a seeded sample of this many values."""

Floats = npt.NDArray[np.float64]
Indices = npt.NDArray[np.intp]


def quantile_edges(finite: Floats, bins: int) -> tuple[float, ...]:
    """Equal-frequency edges of ``finite`` values: exact minimum and maximum, no duplicates."""
    if finite.size == 0:
        return ()
    sample = finite
    if finite.size > QUANTILE_SAMPLE:
        picks = np.random.default_rng(0).integers(0, finite.size, QUANTILE_SAMPLE)
        sample = finite[picks]
    ordered = np.sort(sample)
    positions = np.minimum(np.arange(bins + 1) * ordered.size // bins, ordered.size - 1)
    cuts = ordered[positions]
    cuts[0], cuts[-1] = finite.min(), finite.max()
    edges = np.unique(cuts)
    if edges.size == 1:
        edges = np.repeat(edges, 2)
    return tuple(edges.tolist())


def bin_counts(values: Floats, edges: tuple[float, ...]) -> tuple[int, ...]:
    """Count non-missing ``values`` in the ``len(edges) + 1`` bins of the layout above."""
    if not edges:
        return (int(values.size),)
    index = bin_index(values, np.asarray(edges, dtype=np.float64))
    return tuple(np.bincount(index, minlength=len(edges) + 1).tolist())


def summed_counts(parts: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """Element-wise totals of equally long count sequences (at least one)."""
    return tuple(np.array(parts, dtype=np.int64).sum(axis=0).tolist())


def fingerprint_edges(edges: tuple[float, ...]) -> str:
    """A short, stable digest of bin edges: sha256 of their float64 bytes, 32 hex digits."""
    return hashlib.sha256(np.asarray(edges, dtype=np.float64).tobytes()).hexdigest()[:32]


def bin_index(values: Floats, edges: Floats) -> Indices:
    """The bin of each non-missing value for ``edges`` (at least two of them)."""
    inner = edges[:-1]
    rank = _count_at_most(_search_tree(inner), values)
    np.minimum(rank, inner.size, out=rank)
    rank += values > edges[-1]
    return rank


def _search_tree(ordered: Floats) -> Floats:
    """``ordered`` (padded with +inf) in breadth-first order of a complete binary search tree.

    Node ``k`` (1-based) has children ``2k`` and ``2k + 1``; slot 0 is unused.
    """
    depth = ordered.size.bit_length()
    size = 1 << depth
    padded = np.concatenate([ordered, np.full(size - 1 - ordered.size, np.inf)])
    node = np.arange(1, size)
    level = np.log2(node).astype(np.intp)
    in_order = (2 * (node - (1 << level)) + 1) * (1 << (depth - 1 - level)) - 1
    tree = np.full(size, np.nan)
    tree[node] = padded[in_order]
    return tree


def _count_at_most(tree: Floats, values: Floats) -> Indices:
    """How many tree elements are <= each value: a branch-free search, one level per pass."""
    size = tree.size
    node = np.ones(values.size, dtype=np.intp)
    goes_right = np.empty(values.size, dtype=bool)
    pivot = np.empty(values.size, dtype=np.float64)
    for _ in range(size.bit_length() - 1):
        np.take(tree, node, out=pivot, mode="clip")
        np.less_equal(pivot, values, out=goes_right)
        np.left_shift(node, 1, out=node)
        node += goes_right
    node -= size
    return node
