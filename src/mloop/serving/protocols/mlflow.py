"""MLflow's scoring protocol: /invocations with dataframe_split, dataframe_records, instances,
inputs (JSON) or CSV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mloop import web
from mloop.errors import InvalidInput, MloopError
from mloop.modelio.frame import rows_from_columns, rows_from_lists, rows_from_records
from mloop.modelio.outputs import Outputs, plain
from mloop.modelio.rows import Rows
from mloop.modelio.signature import Signature
from mloop.modelio.text import csv_columns, typed_columns
from mloop.serving.protocols import Answer, Parsed

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
CSV_TYPE = "text/csv"
ERROR_CODES = {
    400: "BAD_REQUEST",
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "BAD_REQUEST",
    413: "BAD_REQUEST",
}


def parse_csv(body: bytes, signature: Signature, max_rows: int) -> Rows:
    """A CSV body with a header row, its cells converted by the signature like JSON values.

    Raises MalformedRequest for a body that is not CSV, InvalidInput naming the feature, row and
    text of a cell that does not convert (see ``mloop.modelio.text``).
    """
    columns = typed_columns(csv_columns(body), signature)
    return rows_from_columns(columns, signature, max_rows=max_rows)


def parse_mlflow(payload: Any, signature: Signature, max_rows: int) -> Rows:
    """The rows of a JSON body with exactly one of MLflow's input formats; raises InvalidInput
    naming the format or feature at fault."""
    if not isinstance(payload, Mapping):
        raise InvalidInput(
            f"the request body must be a JSON object with one of {', '.join(FORMATS)}", field="body"
        )
    present = [key for key in FORMATS if key in payload]
    if len(present) != 1:
        raise InvalidInput(
            f"the request body needs exactly one of {', '.join(FORMATS)}; got {present or 'none'}",
            field="body",
        )
    key = present[0]
    value = payload[key]
    if key == "dataframe_split":
        return _split(value, signature, max_rows)
    if isinstance(value, Mapping) and key == "inputs":
        return rows_from_columns(value, signature, max_rows=max_rows)
    if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
        return rows_from_lists(None, value, signature, max_rows=max_rows)
    if isinstance(value, list):
        return rows_from_records(value, signature, max_rows=max_rows)
    raise InvalidInput(f"{key} must be a list of records", field=key)


def _split(value: Any, signature: Signature, max_rows: int) -> Rows:
    if not isinstance(value, Mapping) or not isinstance(value.get("data"), list):
        raise InvalidInput(
            "dataframe_split needs 'columns' and 'data' (a list of rows)", field="dataframe_split"
        )
    columns = value.get("columns")
    if columns is not None and not (
        isinstance(columns, list) and all(isinstance(c, str) for c in columns)
    ):
        raise InvalidInput(
            "dataframe_split.columns must be a list of names", field="dataframe_split.columns"
        )
    return rows_from_lists(columns, value["data"], signature, max_rows=max_rows)


def mlflow_response(outputs: Outputs) -> dict[str, Any]:
    """MLflow's answer shape: {"predictions": [...]}."""
    return {"predictions": [plain(v) for v in outputs.predictions.tolist()]}


class MlflowProtocol:
    """POST /invocations: MLflow's JSON formats or CSV in, ``{"predictions": [...]}`` out."""

    name = "mlflow"
    content_types: tuple[str, ...] = (web.JSON_TYPE, CSV_TYPE)

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows

    def parse(self, kind: str, payload: Any, signature: Signature) -> Parsed:
        """The rows of a CSV (bytes) or JSON body; raises InvalidInput or MalformedRequest."""
        if kind == CSV_TYPE:
            return Parsed(parse_csv(payload, signature, self.max_rows))
        return Parsed(parse_mlflow(payload, signature, self.max_rows))

    def respond(self, answer: Answer) -> dict[str, Any]:
        """MLflow's answer shape."""
        return mlflow_response(answer.outputs)

    def error_body(self, error: MloopError) -> dict[str, Any]:
        """MLflow's error shape: ``{"error_code", "message", "field"}``."""
        status = web.http_status(error)
        fallback = "INVALID_PARAMETER_VALUE" if status < web.INTERNAL else "INTERNAL_ERROR"
        code = ERROR_CODES.get(status, fallback)
        return {"error_code": code, "message": web.public_message(error), "field": error.field}
