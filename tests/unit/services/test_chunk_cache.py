"""The chunk cache a rollout's analyses read through: its byte budget and what it keeps."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mloop.services.chunk_cache import ChunkCache


def _read(rows: int) -> tuple[pa.Table, None]:
    return pa.table({"ts": np.arange(rows, dtype=np.float64)}), None


def test_a_full_cache_keeps_what_it_holds_and_refuses_more() -> None:
    cache = ChunkCache(max_bytes=8 * 250)
    assert cache.put("a", _read(100)) and cache.put("b", _read(100))
    assert not cache.put("c", _read(100))
    assert cache.get("a") is not None and cache.get("c") is None
    assert (len(cache), cache.nbytes) == (2, 1600)


def test_keep_only_drops_the_rest_and_frees_its_bytes() -> None:
    cache = ChunkCache(max_bytes=10_000)
    kept = np.array([1, 2], dtype=np.int64)
    cache.put("a", _read(100))
    cache.put("b", (_read(10)[0], kept))
    cache.keep_only({"b", "never read"})
    assert cache.get("a") is None and cache.get("b") is not None
    assert cache.nbytes == 80 + kept.nbytes
    assert not cache.put("b", _read(1)), "a key is kept once"
