"""The registry service: versions, aliases that move with an audit trail, rollback, lineage."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from mloop import modelio
from mloop.artifacts import ArtifactStore
from mloop.config import Settings
from mloop.entities import AliasEvent, ModelVersion, RegisteredModel
from mloop.errors import Conflict, InvalidInput
from mloop.modelio.loaded import LoadedModel
from mloop.modelio.signature import Signature
from mloop.store import ModelStore, RunStore
from mloop.uris import ModelUri, alias_name, model_name


def rollback_target(history: list[AliasEvent]) -> int:
    """The version an alias held before its current one, replaying sets and rollbacks."""
    held: list[int] = []
    for event in history:
        if event.action == "rollback":
            held.pop()
        elif event.to_version is None:
            held.clear()
        elif not held or held[-1] != event.to_version:
            held.append(event.to_version)
    if len(held) < 2:
        raise Conflict("the alias has no earlier version to roll back to")
    return held[-2]


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
        """One version of a registered model."""
        return self._models.get_model_version(name, int(version))

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of a registered model, newest first."""
        return self._models.list_model_versions(name)

    def list_models(self) -> list[RegisteredModel]:
        """Every registered model."""
        return self._models.list_models()

    def get_alias(self, name: str, alias: str) -> int:
        """The version an alias points to."""
        return self._models.get_alias(name, alias_name(alias))

    def set_alias(self, name: str, alias: str, version: int, *, reason: str = "") -> AliasEvent:
        """Point ``alias`` at ``version`` atomically and record who did it and why."""
        return self._models.move_alias(
            name,
            alias_name(alias),
            int(version),
            action="set",
            reason=reason,
            user=self._settings.user,
        )

    def delete_alias(self, name: str, alias: str, *, reason: str = "") -> AliasEvent:
        """Remove an alias, recording the removal in the audit trail."""
        return self._models.move_alias(
            name, alias_name(alias), None, action="delete", reason=reason, user=self._settings.user
        )

    def rollback(self, name: str, alias: str = "champion", *, reason: str = "") -> AliasEvent:
        """Move an alias back to the version it held before, and audit the move."""
        target = rollback_target(self._models.alias_history(name, alias_name(alias)))
        return self._models.move_alias(
            name, alias, target, action="rollback", reason=reason, user=self._settings.user
        )

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
