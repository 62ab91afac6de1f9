"""The prediction log's index (chunks and their windows), chunk profiles and feedback."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from mloop.api.backend import Served
from mloop.api.bodies import ChunkIds, ChunkIndex, CreatedId, Labels, PredictionIds, Stored
from mloop.entities import ChunkQuery, PredictionChunk
from mloop.errors import InvalidInput

router = APIRouter(tags=["prediction log"])


@router.post("/prediction-chunks")
def record_prediction_chunk(body: ChunkIndex, served: Served) -> CreatedId:
    """Index a written chunk (its blob must be on the server) with every prediction id in it."""
    if len(body.prediction_ids) != len(body.times):
        raise InvalidInput("prediction_ids and times differ in length", field="times")
    served.require_blob(body.chunk.digest)
    chunk_id = served.store.predictions.record_prediction_chunk(
        body.chunk, body.prediction_ids, body.times
    )
    return CreatedId(chunk_id)


@router.post("/prediction-chunks/search")
def list_prediction_chunks(body: ChunkQuery, served: Served) -> list[PredictionChunk]:
    """The chunks of a window: rows in [start, end), or the fewest holding the newest rows."""
    return served.store.predictions.list_prediction_chunks(body)


@router.put("/prediction-chunks/{chunk_id}/profile")
def save_chunk_profile(chunk_id: int, profile: dict[str, Any], served: Served) -> dict[str, Any]:
    """Store (or replace) the profile of one chunk."""
    served.store.monitoring.save_chunk_profile(chunk_id, profile)
    return profile


@router.post("/prediction-chunks/profiles")
def chunk_profiles(body: ChunkIds, served: Served) -> dict[int, dict[str, Any]]:
    """The stored profiles of these chunks, by chunk id (chunks without one left out)."""
    return served.store.monitoring.chunk_profiles(body.chunk_ids)


@router.post("/feedback")
def record_feedback(body: Labels, served: Served) -> Stored:
    """Store ground-truth labels by prediction id (logged yet or not)."""
    return Stored(served.store.predictions.record_feedback(body.labels))


@router.post("/feedback/unjoined")
def unjoined_labels(body: PredictionIds, served: Served) -> dict[str, float]:
    """Ids with a label but no logged prediction, to their first label's time (epoch s)."""
    return served.store.predictions.unjoined_labels(body.ids)


@router.post("/feedback/lookup")
def feedback_for(body: PredictionIds, served: Served) -> dict[str, Any]:
    """The labels received for these prediction ids."""
    return served.store.predictions.feedback_for(body.ids)


@router.post("/labels/by-chunks")
def labels_of_chunks(body: ChunkIds, served: Served) -> list[dict[str, Any]]:
    """The labels of the predictions logged in these chunks: per chunk, rows and labels."""
    return [asdict(found) for found in served.store.predictions.labels_of_chunks(body.chunk_ids)]


@router.post("/predictions/logged")
def logged_ids(body: PredictionIds, served: Served) -> list[str]:
    """The ids among these that are in the log, sorted."""
    return sorted(served.store.predictions.logged_ids(body.ids))
