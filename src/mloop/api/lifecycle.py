"""The prediction log's retention and erasure, run by the server on its own store."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from mloop.api.backend import Backend, Served
from mloop.entities import Erasure
from mloop.errors import InvalidInput
from mloop.services.log_lifecycle import PredictionLogLifecycle
from mloop.store.protocols import LogLifecycleStore

router = APIRouter(tags=["prediction log"])


@dataclass(frozen=True)
class RetentionRequest:
    """Days of the log to keep (none: the server's ``retention_days``)."""

    days: float | None = None


@dataclass(frozen=True)
class ErasureRequest:
    """The unit (customer) whose rows and labels to erase, and who asks (for the audit)."""

    unit: str
    user: str


def _lifecycle(served: Backend, user: str) -> PredictionLogLifecycle:
    found = getattr(served.store, "lifecycle", None)
    if not isinstance(found, LogLifecycleStore):
        raise InvalidInput("this server's store keeps no prediction log lifecycle", field="store")
    return PredictionLogLifecycle(found, served.artifacts, user)


@router.post("/predictions/retention")
async def retain(body: RetentionRequest, served: Served) -> dict[str, Any]:
    """Delete rows older than the retention with their labels, profiles, roll-ups and blobs.

    Answers the cutoff (epoch s), rows and labels removed, chunks rewritten and dropped,
    blobs and roll-ups deleted. 422 when neither the body nor the server sets the days.
    """
    days = body.days if body.days is not None else served.settings.retention_days
    if days is None:
        raise InvalidInput("give days, or set retention_days on the server", field="days")
    lifecycle = _lifecycle(served, served.settings.user)
    report = await run_in_threadpool(lifecycle.retain, days)
    return {
        "cutoff": report.cutoff,
        **asdict(report.pruned),
        "blobs_deleted": report.blobs_deleted,
        "rollups_deleted": report.rollups_deleted,
    }


@router.post("/predictions/erasures")
async def erase(body: ErasureRequest, served: Served) -> Erasure:
    """Remove every logged row of one unit and their labels; the audit record comes back."""
    return await run_in_threadpool(_lifecycle(served, body.user).erase, body.unit)


@router.get("/predictions/erasures")
def erasures(served: Served, limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> list[Erasure]:
    """The audit trail of erasures, newest first."""
    return _lifecycle(served, served.settings.user).erasures(limit)
