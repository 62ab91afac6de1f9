"""The registry service: versions, aliases that move with an audit trail, rollback, lineage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from mloop import modelio
from mloop.artifacts import ArtifactStore
from mloop.config import Settings
from mloop.entities import AliasAction, AliasEvent, AliasMove, ModelVersion, RegisteredModel
from mloop.errors import AliasMoved, Conflict, InvalidInput, NotFound
from mloop.modelio.loaded import LoadedModel
from mloop.modelio.signature import Signature
from mloop.services.integers import integer
from mloop.store import ModelStore, RunStore
from mloop.uris import ModelUri, alias_name, model_name

MAX_MOVE_ATTEMPTS = 20


def rollback_target(history: list[AliasEvent]) -> int:
    """The version an alias held before its current one, replaying sets and rollbacks.

    A rollback to a version the alias held earlier returns to that point of its past.
    Raises Conflict when the alias held no other version before.
    """
    held: list[int] = []
    for event in history:
        if event.to_version is None:
            held.clear()
        elif event.action == AliasAction.ROLLBACK and event.to_version in held:
            del held[len(held) - held[::-1].index(event.to_version) :]
        elif event.action == AliasAction.ROLLBACK and held:
            held[-1] = event.to_version
        elif not held or held[-1] != event.to_version:
            held.append(event.to_version)
    if len(held) < 2:
        raise Conflict("the alias has no earlier version to roll back to")
    return held[-2]


def input_changes(current: dict[str, Any], target: dict[str, Any]) -> list[str]:
    """How the inputs of signature ``target`` differ from ``current``: added, removed, retyped.

    Signatures are dicts with an ``inputs`` list of ``{"name", "dtype" (or "type")}``; when
    either has no inputs list there is nothing to compare and the answer is empty.
    """
    before, after = _input_types(current), _input_types(target)
    if before is None or after is None:
        return []
    changes = [f"added {n!r} ({after[n]})" for n in after if n not in before]
    changes += [f"removed {n!r} ({before[n]})" for n in before if n not in after]
    changes += [
        f"retyped {n!r} ({before[n]} -> {after[n]})"
        for n in before
        if n in after and before[n] != after[n]
    ]
    return changes


def _input_types(signature: dict[str, Any]) -> dict[str, str] | None:
    inputs = (signature or {}).get("inputs")
    if not isinstance(inputs, list) or not inputs:
        return None
    return {str(c.get("name")): str(c.get("dtype", c.get("type", ""))) for c in inputs}


class RegistryService:
    """Registry operations over a model store, the run store (for lineage) and artifacts."""

    def __init__(
        self, models: ModelStore, runs: RunStore, artifacts: ArtifactStore, settings: Settings
    ) -> None:
        self._models = models
        self._runs = runs
        self._artifacts = artifacts
        self._settings = settings

    def register_model(
        self, run_id: str, name: str, *, model: str = "model", description: str = ""
    ) -> ModelVersion:
        """Register the model a run logged as the next version of ``name`` (1, 2, 3, ...).

        Raises NotFound when the run logged no model called ``model``, InvalidInput for a bad
        model name.
        """
        logged = self._runs.get_logged_model(run_id, model)
        return self._models.create_model_version(model_name(name), logged, description)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """One version of a registered model; NotFound when it does not exist."""
        return self._models.get_model_version(name, integer("version", version, minimum=1))

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of a registered model, newest first."""
        return self._models.list_model_versions(name)

    def list_models(self) -> list[RegisteredModel]:
        """Every registered model."""
        return self._models.list_models()

    def get_alias(self, name: str, alias: str) -> int:
        """The version an alias points to."""
        return self._models.get_alias(name, alias_name(alias))

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        reason: str = "",
        allow_schema_change: bool = False,
    ) -> AliasEvent:
        """Point ``alias`` at ``version`` atomically and record who did it and why.

        Setting the version the alias already holds is a no-op that returns the event that put
        it there. Raises NotFound for a missing model or version, InvalidInput for a bad alias
        or version, and Conflict when ``version`` takes different inputs than the alias's
        current version, unless ``allow_schema_change`` (the differences are then audited).
        """
        wanted = integer("version", version, minimum=1)
        return self._move(
            name, alias_name(alias), lambda _: wanted, AliasAction.SET, reason, allow_schema_change
        )

    def delete_alias(self, name: str, alias: str, *, reason: str = "") -> AliasEvent:
        """Remove an alias, recording the removal in the audit trail."""
        user = self._settings.user
        move = AliasMove(name, alias_name(alias), None, AliasAction.DELETE, reason, user)
        return self._models.move_alias(move)

    def rollback(
        self,
        name: str,
        alias: str = "champion",
        *,
        to: int | None = None,
        reason: str = "",
        allow_schema_change: bool = False,
    ) -> AliasEvent:
        """Move an alias back to the version it held before (or to version ``to``), audited.

        Rollbacks walk back through the versions the alias held, like undo: a second rollback
        goes one version further back, and going forward again is a ``set_alias``. Raises
        NotFound when the model has no such alias, Conflict when there is no earlier version,
        when ``to`` is the current version, or when the target takes different inputs, unless
        ``allow_schema_change``.
        """
        wanted = None if to is None else integer("to", to, minimum=1)

        def target(history: list[AliasEvent]) -> int:
            if not history or history[-1].to_version is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}", field="alias")
            chosen = rollback_target(history) if wanted is None else wanted
            if history and history[-1].to_version == chosen:
                raise Conflict(f"{name}@{alias} already points to version {chosen}")
            return chosen

        return self._move(
            name, alias_name(alias), target, AliasAction.ROLLBACK, reason, allow_schema_change
        )

    def _move(
        self,
        name: str,
        alias: str,
        target: Callable[[list[AliasEvent]], int],
        action: AliasAction,
        reason: str,
        allow_schema_change: bool,
    ) -> AliasEvent:
        """Move an alias to ``target(history)``; retry when another move landed in between."""
        for _ in range(MAX_MOVE_ATTEMPTS):
            history = self._models.alias_history(name, alias)
            seen = history[-1].id if history else 0
            version = target(history)
            current = history[-1].to_version if history else None
            if version == current:
                return history[-1]
            note = self._schema_note(name, alias, current, version, allow_schema_change)
            try:
                audited = f"{reason} {note}".strip()
                move = AliasMove(name, alias, version, action, audited, self._settings.user, seen)
                return self._models.move_alias(move)
            except AliasMoved:
                continue
        raise Conflict(f"{name}@{alias} kept moving during {MAX_MOVE_ATTEMPTS} attempts; retry")

    def _schema_note(
        self, name: str, alias: str, current: int | None, version: int, allowed: bool
    ) -> str:
        if current is None:
            return ""
        changes = input_changes(self._signature(name, current), self._signature(name, version))
        if not changes:
            return ""
        listed = "; ".join(changes)
        if not allowed:
            raise Conflict(
                f"version {version} of {name} takes other inputs than version {current} "
                f"(held by {alias}): {listed}. Clients sending the old inputs would break; "
                "pass allow_schema_change=True (--allow-schema-change) to move it anyway"
            )
        return f"[inputs changed from v{current}: {listed}]"

    def _signature(self, name: str, version: int) -> dict[str, Any]:
        found = self._models.get_model_version(name, version)
        return self._runs.get_logged_model(found.run_id, found.model_name).signature

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """The audit trail of alias moves of a model, oldest first."""
        return self._models.alias_history(name, alias)

    def resolve(self, uri: str | ModelUri) -> ModelVersion:
        """The model version a ``models:/name/3`` or ``models:/name@alias`` URI names.

        Raises InvalidInput for a malformed or ``runs:/`` URI, NotFound for a missing model,
        version or alias.
        """
        parsed = uri if isinstance(uri, ModelUri) else ModelUri.parse(uri)
        if parsed.run_id is not None:
            raise InvalidInput(f"{parsed} names a run's model, not a registered version")
        version = parsed.version or self.get_alias(parsed.name, parsed.alias or "")
        return self.get_model_version(parsed.name, version)

    def load_model(self, uri: str | ModelUri) -> LoadedModel:
        """Load a model by ``models:/`` or ``runs:/`` URI, verifying its hash and types.

        Raises InvalidInput for a malformed URI, NotFound when it names nothing, IntegrityError
        for changed bytes and UnsafeModel for types outside the trust list.
        """
        parsed = uri if isinstance(uri, ModelUri) else ModelUri.parse(uri)
        if parsed.run_id is not None:
            run_id, logged_name, version = parsed.run_id, parsed.name, None
        else:
            found = self.resolve(parsed)
            run_id, logged_name, version = found.run_id, found.model_name, found.version
        logged = self._runs.get_logged_model(run_id, logged_name)
        estimator = modelio.load_model_bytes(
            self._artifacts.get_bytes(logged.digest),
            logged.format,
            trusted_prefixes=self._settings.trusted_types,
            allow_pickle=self._settings.allow_pickle,
            trained_with=logged.environment,
        )
        signature = Signature.from_dict(logged.signature)
        return LoadedModel(estimator, parsed.name, version, run_id, logged.digest, signature)

    def lineage(self, name: str, version: int) -> dict[str, Any]:
        """Where a version came from: its run, params, metrics, datasets, code and model file."""
        found = self.get_model_version(name, version)
        run = self._runs.get_run(found.run_id)
        logged = self._runs.get_logged_model(found.run_id, found.model_name)
        return {
            "model": found.name,
            "version": found.version,
            "aliases": list(found.aliases),
            "registered_at": found.created_at,
            "run": {
                "id": run.id,
                "name": run.name,
                "experiment_id": run.experiment_id,
                "status": run.status.value,
                "user": run.user,
                "code_version": run.code_version,
                "start_time": run.start_time,
                "end_time": run.end_time,
            },
            "params": run.params,
            "metrics": run.metrics,
            "datasets": [asdict(d) for d in self._runs.list_datasets(run.id)],
            "model_file": {
                "digest": logged.digest,
                "format": logged.format,
                "environment": logged.environment,
                "signature": logged.signature,
            },
        }
