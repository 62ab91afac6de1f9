"""What a store implementation provides: one Protocol per domain.

The SQL implementation (``mloop.store.sql``) composes one class per protocol over a shared
database; the contract suites in ``tests/integration/store`` run against any implementation.
Every method raises ``NotFound`` for a missing named thing, ``Conflict`` for a write that
contradicts stored data, ``InvalidInput`` for a value the store cannot hold, and
``StoreUnavailable`` when the backend fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

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
    Decision,
    DeliveryStatus,
    Erasure,
    Event,
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    MonitorResult,
    NewRun,
    PredictionChunk,
    ProfileRollup,
    RegisteredModel,
    ResultQuery,
    Rollout,
    RolloutDecision,
    RolloutState,
    Run,
    RunBatch,
    RunQuery,
    RunStatus,
    WebhookDelivery,
)


class RunStore(Protocol):
    """Experiments, runs and what they log: params, metrics, tags, datasets, artifacts, models."""

    def get_or_create_experiment(self, name: str) -> Experiment:
        """Return the experiment called ``name``, creating it on first use."""
        ...

    def get_experiment(self, name: str) -> Experiment:
        """Return the experiment called ``name`` or raise NotFound."""
        ...

    def list_experiments(self) -> list[tuple[Experiment, int]]:
        """Every experiment with its number of runs, oldest first."""
        ...

    def create_run(self, run: NewRun) -> str:
        """Create a RUNNING run and return its id."""
        ...

    def end_run(self, run_id: str, status: RunStatus) -> None:
        """Mark a run finished, failed or killed."""
        ...

    def log_batch(self, run_id: str, batch: RunBatch) -> None:
        """Write params, metric points and tags in one transaction: all or nothing."""
        ...

    def log_batch_once(self, run_id: str, batch: RunBatch, key: str) -> bool:
        """Write the batch unless one with this idempotency key was written; True when it wrote.

        The key is recorded in the batch's own transaction, so a retry writes once even
        across restarts, and a failed write leaves the key free.
        """
        ...

    def get_run(self, run_id: str) -> Run:
        """Return a run with its params, latest metrics and tags."""
        ...

    def run_ids_starting_with(self, prefix: str, limit: int) -> list[str]:
        """Ids of runs that start with ``prefix``, sorted, at most ``limit`` of them."""
        ...

    def search_runs(self, search: RunQuery) -> list[Run]:
        """Runs of the query's experiments that match its filter, in its order (then newest).

        Raises InvalidInput for a malformed filter or ordering, or max_results below 1.
        """
        ...

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every logged point of one metric, in step then time order."""
        ...

    def sample_metric_history(
        self, run_id: str, key: str, max_points: int
    ) -> tuple[list[Metric], int]:
        """At most about ``max_points`` points of one metric in step order (each stretch's
        lowest and highest value), and how many points it has in all."""
        ...

    def log_dataset(self, run_id: str, fingerprint: DatasetFingerprint) -> None:
        """Record the fingerprint of a dataset the run used; the same name twice must agree."""
        ...

    def list_datasets(self, run_id: str) -> list[DatasetFingerprint]:
        """The dataset fingerprints a run logged."""
        ...

    def record_artifact(self, run_id: str, ref: ArtifactRef) -> None:
        """Record that a run holds a named artifact with this content address."""
        ...

    def list_artifacts(self, run_id: str) -> list[ArtifactRef]:
        """The named artifacts of a run, by path."""
        ...

    def record_logged_model(self, model: LoggedModel) -> None:
        """Record a model file a run logged; a name is logged once per run."""
        ...

    def get_logged_model(self, run_id: str, name: str) -> LoggedModel:
        """Return the model a run logged under ``name``."""
        ...


class ModelStore(Protocol):
    """Registered models, their versions, aliases and the audit trail of alias moves."""

    def create_model_version(
        self, name: str, model: LoggedModel, description: str = ""
    ) -> ModelVersion:
        """Register a logged model as the next version of ``name``."""
        ...

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Return version ``version`` of model ``name``."""
        ...

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of model ``name``, newest first."""
        ...

    def list_models(self) -> list[RegisteredModel]:
        """Every registered model with its newest version number and aliases."""
        ...

    def get_alias(self, name: str, alias: str) -> int:
        """The version an alias points to."""
        ...

    def move_alias(self, move: AliasMove) -> AliasEvent:
        """Point an alias at a version (None deletes it) and audit the move, atomically.

        With ``after_event`` (the id of the alias's newest event the caller read, 0 for none)
        the move is made only if no other move landed since, else AliasMoved. A move to the
        version the alias already holds raises Conflict.
        """
        ...

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """The audit trail of alias moves of a model, oldest first."""
        ...


class PredictionLogStore(Protocol):
    """The index of the prediction log (chunks and their prediction ids) and feedback labels."""

    def record_prediction_chunk(
        self, meta: PredictionChunk, prediction_ids: Sequence[str], times: Sequence[float]
    ) -> int:
        """Index a written chunk and every prediction id in it atomically; return the chunk id."""
        ...

    def list_prediction_chunks(self, query: ChunkQuery) -> list[PredictionChunk]:
        """Chunks with rows in [start, end), or the fewest holding its newest last_n_rows."""
        ...

    def record_feedback(self, labels: Mapping[str, Any]) -> int:
        """Store labels by prediction id, logged yet or not (a later label of an id wins)."""
        ...

    def unjoined_labels(self, prediction_ids: Sequence[str]) -> dict[str, float]:
        """Ids with a stored label but no logged prediction, to their first label's time."""
        ...

    def logged_ids(self, prediction_ids: Sequence[str]) -> set[str]:
        """The ids among these that are in the log."""
        ...

    def feedback_for(self, prediction_ids: Sequence[str]) -> dict[str, Any]:
        """The labels received for these prediction ids; ids without feedback are absent."""
        ...

    def labels_of_chunks(self, chunk_ids: Sequence[int]) -> list[ChunkLabels]:
        """The labels of the predictions logged in these chunks, by row in their chunk."""
        ...


class MonitoringStore(Protocol):
    """Reference and chunk profiles, monitor results, alerts and scheduler leases."""

    def save_reference_profile(self, name: str, version: int, profile: dict[str, Any]) -> None:
        """Store (or replace) the reference profile of a model version."""
        ...

    def get_reference_profile(self, name: str, version: int) -> dict[str, Any]:
        """The reference profile of a model version."""
        ...

    def save_chunk_profile(self, chunk_id: int, profile: dict[str, Any]) -> None:
        """Store (or replace) the profile of one chunk of the prediction log."""
        ...

    def chunk_profiles(self, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The stored profiles of the given chunks (chunks without one are left out)."""
        ...

    def record_monitor_result(self, result: MonitorResult) -> int:
        """Store one monitoring result; return its id."""
        ...

    def list_monitor_results(self, query: ResultQuery) -> list[MonitorResult]:
        """Stored results of a model, oldest first (the newest ``limit``)."""
        ...

    def raise_alert(self, sighting: AlertSighting) -> tuple[Alert, bool]:
        """Open an alert, or count one more sighting of the active one; True when it is new.

        An alert is active per (rule, model, subject, monitor); a new one links the last
        resolved alert of that key as ``previous_id``.
        """
        ...

    def mark_notified(self, alert_id: int, at: float) -> None:
        """Record when the alert's notifiers were last called."""
        ...

    def set_alert_status(self, alert_id: int, status: AlertStatus, user: str) -> Alert:
        """Acknowledge or resolve an alert; NotFound, or Conflict when the status would go back."""
        ...

    def list_alerts(self, query: AlertQuery) -> list[Alert]:
        """Alerts, newest sighting first."""
        ...

    def acquire_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Take or renew a named lease unless another holder has it; True when it is ours."""
        ...


class RolloutStore(Protocol):
    """Rollouts of models, their audited decisions and the request tallies of each server."""

    def create_rollout(self, rollout: Rollout, decision: RolloutDecision) -> Rollout:
        """Store a running rollout and its start decision; Conflict if the model has one."""
        ...

    def get_rollout(self, rollout_id: int) -> Rollout:
        """The rollout with this id, or NotFound."""
        ...

    def list_rollouts(self, model: str, state: RolloutState | None = None) -> list[Rollout]:
        """Rollouts of a model (in ``state`` when given), newest first."""
        ...

    def apply_decision(
        self,
        decision: RolloutDecision,
        *,
        state: RolloutState,
        step: int,
        weights: dict[str, float],
        based_on: float | None = None,
    ) -> Rollout:
        """Record a decision and the rollout's new state in one write; returns the rollout.

        ``based_on`` is the ``updated_at`` of the rollout the decision was taken on; nothing is
        written when the rollout changed since. Raises NotFound for an unknown rollout, Conflict
        when it is no longer running or changed.
        """
        ...

    def list_decisions(self, model: str, rollout_id: int | None = None) -> list[RolloutDecision]:
        """Decisions of a model's rollouts (of one rollout when given), oldest first."""
        ...

    def record_tally(
        self, rollout_id: int, arm: str, holder: str, requests: int, errors: int
    ) -> None:
        """Store one server's running totals of answered and failed requests of an arm."""
        ...

    def tallies(self, rollout_id: int) -> dict[str, tuple[int, int]]:
        """Requests and errors per arm of a rollout, summed over every server."""

        ...


class RetrainingStore(Protocol):
    """Retraining policies (JSON documents), the decisions audit trail and the retraining lock."""

    def save_policy(self, model: str, policy: dict[str, Any], user: str) -> None:
        """Store (or replace) the retraining policy of a model."""
        ...

    def get_policy(self, model: str) -> dict[str, Any]:
        """The retraining policy of a model; NotFound when it has none."""
        ...

    def delete_policy(self, model: str) -> None:
        """Remove the retraining policy of a model; NotFound when it has none."""
        ...

    def list_policies(self) -> list[dict[str, Any]]:
        """Every stored policy, by model name."""
        ...

    def record_decision(self, decision: Decision) -> int:
        """Append a decision to the audit trail; return its id."""
        ...

    def list_decisions(self, model: str, *, limit: int = 1000) -> list[Decision]:
        """The newest ``limit`` decisions of a model, oldest first."""
        ...

    def acquire_lock(self, name: str, holder: str, seconds: float) -> bool:
        """Take (or renew) a lock that expires after ``seconds`` unless another holder has it.

        Atomic across processes and replicas: of two callers at once exactly one gets True.
        """
        ...

    def release_lock(self, name: str, holder: str) -> None:
        """Give a lock back if ``holder`` has it; otherwise do nothing."""
        ...


class EventStore(Protocol):
    """The outbox of the loop's events, and the record of their webhook deliveries."""

    def publish(self, event: Event) -> int:
        """Record an event for the webhooks to deliver; return its id."""
        ...

    def list_deliveries(
        self, status: DeliveryStatus | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """Webhook deliveries (of one status when given), newest first, at most ``limit``."""
        ...


@runtime_checkable
class DeliveryQueue(Protocol):
    """The delivery side of the outbox, used where the deliverer runs (next to the database)."""

    def undispatched_events(self, limit: int) -> list[Event]:
        """Events not yet fanned out to the webhooks, oldest first."""
        ...

    def dispatch(self, event: Event, urls: Sequence[str], at: float) -> None:
        """Create a pending delivery of the event per URL and mark it dispatched, atomically."""
        ...

    def due_deliveries(self, now: float, limit: int) -> list[tuple[WebhookDelivery, Event]]:
        """Pending deliveries whose next attempt is due, oldest first, with their events."""
        ...

    def record_attempt(
        self,
        delivery_id: int,
        status: DeliveryStatus,
        error: str,
        response_status: int | None,
        next_attempt_at: float,
    ) -> WebhookDelivery:
        """Count one attempt of a delivery and store its outcome; returns the delivery."""
        ...


@runtime_checkable
class LogLifecycleStore(Protocol):
    """What retention, roll-ups and erasure change in the prediction log's index."""

    def expired_chunks(self, before: float) -> list[PredictionChunk]:
        """Chunks with a row older than ``before`` (epoch seconds), oldest first."""
        ...

    def all_chunks(self) -> list[PredictionChunk]:
        """Every chunk of every model, oldest first."""
        ...

    def replace_chunk(
        self,
        chunk: PredictionChunk,
        kept: PredictionChunk | None,
        removed_ids: Sequence[str],
        kept_ids: Sequence[str],
    ) -> int:
        """Swap a chunk for ``kept`` (its rows minus the removed ones; None: drop the chunk).

        Deletes the removed prediction ids and their labels, the chunk's profile and the
        roll-ups that merged it, in one transaction; returns the labels deleted. Raises
        Conflict when the chunk changed since it was read.
        """
        ...

    def referenced_digests(self) -> set[str]:
        """Every blob address a row of the store names (chunks, artifacts, models)."""
        ...

    def delete_labels(self, prediction_ids: Sequence[str]) -> int:
        """Delete the labels of these prediction ids; return how many there were."""
        ...

    def record_erasure(self, erasure: Erasure) -> int:
        """Append an erasure to its audit trail; return its id."""
        ...

    def list_erasures(self, limit: int = 100) -> list[Erasure]:
        """The newest ``limit`` erasures, newest first."""
        ...

    def save_rollup(self, rollup: ProfileRollup) -> int:
        """Store a roll-up, replacing one of the same model, version, arm, period and start."""
        ...

    def list_rollups(
        self, model: str, version: int | None, arm: str | None, start: float, end: float
    ) -> list[ProfileRollup]:
        """Roll-ups of a model (version, arm when given) wholly inside [start, end)."""
        ...

    def delete_rollups_before(self, before: float) -> int:
        """Delete roll-ups that end at or before ``before``; return how many."""
        ...

    def forget_unjoined_labels(self, before: float) -> int:
        """Delete labels received before ``before`` whose prediction is not in the log."""
        ...

    def forget_idempotency_keys(self, before: float) -> int:
        """Delete idempotency keys recorded before ``before``; return how many."""
        ...


class Store(Protocol):
    """A whole store: the domain stores over one backend, and its lifetime."""

    @property
    def runs(self) -> RunStore:
        """Experiments, runs and what they log."""
        ...

    @property
    def models(self) -> ModelStore:
        """The registry."""
        ...

    @property
    def predictions(self) -> PredictionLogStore:
        """The prediction log's index and feedback."""
        ...

    @property
    def monitoring(self) -> MonitoringStore:
        """Profiles, monitor results, alerts and leases."""
        ...

    @property
    def rollouts(self) -> RolloutStore:
        """Rollouts, their decisions and request tallies."""
        ...

    @property
    def retraining(self) -> RetrainingStore:
        """Retraining policies, decisions and the retraining lock."""
        ...

    @property
    def events(self) -> EventStore:
        """The outbox of the loop's events and the record of webhook deliveries."""
        ...

    @property
    def url(self) -> str:
        """The store URL without its password, fit for messages."""
        ...

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...
