"""Shared fixtures: isolated mloop homes, and stores on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os

# pytest-xdist's workers start with COLUMNS=80 and LINES=24 (set by execnet). The CLI's console
# fixes its width from COLUMNS when mloop.cli is first imported (by the fixtures' imports): the
# two go first, so each CLI test sets the width it wants.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import mloop
from mloop.api import create_api
from mloop.config import load_settings
from mloop.store import Store, close_stores, open_store
from tests.team_server import SessionServer

POSTGRES_ENV = "MLOOP_TEST_POSTGRES_URL"
POSTGRES_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(autouse=True)
def mloop_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own MLOOP_HOME and a known user name."""
    home = tmp_path / "mloop-home"
    monkeypatch.setenv("MLOOP_HOME", str(home))
    monkeypatch.setenv("MLOOP_USER", "tester")
    for name in (
        "MLOOP_CONFIG",
        "MLOOP_STORE_URL",
        "MLOOP_ARTIFACTS_URL",
        "MLOOP_ALLOW_PICKLE",
        "MLOOP_TRUSTED_TYPES",
        "MLOOP_TOKEN",
        "MLOOP_TOKEN_FILE",
        "MLOOP_TOKEN_READS",
        "MLOOP_ALLOWED_HOSTS",
        "MLOOP_ALLOWED_ORIGINS",
        "MLOOP_WEBHOOK_ALLOW",
        "MLOOP_WEBHOOKS",
        "MLOOP_MAX_BODY_BYTES",
        "MLOOP_RETENTION_DAYS",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


def _postgres_server_url() -> str:
    explicit = os.environ.get(POSTGRES_ENV)
    url = explicit or POSTGRES_DEFAULT
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:
        if explicit:
            pytest.fail(f"{POSTGRES_ENV}={url} is set but PostgreSQL is not reachable: {exc}")
        pytest.skip(f"no PostgreSQL server reachable at {url} (set {POSTGRES_ENV} to test it)")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL for a fresh, empty schema in the test PostgreSQL database, dropped afterwards."""
    import sqlalchemy as sa

    server = _postgres_server_url()
    schema = f"mloop_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in server else "?"
    yield f"{server}{separator}options=-csearch_path%3D{schema}"
    close_stores()
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL for a fresh SQLite store file."""
    return f"sqlite:///{tmp_path / 'store' / 'mloop.db'}"


# Every store implementation with each database backend it runs on. The contract suites in
# tests/integration take ``store`` (or ``client``, built on the same URL), so an implementation
# added here runs all of them without new tests. "rest" is an mloop server on 127.0.0.1 with
# the database behind it.
STORES = [("sql", "sqlite"), ("sql", "postgresql"), ("rest", "sqlite"), ("rest", "postgresql")]
OPENERS: dict[str, Callable[[str], Store]] = {"sql": open_store, "rest": open_store}


@pytest.fixture(scope="session")
def team_server() -> Iterator[SessionServer]:
    """One uvicorn on 127.0.0.1 for the session; each test mounts its own API app on it."""
    server = SessionServer()
    yield server
    server.stop()


def _served(database_url: str, server: SessionServer) -> str:
    """The URL of a new API app on ``database_url``, mounted on the session's server."""
    settings = replace(load_settings(), store_url=database_url)
    return server.mount(create_api(settings, open_store(database_url)))


SQL_STORES = [(kind, backend) for kind, backend in STORES if kind == "sql"]


def store_ids(stores: list[tuple[str, str]]) -> list[str]:
    """Test ids of stores: ``sql-sqlite``, ``rest-postgresql``, ..."""
    return [f"{kind}-{backend}" for kind, backend in stores]


@pytest.fixture(params=STORES, ids=store_ids(STORES))
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The same tests on every implementation and backend; the fluent API follows it too."""
    yield from open_store_url(request, monkeypatch)


def open_store_url(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The URL of the store ``request.param`` names, (kind, backend), set as MLOOP_STORE_URL."""
    kind, backend = request.param
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    if kind == "rest":
        server = request.getfixturevalue("team_server")
        url = _served(url, server)
    monkeypatch.setenv("MLOOP_STORE_URL", url)
    yield url
    if kind == "rest":
        server.unmount(url)
        close_stores()


@pytest.fixture
def store(request: pytest.FixtureRequest, store_url: str) -> Store:
    """The parametrized store itself, opened by its implementation."""
    kind, _ = request.node.callspec.params["store_url"]
    return OPENERS[kind](store_url)


@pytest.fixture
def client(store: Store) -> mloop.Client:
    """A client on the parametrized store, with artifacts under the test's MLOOP_HOME."""
    return mloop.Client(store.url)
