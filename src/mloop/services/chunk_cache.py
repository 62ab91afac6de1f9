"""Tables read from prediction log chunks, kept for a reader that reads the same window again.

A rollout's evaluator reads every row of the rollout at each evaluation; without a cache each
evaluation reads and decodes every chunk the rollout wrote so far, a cost that grows with the
rollout's length (a quarter of a second for 400,000 rows here). A chunk's blob is named by its
content digest and never changes, so a table read from it, with the same columns and window,
stays valid: with a ``ChunkCache`` a reader decodes only the chunks it has not seen.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable

import numpy as np
import pyarrow as pa

ChunkRead = tuple[pa.Table, np.ndarray | None]
"""A chunk's rows inside a window and their positions in the chunk (None: every row)."""


class ChunkCache:
    """Chunk tables of one reader, at most ``max_bytes`` of them (Arrow buffer sizes).

    Once full it keeps what it holds and reads further chunks every time without keeping them:
    a reader scanning a growing window keeps its oldest chunks instead of evicting the entries
    its next scan needs first. ``keep_only`` drops what the last read did not use (chunks gone
    from the log, an old window). Safe to share between threads.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._tables: dict[Hashable, ChunkRead] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes of the tables held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._tables)

    def get(self, key: Hashable) -> ChunkRead | None:
        """The read kept under ``key``, or None."""
        with self._lock:
            return self._tables.get(key)

    def put(self, key: Hashable, read: ChunkRead) -> bool:
        """Keep ``read`` under ``key`` if it fits; True when kept."""
        size = read[0].nbytes + (0 if read[1] is None else read[1].nbytes)
        with self._lock:
            if key in self._tables or self._bytes + size > self.max_bytes:
                return False
            self._tables[key] = read
            self._bytes += size
            return True

    def keep_only(self, keys: set[Hashable]) -> None:
        """Drop every read whose key is not in ``keys``."""
        with self._lock:
            for key in [key for key in self._tables if key not in keys]:
                table, kept = self._tables.pop(key)
                self._bytes -= table.nbytes + (0 if kept is None else kept.nbytes)
