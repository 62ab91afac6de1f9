"""Input tensors of the Open Inference Protocol, each checked against its own header.

A tensor's ``data`` is either flat (row-major, as many values as ``shape`` holds) or nested
exactly as ``shape`` says; every value must fit ``datatype``. ``null`` marks a missing value in
any datatype (the model's signature then says whether the feature may be missing).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mloop.errors import InvalidInput

MAX_RANK = 2
_INTEGERS = {
    name: np.iinfo(dtype)
    for name, dtype in (
        ("UINT8", np.uint8),
        ("UINT16", np.uint16),
        ("UINT32", np.uint32),
        ("UINT64", np.uint64),
        ("INT8", np.int8),
        ("INT16", np.int16),
        ("INT32", np.int32),
        ("INT64", np.int64),
    )
}
_FLOAT_LIMITS = {
    "FP16": float(np.finfo(np.float16).max),
    "FP32": float(np.finfo(np.float32).max),
    "FP64": math.inf,
}


@dataclass(frozen=True)
class Tensor:
    """One input tensor: its name, shape, datatype and data, flat in row-major order."""

    name: str
    shape: tuple[int, ...]
    datatype: str
    data: list[Any]


def read_tensors(inputs: Any) -> list[Tensor]:
    """The request's ``inputs``, each checked against its header; names must be unique.

    Raises InvalidInput naming the tensor: a name given twice, a bad shape or datatype, data
    whose nesting or length does not match the shape, a value that does not fit the datatype.
    """
    if not isinstance(inputs, list):
        raise InvalidInput("an inference request needs 'inputs', a list of tensors", field="inputs")
    tensors: dict[str, Tensor] = {}
    for index, spec in enumerate(inputs):
        tensor = read_tensor(spec, index)
        if tensor.name in tensors:
            raise InvalidInput(
                f"input {tensor.name!r} is given twice (inputs[{index}])", field=tensor.name
            )
        tensors[tensor.name] = tensor
    return list(tensors.values())


def read_tensor(spec: Any, index: int) -> Tensor:
    """``inputs[index]`` as a Tensor; raises InvalidInput naming it."""
    if not isinstance(spec, Mapping):
        raise InvalidInput(f"inputs[{index}] must be an object", field=f"inputs[{index}]")
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"inputs[{index}] needs a name", field=f"inputs[{index}].name")
    shape = _shape(spec.get("shape"), name)
    datatype = spec.get("datatype")
    check = _CHECKS.get(datatype) if isinstance(datatype, str) else None
    if check is None:
        known = ", ".join(_CHECKS)
        raise InvalidInput(
            f"input {name!r}: unknown datatype {datatype!r}; expected one of {known}", field=name
        )
    data = _flat(spec.get("data"), shape, name)
    return Tensor(name, shape, str(datatype), [check(name, i, v) for i, v in enumerate(data)])


def _shape(shape: Any, name: str) -> tuple[int, ...]:
    sizes = isinstance(shape, list) and all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    )
    if not sizes or not 1 <= len(shape) <= MAX_RANK:
        raise InvalidInput(
            f"input {name!r}: shape must be [rows] or [rows, columns], got {shape!r}", field=name
        )
    return tuple(shape)


def _flat(data: Any, shape: tuple[int, ...], name: str) -> list[Any]:
    """The values of ``data``, flat: it is flat already or nested exactly as ``shape``."""
    if not isinstance(data, list):
        raise InvalidInput(f"input {name!r}: data must be a list", field=name)
    if any(isinstance(item, list) for item in data):
        return _nested(data, shape, name, "data")
    if len(data) != math.prod(shape):
        raise InvalidInput(
            f"input {name!r}: shape {list(shape)} holds {math.prod(shape)} values, "
            f"data has {len(data)}",
            field=name,
        )
    return data


def _nested(data: Any, shape: Sequence[int], name: str, where: str) -> list[Any]:
    if not isinstance(data, list) or len(data) != shape[0]:
        found = f"{len(data)} items" if isinstance(data, list) else f"a single value {data!r}"
        raise InvalidInput(
            f"input {name!r}: {where} has {found}; shape needs a list of {shape[0]} here",
            field=name,
        )
    if len(shape) == 1:
        deeper = next((i for i, item in enumerate(data) if isinstance(item, list)), None)
        if deeper is not None:
            raise InvalidInput(
                f"input {name!r}: {where}[{deeper}] is a list; the shape has no dimension left",
                field=name,
            )
        return data
    return [
        value
        for i, item in enumerate(data)
        for value in _nested(item, shape[1:], name, f"{where}[{i}]")
    ]


def _misfit(name: str, index: int, value: Any, datatype: str, why: str = "") -> InvalidInput:
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return InvalidInput(
        f"input {name!r}: data[{index}] = {shown} does not fit {datatype}{why}", field=name
    )


def _boolean(name: str, index: int, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    raise _misfit(name, index, value, "BOOL", " (true or false)")


def _bytes(name: str, index: int, value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    raise _misfit(name, index, value, "BYTES", " (a string)")


def _integer(datatype: str) -> Callable[[str, int, Any], Any]:
    limits = _INTEGERS[datatype]

    def check(name: str, index: int, value: Any) -> Any:
        if value is None:
            return None
        integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not integral:
            raise _misfit(name, index, value, datatype, " (an integer)")
        if not limits.min <= value <= limits.max:
            raise _misfit(name, index, value, datatype, f" ({limits.min} to {limits.max})")
        return int(value)

    return check


def _floating(datatype: str) -> Callable[[str, int, Any], Any]:
    limit = _FLOAT_LIMITS[datatype]
    bound = min(limit, sys.float_info.max)

    def check(name: str, index: int, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _misfit(name, index, value, datatype, " (a number)")
        if bound < abs(value) != math.inf:
            raise _misfit(name, index, value, datatype, f" (at most {limit:g} in size)")
        return float(value)

    return check


_CHECKS: dict[str, Callable[[str, int, Any], Any]] = {
    "BOOL": _boolean,
    **{datatype: _integer(datatype) for datatype in _INTEGERS},
    **{datatype: _floating(datatype) for datatype in _FLOAT_LIMITS},
    "BYTES": _bytes,
}
