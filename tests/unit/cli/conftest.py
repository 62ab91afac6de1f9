"""Fixtures of the CLI tests: a clean environment and populated homes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mloop.store import close_stores
from tests.unit.cli.home import Home, populate


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("MLOOP_STORE_URL", "MLOOP_ARTIFACTS_URL", "MLOOP_HOME", "FORCE_COLOR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLOOP_USER", "alice")
    yield
    close_stores()


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A home the read-only tests share; tests that change it use ``home``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOOP_USER", "alice")
        return populate(tmp_path_factory.mktemp("shared"))


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return populate(tmp_path)
