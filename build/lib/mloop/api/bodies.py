"""Request and answer bodies of the API that are not records of ``mloop.entities``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mloop.entities import (
    Alert,
    AlertStatus,
    Experiment,
    LoggedModel,
    Metric,
    PredictionChunk,
    Run,
    RunStatus,
)


@dataclass(frozen=True)
class ExperimentName:
    """The experiment to get or create."""

    name: str


@dataclass(frozen=True)
class ExperimentCount:
    """An experiment and how many runs it holds."""

    experiment: Experiment
    runs: int


@dataclass(frozen=True)
class CreatedId:
    """The id of what a request created (a run id, a chunk id, a result id)."""

    id: str | int


@dataclass(frozen=True)
class RunEnd:
    """How a run ended."""

    status: RunStatus


@dataclass(frozen=True)
class BatchBody:
    """Params, metric points and tags for one all-or-nothing write.

    A retry with the same ``idempotency_key`` (or ``Idempotency-Key`` header) writes nothing.
    """

    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Written:
    """Whether a write with an idempotency key was made now (False: it had been already)."""

    written: bool


@dataclass(frozen=True)
class RunSearch:
    """A run search: experiments, filter, orderings, a page size and where the page starts.

    ``page_token`` is the ``next_page_token`` of the previous page (none: the first page).
    """

    experiment_ids: list[int]
    filter: str | None = None
    order_by: list[str] = field(default_factory=list)
    max_results: int = 100
    page_token: str | None = None


@dataclass(frozen=True)
class RunPage:
    """One page of a run search; ``next_page_token`` is None on the last page."""

    runs: list[Run]
    next_page_token: str | None = None


@dataclass(frozen=True)
class MetricHistory:
    """A metric's points in step order; ``total`` counts them all, before down-sampling."""

    key: str
    points: list[Metric]
    total: int
    sampled: bool


@dataclass(frozen=True)
class NewVersion:
    """A logged model to register as the next version, with its description."""

    model: LoggedModel
    description: str = ""


@dataclass(frozen=True)
class AliasTarget:
    """The version an alias points to."""

    version: int


@dataclass(frozen=True)
class ChunkIndex:
    """A written chunk of the prediction log with the id and time (epoch s) of each row."""

    chunk: PredictionChunk
    prediction_ids: list[str]
    times: list[float]


@dataclass(frozen=True)
class Labels:
    """Ground-truth labels by prediction id."""

    labels: dict[str, Any]


@dataclass(frozen=True)
class Stored:
    """How many rows a write stored."""

    stored: int


@dataclass(frozen=True)
class PredictionIds:
    """Prediction ids to look up."""

    ids: list[str]


@dataclass(frozen=True)
class ChunkIds:
    """Chunk ids of the prediction log to look up."""

    chunk_ids: list[int]


@dataclass(frozen=True)
class AlertRaised:
    """The alert a sighting opened or counted again; ``new`` when it opened one."""

    alert: Alert
    new: bool


@dataclass(frozen=True)
class Notified:
    """When an alert's notifiers were called (epoch seconds)."""

    at: float


@dataclass(frozen=True)
class StatusChange:
    """A new status for an alert (acknowledged or resolved) and who set it."""

    status: AlertStatus
    user: str


@dataclass(frozen=True)
class LeaseRequest:
    """Who asks for a lease and for how many seconds."""

    holder: str
    seconds: float


@dataclass(frozen=True)
class LeaseAnswer:
    """Whether the asker holds the lease now."""

    held: bool


@dataclass(frozen=True)
class BlobStored:
    """The content address and size (bytes) of an uploaded blob."""

    digest: str
    size: int


@dataclass(frozen=True)
class BlobPresence:
    """Whether the server holds a blob."""

    exists: bool
