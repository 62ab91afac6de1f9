"""Bad input gets a clear 4xx naming the field, never a 500, and the server keeps serving."""

from __future__ import annotations

import json

import httpx
import pytest

from .conftest import ChurnModels


@pytest.fixture
def record(churn_models: ChurnModels) -> dict[str, object]:
    records: list[dict[str, object]] = json.loads(
        churn_models.features.head(1).to_json(orient="records")
    )
    return records[0]


def _changed(record: dict[str, object], **changes: object) -> dict[str, object]:
    return {**record, **changes}


def _assert_error(
    answer: httpx.Response, status: int, field: str | None = None
) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    body: dict[str, object] = answer.json()
    assert "Traceback" not in answer.text
    if field is not None:
        assert body["field"] == field, body
        assert field in str(body.get("error", body.get("message")))
    return body


def test_missing_feature(http: httpx.Client, record: dict[str, object]) -> None:
    incomplete = {k: v for k, v in record.items() if k != "credit_score"}
    _assert_error(http.post("/predict", json=incomplete), 422, "credit_score")


def test_unknown_extra_feature(http: httpx.Client, record: dict[str, object]) -> None:
    _assert_error(
        http.post("/predict", json=_changed(record, favourite_colour="red")),
        422,
        "favourite_colour",
    )


@pytest.mark.parametrize("value", ["abc", True, None, [1.0], {"v": 1}])
def test_wrong_type_for_a_number(
    http: httpx.Client, record: dict[str, object], value: object
) -> None:
    _assert_error(
        http.post("/predict", json=_changed(record, annual_income=value)), 422, "annual_income"
    )


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(
    http: httpx.Client, record: dict[str, object], token: str
) -> None:
    body = json.dumps(record).replace(
        f'"credit_score": {json.dumps(record["credit_score"])}', f'"credit_score": {token}'
    )
    assert token in body
    _assert_error(
        http.post("/predict", content=body, headers={"content-type": "application/json"}),
        422,
        "credit_score",
    )


def test_empty_batch_and_row_limit(http: httpx.Client, record: dict[str, object]) -> None:
    _assert_error(http.post("/predict", json=[]), 422)
    body = _assert_error(http.post("/predict", json=[record] * 101), 422)
    assert "100" in str(body["error"])
    _assert_error(http.post("/invocations", json={"dataframe_records": []}), 422)


def test_body_over_the_size_limit_is_413(http: httpx.Client, record: dict[str, object]) -> None:
    big = json.dumps([record] * 400).encode()
    assert len(big) > 64 * 1024
    _assert_error(
        http.post("/predict", content=big, headers={"content-type": "application/json"}), 413
    )

    def chunks() -> object:
        for _ in range(200):
            yield b" " * 1024

    streamed = http.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    _assert_error(streamed, 413)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_cross_site_content_types_are_415(
    http: httpx.Client, record: dict[str, object], content_type: str
) -> None:
    answer = http.post(
        "/predict", content=json.dumps(record), headers={"content-type": content_type}
    )
    _assert_error(answer, 415)
    _assert_error(
        http.post("/invocations", content=b"a,b\n1,2", headers={"content-type": content_type}), 415
    )


@pytest.mark.parametrize("body", [b"{not json", b"", b"[" * 5000 + b"]" * 5000, b'{"a": 1,}'])
def test_malformed_or_deeply_nested_json_is_400(http: httpx.Client, body: bytes) -> None:
    _assert_error(
        http.post("/predict", content=body, headers={"content-type": "application/json"}), 400
    )


def test_malformed_protocol_shapes(http: httpx.Client, record: dict[str, object]) -> None:
    _assert_error(http.post("/invocations", json={"something": []}), 422, "body")
    _assert_error(
        http.post("/invocations", json={"dataframe_split": {"columns": ["a"]}}),
        422,
        "dataframe_split",
    )
    bad_shape = {
        "inputs": [{"name": "credit_score", "shape": [2], "datatype": "FP64", "data": [1.0]}]
    }
    _assert_error(http.post("/v2/models/churn/infer", json=bad_shape), 422, "credit_score")
    _assert_error(http.post("/v2/models/churn/infer", json={"inputs": "x"}), 422, "inputs")
    _assert_error(http.post("/predict", json="just a string"), 422, "body")
    mlflow = http.post(
        "/invocations", json={"dataframe_records": [_changed(record, customer_age="old")]}
    )
    assert mlflow.status_code == 422
    assert mlflow.json()["field"] == "customer_age"
    assert "message" in mlflow.json()


def test_server_keeps_serving_after_bad_input(
    http: httpx.Client, record: dict[str, object]
) -> None:
    for body in (b"{", b"[]", b"[" * 3000):
        http.post("/predict", content=body, headers={"content-type": "application/json"})
    assert http.post("/predict", json=record).status_code == 200
