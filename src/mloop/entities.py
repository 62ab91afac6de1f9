"""Plain records of the mloop domain; no I/O and no framework imports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    """Life cycle of a run."""

    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"


class AliasAction(StrEnum):
    """What an alias move did: point the alias at a version, remove it, or move it back."""

    SET = "set"
    DELETE = "delete"
    ROLLBACK = "rollback"


class MonitorKind(StrEnum):
    """What a stored monitor result measures."""

    DRIFT = "drift"
    PREDICTION_DRIFT = "prediction_drift"
    PERFORMANCE = "performance"
    ESTIMATED_PERFORMANCE = "estimated_performance"


class Severity(StrEnum):
    """How urgent an alert is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Experiment:
    """A named group of runs."""

    id: int
    name: str
    created_at: float


@dataclass(frozen=True)
class Metric:
    """One point of a metric's history."""

    key: str
    value: float
    step: int
    timestamp: float


@dataclass(frozen=True)
class DatasetFingerprint:
    """What identifies a dataset a run used: content hash, schema and size."""

    name: str
    digest: str
    n_rows: int
    schema: dict[str, str]
    target: str | None = None


@dataclass(frozen=True)
class ArtifactRef:
    """A named file of a run, stored by content address."""

    path: str
    digest: str
    size: int


@dataclass(frozen=True)
class LoggedModel:
    """A model file a run logged, with what is needed to load and check it."""

    run_id: str
    name: str
    digest: str
    format: str
    signature: dict[str, Any]
    environment: dict[str, str]
    created_at: float


@dataclass(frozen=True)
class Run:
    """One execution of training code, with everything it logged."""

    id: str
    experiment_id: int
    name: str
    status: RunStatus
    start_time: float
    end_time: float | None
    parent_run_id: str | None
    user: str
    code_version: str | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RegisteredModel:
    """A model name under which versions are registered."""

    name: str
    created_at: float
    latest_version: int
    aliases: dict[str, int]


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model, pointing at the run and file it came from."""

    name: str
    version: int
    run_id: str
    model_name: str
    digest: str
    format: str
    created_at: float
    description: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunBatch:
    """What one write adds to a run: params (text), metric points and tags (text)."""

    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Sequence[Metric] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunQuery:
    """A run search: the experiments (none: no runs), a filter, orderings and a page size.

    ``filter`` and ``order_by`` use the filter language of ``mloop.store.filters``; the first
    ``offset`` matching runs are skipped (a later page).
    """

    experiment_ids: Sequence[int]
    filter: str | None = None
    order_by: Sequence[str] = ()
    max_results: int = 1000
    offset: int = 0


@dataclass(frozen=True)
class AliasMove:
    """A requested alias move: point ``alias`` of model ``name`` at ``version`` (None deletes).

    ``after_event`` guards against a race: the id of the alias's newest event the caller read
    (0 when it had none); the move fails with AliasMoved when another one landed since.
    """

    name: str
    alias: str
    version: int | None
    action: AliasAction
    reason: str
    user: str
    after_event: int | None = None


@dataclass(frozen=True)
class NewRun:
    """A run to create: its experiment id, name, user, parent run, code version and tags."""

    experiment_id: int
    name: str
    user: str
    parent_run_id: str | None = None
    code_version: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AliasEvent:
    """An audit record of one alias move: who moved it, from where to where, and why."""

    id: int
    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    action: AliasAction
    reason: str
    user: str
    at: float


@dataclass(frozen=True)
class ResultQuery:
    """Which stored monitor results of a model to read: one kind, created since (epoch
    seconds), and at most the newest ``limit``."""

    model: str
    kind: MonitorKind | None = None
    since: float | None = None
    limit: int = 1000


@dataclass(frozen=True)
class AlertQuery:
    """Which alerts to list: of one model, status or rule when given (None: any)."""

    model: str | None = None
    status: AlertStatus | None = None
    rule: str | None = None


@dataclass(frozen=True)
class AlertSighting:
    """One breach of an alert rule: which rule, model and subject (a column, "window", ...),
    how severe, what was measured (``value``, described by ``message``) and by which monitor
    definition (e.g. ``"last 10000"``)."""

    rule: str
    model: str
    subject: str
    severity: Severity
    message: str
    value: float | None
    monitor: str = ""


@dataclass(frozen=True)
class ChunkQuery:
    """Which chunks of a model's prediction log to list: those with rows in [start, end)
    (epoch seconds; None leaves a side open), or the fewest that hold the newest
    ``last_n_rows``, of one version and arm when given."""

    model: str
    version: int | None = None
    arm: str | None = None
    start: float | None = None
    end: float | None = None
    last_n_rows: int | None = None


@dataclass(frozen=True)
class PredictionChunk:
    """One Parquet blob of logged predictions of a model version and traffic arm ("" for none).

    ``start_time`` and ``end_time`` are the epoch seconds of its first and last row;
    ``id`` is 0 until the store has indexed the chunk.
    """

    model: str
    version: int
    arm: str
    start_time: float
    end_time: float
    n_rows: int
    digest: str
    size: int
    created_at: float
    id: int = 0


@dataclass(frozen=True)
class FeedbackResult:
    """What a batch of ground-truth labels did: how many were stored, which ids were unknown.

    ``pending`` ids are not in the log yet; their labels are kept and join when they land.
    """

    accepted: int
    unknown: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChunkLabels:
    """The labels of one chunk's logged predictions, by the prediction's row in the chunk.

    ``rows`` and ``labels`` have one entry per labelled prediction, in the same order (not
    sorted); a label is the value received (number, string, boolean...).
    """

    chunk_id: int
    rows: list[int]
    labels: list[Any]


@dataclass(frozen=True)
class MonitorResult:
    """One stored monitoring result: drift or performance of a window of production."""

    model: str
    version: int | None
    arm: str
    kind: MonitorKind
    window_start: float | None
    window_end: float | None
    n_rows: int
    summary: dict[str, Any]
    details: list[dict[str, Any]]
    created_at: float
    id: int = 0


class AlertStatus(StrEnum):
    """Life cycle of an alert."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Alert:
    """A condition a rule found, kept as one row however often it is seen again.

    ``monitor`` names the monitor definition that judges it (for example its window, ``last
    10000``), so conditions of two monitors of one model never resolve each other. Its status
    only moves forward (open, acknowledged, resolved); a sighting after resolution opens a new
    alert whose ``previous_id`` is the resolved one.
    """

    id: int
    rule: str
    model: str
    subject: str
    severity: Severity
    status: AlertStatus
    message: str
    value: float | None
    first_seen: float
    last_seen: float
    occurrences: int
    notified_at: float | None
    updated_by: str | None = None
    monitor: str = ""
    previous_id: int | None = None


class RolloutMode(StrEnum):
    """How a rollout splits traffic between the champion and the challenger."""

    AB = "ab"
    CANARY = "canary"
    SHADOW = "shadow"
    BANDIT = "bandit"


class RolloutState(StrEnum):
    """Life cycle of a rollout: running, then promoted, rolled back or stopped."""

    RUNNING = "running"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    STOPPED = "stopped"


@dataclass(frozen=True)
class RolloutPolicy:
    """What a rollout does and when it decides; stored as JSON beside the rollout.

    ``steps`` are the challenger's traffic shares in order (one share for A/B and bandit starts);
    ``min_sample`` the answers per arm a step needs before it may advance; ``metric`` the name
    of the primary metric (``accuracy`` or a reward read from the feedback label); guardrails
    are ``max_error_rate`` and ``max_p99_ms`` / ``max_p99_ratio`` of the challenger.
    ``promote_when`` is ``better``, ``not_worse`` (by ``margin``) or ``guardrails``; a
    promotion moves ``alias`` to the challenger. ``secondary`` names metrics reported beside the
    primary one (``accuracy``, ``reward``, ``latency_ms``), Holm-corrected, never deciding.
    """

    mode: RolloutMode
    steps: tuple[float, ...] = (0.5,)
    alias: str = "champion"
    metric: str = "accuracy"
    alpha: float = 0.05
    tuning: float = 0.05
    min_sample: int = 100
    max_sample: int | None = None
    promote_when: str = "better"
    margin: float = 0.0
    max_error_rate: float = 0.01
    max_p99_ms: float | None = None
    max_p99_ratio: float | None = None
    guardrail_min_requests: int = 20
    srm_alpha: float = 0.001
    mde: float = 0.02
    floor: float = 0.05
    evaluate_every_seconds: float = 30.0
    secondary: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rollout:
    """A champion and a challenger version of one model sharing its traffic.

    ``weights`` maps the arms (``champion``, ``challenger``) to their current traffic shares;
    ``salt`` keeps its assignment independent of every other rollout's; ``weights_at`` is when
    the weights last changed (epoch seconds).
    """

    id: int
    model: str
    champion: int
    challenger: int
    policy: RolloutPolicy
    salt: str
    state: RolloutState
    step: int
    weights: dict[str, float]
    started_at: float
    updated_at: float
    weights_at: float


@dataclass(frozen=True)
class RolloutDecision:
    """One audited step of a rollout: start, advance, weights, promote, rollback or stop.

    ``arms`` holds the traffic shares after the decision, ``versions`` the version per arm and
    ``statistics`` the numbers it was taken on.
    """

    rollout_id: int
    model: str
    kind: str
    at: float
    reason: str
    user: str
    arms: dict[str, float]
    versions: dict[str, int]
    statistics: dict[str, Any] = field(default_factory=dict)
    id: int = 0


class DecisionKind(StrEnum):
    """What one step of a retraining did, as kept in the audit trail."""

    TRIGGERED = "triggered"
    SKIPPED = "skipped"
    TRAINED = "trained"
    REJECTED = "rejected"
    PROMOTED = "promoted"
    CANARY = "canary"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True)
class Decision:
    """One entry of a model's retraining audit trail.

    ``trigger`` names the triggers that fired (comma-separated, "" for none); ``gate`` is the
    gate report (metric, champion, challenger, difference, ci_low, ci_high, p_value, passed,
    guardrails, shadow) or empty when no gate ran; ``at`` is epoch seconds.
    """

    model: str
    kind: DecisionKind
    at: float
    reason: str
    trigger: str = ""
    champion_version: int | None = None
    challenger_version: int | None = None
    run_id: str | None = None
    gate: dict[str, Any] = field(default_factory=dict)
    id: int = 0


@dataclass(frozen=True)
class Triggers:
    """When a retraining starts; any trigger that is set may fire it.

    ``drift``: the newest stored dataset-drift verdict says drifted. ``metric_drop``: the newest
    realized ``metric`` is lower than the reference's by more than this. ``estimated_drop``:
    the same for the CBPE estimate. ``new_labels``: at least this many labelled production rows
    arrived since the champion was trained. ``every_seconds``: a schedule.
    """

    drift: bool = False
    metric: str = "f1"
    metric_drop: float | None = None
    estimated_drop: float | None = None
    new_labels: int | None = None
    every_seconds: float | None = None


@dataclass(frozen=True)
class GateConfig:
    """How a challenger must beat the champion on the fresh holdout.

    ``test`` is ``bootstrap`` (paired bootstrap interval of the difference of ``metric``) or
    ``mcnemar`` (accuracy only). ``guardrails`` maps a metric to how much worse it may get.
    """

    metric: str = "f1"
    margin: float = 0.0
    test: str = "bootstrap"
    confidence: float = 0.95
    resamples: int = 2000
    guardrails: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RetrainingPolicy:
    """How, when and on what one registered model is retrained, and what a pass does.

    ``recipe`` is an entry point ``package.module:function`` called as
    ``function(frame, target, params)`` that returns a fitted estimator. ``window`` is the
    production window of labelled rows (``10000`` rows or a period such as ``7d``).
    ``holdout`` is the share of the newest labelled rows kept for the gate;
    ``half_life_seconds`` weights recent rows (None: equal weights); ``max_rows`` caps the set.
    ``candidates`` are param overrides trained as a sweep on ``executor`` (``local`` or
    ``dask``; ``dask_address`` names a scheduler, None starts a local cluster). ``on_pass`` is
    ``promote`` or ``canary``; ``canary`` holds options of the canary a pass starts (fields of
    ``RolloutPolicy`` such as ``steps`` and ``min_sample``; empty: the canary defaults).
    """

    model: str
    recipe: str
    target: str
    triggers: Triggers = field(default_factory=Triggers)
    gate: GateConfig = field(default_factory=GateConfig)
    params: Mapping[str, Any] = field(default_factory=dict)
    candidates: Sequence[Mapping[str, Any]] = ()
    alias: str = "champion"
    window: str = "10000"
    dataset: str = "train"
    holdout: float = 0.3
    half_life_seconds: float | None = None
    max_rows: int = 1_000_000
    cooldown_seconds: float = 3600.0
    max_per_day: int = 4
    lock_seconds: float = 3600.0
    on_pass: str = "promote"
    executor: str = "local"
    dask_address: str | None = None
    canary: Mapping[str, Any] = field(default_factory=dict)


class EventKind(StrEnum):
    """The loop's events a webhook can subscribe to."""

    ALIAS_MOVED = "alias.moved"
    ALERT_OPENED = "alert.opened"
    ALERT_RESOLVED = "alert.resolved"
    RETRAINING_DECIDED = "retraining.decided"
    ROLLOUT_DECIDED = "rollout.decided"


@dataclass(frozen=True)
class Event:
    """Something the loop did, as the JSON ``payload`` a webhook receives; ``at`` in epoch s.

    ``id`` is 0 until the store's outbox has recorded the event.
    """

    kind: EventKind
    payload: dict[str, Any]
    at: float
    id: int = 0


class DeliveryStatus(StrEnum):
    """Where a webhook delivery stands: waiting for (another) attempt, delivered, given up."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class WebhookDelivery:
    """One event sent (or to send) to one webhook URL, with its attempts and last error.

    ``response_status`` is the receiver's last HTTP status (None before an answer);
    times are epoch seconds.
    """

    id: int
    event_id: int
    event: EventKind
    url: str
    status: DeliveryStatus
    attempts: int
    last_error: str
    response_status: int | None
    next_attempt_at: float
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class ProfileRollup:
    """The merged chunk profiles of one model version and arm over an hour or a day.

    ``period`` is ``"hour"`` or ``"day"``; [start_time, end_time) in epoch seconds;
    ``chunk_ids`` are the chunks merged (every one wholly inside the period); ``profile`` is
    stored against the version's reference profile.
    """

    model: str
    version: int
    arm: str
    period: str
    start_time: float
    end_time: float
    n_rows: int
    chunk_ids: list[int]
    profile: dict[str, Any]
    created_at: float
    id: int = 0


@dataclass(frozen=True)
class Erasure:
    """The audit record of one erasure: whose rows (``unit``), how many rows, labels and
    chunks were removed, by whom and when (epoch seconds)."""

    unit: str
    rows: int
    labels: int
    chunks: int
    user: str
    at: float
    id: int = 0
