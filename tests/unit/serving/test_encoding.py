"""Compressed request bodies: gzip and deflate decoded within the limit, other encodings 415."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from mloop.errors import MalformedRequest, PayloadTooLarge, UnsupportedMediaType
from mloop.serving.body import read_payload
from mloop.serving.encoding import Decoder, codings

from .test_body import request

BODY = b'{"records": [' + b",".join(b'{"age": %d}' % i for i in range(200)) + b"]}"


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "raw deflate": raw_deflate,
}


def encoded(data: bytes, coding: str) -> bytes:
    return ENCODERS[coding](data)


def read(body: bytes, encoding: str, limit: int = 10_000, chunk: int = 7) -> Any:
    req = request(body, chunk=chunk)
    req.scope["headers"].append((b"content-encoding", encoding.encode()))
    return asyncio.run(read_payload(req, limit))


@pytest.mark.parametrize("coding", list(ENCODERS))
@pytest.mark.parametrize("chunk", [1, 7, 100_000])
def test_gzip_and_deflate_bodies_are_decoded(coding: str, chunk: int) -> None:
    header = "deflate" if coding == "raw deflate" else coding
    kind, payload = read(encoded(BODY, coding), header, chunk=chunk)
    assert kind == "application/json" and len(payload["records"]) == 200


def test_the_codings_are_undone_in_reverse_order_and_identity_is_ignored() -> None:
    twice = gzip.compress(zlib.compress(BODY))
    assert read(twice, "deflate, gzip")[1]["records"][199] == {"age": 199}
    assert read(BODY, "identity")[1]["records"][0] == {"age": 0}
    assert read(gzip.compress(BODY[:30]) + gzip.compress(BODY[30:]), "gzip")[1]["records"][5]


@pytest.mark.parametrize("coding", list(ENCODERS))
def test_the_limit_applies_to_the_decoded_size(coding: str) -> None:
    header = "deflate" if coding == "raw deflate" else coding
    with pytest.raises(PayloadTooLarge, match="decodes to over the limit of 1000 bytes"):
        read(encoded(BODY, coding), header, limit=1000)


def test_a_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b" " * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    decoder = Decoder("gzip", 1_000_000)
    with pytest.raises(PayloadTooLarge):
        for start in range(0, len(bomb), 65536):
            decoder.feed(bomb[start : start + 65536])
    assert decoder.size == 1_000_001


@pytest.mark.parametrize("header", ["br", "compress", "zstd", "gzip, br", "identity, snappy"])
def test_other_encodings_are_415_naming_them(header: str) -> None:
    with pytest.raises(UnsupportedMediaType, match="gzip, deflate, identity") as caught:
        read(BODY, header)
    assert repr(header.split(",")[-1].strip()) in caught.value.message
    assert caught.value.field == "content-encoding"


@pytest.mark.parametrize(
    ("body", "header"),
    [
        (b"not compressed at all", "gzip"),
        (gzip.compress(BODY)[:-20], "gzip"),
        (zlib.compress(BODY)[:-10], "deflate"),
        (zlib.compress(BODY) + b"junk", "deflate"),
        (b"\xff\xfe\xfd", "deflate"),
    ],
)
def test_corrupt_or_cut_off_streams_are_400(body: bytes, header: str) -> None:
    with pytest.raises(MalformedRequest, match=header):
        read(body, header)


def test_codings_lists_what_was_applied() -> None:
    assert codings(None) == [] and codings("") == []
    assert codings("GZip , identity,deflate") == ["gzip", "deflate"]
