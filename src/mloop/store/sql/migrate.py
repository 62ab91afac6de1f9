"""Schema migrations: run on first open, refuse a store written by a newer mloop."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from mloop.errors import NotFound, StoreVersionError

HEAD_REVISION = "0013"
KNOWN_REVISIONS = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
    "0012",
    "0013",
)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def current_revision(conn: Connection) -> str | None:
    """Return the schema revision stamped in the store, or None for an empty store."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _check_known(revision: str | None, url: str) -> None:
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise StoreVersionError(
            f"the store at {url} has schema revision {revision!r}, written by a newer mloop; "
            f"this mloop knows up to {HEAD_REVISION!r}: upgrade mloop to use it"
        )


def _upgrade(conn: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def upgrade_schema(engine: Engine) -> tuple[str | None, str]:
    """Bring the store to the newest schema; return the revisions before and after."""
    url = engine.url.render_as_string(hide_password=True)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7461002)"))
        before = current_revision(conn)
        _check_known(before, url)
        if before != HEAD_REVISION:
            _upgrade(conn)
    return before, HEAD_REVISION


def ensure_schema(engine: Engine, *, create: bool = True) -> None:
    """Check the schema revision cheaply and migrate only when the store is behind.

    With ``create=False`` a database without an mloop schema raises NotFound ("no store at").
    """
    url = engine.url.render_as_string(hide_password=True)
    with engine.connect() as conn:
        revision = current_revision(conn)
        conn.rollback()
    if revision is None and not create:
        raise NotFound(f"no store at {url}: a command that writes creates it", field="store")
    _check_known(revision, url)
    if revision != HEAD_REVISION:
        upgrade_schema(engine)
