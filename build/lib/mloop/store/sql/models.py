"""Store queries for the model registry: versions, aliases and their audit trail."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from mloop.entities import (
    AliasAction,
    AliasEvent,
    AliasMove,
    LoggedModel,
    ModelVersion,
    RegisteredModel,
)
from mloop.errors import AliasMoved, Conflict, NotFound
from mloop.store.sql import schema as t
from mloop.store.sql.base import SqlDatabase
from mloop.store.sql.upsert import insert_if_absent


def _version(row: Row[Any], aliases: tuple[str, ...] = ()) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        version=row.version,
        run_id=row.run_id,
        model_name=row.model_name,
        digest=row.digest,
        format=row.format,
        created_at=row.created_at,
        description=row.description,
        aliases=aliases,
    )


def _event(row: Row[Any]) -> AliasEvent:
    return AliasEvent(
        id=row.id,
        model=row.name,
        alias=row.alias,
        from_version=row.from_version,
        to_version=row.to_version,
        action=AliasAction(row.action),
        reason=row.reason,
        user=row.user,
        at=row.at,
    )


class SqlModelStore:
    """Registered models, their versions, aliases and alias history."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def create_model_version(
        self, name: str, model: LoggedModel, description: str = ""
    ) -> ModelVersion:
        """Register a logged model as the next version of ``name``."""
        now = time.time()
        with self._db.write() as conn:
            insert_if_absent(
                conn, t.registered_models, {"name": name, "created_at": now, "latest_version": 0}
            )
            version = (self._lock_model(conn, name) or 0) + 1
            conn.execute(
                update(t.registered_models)
                .where(t.registered_models.c.name == name)
                .values(latest_version=version)
            )
            values = {
                "name": name,
                "version": version,
                "run_id": model.run_id,
                "model_name": model.name,
                "digest": model.digest,
                "format": model.format,
                "created_at": now,
                "description": description,
            }
            conn.execute(insert(t.model_versions).values(**values))
            row = conn.execute(self._version_query(name, version)).one()
        return _version(row)

    def _lock_model(self, conn: Connection, name: str) -> int | None:
        query = select(t.registered_models.c.latest_version).where(
            t.registered_models.c.name == name
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return conn.execute(query).scalar()

    def _version_query(self, name: str, version: int) -> Any:
        return select(t.model_versions).where(
            t.model_versions.c.name == name, t.model_versions.c.version == version
        )

    def _aliases_of(self, conn: Connection, name: str) -> dict[str, int]:
        query = select(t.aliases.c.alias, t.aliases.c.version).where(t.aliases.c.name == name)
        return {
            alias: version for alias, version in conn.execute(query.order_by(t.aliases.c.alias))
        }

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Return version ``version`` of model ``name``."""
        with self._db.read() as conn:
            row = conn.execute(self._version_query(name, version)).first()
            if row is None:
                raise NotFound(f"model {name!r} has no version {version}")
            aliases = self._aliases_of(conn, name)
        return _version(row, tuple(a for a, v in aliases.items() if v == version))

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of model ``name``, newest first."""
        query = (
            select(t.model_versions)
            .where(t.model_versions.c.name == name)
            .order_by(t.model_versions.c.version.desc())
        )
        with self._db.read() as conn:
            rows = list(conn.execute(query))
            if not rows:
                self._require_model(conn, name)
            aliases = self._aliases_of(conn, name)
        return [_version(r, tuple(a for a, v in aliases.items() if v == r.version)) for r in rows]

    def _require_model(self, conn: Connection, name: str) -> Row[Any]:
        row = conn.execute(
            select(t.registered_models).where(t.registered_models.c.name == name)
        ).first()
        if row is None:
            raise NotFound(f"registered model {name!r} does not exist")
        return row

    def list_models(self) -> list[RegisteredModel]:
        """Every registered model with its newest version number and aliases."""
        with self._db.read() as conn:
            rows = list(
                conn.execute(select(t.registered_models).order_by(t.registered_models.c.name))
            )
            return [
                RegisteredModel(
                    r.name, r.created_at, r.latest_version, self._aliases_of(conn, r.name)
                )
                for r in rows
            ]

    def get_alias(self, name: str, alias: str) -> int:
        """The version an alias points to."""
        query = select(t.aliases.c.version).where(
            t.aliases.c.name == name, t.aliases.c.alias == alias
        )
        with self._db.read() as conn:
            version = conn.execute(query).scalar()
            if version is None:
                self._require_model(conn, name)
                raise NotFound(f"model {name!r} has no alias {alias!r}")
        return int(version)

    def move_alias(self, move: AliasMove) -> AliasEvent:
        """Point an alias at a version (None deletes it) and audit the move, atomically.

        Raises NotFound for a missing model or version, AliasMoved when ``after_event`` is not
        the alias's newest event id (0: none), Conflict for a move to the version it holds.
        """
        name, alias, version = move.name, move.alias, move.version
        with self._db.write() as conn:
            self._lock_model(conn, name)
            self._require_model(conn, name)
            newest = self._newest_event(conn, name, alias)
            if move.after_event is not None and newest != move.after_event:
                raise AliasMoved(f"{name}@{alias} moved since it was read")
            if (
                version is not None
                and conn.execute(self._version_query(name, version)).first() is None
            ):
                raise NotFound(f"model {name!r} has no version {version}")
            current = self._current_alias(conn, name, alias)
            if version is not None and version == current:
                raise Conflict(f"{name}@{alias} already points to version {version}")
            self._point(conn, name, alias, version, exists=current is not None)
            at = time.time()
            result = conn.execute(
                insert(t.alias_events).values(
                    name=name,
                    alias=alias,
                    from_version=current,
                    to_version=version,
                    action=move.action,
                    reason=move.reason,
                    user=move.user,
                    at=at,
                )
            )
            (event_id,) = result.inserted_primary_key or (0,)
        return AliasEvent(
            int(event_id), name, alias, current, version, move.action, move.reason, move.user, at
        )

    def _newest_event(self, conn: Connection, name: str, alias: str) -> int:
        query = select(func.max(t.alias_events.c.id)).where(
            t.alias_events.c.name == name, t.alias_events.c.alias == alias
        )
        return int(conn.execute(query).scalar() or 0)

    def _current_alias(self, conn: Connection, name: str, alias: str) -> int | None:
        query = select(t.aliases.c.version).where(
            t.aliases.c.name == name, t.aliases.c.alias == alias
        )
        return conn.execute(query).scalar()

    def _point(
        self, conn: Connection, name: str, alias: str, version: int | None, *, exists: bool
    ) -> None:
        where = (t.aliases.c.name == name, t.aliases.c.alias == alias)
        if version is None:
            if not exists:
                raise NotFound(f"model {name!r} has no alias {alias!r}")
            conn.execute(t.aliases.delete().where(*where))
        elif exists:
            conn.execute(
                update(t.aliases).where(*where).values(version=version, updated_at=time.time())
            )
        else:
            conn.execute(
                insert(t.aliases).values(
                    name=name, alias=alias, version=version, updated_at=time.time()
                )
            )

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """The audit trail of alias moves of a model, oldest first."""
        query = select(t.alias_events).where(t.alias_events.c.name == name)
        if alias is not None:
            query = query.where(t.alias_events.c.alias == alias)
        with self._db.read() as conn:
            self._require_model(conn, name)
            return [_event(r) for r in conn.execute(query.order_by(t.alias_events.c.id))]
