"""The model registry: versions, aliases that move with an audit trail, rollback, lineage."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from mloop import modelio
from mloop.config import Settings, load_settings
from mloop.entities import AliasEvent, FeedbackResult, ModelVersion, RegisteredModel
from mloop.errors import Conflict, InvalidInput
from mloop.modelio.loaded import LoadedModel
from mloop.store import Store
from mloop.tracking import TrackingClient

if TYPE_CHECKING:
    import pandas as pd

    from mloop.remote import ServingClient

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,255}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,127}$")
_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[^/@]+))$")
_RUN_URI = re.compile(r"^runs:/(?P<run_id>[0-9a-f]{32})/(?P<model>[^@]+)$")


def model_name(name: str) -> str:
    """Check a registered model name: letters, digits, '_', '.', '-'."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(f"model name {name!r} must be letters, digits, '_', '.' or '-'")
    return name


def alias_name(alias: str) -> str:
    """Check an alias name: a letter, then letters, digits, '_' or '-'; not a number."""
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise InvalidInput(
            f"alias {alias!r} must start with a letter and hold letters, digits, '_', '-'"
        )
    return alias


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


class Client(TrackingClient):
    """Every tracking and registry operation on one store, without fluent state.

    Given an ``http://`` URL of ``mloop serve`` instead, it predicts and sends feedback there.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        artifacts_url: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self._server: ServingClient | None = None
        if url is not None and url.startswith(("http://", "https://")):
            from mloop.remote import ServingClient

            settings = settings or load_settings()
            self._server = ServingClient(url, token=settings.token)
            url = None
        super().__init__(url, artifacts_url=artifacts_url, settings=settings)

    @property
    def store(self) -> Store:
        """The store; a client of a model server has none."""
        if self._server is not None:
            raise InvalidInput(
                f"this client talks to the model server {self._server.url}: it predicts and sends "
                "feedback; give a store URL (or none) for tracking and the registry"
            )
        return super().store

    def predict(
        self,
        records: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        unit_ids: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Ask the model server for predictions of one record or a list of records."""
        if self._server is None:
            raise InvalidInput(
                "predict needs a model server: mloop.Client('http://127.0.0.1:8000')"
            )
        return self._server.predict(records, unit_ids)

    def feedback(self, labels: Mapping[str, Any]) -> FeedbackResult:
        """Attach ground-truth labels to prediction ids; unknown ids are returned."""
        if self._server is not None:
            answer = self._server.feedback(labels)
            return FeedbackResult(int(answer["accepted"]), list(answer["unknown"]))
        from mloop import predictions

        return predictions.record_feedback(self.store, labels)

    def read_predictions(
        self,
        model: str,
        *,
        version: int | None = None,
        arm: str | None = None,
        start: float | None = None,
        end: float | None = None,
        last_n: int | None = None,
        with_feedback: bool = False,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """A window of the prediction log of a model (and version or arm), oldest first."""
        from mloop import predictions

        return predictions.read_predictions(
            self.store,
            self.artifacts,
            model,
            version=version,
            arm=arm,
            start=start,
            end=end,
            last_n=last_n,
            with_feedback=with_feedback,
            columns=columns,
        )

    def register_model(
        self,
        run_id: str,
        name: str,
        *,
        model: str = "model",
        description: str = "",
        reference: pd.DataFrame | None = None,
        reference_labels: Any = None,
    ) -> ModelVersion:
        """Register the model a run logged as the next version of ``name``.

        With ``reference`` data (best a labelled hold-out set) the version also gets the
        reference profile that monitoring compares production with.
        """
        logged = self.store.get_logged_model(run_id, model)
        version = self.store.create_model_version(model_name(name), logged, description)
        if reference is not None:
            self.set_reference(name, version.version, reference, reference_labels)
        return version

    def set_reference(
        self, name: str, version: int, data: pd.DataFrame, labels: Any = None
    ) -> None:
        """Store the reference profile of a version: data, outputs and, with labels, performance."""
        from mloop.profiles import profile_to_dict
        from mloop.reference import build_reference

        loaded = self.load_model(f"models:/{name}/{int(version)}")
        profile = build_reference(loaded.estimator, data, labels)
        self.store.save_reference_profile(name, int(version), profile_to_dict(profile))

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """One version of a registered model."""
        return self.store.get_model_version(name, int(version))

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of a registered model, newest first."""
        return self.store.list_model_versions(name)

    def list_models(self) -> list[RegisteredModel]:
        """Every registered model."""
        return self.store.list_models()

    def get_alias(self, name: str, alias: str) -> int:
        """The version an alias points to."""
        return self.store.get_alias(name, alias_name(alias))

    def set_alias(self, name: str, alias: str, version: int, *, reason: str = "") -> AliasEvent:
        """Point ``alias`` at ``version`` atomically and record who did it and why."""
        return self.store.move_alias(
            name,
            alias_name(alias),
            int(version),
            action="set",
            reason=reason,
            user=self.settings.user,
        )

    def delete_alias(self, name: str, alias: str, *, reason: str = "") -> AliasEvent:
        """Remove an alias, recording the removal in the audit trail."""
        return self.store.move_alias(
            name, alias_name(alias), None, action="delete", reason=reason, user=self.settings.user
        )

    def rollback(self, name: str, alias: str = "champion", *, reason: str = "") -> AliasEvent:
        """Move an alias back to the version it held before, and audit the move."""
        target = rollback_target(self.store.alias_history(name, alias_name(alias)))
        return self.store.move_alias(
            name, alias, target, action="rollback", reason=reason, user=self.settings.user
        )

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """The audit trail of alias moves of a model, oldest first."""
        return self.store.alias_history(name, alias)

    def resolve(self, uri: str) -> ModelVersion:
        """The model version a ``models:/name/3`` or ``models:/name@alias`` URI names."""
        match = _MODEL_URI.match(uri) if isinstance(uri, str) else None
        if match is None:
            raise InvalidInput(
                f"model URI {uri!r} must look like models:/NAME/VERSION or models:/NAME@ALIAS"
            )
        name = match["name"]
        version = (
            int(match["version"]) if match["version"] else self.get_alias(name, match["alias"])
        )
        return self.get_model_version(name, version)

    def load_model(self, uri: str) -> LoadedModel:
        """Load a model by ``models:/`` or ``runs:/`` URI, verifying its hash and types."""
        run_match = _RUN_URI.match(uri) if isinstance(uri, str) else None
        if run_match is not None:
            run_id, logged_name, version = run_match["run_id"], run_match["model"], None
        else:
            found = self.resolve(uri)
            run_id, logged_name, version = found.run_id, found.model_name, found.version
        logged = self.store.get_logged_model(run_id, logged_name)
        estimator = modelio.load_model_bytes(
            self.artifacts.get_bytes(logged.digest),
            logged.format,
            trusted_prefixes=self.settings.trusted_types,
            allow_pickle=self.settings.allow_pickle,
            trained_with=logged.environment,
        )
        name = found.name if run_match is None else logged_name
        return LoadedModel(estimator, name, version, run_id, logged.digest, logged.signature)

    def lineage(self, name: str, version: int) -> dict[str, Any]:
        """Where a version came from: its run, params, metrics, datasets, code and model file."""
        found = self.get_model_version(name, version)
        run = self.get_run(found.run_id)
        logged = self.store.get_logged_model(found.run_id, found.model_name)
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
            "datasets": [asdict(d) for d in self.store.list_datasets(run.id)],
            "model_file": {
                "digest": logged.digest,
                "format": logged.format,
                "environment": logged.environment,
                "signature": logged.signature,
            },
        }
