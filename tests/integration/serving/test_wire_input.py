"""What users send, over real HTTP: OIP tensors checked against their header, CSV typed like
JSON, compressed bodies, the documented error body on every route, prediction ids to feed back."""

from __future__ import annotations

import gzip
import json
import time
import zlib

import httpx
import pytest

from mloop.serving.app import MAX_PREDICTION_IDS_HEADER
from mloop.serving.protocols import MAX_UNIT_ID_CHARS

from .conftest import ChurnModels

CSV_TYPE = {"content-type": "text/csv"}


def _records(models: ChurnModels, rows: int) -> list[dict[str, object]]:
    records: list[dict[str, object]] = json.loads(
        models.features.head(rows).to_json(orient="records")
    )
    return records


def _error(answer: httpx.Response, status: int, field: str | None) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "code", "field"} and body["field"] == field, body
    return str(body["error"])


def _tensor(name: str, datatype: str, shape: list[int], data: object) -> dict[str, object]:
    return {"name": name, "datatype": datatype, "shape": shape, "data": data}


def _feature_tensors(models: ChurnModels) -> list[dict[str, object]]:
    row = _records(models, 1)[0]
    return [
        _tensor(name, "BYTES" if isinstance(value, str) else "FP64", [1], [value])
        for name, value in row.items()
    ]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda t: [*t, _tensor("credit_score", "FP64", [1], [1.0])], "given twice"),
        (lambda t: [_tensor("credit_score", "FP64", [2, 1], [[600.0], []]), *t[1:]], "has 0"),
        (lambda t: [_tensor("credit_score", "FP64", [1], [[600.0]]), *t[1:]], "is a list"),
        (lambda t: [_tensor("credit_score", "INT32", [1], [1.5]), *t[1:]], "fit INT32"),
        (lambda t: [_tensor("credit_score", "FP64", [1], ["600"]), *t[1:]], "fit FP64"),
        (lambda t: [_tensor("credit_score", "BOOL", [1], [1]), *t[1:]], "fit BOOL"),
    ],
)
def test_oip_tensors_that_break_their_header_are_422_naming_them(
    http: httpx.Client, churn_models: ChurnModels, change: object, words: str
) -> None:
    tensors = _feature_tensors(churn_models)
    tensors = [t for t in tensors if t["name"] == "credit_score"] + [
        t for t in tensors if t["name"] != "credit_score"
    ]
    assert http.post("/v2/models/churn/infer", json={"inputs": tensors}).status_code == 200
    answer = http.post("/v2/models/churn/infer", json={"inputs": change(tensors)})  # type: ignore[operator]
    assert words in _error(answer, 422, "credit_score")


def test_csv_answers_as_json_does_with_text_kept_as_text(
    http: httpx.Client, churn_models: ChurnModels
) -> None:
    frame = churn_models.features.head(4).copy()
    frame["geographic_region"] = ["NA", "null", "", "North"]
    frame["num_products"] = frame["num_products"].astype(str).radd("0")
    records = json.loads(frame.to_json(orient="records"))
    for record in records:
        record["num_products"] = int(record["num_products"])
    records[2]["geographic_region"] = None
    from_json = http.post("/invocations", json={"dataframe_records": records[:2]})
    from_csv = http.post(
        "/invocations", content=frame.head(2).to_csv(index=False), headers=CSV_TYPE
    )
    assert from_csv.status_code == 200, from_csv.text
    assert from_csv.json() == from_json.json()
    empty = http.post("/invocations", content=frame.to_csv(index=False), headers=CSV_TYPE)
    assert "null/NaN is not allowed (row 2)" in empty.json()["message"]
    assert empty.json()["field"] == "geographic_region"
    frame["credit_score"] = frame["credit_score"].astype(object)
    frame.loc[1, "credit_score"] = "7OO"
    bad = http.post("/invocations", content=frame.to_csv(index=False), headers=CSV_TYPE)
    assert bad.status_code == 422 and bad.json()["field"] == "credit_score"
    assert "'7OO' is not a number (row 1)" in bad.json()["message"]


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
@pytest.mark.parametrize("path", ["/predict", "/invocations", "/feedback"])
def test_compressed_bodies_are_read_and_bombs_are_413(
    http: httpx.Client, churn_models: ChurnModels, coding: str, path: str
) -> None:
    pack = gzip.compress if coding == "gzip" else zlib.compress
    records = _records(churn_models, 3)
    body = {
        "/predict": records,
        "/invocations": {"dataframe_records": records},
        "/feedback": {"labels": {"nobody": 1}},
    }[path]
    headers = {"content-type": "application/json", "content-encoding": coding}
    answer = http.post(path, content=pack(json.dumps(body).encode()), headers=headers)
    assert answer.status_code == 200, answer.text
    bomb = pack(b"[" + b" " * 20_000_000 + b"]")
    assert len(bomb) < 64 * 1024
    refused = http.post(path, content=bomb, headers=headers)
    assert refused.status_code == 413 and "decodes to over the limit" in refused.text


@pytest.mark.parametrize("coding", ["br", "zstd", "compress"])
def test_other_encodings_are_415_naming_them(http: httpx.Client, coding: str) -> None:
    headers = {"content-type": "application/json", "content-encoding": coding}
    answer = http.post("/predict", content=b"{}", headers=headers)
    assert repr(coding) in _error(answer, 415, "content-encoding")


def test_routes_and_methods_that_do_not_exist_use_the_error_body(http: httpx.Client) -> None:
    assert "/nope" in _error(http.get("/nope"), 404, "path")
    assert "/v2/models/churn/nope" in _error(http.post("/v2/models/churn/nope"), 404, "path")
    wrong = http.get("/predict")
    assert "use POST" in _error(wrong, 405, "method") and wrong.headers["allow"] == "POST"
    assert "GET" in _error(http.delete("/metrics"), 405, "method")
    mlflow = http.get("/invocations")
    assert mlflow.status_code == 405 and mlflow.json()["error_code"] == "BAD_REQUEST"
    assert "does not take GET" in mlflow.json()["message"]


@pytest.mark.parametrize("records", [5, "x", {"customer_age": 3}, None])
def test_records_must_be_a_list(http: httpx.Client, records: object) -> None:
    assert "must be a list" in _error(
        http.post("/predict", json={"records": records}), 422, "records"
    )


def test_unit_ids_are_length_limited_wherever_they_are_given(
    http: httpx.Client, churn_models: ChurnModels
) -> None:
    record = _records(churn_models, 1)[0]
    longest, over = "u" * MAX_UNIT_ID_CHARS, "u" * (MAX_UNIT_ID_CHARS + 1)
    assert http.post("/predict", json=record, headers={"x-unit-id": longest}).status_code == 200
    limit = f"at most {MAX_UNIT_ID_CHARS} characters"
    assert limit in _error(
        http.post("/predict", json=record, headers={"x-unit-id": over}), 422, "x-unit-id"
    )
    body = {"records": [record, record], "unit_ids": ["a", over]}
    assert limit in _error(http.post("/predict", json=body), 422, "unit_ids[1]")
    infer = {"inputs": _feature_tensors(churn_models), "parameters": {"unit_id": over}}
    assert limit in _error(
        http.post("/v2/models/churn/infer", json=infer), 422, "parameters.unit_id"
    )


def test_every_answer_carries_its_prediction_ids_for_feedback(
    http: httpx.Client, churn_models: ChurnModels
) -> None:
    records = _records(churn_models, 3)
    one = http.post(
        "/invocations", json={"dataframe_records": records[:1]}, headers={"x-request-id": "r1"}
    )
    assert one.headers["x-prediction-ids"] == "r1" and "predictions" in one.json()
    three = http.post(
        "/invocations", content=churn_models.features.head(3).to_csv(index=False), headers=CSV_TYPE
    )
    ids = three.headers["x-prediction-ids"].split(",")
    assert ids == [f"{three.headers['x-request-id']}-{i}" for i in range(3)]
    plain = http.post("/predict", json=records).json()
    oip = http.post("/v2/models/churn/infer", json={"inputs": _feature_tensors(churn_models)})
    assert oip.headers["x-prediction-ids"] == oip.headers["x-request-id"]
    many = http.post("/invocations", json={"dataframe_records": _records(churn_models, 100)})
    assert len(many.headers["x-prediction-ids"]) <= MAX_PREDICTION_IDS_HEADER
    labels = {pid: 1 for pid in [*ids, "r1", *plain["prediction_ids"]]}
    fed = http.post("/feedback", json={"labels": labels}).json()
    assert fed["accepted"] == 7 and fed["unknown"] == []


def test_the_unit_header_is_logged_on_every_row_and_long_request_ids_take_feedback(
    http: httpx.Client, churn_models: ChurnModels
) -> None:
    longest = "r" * 48
    headers = {"x-unit-id": "customer-7", "x-request-id": longest}
    answer = http.post("/predict", json=_records(churn_models, 3), headers=headers)
    ids = answer.headers["x-prediction-ids"].split(",")
    assert ids == [f"{longest}-{i}" for i in range(3)]
    fed = http.post("/feedback", json={"labels": {ids[2]: 1}})
    assert fed.status_code == 200 and fed.json()["accepted"] == 1
    shadow = http.post("/feedback", json={"labels": {f"{ids[0]}~shadow": 1}})
    assert f"send the label for '{ids[0]}'" in _error(shadow, 422, "prediction_id")
    records = _records(churn_models, 2)
    tensors = [
        _tensor(
            name, "BYTES" if isinstance(value, str) else "FP64", [2], [r[name] for r in records]
        )
        for name, value in records[0].items()
    ]
    infer = {"inputs": tensors, "parameters": {"unit_id": "customer-8"}}
    oip = http.post("/v2/models/churn/infer", json=infer)
    oip_ids = oip.headers["x-prediction-ids"].split(",")
    assert len(oip_ids) == 2
    deadline, columns = time.monotonic() + 10, ["prediction_id", "unit_id"]
    while True:
        frame = churn_models.client.prediction_log.read("churn", columns=columns)
        if len(frame) >= 5 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    logged = dict(zip(frame["prediction_id"], frame["unit_id"], strict=True))
    assert {pid: logged.get(pid) for pid in ids} == dict.fromkeys(ids, "customer-7")
    assert {pid: logged.get(pid) for pid in oip_ids} == dict.fromkeys(oip_ids, "customer-8")
