"""Request bodies over the server's limit get a 413 with mloop's error body, whatever route."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx

from tests.integration.api.conftest import Mounted

LIMIT = 4096


def _run(http: httpx.Client) -> str:
    experiment = http.post("/experiments", json={"name": "e"}).json()["id"]
    created = http.post("/runs", json={"experiment_id": experiment, "name": "r", "user": "u"})
    return str(created.json()["id"])


def _chunked(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 1000):
        yield data[start : start + 1000]


def test_uploads_and_bodies_over_the_limit_get_413(mount: Mounted) -> None:
    with httpx.Client(base_url=f"{mount(max_body_bytes=LIMIT)}/api/v1", timeout=30) as http:
        run_id = _run(http)
        fits = http.put(f"/runs/{run_id}/artifacts/small.bin", content=b"x" * LIMIT)
        assert fits.status_code == 200 and fits.json()["size"] == LIMIT
        big = b"y" * (LIMIT + 1)
        too_big = http.put(f"/runs/{run_id}/artifacts/big.bin", content=big)
        assert too_big.status_code == 413
        assert too_big.json() == {
            "error": too_big.json()["error"],
            "code": "too_large",
            "field": "body",
        }
        assert str(LIMIT) in too_big.json()["error"]
        streamed = http.put(f"/blobs/{hashlib.sha256(big).hexdigest()}", content=_chunked(big))
        assert streamed.status_code == 413 and streamed.json()["code"] == "too_large"
        points = [{"key": "m", "value": 1.0, "step": s, "timestamp": 1.0} for s in range(200)]
        batch = http.post(f"/runs/{run_id}/batch", json={"metrics": points})
        assert batch.status_code == 413 and batch.headers["x-content-type-options"] == "nosniff"
        names = [ref["path"] for ref in http.get(f"/runs/{run_id}/artifacts").json()]
        assert names == ["small.bin"]
        assert http.get(f"/runs/{run_id}/metric-history", params={"key": "m"}).json()["total"] == 0
