"""Registered models, versions, aliases with their audit trail, lineage and reference profiles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mloop.api.backend import Served
from mloop.api.bodies import AliasTarget, NewVersion
from mloop.entities import AliasEvent, AliasMove, ModelVersion, RegisteredModel
from mloop.errors import InvalidInput
from mloop.uris import alias_name, model_name

router = APIRouter(tags=["registry"])


@router.get("/models")
def list_models(served: Served) -> list[RegisteredModel]:
    """Every registered model with its newest version number and aliases."""
    return served.store.models.list_models()


@router.post("/models/{name}/versions")
def create_model_version(name: str, body: NewVersion, served: Served) -> ModelVersion:
    """Register a logged model as the next version of ``name``."""
    served.require_blob(body.model.digest)
    return served.store.models.create_model_version(model_name(name), body.model, body.description)


@router.get("/models/{name}/versions")
def list_model_versions(name: str, served: Served) -> list[ModelVersion]:
    """Every version of a model, newest first."""
    return served.store.models.list_model_versions(name)


@router.get("/models/{name}/versions/{version}")
def get_model_version(name: str, version: int, served: Served) -> ModelVersion:
    """One version of a model."""
    return served.store.models.get_model_version(name, version)


@router.get("/models/{name}/versions/{version}/lineage")
def lineage(name: str, version: int, served: Served) -> dict[str, Any]:
    """Where a version came from: its run, params, metrics, datasets, code and model file."""
    return served.client.registry.lineage(name, version)


@router.get("/models/{name}/aliases/{alias}")
def get_alias(name: str, alias: str, served: Served) -> AliasTarget:
    """The version an alias points to."""
    return AliasTarget(served.store.models.get_alias(name, alias))


@router.post("/alias-moves")
def move_alias(body: AliasMove, served: Served) -> AliasEvent:
    """Move (or delete) an alias and audit the move; 409 when another move landed first,
    422 for a bad model or alias name or no user (the audit names who moved it), 404 for a
    version the model does not have."""
    model_name(body.name)
    alias_name(body.alias)
    if not body.user.strip():
        raise InvalidInput("an alias move needs the user who makes it", field="user")
    if body.version is not None:
        served.store.models.get_model_version(body.name, body.version)
    return served.store.models.move_alias(body)


@router.get("/models/{name}/alias-history")
def alias_history(name: str, served: Served, alias: str | None = None) -> list[AliasEvent]:
    """The audit trail of a model's alias moves (of one alias when given), oldest first."""
    return served.store.models.alias_history(name, alias)


@router.put("/models/{name}/versions/{version}/reference-profile")
def save_reference_profile(
    name: str, version: int, profile: dict[str, Any], served: Served
) -> dict[str, Any]:
    """Store (or replace) the reference profile of a model version."""
    served.store.monitoring.save_reference_profile(name, version, profile)
    return profile


@router.get("/models/{name}/versions/{version}/reference-profile")
def get_reference_profile(name: str, version: int, served: Served) -> dict[str, Any]:
    """The reference profile of a model version."""
    return served.store.monitoring.get_reference_profile(name, version)
