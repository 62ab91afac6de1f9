"""The plain protocol: POST one record or a list of records to /predict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mloop import web
from mloop.errors import InvalidInput, MloopError
from mloop.modelio.frame import rows_from_records
from mloop.modelio.outputs import Outputs, plain
from mloop.modelio.rows import Rows
from mloop.modelio.signature import Signature
from mloop.serving.protocols import Answer, Parsed, checked_unit_id


def parse_plain(
    payload: Any, signature: Signature, max_rows: int
) -> tuple[Rows, list[str | None] | None]:
    """Records from a body that is a record, a list of records, or {records, unit_ids}.

    Raises InvalidInput naming the field: ``records`` that is not a list, ``unit_ids`` of the
    wrong length or over the unit-id length limit, or a feature (see ``rows_from_records``).
    """
    unit_ids: list[str | None] | None = None
    if isinstance(payload, Mapping) and _has_records(payload, signature):
        records = payload["records"]
        if not isinstance(records, list):
            raise InvalidInput("records must be a list of records (objects)", field="records")
        if "unit_ids" in payload:
            unit_ids = _unit_ids(payload["unit_ids"], len(records))
    elif isinstance(payload, Mapping):
        records = [payload]
    elif isinstance(payload, list):
        records = payload
    else:
        raise InvalidInput(
            "the request body must be a JSON object (one record) or a list of records", field="body"
        )
    return rows_from_records(records, signature, max_rows=max_rows), unit_ids


def _has_records(payload: Mapping[str, Any], signature: Signature) -> bool:
    """Whether the body is {records: ...} rather than one record (of a feature named records)."""
    return "records" in payload and "records" not in signature.by_name


def _unit_ids(values: Any, rows: int) -> list[str | None]:
    if not isinstance(values, Sequence) or isinstance(values, str) or len(values) != rows:
        raise InvalidInput(
            f"unit_ids must be a list of {rows} ids, one per record", field="unit_ids"
        )
    if not all(v is None or isinstance(v, str | int) for v in values):
        raise InvalidInput("unit_ids must be strings, numbers or null", field="unit_ids")
    return [
        None if v is None else checked_unit_id(str(v), f"unit_ids[{i}]")
        for i, v in enumerate(values)
    ]


def plain_response(
    request_id: str, name: str, version: int, outputs: Outputs, prediction_ids: Sequence[str]
) -> dict[str, Any]:
    """Predictions, class probabilities, model name and version, and the ids to send feedback to."""
    body: dict[str, Any] = {
        "request_id": request_id,
        "model": name,
        "version": version,
        "predictions": [plain(v) for v in outputs.predictions.tolist()],
        "prediction_ids": list(prediction_ids),
    }
    if outputs.probabilities is not None:
        body["classes"] = list(outputs.classes or ())
        body["probabilities"] = outputs.probabilities.tolist()
    return body


class PlainProtocol:
    """POST /predict: records in; predictions, probabilities and prediction ids out."""

    name = "plain"
    content_types: tuple[str, ...] = (web.JSON_TYPE,)

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows

    def parse(self, kind: str, payload: Any, signature: Signature) -> Parsed:
        """Records (and unit ids) from a JSON body; raises InvalidInput naming the field."""
        rows, unit_ids = parse_plain(payload, signature, self.max_rows)
        return Parsed(rows, unit_ids)

    def respond(self, answer: Answer) -> dict[str, Any]:
        """The plain answer body (see ``plain_response``)."""
        return plain_response(
            answer.request_id, answer.model, answer.version, answer.outputs, answer.prediction_ids
        )

    def error_body(self, error: MloopError) -> dict[str, Any]:
        """``{"error", "code", "field"}``."""
        return web.error_body(error)
