"""Request and response bodies: content types and encodings, the size limit while reading, JSON."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from mloop import web
from mloop.errors import MalformedRequest, PayloadTooLarge, UnsupportedMediaType
from mloop.serving.encoding import Decoder, codings

JSON = web.JSON_TYPE
_NON_FINITE = re.compile(rb"\b(NaN|-?Infinity)\b")


def media_type(request: Request) -> str:
    """The request's media type without parameters; a missing header reads as JSON."""
    header = request.headers.get("content-type", "")
    return header.split(";", 1)[0].strip().lower() or JSON


async def read_body(request: Request, limit: int) -> bytes:
    """Read and decode the body, refusing it with 413 as soon as it grows past ``limit`` bytes.

    The limit applies to the bytes received and, for a gzip or deflate ``Content-Encoding``, to
    the decoded bytes too. Raises PayloadTooLarge (413), UnsupportedMediaType (415) for another
    encoding, MalformedRequest (400) for a corrupt compressed body.
    """
    applied = codings(request.headers.get("content-encoding"))
    decoders = [Decoder(coding, limit) for coding in reversed(applied)]
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes is over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
        chunks.append(_decoded(chunk, decoders))
    for decoder in decoders:
        decoder.finish()
    return b"".join(chunks)


def _decoded(chunk: bytes, decoders: list[Decoder]) -> bytes:
    for decoder in decoders:
        chunk = decoder.feed(chunk)
    return chunk


def parse_json(body: bytes) -> Any:
    """Parse a JSON body (NaN and Infinity tokens included); malformed or too deep is a 400."""
    if not body.strip():
        raise MalformedRequest("empty request body: send a JSON document")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if not _NON_FINITE.search(body):
            raise MalformedRequest(f"malformed JSON: {exc}") from exc
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedRequest(f"malformed JSON: {exc}") from exc


async def read_payload(
    request: Request, limit: int, accepted: tuple[str, ...] = (JSON,)
) -> tuple[str, Any]:
    """Check the content type, read and parse the body; return (media type, payload).

    A JSON body comes back parsed, any other accepted type as bytes; a gzip or deflate body is
    decoded first. Raises UnsupportedMediaType (415) for a type or encoding not accepted,
    PayloadTooLarge (413) or MalformedRequest (400).
    """
    kind = media_type(request)
    if kind not in accepted:
        listed = ", ".join(accepted)
        raise UnsupportedMediaType(f"content type {kind!r} is not accepted here; send {listed}")
    body = await read_body(request, limit)
    if kind == JSON:
        return kind, parse_json(body)
    return kind, body


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``body`` as an ``application/json`` response."""
    return Response(web.json_bytes(body), status, headers, web.JSON_TYPE)
