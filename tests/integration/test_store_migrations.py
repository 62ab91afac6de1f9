"""Schema migrations: a new store is migrated on open, a newer one is refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from mloop.errors import StoreVersionError
from mloop.store import HEAD_REVISION, open_store, upgrade_store
from mloop.store.sql import SqlStore
from mloop.store.sql.migrate import KNOWN_REVISIONS, MIGRATIONS_DIR
from mloop.store.sql.schema import SQLITE_ONLY_INDEXES, metadata


def _migrated_url(request: pytest.FixtureRequest, backend: str) -> str:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    open_store(url)
    return url


def test_head_revision_matches_the_migration_scripts() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    assert scripts.get_current_head() == HEAD_REVISION
    assert {s.revision for s in scripts.walk_revisions()} == set(KNOWN_REVISIONS)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrated_schema_equals_the_declared_schema(
    request: pytest.FixtureRequest, backend: str
) -> None:
    url = _migrated_url(request, backend)
    engine = sa.create_engine(url)
    skipped = set() if backend == "sqlite" else SQLITE_ONLY_INDEXES

    def declared_here(item: object, name: str | None, *_: object) -> bool:
        return name not in skipped

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": declared_here})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_store_from_a_newer_mloop_is_refused(sqlite_url: str) -> None:
    open_store(sqlite_url)
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    with pytest.raises(StoreVersionError, match="newer mloop"):
        SqlStore(sqlite_url)
    with pytest.raises(StoreVersionError):
        upgrade_store(sqlite_url)


def test_upgrade_reports_revisions_and_is_idempotent(sqlite_url: str) -> None:
    assert upgrade_store(sqlite_url) == (None, HEAD_REVISION)
    assert upgrade_store(sqlite_url) == (HEAD_REVISION, HEAD_REVISION)


def test_sqlite_store_runs_in_wal_mode(sqlite_url: str) -> None:
    store = SqlStore(sqlite_url)
    with store.db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
