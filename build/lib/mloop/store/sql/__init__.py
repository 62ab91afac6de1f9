"""The SQL store (SQLite or PostgreSQL): the only code in mloop that speaks SQL."""

from __future__ import annotations

from mloop.store.sql.base import SqlDatabase
from mloop.store.sql.migrate import HEAD_REVISION, upgrade_schema
from mloop.store.sql.models import SqlModelStore
from mloop.store.sql.monitoring import SqlMonitoringStore
from mloop.store.sql.predictions import SqlPredictionLogStore
from mloop.store.sql.retraining import SqlRetrainingStore
from mloop.store.sql.rollouts import SqlRolloutStore
from mloop.store.sql.runs import SqlRunStore


class SqlStore:
    """The domain stores side by side over one database connection pool."""

    def __init__(self, url: str, *, migrate: bool = True, create: bool = True) -> None:
        self.db = SqlDatabase(url, migrate=migrate, create=create)
        self.runs = SqlRunStore(self.db)
        self.models = SqlModelStore(self.db)
        self.predictions = SqlPredictionLogStore(self.db)
        self.monitoring = SqlMonitoringStore(self.db)
        self.rollouts = SqlRolloutStore(self.db)
        self.retraining = SqlRetrainingStore(self.db)

    @property
    def url(self) -> str:
        """The store URL without its password, fit for messages."""
        return self.db.safe_url

    def close(self) -> None:
        """Release every pooled connection."""
        self.db.close()


def upgrade_sql_store(url: str) -> tuple[str | None, str]:
    """Migrate the SQL store at ``url`` to the newest schema; return revisions before and after.

    Raises StoreVersionError for a store written by a newer mloop.
    """
    db = SqlDatabase(url, migrate=False)
    try:
        return upgrade_schema(db.engine)
    finally:
        db.close()


__all__ = ["HEAD_REVISION", "SqlStore", "upgrade_sql_store"]
