"""What every route of the API works on: the store, the artifact store and the settings."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from mloop.artifacts import ArtifactStore
from mloop.config import Settings
from mloop.errors import NotFound
from mloop.store import Store

IDEMPOTENCY_KEYS_KEPT = 100_000


class IdempotencyKeys:
    """Writes done under a caller's key: the same key a second time writes nothing.

    Two requests with one key at the same moment run one after the other, and a write that
    failed leaves its key free for the retry. The newest ``capacity`` keys are kept in memory.
    """

    def __init__(self, capacity: int = IDEMPOTENCY_KEYS_KEPT) -> None:
        self._capacity = capacity
        self._done: OrderedDict[str, None] = OrderedDict()
        self._gates: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def once(self, key: str, write: Callable[[], None]) -> bool:
        """Call ``write`` unless a call under ``key`` already succeeded; True when it wrote."""
        with self._lock:
            gate = self._gates.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._done:
                    return False
            write()
            self._remember(key)
            return True

    def _remember(self, key: str) -> None:
        with self._lock:
            self._done[key] = None
            self._gates.pop(key, None)
            while len(self._done) > self._capacity:
                self._done.popitem(last=False)


@dataclass
class Backend:
    """The store, the server's artifact store and settings, and the idempotency keys seen."""

    store: Store
    artifacts: ArtifactStore
    settings: Settings
    batches: IdempotencyKeys = field(default_factory=IdempotencyKeys)

    def require_blob(self, digest: str) -> None:
        """Return if the artifact store holds this blob; NotFound (naming ``digest``) if not."""
        if not self.artifacts.exists(digest):
            raise NotFound(f"blob {digest} is not on this server; upload it first", field="digest")


def backend(request: Request) -> Backend:
    """The backend of the app serving this request."""
    found: Backend = request.app.state.backend
    return found


Served = Annotated[Backend, Depends(backend)]
