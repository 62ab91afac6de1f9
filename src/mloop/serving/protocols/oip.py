"""The Open Inference Protocol v2 (KServe, MLServer, Triton): tensors in, tensors out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mloop import web
from mloop.errors import InvalidInput, MloopError
from mloop.modelio.frame import rows_from_columns, rows_from_lists
from mloop.modelio.outputs import Outputs, plain
from mloop.modelio.rows import Rows
from mloop.modelio.signature import ColumnSpec, Signature
from mloop.serving.protocols import Answer, Parsed, checked_unit_id
from mloop.serving.protocols.tensors import read_tensors

NUMPY_TO_OIP = {
    "b": "BOOL",
    "i": "INT64",
    "u": "UINT64",
    "f": "FP64",
    "U": "BYTES",
    "O": "BYTES",
    "S": "BYTES",
}
SIGNATURE_TO_OIP = {"number": "FP64", "integer": "INT64", "boolean": "BOOL"}


def parse_infer(payload: Any, signature: Signature, max_rows: int) -> Rows:
    """An inference request: one tensor per feature, or one [rows, features] tensor.

    Raises InvalidInput naming the tensor (see ``read_tensors``) or the feature at fault.
    """
    if not isinstance(payload, Mapping):
        raise InvalidInput("an inference request needs 'inputs', a list of tensors", field="inputs")
    tensors = read_tensors(payload.get("inputs"))
    if (
        len(tensors) == 1
        and len(tensors[0].shape) == 2
        and tensors[0].name not in signature.by_name
    ):
        rows, width = tensors[0].shape
        data = tensors[0].data
        matrix = [data[r * width : (r + 1) * width] for r in range(rows)]
        return rows_from_lists(None, matrix, signature, max_rows=max_rows)
    columns: dict[str, Sequence[Any]] = {}
    for tensor in tensors:
        if len(tensor.shape) == 2 and tensor.shape[1] != 1:
            raise InvalidInput(
                f"input {tensor.name!r}: a feature tensor has shape [rows] or [rows, 1]",
                field=tensor.name,
            )
        columns[tensor.name] = tensor.data
    return rows_from_columns(columns, signature, max_rows=max_rows)


def _output(name: str, values: np.ndarray) -> dict[str, Any]:
    return {
        "name": name,
        "datatype": NUMPY_TO_OIP.get(values.dtype.kind, "BYTES"),
        "shape": list(values.shape),
        "data": [plain(v) for v in values.reshape(-1).tolist()],
    }


def infer_response(
    payload: Mapping[str, Any], request_id: str, name: str, version: int, outputs: Outputs
) -> dict[str, Any]:
    """The inference response with 'predict' and, for classifiers, 'predict_proba' tensors."""
    tensors = [_output("predict", outputs.predictions)]
    if outputs.probabilities is not None:
        tensors.append(_output("predict_proba", outputs.probabilities))
    wanted = payload.get("outputs")
    if isinstance(wanted, list) and wanted:
        names = {o.get("name") for o in wanted if isinstance(o, Mapping)}
        tensors = [t for t in tensors if t["name"] in names]
    return {
        "model_name": name,
        "model_version": str(version),
        "id": str(payload.get("id") or request_id),
        "parameters": {"classes": list(outputs.classes)} if outputs.classes else {},
        "outputs": tensors,
    }


def prediction_datatype(estimator: Any) -> str:
    """The OIP datatype of an estimator's predictions: its classes' type, else FP64."""
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        return "FP64"
    return NUMPY_TO_OIP.get(np.asarray(classes).dtype.kind, "BYTES")


def model_metadata(
    name: str, version: int, inputs: Sequence[ColumnSpec], classifier: bool, predicts: str
) -> dict[str, Any]:
    """The model metadata response: name, versions, platform, input and output tensors;
    ``predicts`` is the datatype the ``predict`` output has in infer answers."""
    outputs = [{"name": "predict", "datatype": predicts, "shape": [-1]}]
    if classifier:
        outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, -1]})
    return {
        "name": name,
        "versions": [str(version)],
        "platform": "mloop-sklearn",
        "inputs": [
            {"name": spec.name, "datatype": SIGNATURE_TO_OIP.get(spec.kind, "BYTES"), "shape": [-1]}
            for spec in inputs
        ],
        "outputs": outputs,
    }


def unit_ids(payload: Mapping[str, Any], rows: int) -> list[str | None] | None:
    """``parameters.unit_id`` as the unit of every row of the request; None when not given.

    Raises InvalidInput when it is over the unit-id length limit.
    """
    parameters = payload.get("parameters")
    unit = parameters.get("unit_id") if isinstance(parameters, Mapping) else None
    if unit is None:
        return None
    return [checked_unit_id(str(unit), "parameters.unit_id")] * rows


class OipProtocol:
    """POST /v2/models/{name}[/versions/{version}]/infer: tensors in, tensors out."""

    name = "oip"
    content_types: tuple[str, ...] = (web.JSON_TYPE,)

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows

    def parse(self, kind: str, payload: Any, signature: Signature) -> Parsed:
        """The rows of the input tensors, with the request's unit id on each."""
        rows = parse_infer(payload, signature, self.max_rows)
        return Parsed(rows, unit_ids(payload, len(rows)))

    def respond(self, answer: Answer) -> dict[str, Any]:
        """The inference response (see ``infer_response``)."""
        return infer_response(
            answer.payload, answer.request_id, answer.model, answer.version, answer.outputs
        )

    def error_body(self, error: MloopError) -> dict[str, Any]:
        """``{"error", "code", "field"}``."""
        return web.error_body(error)
