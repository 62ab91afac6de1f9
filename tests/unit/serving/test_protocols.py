"""Each protocol object reads its bodies into a validated frame and writes its answers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mloop.errors import InvalidInput, MalformedRequest, MloopError, NotFound
from mloop.modelio.outputs import Outputs
from mloop.modelio.signature import Signature
from mloop.serving.protocols import Answer, WireProtocol
from mloop.serving.protocols.mlflow import MlflowProtocol
from mloop.serving.protocols.oip import OipProtocol
from mloop.serving.protocols.plain import PlainProtocol

JSON = "application/json"
RECORD = {"age": 30, "score": 0.5, "plan": "pro"}
OUTPUTS = Outputs(np.array([1, 0]), np.array([[0.2, 0.8], [0.9, 0.1]]), [0, 1])


def answer(payload: Any = None) -> Answer:
    return Answer(payload or {}, "req-1", "churn", 3, OUTPUTS, ["req-1-0", "req-1-1"])


def test_plain_reads_records_with_unit_ids_and_answers_with_ids(signature: Signature) -> None:
    plain = PlainProtocol(max_rows=10)
    parsed = plain.parse(JSON, {"records": [RECORD, RECORD], "unit_ids": ["u1", 7]}, signature)
    assert list(parsed.rows.frame.columns) == ["age", "score", "plan"]
    assert len(parsed.rows.frame) == 2 and parsed.unit_ids == ["u1", "7"]
    assert plain.parse(JSON, RECORD, signature).unit_ids is None
    body = plain.respond(answer())
    assert body["predictions"] == [1, 0] and body["prediction_ids"] == ["req-1-0", "req-1-1"]
    assert body["model"] == "churn" and body["version"] == 3
    assert body["probabilities"] == [[0.2, 0.8], [0.9, 0.1]] and body["classes"] == [0, 1]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ("text", "body"),
        ({"records": [RECORD], "unit_ids": ["a", "b"]}, "unit_ids"),
        ({**RECORD, "age": "old"}, "age"),
        ({"age": 30, "score": 0.5}, "plan"),
    ],
)
def test_plain_bad_bodies_name_the_field(signature: Signature, payload: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        PlainProtocol(max_rows=10).parse(JSON, payload, signature)
    assert caught.value.field == field


def test_plain_refuses_more_rows_than_the_limit(signature: Signature) -> None:
    with pytest.raises(InvalidInput, match="limit of 2"):
        PlainProtocol(max_rows=2).parse(JSON, [RECORD] * 3, signature)


def test_mlflow_reads_each_json_format_and_csv(signature: Signature) -> None:
    mlflow = MlflowProtocol(max_rows=10)
    bodies = [
        {"dataframe_split": {"columns": ["age", "score", "plan"], "data": [[30, 0.5, "pro"]]}},
        {"dataframe_records": [RECORD]},
        {"instances": [[30, 0.5, "pro"]]},
        {"inputs": {"age": [30], "score": [0.5], "plan": ["pro"]}},
    ]
    frames = [mlflow.parse(JSON, body, signature).rows.frame for body in bodies]
    frames.append(mlflow.parse("text/csv", b"age,score,plan\n30,0.5,pro\n", signature).rows.frame)
    for frame in frames:
        assert frame.to_dict("records") == [RECORD]
    assert mlflow.respond(answer()) == {"predictions": [1, 0]}
    assert mlflow.content_types == ("application/json", "text/csv")


def test_mlflow_bad_bodies(signature: Signature) -> None:
    mlflow = MlflowProtocol(max_rows=10)
    with pytest.raises(InvalidInput, match="exactly one of"):
        mlflow.parse(JSON, {"dataframe_records": [RECORD], "instances": []}, signature)
    with pytest.raises(InvalidInput) as caught:
        mlflow.parse(JSON, {"dataframe_split": {"columns": "age", "data": []}}, signature)
    assert caught.value.field == "dataframe_split.columns"
    with pytest.raises(MalformedRequest):
        mlflow.parse("text/csv", b"\xff\xfe\x00", signature)


def test_mlflow_errors_have_mlflow_codes() -> None:
    mlflow = MlflowProtocol(max_rows=10)
    bad = mlflow.error_body(InvalidInput("bad age", field="age"))
    assert bad == {"error_code": "INVALID_PARAMETER_VALUE", "message": "bad age", "field": "age"}
    assert mlflow.error_body(NotFound("gone"))["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    internal = mlflow.error_body(MloopError("secret detail"))
    assert internal["error_code"] == "INTERNAL_ERROR" and "secret" not in internal["message"]


def test_oip_reads_feature_tensors_and_a_matrix(signature: Signature) -> None:
    oip = OipProtocol(max_rows=10)
    tensors = [
        {"name": "age", "shape": [1], "datatype": "INT64", "data": [30]},
        {"name": "score", "shape": [1, 1], "datatype": "FP64", "data": [[0.5]]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
    ]
    parsed = oip.parse(JSON, {"inputs": tensors, "parameters": {"unit_id": 42}}, signature)
    assert parsed.rows.frame.to_dict("records") == [RECORD] and parsed.unit_ids == ["42"]
    mixed = {"name": "x", "shape": [1, 3], "datatype": "BYTES", "data": [30, 0.5, "pro"]}
    with pytest.raises(InvalidInput, match="does not fit BYTES") as caught:
        oip.parse(JSON, {"inputs": [mixed]}, signature)
    assert caught.value.field == "x"


@pytest.mark.parametrize("data", [[30, 0.5, 40, 1.5], [[30, 0.5], [40, 1.5]]])
def test_oip_reads_a_matrix_of_one_datatype_flat_or_nested(data: list[Any]) -> None:
    numeric = Signature.from_dict(
        {"inputs": [{"name": "age", "kind": "number"}, {"name": "score", "kind": "number"}]}
    )
    matrix = {"name": "x", "shape": [2, 2], "datatype": "FP32", "data": data}
    frame = OipProtocol(max_rows=10).parse(JSON, {"inputs": [matrix]}, numeric).rows.frame
    assert frame.to_dict("records") == [{"age": 30, "score": 0.5}, {"age": 40, "score": 1.5}]


def test_oip_answers_tensors_and_keeps_the_request_id() -> None:
    body = OipProtocol(max_rows=10).respond(
        answer({"id": "mine", "outputs": [{"name": "predict"}]})
    )
    assert body["id"] == "mine" and body["model_version"] == "3"
    assert body["outputs"] == [
        {"name": "predict", "datatype": "INT64", "shape": [2], "data": [1, 0]}
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "inputs"),
        ({"inputs": [{"shape": [1], "datatype": "FP64", "data": [1]}]}, "inputs[0].name"),
        ({"inputs": [{"name": "age", "shape": [2], "datatype": "INT64", "data": [1]}]}, "age"),
        ({"inputs": [{"name": "age", "shape": [1], "datatype": "INT3", "data": [1]}]}, "age"),
    ],
)
def test_oip_bad_tensors_name_the_input(signature: Signature, payload: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        OipProtocol(max_rows=10).parse(JSON, payload, signature)
    assert caught.value.field == field


@pytest.mark.parametrize("protocol", [PlainProtocol(10), OipProtocol(10)])
def test_plain_and_oip_errors_share_mloops_body(protocol: WireProtocol) -> None:
    body = protocol.error_body(InvalidInput("bad age", field="age"))
    assert body == {"error": "bad age", "code": "invalid_input", "field": "age"}
