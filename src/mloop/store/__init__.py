"""The mloop store: one protocol per domain (``protocols``), implemented in SQL (``sql``).

``open_store`` picks the implementation from the URL's scheme.
"""

from __future__ import annotations

import os
import threading

from mloop.errors import InvalidInput
from mloop.store.protocols import (
    ModelStore,
    MonitoringStore,
    PredictionLogStore,
    RetrainingStore,
    RolloutStore,
    RunStore,
    Store,
)
from mloop.store.sql import HEAD_REVISION, SqlStore, upgrade_sql_store

_open: dict[tuple[int, str], Store] = {}
_lock = threading.Lock()


def _check_scheme(url: str) -> None:
    if url.lower().startswith(("http://", "https://")):
        raise InvalidInput(
            f"{url} is an HTTP URL, not a store: a store is a sqlite:/// or postgresql:// URL. "
            "For a model server started by `mloop serve`, use mloop.ServingClient(url)",
            field="store_url",
        )


def open_store(url: str, *, create: bool = True) -> Store:
    """The store for ``url``, opened (and migrated) once per process.

    With ``create=False`` a store that does not exist yet raises NotFound ("no store at ...")
    instead of being created: reading never creates a store. Raises InvalidInput for a URL no
    implementation serves, StoreVersionError for a store written by a newer mloop, and
    StoreUnavailable when the database cannot be reached.
    """
    _check_scheme(url)
    with _lock:
        key = (os.getpid(), url)
        store = _open.get(key)
        if store is None:
            store = SqlStore(url, create=create)
            _open[key] = store
        return store


def close_stores() -> None:
    """Close every store this process opened, releasing pooled connections."""
    with _lock:
        for store in _open.values():
            store.close()
        _open.clear()


def upgrade_store(url: str) -> tuple[str | None, str]:
    """Migrate the store at ``url`` to the newest schema; return revisions before and after."""
    _check_scheme(url)
    return upgrade_sql_store(url)


__all__ = [
    "HEAD_REVISION",
    "ModelStore",
    "MonitoringStore",
    "PredictionLogStore",
    "RetrainingStore",
    "RolloutStore",
    "RunStore",
    "Store",
    "close_stores",
    "open_store",
    "upgrade_store",
]
