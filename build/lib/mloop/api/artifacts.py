"""Blobs by content address and the named artifacts of runs: uploads, lists and downloads.

Downloads are always attachments (``Content-Disposition: attachment``, and ``nosniff`` from the
request guard), so a browser never renders an uploaded file as a page of this server.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mloop.api.backend import Served
from mloop.api.bodies import BlobPresence, BlobStored
from mloop.artifacts import check_digest, safe_name
from mloop.entities import ArtifactRef
from mloop.errors import InvalidInput, NotFound

router = APIRouter(tags=["artifacts"])
OCTETS = "application/octet-stream"
BLOB_BODY = {"content": {OCTETS: {"schema": {"type": "string", "format": "binary"}}}}


def attachment(data: bytes, filename: str) -> Response:
    """The bytes as a download named ``filename``, never rendered inline (the request guard
    adds ``nosniff`` to every answer)."""
    name = quote(filename.rsplit("/", 1)[-1], safe="")
    headers = {"content-disposition": f"attachment; filename*=UTF-8''{name}"}
    return Response(data, media_type=OCTETS, headers=headers)


@router.put("/blobs/{digest}", openapi_extra={"requestBody": BLOB_BODY})
async def put_blob(digest: str, request: Request, served: Served) -> BlobStored:
    """Store an uploaded blob under its sha256; 422 when the bytes hash to another address."""
    check_digest(digest)
    data = await request.body()
    if hashlib.sha256(data).hexdigest() != digest:
        raise InvalidInput(f"the uploaded bytes do not hash to {digest}", field="digest")
    await run_in_threadpool(served.artifacts.put_bytes, data)
    return BlobStored(digest, len(data))


@router.get("/blobs/{digest}", response_class=Response)
def get_blob(digest: str, served: Served) -> Response:
    """A blob's bytes as an attachment named by its address."""
    return attachment(served.artifacts.get_bytes(digest), digest)


@router.get("/blobs/{digest}/exists")
def blob_exists(digest: str, served: Served) -> BlobPresence:
    """Whether the server holds the blob."""
    return BlobPresence(served.artifacts.exists(digest))


@router.post("/runs/{run_id}/artifact-refs")
def record_artifact(run_id: str, body: ArtifactRef, served: Served) -> ArtifactRef:
    """Record that a run holds an uploaded blob under a name."""
    safe_name(body.path)
    served.require_blob(body.digest)
    served.store.runs.record_artifact(run_id, body)
    return body


@router.get("/runs/{run_id}/artifacts")
def list_artifacts(run_id: str, served: Served) -> list[ArtifactRef]:
    """The named artifacts of a run, by path."""
    return served.store.runs.list_artifacts(run_id)


@router.put("/runs/{run_id}/artifacts/{path:path}", openapi_extra={"requestBody": BLOB_BODY})
async def upload_artifact(run_id: str, path: str, request: Request, served: Served) -> ArtifactRef:
    """Upload a file as a named artifact of a run (the body is the file's bytes)."""
    name = safe_name(path)
    data = await request.body()
    digest = await run_in_threadpool(served.artifacts.put_bytes, data)
    ref = ArtifactRef(name, digest, len(data))
    await run_in_threadpool(served.store.runs.record_artifact, run_id, ref)
    return ref


@router.get("/runs/{run_id}/artifacts/{path:path}", response_class=Response)
def download_artifact(run_id: str, path: str, served: Served) -> Response:
    """A named artifact of a run, as an attachment."""
    refs = {ref.path: ref for ref in served.store.runs.list_artifacts(run_id)}
    ref = refs.get(path)
    if ref is None:
        raise NotFound(f"run {run_id} has no artifact {path!r}", field="path")
    return attachment(served.artifacts.get_bytes(ref.digest), ref.path)
