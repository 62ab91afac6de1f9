"""Request bodies: content type first, the size limit before the whole body is read, JSON."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from starlette.requests import Request

from mloop.errors import MalformedRequest, PayloadTooLarge, UnsupportedMediaType
from mloop.serving.body import media_type, parse_json, read_payload


def request(body: bytes, content_type: str | None = "application/json", chunk: int = 4) -> Request:
    headers = [] if content_type is None else [(b"content-type", content_type.encode())]
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


def read(req: Request, limit: int = 100, accepted: tuple[str, ...] = ("application/json",)) -> Any:
    return asyncio.run(read_payload(req, limit, accepted))


def test_json_is_parsed_and_other_accepted_types_come_back_as_bytes() -> None:
    assert read(request(b'{"a": [1, 2]}')) == ("application/json", {"a": [1, 2]})
    csv = request(b"a\n1\n", "text/csv; charset=utf-8")
    assert read(csv, accepted=("application/json", "text/csv")) == ("text/csv", b"a\n1\n")


def test_a_missing_content_type_reads_as_json() -> None:
    assert media_type(request(b"{}", None)) == "application/json"
    assert read(request(b"[1]", None)) == ("application/json", [1])


def test_an_unaccepted_type_is_refused_naming_what_to_send() -> None:
    with pytest.raises(UnsupportedMediaType, match="send application/json"):
        read(request(b"a=1", "text/plain"))


def test_a_body_over_the_limit_is_refused_while_streaming() -> None:
    with pytest.raises(PayloadTooLarge, match="limit of 10 bytes"):
        read(request(b'{"a": "' + b"x" * 50 + b'"}'), limit=10)


@pytest.mark.parametrize("body", [b"", b"   ", b"{not json", b"[" * 5000 + b"]" * 5000])
def test_malformed_json_is_a_400(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        parse_json(body)


def test_non_finite_numbers_are_read() -> None:
    parsed = parse_json(b'{"a": NaN, "b": -Infinity}')
    assert math.isnan(parsed["a"]) and parsed["b"] == -math.inf
