"""``mloop.Client``: the control-plane client, a thin facade over the per-domain services.

``client.tracking``, ``client.registry``, ``client.prediction_log``, ``client.monitoring``,
``client.rollouts`` and ``client.retraining`` are the services; their operations are also
reachable on the client itself (``client.create_run`` is ``client.tracking.create_run``), the way
users of an MLflow client expect.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from mloop.artifacts import ArtifactStore
from mloop.artifacts_rest import ServerArtifactStore
from mloop.config import Settings, load_settings
from mloop.entities import ModelVersion
from mloop.errors import InvalidInput
from mloop.services import (
    MonitoringService,
    PredictionLogService,
    RegistryService,
    RetrainingService,
    RolloutService,
    TrackingService,
)
from mloop.services.log_lifecycle import PredictionLogLifecycle
from mloop.services.rollups import ProfileRollups
from mloop.store import Store, is_server_url, open_store
from mloop.store.protocols import EventStore, LogLifecycleStore
from mloop.store.rest import RestStore

if TYPE_CHECKING:
    import pandas as pd

_TRACKING = (
    "get_or_create_experiment",
    "list_experiments",
    "create_run",
    "end_run",
    "get_run",
    "log_batch",
    "log_param",
    "log_params",
    "log_metric",
    "log_metrics",
    "set_tags",
    "get_metric_history",
    "log_dataset",
    "load_dataset",
    "log_artifact",
    "log_bytes",
    "list_artifacts",
    "download_artifact",
    "list_datasets",
    "log_model",
    "get_logged_model",
    "search_runs",
)
_REGISTRY = (
    "get_model_version",
    "list_model_versions",
    "list_models",
    "get_alias",
    "set_alias",
    "delete_alias",
    "rollback",
    "alias_history",
    "resolve",
    "load_model",
    "lineage",
)
_SHORTCUTS: dict[str, tuple[str, str]] = {
    **{name: ("tracking", name) for name in _TRACKING},
    **{name: ("registry", name) for name in _REGISTRY},
    "set_reference": ("monitoring", "set_reference"),
    "read_predictions": ("prediction_log", "read"),
    "feedback": ("prediction_log", "record_feedback"),
    "set_retraining_policy": ("retraining", "set_policy"),
}


class Client:
    """Tracking, the registry, prediction-log reads and monitoring on one store.

    ``url`` is the store URL (default: the settings' ``MLOOP_STORE_URL`` or the embedded SQLite
    file), or an mloop server's ``http://`` URL; ``artifacts_url`` the artifact root (ignored
    for a server, which keeps the artifacts). The store opens (and migrates) on first use; with
    ``create=False`` a missing store raises NotFound then instead of being created (for commands
    that only read). A model server's URL raises InvalidInput naming ``ServingClient``.
    ``store`` is an already open store to use instead of opening ``url`` (the server does so).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        artifacts_url: str | None = None,
        settings: Settings | None = None,
        create: bool = True,
        store: Store | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.create = create
        self.store_url = url or (store.url if store is not None else self.settings.store_url)
        if store is not None:
            self.__dict__["_store"] = store
        self.artifacts_url = artifacts_url or self.settings.artifacts_url
        if is_server_url(self.store_url):
            self._store  # noqa: B018 - a server URL is checked at once, naming ServingClient

    @cached_property
    def _store(self) -> Store:
        return open_store(self.store_url, create=self.create)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        """The content-addressed artifact store, opened on first use (a server's, for a server)."""
        if isinstance(self._store, RestStore):
            return ServerArtifactStore(self._store.session)
        return ArtifactStore(self.artifacts_url)

    @cached_property
    def tracking(self) -> TrackingService:
        """Experiments, runs, params, metrics, tags, datasets, artifacts and logged models."""
        return TrackingService(self._store.runs, self.artifacts, self.settings)

    @cached_property
    def registry(self) -> RegistryService:
        """Registered models, versions, aliases with their audit trail, loading, lineage."""
        return RegistryService(
            self._store.models,
            self._store.runs,
            self.artifacts,
            self.settings,
            events=self._store.events,
        )

    @cached_property
    def prediction_log(self) -> PredictionLogService:
        """Windows of the prediction log and ground-truth feedback."""
        return PredictionLogService(self._store.predictions, self.artifacts)

    @cached_property
    def monitoring(self) -> MonitoringService:
        """Reference profiles, monitor results, alerts and scheduler leases."""
        return MonitoringService(self._store.monitoring, self.registry, events=self._store.events)

    @cached_property
    def rollouts(self) -> RolloutService:
        """Rollouts (A/B, canary, shadow, bandit): start, status, analysis, decisions, stop."""
        return RolloutService(
            self._store.rollouts,
            self.registry,
            self.prediction_log,
            self.settings,
            events=self._store.events,
        )

    @cached_property
    def retraining(self) -> RetrainingService:
        """Retraining policies, the decisions audit trail and the retraining lock."""
        return RetrainingService(
            self._store.retraining,
            self._store.models,
            self.settings.user,
            events=self._store.events,
        )

    @cached_property
    def rollups(self) -> ProfileRollups:
        """Hourly and daily roll-ups of the prediction log's chunk profiles (none on a server
        URL: the server builds and reads them)."""
        return ProfileRollups(self._lifecycle_store(), self.monitoring, self.prediction_log)

    @cached_property
    def log_lifecycle(self) -> PredictionLogLifecycle:
        """Retention, erasure and orphan-blob collection of the prediction log.

        Raises InvalidInput on a server URL: these run on the server (its API and jobs).
        """
        found = self._lifecycle_store()
        if found is None:
            raise InvalidInput(
                f"{self.store_url} is an mloop server: its retention and erasure run there "
                "(POST /api/v1/predictions/retention or /api/v1/predictions/erasures)",
                field="store_url",
            )
        return PredictionLogLifecycle(found, self.artifacts, self.settings.user)

    def _lifecycle_store(self) -> LogLifecycleStore | None:
        found = getattr(self._store, "lifecycle", None)
        return found if isinstance(found, LogLifecycleStore) else None

    @property
    def events(self) -> EventStore:
        """The store's outbox of the loop's events and its record of webhook deliveries."""
        return self._store.events

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
        reference profile that monitoring compares production with. Returns the new version;
        raises NotFound when the run logged no such model.
        """
        version = self.registry.register_model(run_id, name, model=model, description=description)
        if reference is not None:
            self.monitoring.set_reference(name, version.version, reference, reference_labels)
        return version

    def __getattr__(self, name: str) -> Any:
        shortcut = _SHORTCUTS.get(name)
        if shortcut is None:
            raise AttributeError(f"'Client' object has no attribute {name!r}")
        service, method = shortcut
        return getattr(getattr(self, service), method)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *_SHORTCUTS})
