"""Opening a store: reading never creates one; writing does."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import mloop
from mloop.errors import NotFound
from mloop.store import open_store


def test_a_missing_sqlite_store_is_not_created_by_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "dir" / "x.db"
    with pytest.raises(NotFound, match=r"no store at sqlite:///.*x\.db"):
        open_store(f"sqlite:///{path}", create=False)
    assert not path.exists() and not path.parent.exists()
    reader = mloop.Client(f"sqlite:///{path}", create=False)
    with pytest.raises(NotFound, match="no store at"):
        reader.registry.list_models()
    assert not path.exists()


def test_a_writer_creates_the_store_and_readers_then_open_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store' / 'mloop.db'}"
    mloop.Client(url).tracking.get_or_create_experiment("churn")
    names = [e.name for e, _ in mloop.Client(url, create=False).tracking.list_experiments()]
    assert names == ["churn"]


def test_an_empty_postgresql_schema_is_not_a_store_for_a_reader(postgres_url: str) -> None:
    with pytest.raises(NotFound, match="no store at postgresql"):
        open_store(postgres_url, create=False)
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []
    engine.dispose()
    open_store(postgres_url)
    open_store(postgres_url, create=False)
