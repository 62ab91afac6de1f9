"""Engines for the store: SQLite in WAL mode with immediate write locks, PostgreSQL pooled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry

from mloop.errors import InvalidInput, NotFound

SQLITE_BUSY_TIMEOUT_MS = 60_000
READ_ONLY = "mloop_read_only"


def _prepare_sqlite(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    """Hand transaction control to SQLAlchemy's events and set WAL, busy timeout and syncing."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _begin_sqlite(conn: Any) -> None:
    """Start writes with BEGIN IMMEDIATE so concurrent writers queue on the busy timeout."""
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _json_text(value: Any) -> str:
    """JSON columns are written by orjson (non-finite numbers become null)."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def json_value(text: Any) -> Any:
    """JSON columns are read by orjson; SQLite hands numeric scalars back already typed."""
    return orjson.loads(text) if isinstance(text, str | bytes) else text


JSON_OPTIONS = {"json_serializer": _json_text, "json_deserializer": json_value}


def _sqlite_engine(url: str, create: bool) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not create and not path.is_file():
            raise NotFound(f"no store at {url}: a command that writes creates it", field="store")
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **JSON_OPTIONS
    )
    event.listen(engine, "connect", _prepare_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def make_engine(url: str, *, create: bool = True) -> Engine:
    """The engine for a store URL (sqlite:///path or postgresql+psycopg://...).

    With ``create=False`` a missing SQLite file raises NotFound instead of being created.
    Raises InvalidInput for a URL of another kind.
    """
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError as exc:
        raise InvalidInput(f"store URL {url!r} is not a database URL") from exc
    if backend == "sqlite":
        return _sqlite_engine(url, create)
    if backend == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, **JSON_OPTIONS)
    raise InvalidInput(f"store URL {url!r}: only sqlite and postgresql are supported")
