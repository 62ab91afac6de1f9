"""The mloop store: one protocol per domain (``protocols``), implemented in SQL (``sql``) and
over HTTP by an mloop server (``rest``).

``open_store`` picks the implementation from the URL's scheme.
"""

from __future__ import annotations

import os
import threading

from mloop.config import load_settings
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
from mloop.store.rest import RestStore
from mloop.store.sql import HEAD_REVISION, SqlStore, upgrade_sql_store

_open: dict[tuple[int, str], Store] = {}
_lock = threading.Lock()


def is_server_url(url: str) -> bool:
    """Whether ``url`` names an mloop server (``http://``, ``https://``), not a database."""
    return url.lower().startswith(("http://", "https://"))


def _check_scheme(url: str) -> None:
    if is_server_url(url):
        raise InvalidInput(
            f"{url} is an mloop server, not a database: upgrade the store on the server itself",
            field="store_url",
        )


def _new_store(url: str, create: bool) -> Store:
    if is_server_url(url):
        return RestStore(url, token=load_settings().token)
    return SqlStore(url, create=create)


def open_store(url: str, *, create: bool = True) -> Store:
    """The store for ``url``, opened (and migrated) once per process.

    An ``http://`` or ``https://`` URL is an mloop server (``mloop server``): the store talks to
    its REST API, sending the settings' token. With ``create=False`` a store that does not
    exist yet raises NotFound ("no store at ...") instead of being created: reading never
    creates a store. Raises InvalidInput for a URL no
    implementation serves, StoreVersionError for a store written by a newer mloop, and
    StoreUnavailable when the database or server cannot be reached; InvalidInput naming
    ``ServingClient`` when the URL is a model server rather than an mloop server.
    """
    with _lock:
        key = (os.getpid(), url)
        store = _open.get(key)
        if store is None:
            store = _new_store(url, create)
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
    "is_server_url",
    "open_store",
    "upgrade_store",
]
