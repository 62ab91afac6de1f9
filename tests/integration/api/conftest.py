"""An mloop API app on a fresh SQLite store, mounted on the session's uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from mloop.api import create_api
from mloop.config import Settings, load_settings
from mloop.store import close_stores, open_store
from tests.team_server import SessionServer

Mounted = Callable[..., str]


@pytest.fixture
def mount(team_server: SessionServer, sqlite_url: str) -> Iterator[Mounted]:
    """Mount an API app with settings changed by keyword; return its URL."""
    urls: list[str] = []

    def mounted(**changes: Any) -> str:
        settings: Settings = replace(load_settings(), store_url=sqlite_url, **changes)
        urls.append(team_server.mount(create_api(settings, open_store(sqlite_url))))
        return urls[-1]

    yield mounted
    for url in urls:
        team_server.unmount(url)
    close_stores()


@pytest.fixture
def api(mount: Mounted) -> Iterator[httpx.Client]:
    """An HTTP client on a fresh API app without a token, at its /api/v1."""
    with httpx.Client(base_url=f"{mount()}/api/v1", timeout=30) as http:
        yield http
