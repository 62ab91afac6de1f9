"""Experiments, runs, their batches, searches, metric histories, datasets and logged models."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query

from mloop.api.backend import Served
from mloop.api.bodies import (
    BatchBody,
    CreatedId,
    ExperimentCount,
    ExperimentName,
    MetricHistory,
    RunEnd,
    RunPage,
    RunSearch,
    Written,
)
from mloop.entities import (
    DatasetFingerprint,
    Experiment,
    LoggedModel,
    Metric,
    NewRun,
    Run,
    RunBatch,
    RunQuery,
)
from mloop.errors import InvalidInput

router = APIRouter(tags=["experiments and runs"])
DEFAULT_POINTS = 1000


@router.get("/experiments")
def list_experiments(served: Served) -> list[ExperimentCount]:
    """Every experiment with its number of runs, oldest first."""
    return [ExperimentCount(e, n) for e, n in served.store.runs.list_experiments()]


@router.post("/experiments")
def get_or_create_experiment(body: ExperimentName, served: Served) -> Experiment:
    """The experiment of this name, created on first use."""
    return served.store.runs.get_or_create_experiment(body.name)


@router.get("/experiments/{name:path}")
def get_experiment(name: str, served: Served) -> Experiment:
    """The experiment of this name; 404 when there is none."""
    return served.store.runs.get_experiment(name)


@router.post("/runs")
def create_run(body: NewRun, served: Served) -> CreatedId:
    """Create a RUNNING run; its id comes back."""
    return CreatedId(served.store.runs.create_run(body))


@router.get("/run-ids")
def run_ids_starting_with(
    prefix: str, served: Served, limit: Annotated[int, Query(ge=1, le=1000)] = 10
) -> list[str]:
    """Ids of runs that start with ``prefix``, sorted."""
    return served.store.runs.run_ids_starting_with(prefix, limit)


@router.post("/runs/search")
def search_runs(body: RunSearch, served: Served) -> RunPage:
    """One page of the runs matching a filter, in the requested order (then newest first)."""
    if body.max_results < 1:
        raise InvalidInput("max_results must be at least 1", field="max_results")
    offset = _offset(body.page_token)
    query = RunQuery(body.experiment_ids, body.filter, body.order_by, offset + body.max_results + 1)
    found = served.store.runs.search_runs(query)
    page = found[offset : offset + body.max_results]
    more = len(found) > offset + body.max_results
    return RunPage(page, str(offset + body.max_results) if more else None)


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    if not token.isdigit() or len(token) > 12:
        raise InvalidInput(f"page_token {token!r} is not one this server gave", field="page_token")
    return int(token)


@router.get("/runs/{run_id}")
def get_run(run_id: str, served: Served) -> Run:
    """A run with its params, latest metrics and tags."""
    return served.store.runs.get_run(run_id)


@router.post("/runs/{run_id}/end")
def end_run(run_id: str, body: RunEnd, served: Served) -> Run:
    """Mark a run finished, failed or killed; the ended run comes back."""
    served.store.runs.end_run(run_id, body.status)
    return served.store.runs.get_run(run_id)


@router.post("/runs/{run_id}/batch")
def log_batch(
    run_id: str,
    body: BatchBody,
    served: Served,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Written:
    """Write params, metric points and tags at once; a retried key writes nothing again."""
    batch = RunBatch(body.params, body.metrics, body.tags)
    key = idempotency_key or body.idempotency_key
    if key is None:
        served.store.runs.log_batch(run_id, batch)
        return Written(True)
    return Written(served.batches.once(f"{run_id}:{key}", lambda: _write(served, run_id, batch)))


def _write(served: Served, run_id: str, batch: RunBatch) -> None:
    served.store.runs.log_batch(run_id, batch)


@router.get("/runs/{run_id}/metric-history")
def get_metric_history(
    run_id: str,
    key: str,
    served: Served,
    max_points: Annotated[int, Query(ge=0, le=1_000_000)] = DEFAULT_POINTS,
) -> MetricHistory:
    """A metric's points in step order, down-sampled to ``max_points`` (0: every point)."""
    points = served.store.runs.get_metric_history(run_id, key)
    kept = downsample(points, max_points)
    return MetricHistory(key, kept, len(points), len(kept) < len(points))


def downsample(points: list[Metric], max_points: int) -> list[Metric]:
    """At most ``max_points`` of the points (0: all): each bucket's lowest and highest value,
    the first and last point always kept, in the original order."""
    if max_points == 0 or len(points) <= max_points:
        return points
    if max_points < 4:
        return [points[0], points[-1]][:max_points]
    buckets = (max_points - 2) // 2
    inner, size = points[1:-1], (len(points) - 2) / buckets
    kept = {0, len(points) - 1}
    for b in range(buckets):
        chunk = range(int(b * size), max(int((b + 1) * size), int(b * size) + 1))
        kept.add(1 + min(chunk, key=lambda i: inner[i].value))
        kept.add(1 + max(chunk, key=lambda i: inner[i].value))
    return [points[i] for i in sorted(kept)]


@router.post("/runs/{run_id}/datasets")
def log_dataset(run_id: str, body: DatasetFingerprint, served: Served) -> DatasetFingerprint:
    """Record a dataset's fingerprint on a run; the same name twice must agree."""
    served.store.runs.log_dataset(run_id, body)
    return body


@router.get("/runs/{run_id}/datasets")
def list_datasets(run_id: str, served: Served) -> list[DatasetFingerprint]:
    """The dataset fingerprints a run logged."""
    return served.store.runs.list_datasets(run_id)


@router.post("/runs/{run_id}/logged-models")
def record_logged_model(run_id: str, body: LoggedModel, served: Served) -> LoggedModel:
    """Record a model file a run logged (its blob must be on the server already)."""
    if body.run_id != run_id:
        raise InvalidInput(f"run_id {body.run_id!r} is not the run of the path", field="run_id")
    served.require_blob(body.digest)
    served.store.runs.record_logged_model(body)
    return body


@router.get("/runs/{run_id}/logged-models/{name:path}")
def get_logged_model(run_id: str, name: str, served: Served) -> LoggedModel:
    """The model a run logged under ``name``."""
    return served.store.runs.get_logged_model(run_id, name)
