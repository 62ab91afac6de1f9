"""HTTP helpers shared by mloop's servers, free of any web framework.

The one table from error code to HTTP status, the error body, the bearer-token check, request
ids and JSON bytes. Both tables are built from the classes of ``mloop.errors``.
"""

from __future__ import annotations

import hmac
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson

from mloop import errors
from mloop.errors import MloopError, Unauthorized

JSON_TYPE = "application/json"
INTERNAL = 500
INTERNAL_MESSAGE = "internal error; see the server log"
REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,48}$")
_UUID7_TIME = (1 << 48) - 1
_UUID7_RANDOM = ~(0xF << 76 | 0x3 << 62) & (1 << 80) - 1
_UUID7_MARKS = 0x7 << 76 | 0x2 << 62
"""Version 7 in bits 76-79, the RFC 4122/9562 variant (binary 10) in bits 62-63."""

ERROR_CLASSES: Mapping[str, type[MloopError]] = {
    kind.code: kind
    for kind in vars(errors).values()
    if isinstance(kind, type) and issubclass(kind, MloopError)
}
"""Every mloop error class by its ``code``, so an HTTP client can raise what the server raised."""

STATUS_BY_CODE: Mapping[str, int] = {
    MloopError.code: INTERNAL,
    errors.InvalidInput.code: 422,
    errors.ModelFailed.code: INTERNAL,
    errors.MalformedRequest.code: 400,
    errors.PayloadTooLarge.code: 413,
    errors.UnsupportedMediaType.code: 415,
    errors.MethodNotAllowed.code: 405,
    errors.NotReady.code: 503,
    errors.NotFound.code: 404,
    errors.Conflict.code: 409,
    errors.AliasMoved.code: 409,
    errors.Unauthorized.code: 401,
    errors.Forbidden.code: 403,
    errors.IntegrityError.code: INTERNAL,
    errors.UnsafeModel.code: 422,
    errors.StoreVersionError.code: INTERNAL,
    errors.StoreUnavailable.code: 503,
}
"""The one table from error code to HTTP status; a test keeps it covering ``ERROR_CLASSES``."""


def http_status(error: MloopError) -> int:
    """The HTTP status (400-599) for an mloop error; 500 for a code the table does not know."""
    return STATUS_BY_CODE.get(error.code, INTERNAL)


def public_message(error: MloopError) -> str:
    """The message a caller may see: the error's own, or a generic one for a 500."""
    return error.message if http_status(error) != INTERNAL else INTERNAL_MESSAGE


def error_body(error: MloopError) -> dict[str, Any]:
    """mloop's error body: ``{"error": message, "code": slug, "field": name or null}``."""
    return {"error": public_message(error), "code": error.code, "field": error.field}


def error_from_body(status: int, body: Any, text: str = "") -> MloopError:
    """The mloop error an error body describes (MloopError for an unknown code or shape)."""
    fields = body if isinstance(body, Mapping) else {}
    kind = ERROR_CLASSES.get(str(fields.get("code") or ""), MloopError)
    message = fields.get("error") or text[:200]
    return kind(f"HTTP {status}: {message}", field=fields.get("field"))


def check_bearer(authorization: str | None, token: str | None) -> None:
    """Accept the ``Authorization: Bearer <token>`` header when ``token`` is set.

    The scheme is case-insensitive (RFC 7235); the token comparison takes the same time whatever
    the header holds. Raises Unauthorized when the header is missing, names another scheme or
    carries another token; does nothing when no token is configured.
    """
    if not token:
        return
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("this server needs 'Authorization: Bearer <MLOOP_TOKEN>' for writes")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("the bearer token is not this server's MLOOP_TOKEN")


def request_id(given: str | None) -> str:
    """The caller's request id when it is 1-48 safe characters, else ``time_ordered_id()``.

    48 leaves room in a prediction id (at most 64 characters) for a row number
    (``<id>-999999``) and the shadow mark (``~shadow``).
    """
    if given and _REQUEST_ID.match(given):
        return given
    return time_ordered_id()


def time_ordered_id() -> str:
    """A new UUID version 7 (RFC 9562, section 5.7) as 32 lowercase hex digits.

    The first 48 bits are the Unix time in milliseconds, the other 74 free bits random
    (``os.urandom``), so ids sort by the millisecond they were made in. Generated request ids
    are the prediction log's keys: ids that grow with time land at the end of the store's
    index instead of at random pages of it (with random version 4 ids, indexing a logged row
    on SQLite cost about five times as much and grew with the log).
    """
    millis = time.time_ns() // 1_000_000 & _UUID7_TIME
    value = millis << 80 | int.from_bytes(os.urandom(10), "big") & _UUID7_RANDOM
    return f"{value | _UUID7_MARKS:032x}"


def json_bytes(body: Any) -> bytes:
    """``body`` as compact UTF-8 JSON (numpy scalars and arrays included)."""
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def url_allowed(url: str, allowed: Sequence[str]) -> bool:
    """Whether ``url`` has the scheme and host of an allowed URL and starts with its path.

    The allow-list holds origins (``https://hooks.example.com``) or URL prefixes; a URL on
    another scheme, host or port, or outside the prefix's path, is not allowed.
    """
    target = urlsplit(url)
    for entry in allowed:
        rule = urlsplit(entry)
        same_origin = (target.scheme, target.netloc.lower()) == (rule.scheme, rule.netloc.lower())
        if same_origin and (target.path or "/").startswith(rule.path or "/"):
            return True
    return False


def finite(value: Any) -> Any:
    """``value`` ready for strict JSON: every NaN or infinite float (nested in dicts, lists and
    tuples) made None, numpy scalars made Python values."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    if hasattr(value, "item") and hasattr(value, "dtype"):
        return finite(value.item())
    return value
