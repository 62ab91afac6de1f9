"""The monitoring service: reference profiles, chunk profiles, results, alerts and leases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mloop.entities import (
    Alert,
    AlertQuery,
    AlertSighting,
    AlertStatus,
    MonitorKind,
    MonitorResult,
    ResultQuery,
)
from mloop.errors import InvalidInput
from mloop.profiles import DatasetProfile, profile_to_dict
from mloop.services.registry import RegistryService
from mloop.store import MonitoringStore
from mloop.uris import ModelUri

if TYPE_CHECKING:
    import pandas as pd

    from mloop.reference import ReferenceProfile


class MonitoringService:
    """What monitoring keeps in the store, typed: profiles as ``DatasetProfile``, alerts, leases.

    Takes the registry service to load the model a reference profile is built with.
    """

    def __init__(self, monitoring: MonitoringStore, registry: RegistryService) -> None:
        self._monitoring = monitoring
        self._registry = registry

    def set_reference(
        self, name: str, version: int, data: pd.DataFrame, labels: Any = None
    ) -> ReferenceProfile:
        """Profile ``data`` (best a labelled hold-out set) as the reference of a version.

        The profile holds the data and the model's outputs on it; its metadata the task,
        classes and, with ``labels``, the reference performance and calibration. Returns the
        stored reference. Raises NotFound for a missing version and InvalidInput for data the
        model cannot score or labels of the wrong length.
        """
        from mloop.reference import build_reference, reference_to_dict

        loaded = self._registry.load_model(ModelUri.of_version(name, version))
        missing = [c.name for c in loaded.signature.inputs if c.name not in data.columns]
        if missing:
            raise InvalidInput(f"reference data lacks the model's inputs {missing}", field="data")
        reference = build_reference(loaded.estimator, data, labels)
        self._monitoring.save_reference_profile(name, int(version), reference_to_dict(reference))
        return reference

    def reference(self, name: str, version: int) -> ReferenceProfile:
        """The reference of a version: its data profile and ``ReferenceMeta``.

        Reads references stored in today's form and the older one (metadata under ``extra``).
        Raises NotFound when the version has none, InvalidInput when it is malformed.
        """
        from mloop.reference import reference_from_dict

        return reference_from_dict(self._monitoring.get_reference_profile(name, int(version)))

    def save_chunk_profile(
        self, chunk_id: int, profile: DatasetProfile, reference: DatasetProfile
    ) -> None:
        """Keep the profile of one log chunk, stored compactly against its reference's bins."""
        self._monitoring.save_chunk_profile(chunk_id, profile_to_dict(profile, reference=reference))

    def stored_chunk_profiles(self, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The stored (serialised) profiles of the given chunks by id; absent ones left out."""
        return self._monitoring.chunk_profiles(chunk_ids)

    def record_result(self, result: MonitorResult) -> int:
        """Store one monitor result; returns its id."""
        return self._monitoring.record_monitor_result(result)

    def results(
        self,
        model: str,
        *,
        kind: MonitorKind | None = None,
        since: float | None = None,
        limit: int = 1000,
    ) -> list[MonitorResult]:
        """Stored results of a model, oldest first (the newest ``limit`` of them)."""
        return self._monitoring.list_monitor_results(ResultQuery(model, kind, since, limit))

    def raise_alert(self, sighting: AlertSighting) -> tuple[Alert, bool]:
        """Open an alert, or count one more sighting of the active one; True when it is new.

        Alerts are kept per (rule, model, subject, monitor); see ``Alert``.
        """
        return self._monitoring.raise_alert(sighting)

    def mark_notified(self, alert_id: int, at: float) -> None:
        """Record when an alert's notifiers were last called (epoch seconds)."""
        self._monitoring.mark_notified(alert_id, at)

    def set_alert_status(self, alert_id: int, status: AlertStatus, user: str) -> Alert:
        """Acknowledge or resolve an alert as ``user``; the status only moves forward.

        Raises NotFound for an unknown id and Conflict for a move back (for example
        acknowledging a resolved alert).
        """
        return self._monitoring.set_alert_status(alert_id, status, user)

    def alerts(
        self,
        *,
        model: str | None = None,
        status: AlertStatus | None = None,
        rule: str | None = None,
    ) -> list[Alert]:
        """Alerts, newest sighting first, optionally of one model, status or rule."""
        return self._monitoring.list_alerts(AlertQuery(model, status, rule))

    def acquire_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Take or renew the lease ``name`` for ``seconds``; False while another holder has it."""
        return self._monitoring.acquire_lease(name, holder, seconds)
