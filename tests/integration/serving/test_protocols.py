"""Each serving protocol over real HTTP answers what the model answers in-process."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import ChurnModels, LiveServer


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    records: list[dict[str, object]] = json.loads(frame.to_json(orient="records"))
    return records


def _expected(models: ChurnModels, rows: int) -> list[int]:
    return [int(v) for v in models.v1.predict(models.features.head(rows))]  # type: ignore[attr-defined]


def test_plain_predict_one_record_and_a_list(http: httpx.Client, churn_models: ChurnModels) -> None:
    records = _records(churn_models.features.head(5))
    one = http.post("/predict", json=records[0])
    assert one.status_code == 200
    body = one.json()
    assert body["model"] == "churn" and body["version"] == 1
    assert body["predictions"] == _expected(churn_models, 1)
    assert body["prediction_ids"] == [body["request_id"]]
    assert body["classes"] == [0, 1]
    proba = churn_models.v1.predict_proba(churn_models.features.head(1))  # type: ignore[attr-defined]
    assert np.allclose(body["probabilities"], proba)
    many = http.post("/predict", json=records).json()
    assert many["predictions"] == _expected(churn_models, 5)
    assert len(set(many["prediction_ids"])) == 5
    assert one.headers["x-model-version"] == "1"


def test_plain_predict_with_unit_ids(http: httpx.Client, churn_models: ChurnModels) -> None:
    records = _records(churn_models.features.head(2))
    answer = http.post("/predict", json={"records": records, "unit_ids": ["c-1", "c-2"]})
    assert answer.status_code == 200
    assert answer.json()["predictions"] == _expected(churn_models, 2)


def test_missing_content_type_is_read_as_json(
    http: httpx.Client, churn_models: ChurnModels
) -> None:
    body = json.dumps(_records(churn_models.features.head(1))).encode()
    answer = http.post("/predict", content=body, headers={"content-type": ""})
    assert answer.status_code == 200


def test_mlflow_formats(http: httpx.Client, churn_models: ChurnModels) -> None:
    head = churn_models.features.head(4)
    expected = {"predictions": _expected(churn_models, 4)}
    split = json.loads(head.to_json(orient="split", index=False))
    bodies = [
        {"dataframe_split": split},
        {"dataframe_records": _records(head)},
        {"instances": _records(head)},
        {"inputs": {c: json.loads(head[c].to_json(orient="values")) for c in head.columns}},
        {"dataframe_split": {"data": split["data"]}},
    ]
    for body in bodies:
        answer = http.post("/invocations", json=body)
        assert answer.status_code == 200, (body.keys(), answer.text)
        assert answer.json() == expected
    csv = http.post(
        "/invocations", content=head.to_csv(index=False), headers={"content-type": "text/csv"}
    )
    assert csv.status_code == 200, csv.text
    assert csv.json() == expected


def test_mlflow_health_routes(http: httpx.Client) -> None:
    assert http.get("/ping").status_code == 200
    assert http.get("/health").status_code == 200
    assert http.get("/version").text


def _tensors(frame: pd.DataFrame) -> list[dict[str, object]]:
    tensors = []
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind == "f":
            datatype = "FP64"
        elif values.dtype.kind in "iu":
            datatype = "INT64"
        else:
            datatype = "BYTES"
        tensors.append(
            {"name": column, "shape": [len(frame)], "datatype": datatype, "data": values.tolist()}
        )
    return tensors


def test_open_inference_protocol(http: httpx.Client, churn_models: ChurnModels) -> None:
    head = churn_models.features.head(3)
    for path in ("/v2/models/churn/infer", "/v2/models/churn/versions/1/infer"):
        answer = http.post(path, json={"id": "abc", "inputs": _tensors(head)})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (
            body["model_name"] == "churn" and body["model_version"] == "1" and body["id"] == "abc"
        )
        outputs = {o["name"]: o for o in body["outputs"]}
        assert outputs["predict"]["data"] == _expected(churn_models, 3)
        assert outputs["predict_proba"]["shape"] == [3, 2]
    only = http.post(
        "/v2/models/churn/infer", json={"inputs": _tensors(head), "outputs": [{"name": "predict"}]}
    )
    assert [o["name"] for o in only.json()["outputs"]] == ["predict"]


def test_open_inference_protocol_metadata_and_health(http: httpx.Client) -> None:
    assert http.get("/v2/health/live").json() == {"live": True}
    assert http.get("/v2/health/ready").json() == {"ready": True}
    assert http.get("/v2").json()["name"] == "mloop"
    metadata = http.get("/v2/models/churn").json()
    assert metadata["name"] == "churn" and metadata["versions"] == ["1"]
    assert {i["name"] for i in metadata["inputs"]} >= {"credit_score", "geographic_region"}
    assert http.get("/v2/models/churn/versions/1/ready").json() == {"name": "churn", "ready": True}
    missing = http.get("/v2/models/other")
    assert missing.status_code == 404 and "error" in missing.json()
    assert http.post("/v2/models/churn/versions/9/infer", json={"inputs": []}).status_code == 404


def test_metrics_count_requests_and_rows(http: httpx.Client, churn_models: ChurnModels) -> None:
    http.post("/predict", json=_records(churn_models.features.head(3)))
    http.post("/predict", json={"nope": 1})
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(http.get("/metrics").text)
        for s in family.samples
    }
    plain = {"protocol": "plain", "model": "churn", "version": "1"}
    assert samples[("mloop_requests_total", tuple(sorted({**plain, "status": "200"}.items())))] == 1
    assert samples[("mloop_requests_total", tuple(sorted({**plain, "status": "422"}.items())))] == 1
    assert samples[("mloop_predicted_rows_total", (("model", "churn"), ("version", "1")))] == 3
    names = {name for name, _ in samples}
    assert {"mloop_request_latency_seconds_bucket", "mloop_batch_rows_bucket"} <= names


def test_python_client_predicts_over_http(live: LiveServer, churn_models: ChurnModels) -> None:
    import mloop

    remote = mloop.ServingClient(live.url)
    answer = remote.predict(_records(churn_models.features.head(2)))
    assert answer["predictions"] == _expected(churn_models, 2)


def test_every_route_is_counted_once_and_echoes_the_request_id(
    http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="mloop.access"):
        missing = http.get("/nope", headers={"x-request-id": "trace-1"})
        wrong_method = http.get("/predict")
        feedback = http.post("/feedback", json={"labels": {"nobody": 1}})
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "trace-1"
    assert wrong_method.status_code == 405 and wrong_method.headers["x-request-id"]
    assert feedback.json() == {"accepted": 1, "pending": ["nobody"], "unknown": []}
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mloop.access"]
    assert [(line["path"], line["status"]) for line in lines] == [
        ("/nope", 404),
        ("/predict", 405),
        ("/feedback", 200),
    ]
    assert lines[0]["request_id"] == "trace-1"
    counted = {
        (s.labels["protocol"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(http.get("/metrics").text)
        for s in family.samples
        if s.name == "mloop_requests_total"
    }
    assert counted[("http", "404")] == 1 and counted[("http", "405")] == 1
    assert counted[("feedback", "200")] == 1
