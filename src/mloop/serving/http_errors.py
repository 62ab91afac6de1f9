"""The one table from mloop error codes to HTTP statuses, and the error bodies per protocol."""

from __future__ import annotations

from typing import Any

from mloop.errors import MloopError

STATUS_BY_CODE = {
    "invalid_input": 422,
    "malformed": 400,
    "too_large": 413,
    "unsupported_media_type": 415,
    "not_found": 404,
    "conflict": 409,
    "unauthorized": 401,
    "not_ready": 503,
    "store_unavailable": 503,
}
INTERNAL = 500
MLFLOW_CODES = {400: "BAD_REQUEST", 404: "RESOURCE_DOES_NOT_EXIST", 413: "BAD_REQUEST"}


def http_status(error: MloopError) -> int:
    """The HTTP status for an mloop error."""
    return STATUS_BY_CODE.get(error.code, INTERNAL)


def error_body(error: MloopError, protocol: str) -> dict[str, Any]:
    """An error as JSON in the shape the protocol's clients expect, naming the field at fault."""
    status = http_status(error)
    message = error.message if status != INTERNAL else "internal error; see the server log"
    if protocol == "mlflow":
        code = MLFLOW_CODES.get(
            status, "INVALID_PARAMETER_VALUE" if status < 500 else "INTERNAL_ERROR"
        )
        return {"error_code": code, "message": message, "field": error.field}
    return {"error": message, "code": error.code, "field": error.field}
