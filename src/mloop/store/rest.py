"""The store over HTTP: the store protocols implemented by calls to ``mloop server``.

``RestStore("http://team-server:5000")`` talks to the REST API under ``/api/v1``; every method
sends one request and raises the mloop error the server answered with (NotFound, Conflict,
InvalidInput ...). A bearer token, when given, goes with every request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mloop.entities import (
    Alert,
    AlertQuery,
    AlertSighting,
    AlertStatus,
    AliasEvent,
    AliasMove,
    ArtifactRef,
    ChunkLabels,
    ChunkQuery,
    DatasetFingerprint,
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    MonitorResult,
    NewRun,
    PredictionChunk,
    RegisteredModel,
    ResultQuery,
    Run,
    RunBatch,
    RunQuery,
    RunStatus,
)
from mloop.store.rest_loop import RestRetrainingStore, RestRolloutStore
from mloop.store.rest_session import API_PREFIX, RestSession, part, records
from mloop.store.wire import decode, encode

__all__ = ["API_PREFIX", "RestSession", "RestStore"]

if TYPE_CHECKING:
    from mloop.store.rest_events import RestEventStore


class RestRunStore:
    """Experiments and runs through the server's ``/experiments`` and ``/runs`` resources."""

    def __init__(self, session: RestSession) -> None:
        self._s = session

    def get_or_create_experiment(self, name: str) -> Experiment:
        """Return the experiment called ``name``, creating it on first use."""
        return decode(Experiment, self._s.call("POST", "/experiments", {"name": name}))

    def get_experiment(self, name: str) -> Experiment:
        """Return the experiment called ``name`` or raise NotFound."""
        return decode(Experiment, self._s.call("GET", f"/experiments/{part(name)}"))

    def list_experiments(self) -> list[tuple[Experiment, int]]:
        """Every experiment with its number of runs, oldest first."""
        rows = self._s.call("GET", "/experiments")
        return [(decode(Experiment, row["experiment"]), int(row["runs"])) for row in rows]

    def create_run(self, run: NewRun) -> str:
        """Create a RUNNING run and return its id."""
        return str(self._s.call("POST", "/runs", run)["id"])

    def end_run(self, run_id: str, status: RunStatus) -> None:
        """Mark a run finished, failed or killed."""
        self._s.call("POST", f"/runs/{part(run_id)}/end", {"status": status.value})

    def log_batch(self, run_id: str, batch: RunBatch) -> None:
        """Write params, metric points and tags in one transaction: all or nothing."""
        self._s.call("POST", f"/runs/{part(run_id)}/batch", batch)

    def log_batch_once(self, run_id: str, batch: RunBatch, key: str) -> bool:
        """Write the batch unless the server recorded this idempotency key; True when it wrote."""
        path = f"/runs/{part(run_id)}/batch"
        answer = self._s.send("POST", path, json=encode(batch), headers={"idempotency-key": key})
        return bool(answer.json()["written"])

    def get_run(self, run_id: str) -> Run:
        """Return a run with its params, latest metrics and tags."""
        return decode(Run, self._s.call("GET", f"/runs/{part(run_id)}"))

    def run_ids_starting_with(self, prefix: str, limit: int) -> list[str]:
        """Ids of runs that start with ``prefix``, sorted, at most ``limit`` of them."""
        return list(self._s.call("GET", "/run-ids", prefix=prefix, limit=limit))

    def search_runs(self, search: RunQuery) -> list[Run]:
        """Runs matching the query, in its order; InvalidInput for a malformed filter."""
        body = {
            "experiment_ids": list(search.experiment_ids),
            "filter": search.filter,
            "order_by": list(search.order_by),
            "max_results": search.max_results,
            "page_token": str(search.offset) if search.offset else None,
        }
        page = self._s.call("POST", "/runs/search", body)
        return records(Run, page["runs"])

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every logged point of one metric, in step then time order."""
        path = f"/runs/{part(run_id)}/metric-history"
        return records(Metric, self._s.call("GET", path, key=key, max_points=0)["points"])

    def sample_metric_history(
        self, run_id: str, key: str, max_points: int
    ) -> tuple[list[Metric], int]:
        """At most ``max_points`` points of one metric, down-sampled by the server, and the
        count of all its points."""
        path = f"/runs/{part(run_id)}/metric-history"
        answer = self._s.call("GET", path, key=key, max_points=max(1, max_points))
        return records(Metric, answer["points"]), int(answer["total"])

    def log_dataset(self, run_id: str, fingerprint: DatasetFingerprint) -> None:
        """Record the fingerprint of a dataset the run used; the same name twice must agree."""
        self._s.call("POST", f"/runs/{part(run_id)}/datasets", fingerprint)

    def list_datasets(self, run_id: str) -> list[DatasetFingerprint]:
        """The dataset fingerprints a run logged."""
        return records(DatasetFingerprint, self._s.call("GET", f"/runs/{part(run_id)}/datasets"))

    def record_artifact(self, run_id: str, ref: ArtifactRef) -> None:
        """Record that a run holds a named artifact with this content address."""
        self._s.call("POST", f"/runs/{part(run_id)}/artifact-refs", ref)

    def list_artifacts(self, run_id: str) -> list[ArtifactRef]:
        """The named artifacts of a run, by path."""
        return records(ArtifactRef, self._s.call("GET", f"/runs/{part(run_id)}/artifacts"))

    def record_logged_model(self, model: LoggedModel) -> None:
        """Record a model file a run logged; a name is logged once per run."""
        self._s.call("POST", f"/runs/{part(model.run_id)}/logged-models", model)

    def get_logged_model(self, run_id: str, name: str) -> LoggedModel:
        """Return the model a run logged under ``name``."""
        path = f"/runs/{part(run_id)}/logged-models/{part(name)}"
        return decode(LoggedModel, self._s.call("GET", path))


class RestModelStore:
    """The registry through the server's ``/models`` resources."""

    def __init__(self, session: RestSession) -> None:
        self._s = session

    def create_model_version(
        self, name: str, model: LoggedModel, description: str = ""
    ) -> ModelVersion:
        """Register a logged model as the next version of ``name``."""
        body = {"model": encode(model), "description": description}
        return decode(ModelVersion, self._s.call("POST", f"/models/{part(name)}/versions", body))

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Return version ``version`` of model ``name``."""
        path = f"/models/{part(name)}/versions/{version}"
        return decode(ModelVersion, self._s.call("GET", path))

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of model ``name``, newest first."""
        return records(ModelVersion, self._s.call("GET", f"/models/{part(name)}/versions"))

    def list_models(self) -> list[RegisteredModel]:
        """Every registered model with its newest version number and aliases."""
        return records(RegisteredModel, self._s.call("GET", "/models"))

    def get_alias(self, name: str, alias: str) -> int:
        """The version an alias points to."""
        path = f"/models/{part(name)}/aliases/{part(alias)}"
        return int(self._s.call("GET", path)["version"])

    def move_alias(self, move: AliasMove) -> AliasEvent:
        """Point an alias at a version (None deletes it) and audit the move, atomically."""
        return decode(AliasEvent, self._s.call("POST", "/alias-moves", move))

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """The audit trail of alias moves of a model, oldest first."""
        path = f"/models/{part(name)}/alias-history"
        return records(AliasEvent, self._s.call("GET", path, alias=alias))


class RestPredictionLogStore:
    """The prediction log's index and feedback through ``/prediction-chunks`` and ``/feedback``."""

    def __init__(self, session: RestSession) -> None:
        self._s = session

    def record_prediction_chunk(
        self, meta: PredictionChunk, prediction_ids: Sequence[str], times: Sequence[float]
    ) -> int:
        """Index a written chunk and every prediction id in it atomically; return the chunk id."""
        body = {"chunk": encode(meta), "prediction_ids": list(prediction_ids)}
        body["times"] = [float(t) for t in times]
        return int(self._s.call("POST", "/prediction-chunks", body)["id"])

    def list_prediction_chunks(self, query: ChunkQuery) -> list[PredictionChunk]:
        """Chunks with rows in [start, end), or the fewest holding its newest last_n_rows."""
        return records(PredictionChunk, self._s.call("POST", "/prediction-chunks/search", query))

    def record_feedback(self, labels: Mapping[str, Any]) -> int:
        """Store labels by prediction id, logged yet or not (a later label of an id wins)."""
        return int(self._s.call("POST", "/feedback", {"labels": dict(labels)})["stored"])

    def unjoined_labels(self, prediction_ids: Sequence[str]) -> dict[str, float]:
        """Ids with a stored label but no logged prediction, to their first label's time."""
        found = self._s.call("POST", "/feedback/unjoined", {"ids": list(prediction_ids)})
        return {key: float(value) for key, value in found.items()}

    def logged_ids(self, prediction_ids: Sequence[str]) -> set[str]:
        """The ids among these that are in the log."""
        return set(self._s.call("POST", "/predictions/logged", {"ids": list(prediction_ids)}))

    def feedback_for(self, prediction_ids: Sequence[str]) -> dict[str, Any]:
        """The labels received for these prediction ids; ids without feedback are absent."""
        return dict(self._s.call("POST", "/feedback/lookup", {"ids": list(prediction_ids)}))

    def labels_of_chunks(self, chunk_ids: Sequence[int]) -> list[ChunkLabels]:
        """The labels of the predictions logged in these chunks, by row in their chunk."""
        body = {"chunk_ids": [int(c) for c in chunk_ids]}
        found = self._s.call("POST", "/labels/by-chunks", body)
        return [ChunkLabels(int(c["chunk_id"]), list(c["rows"]), list(c["labels"])) for c in found]


class RestMonitoringStore:
    """Profiles, monitor results, alerts and leases through the server's monitoring resources."""

    def __init__(self, session: RestSession) -> None:
        self._s = session

    def save_reference_profile(self, name: str, version: int, profile: dict[str, Any]) -> None:
        """Store (or replace) the reference profile of a model version."""
        path = f"/models/{part(name)}/versions/{version}/reference-profile"
        self._s.call("PUT", path, profile)

    def get_reference_profile(self, name: str, version: int) -> dict[str, Any]:
        """The reference profile of a model version."""
        path = f"/models/{part(name)}/versions/{version}/reference-profile"
        return dict(self._s.call("GET", path))

    def save_chunk_profile(self, chunk_id: int, profile: dict[str, Any]) -> None:
        """Store (or replace) the profile of one chunk of the prediction log."""
        self._s.call("PUT", f"/prediction-chunks/{int(chunk_id)}/profile", profile)

    def chunk_profiles(self, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The stored profiles of the given chunks (chunks without one are left out)."""
        body = {"chunk_ids": [int(c) for c in chunk_ids]}
        found = self._s.call("POST", "/prediction-chunks/profiles", body)
        return {int(key): value for key, value in found.items()}

    def record_monitor_result(self, result: MonitorResult) -> int:
        """Store one monitoring result; return its id."""
        return int(self._s.call("POST", "/monitor-results", result)["id"])

    def list_monitor_results(self, query: ResultQuery) -> list[MonitorResult]:
        """Stored results of a model, oldest first (the newest ``limit``)."""
        return records(MonitorResult, self._s.call("POST", "/monitor-results/search", query))

    def raise_alert(self, sighting: AlertSighting) -> tuple[Alert, bool]:
        """Open an alert, or count one more sighting of the active one; True when it is new."""
        answer = self._s.call("POST", "/alerts/sightings", sighting)
        return decode(Alert, answer["alert"]), bool(answer["new"])

    def mark_notified(self, alert_id: int, at: float) -> None:
        """Record when the alert's notifiers were last called."""
        self._s.call("POST", f"/alerts/{int(alert_id)}/notified", {"at": at})

    def set_alert_status(self, alert_id: int, status: AlertStatus, user: str) -> Alert:
        """Acknowledge or resolve an alert; NotFound, or Conflict when the status would go back."""
        body = {"status": status.value, "user": user}
        return decode(Alert, self._s.call("POST", f"/alerts/{int(alert_id)}/status", body))

    def list_alerts(self, query: AlertQuery) -> list[Alert]:
        """Alerts, newest sighting first."""
        params = encode(query)
        return records(Alert, self._s.call("GET", "/alerts", **params))

    def acquire_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Take or renew a named lease unless another holder has it; True when it is ours."""
        body = {"holder": holder, "seconds": seconds}
        return bool(self._s.call("POST", f"/leases/{part(name)}", body)["held"])


def _events(session: RestSession) -> RestEventStore:
    from mloop.store.rest_events import RestEventStore

    return RestEventStore(session)


class RestStore:
    """A whole store on an mloop server: the six domain stores over one HTTP session.

    Raises InvalidInput when ``url`` answers but is not an mloop server (a model server, say),
    and StoreUnavailable when nothing answers there.
    """

    def __init__(self, url: str, *, token: str | None = None) -> None:
        self.session = RestSession(url, token=token)
        self.session.check_server()
        self.runs = RestRunStore(self.session)
        self.models = RestModelStore(self.session)
        self.predictions = RestPredictionLogStore(self.session)
        self.monitoring = RestMonitoringStore(self.session)
        self.rollouts = RestRolloutStore(self.session)
        self.retraining = RestRetrainingStore(self.session)
        self.events = _events(self.session)

    @property
    def url(self) -> str:
        """The server's URL."""
        return self.session.url

    def close(self) -> None:
        """Close the HTTP connections."""
        self.session.close()
