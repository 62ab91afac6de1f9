"""Rollout tests run on the SQL stores only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import SQL_STORES, open_store_url, store_ids


@pytest.fixture(params=SQL_STORES, ids=store_ids(SQL_STORES))
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Rollouts are not served over HTTP yet: these tests run on the SQL stores."""
    yield from open_store_url(request, monkeypatch)
