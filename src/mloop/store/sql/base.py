"""The connection handling every store query shares: transactions and error translation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from mloop.errors import Conflict, InvalidInput, MloopError, StoreUnavailable
from mloop.store.sql.engine import READ_ONLY, make_engine
from mloop.store.sql.migrate import ensure_schema


class SqlDatabase:
    """Holds the engine of one store and opens read or write transactions on it."""

    def __init__(self, url: str, *, migrate: bool = True, create: bool = True) -> None:
        self.url = url
        self.engine: Engine = make_engine(url, create=create)
        self._reader = self.engine.execution_options(**{READ_ONLY: True})
        if migrate:
            with self._translated():
                ensure_schema(self.engine, create=create)

    @property
    def dialect(self) -> str:
        """Name of the SQL dialect behind the store ('sqlite' or 'postgresql')."""
        return self.engine.dialect.name

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except MloopError:
            raise
        except sa_exc.IntegrityError as exc:
            raise Conflict(f"the store refused the write: {exc.orig}") from exc
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            raise StoreUnavailable(f"store {self.safe_url} failed: {exc.orig}") from exc
        except (OverflowError, sa_exc.DataError) as exc:
            raise InvalidInput(f"a value is out of the range the store holds: {exc}") from exc
        except sa_exc.DatabaseError as exc:
            if type(exc.orig).__name__ != "DatabaseError":  # the driver's own: not a database
                raise
            raise InvalidInput(
                f"store {self.safe_url} cannot be read: {exc.orig}", field="store_url"
            ) from exc
        except sa_exc.StatementError as exc:
            if not isinstance(exc.orig, TypeError | ValueError | OverflowError):
                raise
            raise InvalidInput(f"the store cannot hold a value of the request: {exc.orig}") from exc

    @property
    def safe_url(self) -> str:
        """The store URL without its password, fit for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: all of it commits, or none of it on any error."""
        with self._translated(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction that takes no write lock."""
        with self._translated(), self._reader.connect() as conn:
            yield conn

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()
