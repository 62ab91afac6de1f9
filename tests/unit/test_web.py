"""The framework-free HTTP helpers: error tables complete over mloop.errors, token, request ids."""

from __future__ import annotations

import inspect
import re
import time
import uuid

import numpy as np
import orjson
import pytest

from mloop import errors, web
from mloop.errors import InvalidInput, MloopError, Unauthorized

ERROR_CLASSES = [
    kind
    for _, kind in inspect.getmembers(errors, inspect.isclass)
    if issubclass(kind, MloopError) and kind.__module__ == errors.__name__
]


@pytest.mark.parametrize("kind", ERROR_CLASSES, ids=lambda kind: kind.__name__)
def test_every_error_class_has_a_status_and_comes_back_from_its_body(
    kind: type[MloopError],
) -> None:
    assert kind.code in web.STATUS_BY_CODE, f"add {kind.code!r} to web.STATUS_BY_CODE"
    assert 400 <= web.http_status(kind("x")) <= 599
    assert web.ERROR_CLASSES[kind.code] is kind, f"{kind.code!r} is used by two classes"
    body = orjson.loads(web.json_bytes(web.error_body(kind("bad", field="f"))))
    again = web.error_from_body(web.http_status(kind("x")), body)
    assert type(again) is kind and again.field == "f"


def test_the_status_table_names_no_code_without_a_class() -> None:
    assert set(web.STATUS_BY_CODE) == {kind.code for kind in ERROR_CLASSES}


def test_statuses_of_the_common_errors() -> None:
    assert web.http_status(InvalidInput("x")) == 422
    assert web.http_status(errors.NotFound("x")) == 404
    assert web.http_status(Unauthorized("x")) == 401
    assert web.http_status(errors.NotReady("x")) == 503


def test_a_500_body_hides_the_message() -> None:
    body = web.error_body(MloopError("password=hunter2"))
    assert body == {"error": web.INTERNAL_MESSAGE, "code": "error", "field": None}


def test_an_unknown_body_becomes_a_plain_mloop_error() -> None:
    error = web.error_from_body(502, None, "<html>bad gateway</html>")
    assert type(error) is MloopError and "HTTP 502: <html>bad gateway" in error.message


def test_bearer_token() -> None:
    web.check_bearer(None, None)
    web.check_bearer("Bearer s3cret", "s3cret")
    web.check_bearer("bearer s3cret", "s3cret")
    web.check_bearer("BEARER  s3cret ", "s3cret")
    for header in ("Bearer wrong", "bearer s3cre", "Bearer "):
        with pytest.raises(Unauthorized, match="not this server's"):
            web.check_bearer(header, "s3cret")
    for header in (None, "", "s3cre", "Basic s3cret", "Token s3cret"):
        with pytest.raises(Unauthorized, match="Bearer"):
            web.check_bearer(header, "s3cret")


def test_request_ids_are_kept_when_safe_and_made_otherwise() -> None:
    assert web.request_id("abc-1.2:3_x") == "abc-1.2:3_x"
    assert web.request_id("x" * 48) == "x" * 48, "48 leave room for '-<row>~shadow' in 64"
    for given in (None, "", "has space", "x" * 49, "new\nline"):
        made = web.request_id(given)
        assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert web.request_id(None) != web.request_id(None)


def test_made_ids_are_version_7_uuids_that_sort_by_their_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    first = [web.time_ordered_id() for _ in range(500)]
    time.sleep(0.002)
    later = [web.time_ordered_id() for _ in range(500)]
    after = time.time_ns() // 1_000_000
    for made in first + later:
        parsed = uuid.UUID(made)
        assert parsed.hex == made and parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert before <= int(made[:12], 16) <= after
    assert len(set(first + later)) == 1000
    assert max(first) < min(later)
    assert re.fullmatch(r"[0-9a-f]{32}", web.request_id(None))


def test_json_bytes_are_compact_and_take_numpy_values() -> None:
    assert web.json_bytes({"a": [1, 2]}) == b'{"a":[1,2]}'
    assert web.json_bytes({"n": np.int64(3), "v": np.array([0.5])}) == b'{"n":3,"v":[0.5]}'
