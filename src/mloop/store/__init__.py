"""The mloop store: the only code that speaks SQL."""

from __future__ import annotations

import os
import threading

from mloop.store.migrate import HEAD_REVISION, upgrade_schema
from mloop.store.models import ModelQueries
from mloop.store.monitoring import MonitoringQueries
from mloop.store.predictions import PredictionQueries


class Store(MonitoringQueries, PredictionQueries, ModelQueries):
    """One store (SQLite file or PostgreSQL database): tracking, registry, prediction log and
    monitoring."""


_open: dict[tuple[int, str], Store] = {}
_lock = threading.Lock()


def open_store(url: str) -> Store:
    """Return the store for ``url``, opened (and migrated) once per process."""
    with _lock:
        key = (os.getpid(), url)
        store = _open.get(key)
        if store is None:
            store = Store(url)
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
    store = Store(url, migrate=False)
    try:
        return upgrade_schema(store.engine)
    finally:
        store.close()


__all__ = ["HEAD_REVISION", "Store", "close_stores", "open_store", "upgrade_store"]
