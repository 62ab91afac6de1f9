"""OIP input tensors are checked against their own header: name, shape, datatype."""

from __future__ import annotations

from typing import Any

import pytest

from mloop.errors import InvalidInput
from mloop.serving.protocols.tensors import Tensor, read_tensors


def tensor(data: Any, shape: list[int], datatype: str = "FP64", name: str = "t") -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def refused(*inputs: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        read_tensors(list(inputs))
    return caught.value


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (tensor([1, 2.5], [2]), Tensor("t", (2,), "FP64", [1.0, 2.5])),
        (tensor([[1], [2]], [2, 1], "INT32"), Tensor("t", (2, 1), "INT32", [1, 2])),
        (
            tensor([[1, 2, 3], [4, 5, 6]], [2, 3], "UINT8"),
            Tensor("t", (2, 3), "UINT8", [*range(1, 7)]),
        ),
        (tensor([1, 2, 3, 4], [2, 2], "INT64"), Tensor("t", (2, 2), "INT64", [1, 2, 3, 4])),
        (tensor([True, None], [2], "BOOL"), Tensor("t", (2,), "BOOL", [True, None])),
        (tensor(["a", "b"], [2], "BYTES"), Tensor("t", (2,), "BYTES", ["a", "b"])),
        (tensor([3.0, -128], [2], "INT8"), Tensor("t", (2,), "INT8", [3, -128])),
        (tensor([65504, None], [2], "FP16"), Tensor("t", (2,), "FP16", [65504.0, None])),
        (tensor([], [0], "FP32"), Tensor("t", (0,), "FP32", [])),
    ],
)
def test_tensors_that_match_their_header_are_read_flat(given: Any, expected: Tensor) -> None:
    assert read_tensors([given]) == [expected]


def test_non_finite_floats_are_left_to_the_signature() -> None:
    data = read_tensors([tensor([float("nan"), float("inf")], [2], "FP32")])[0].data
    assert data[0] != data[0] and data[1] == float("inf")


def test_a_name_given_twice_is_refused_naming_it() -> None:
    error = refused(tensor([1], [1], name="age"), tensor([2], [1], name="age"))
    assert error.field == "age" and "twice" in error.message


@pytest.mark.parametrize(
    ("data", "shape", "words"),
    [
        ([1, 2, 3], [2], "holds 2 values, data has 3"),
        ([1, 2, 3], [2, 2], "holds 4 values, data has 3"),
        ([[1, 2], [3]], [2, 2], "data[1] has 1 items"),
        ([[1, 2], 3], [2, 2], "data[1] has a single value 3"),
        ([[1, 2], [3, 4], [5, 6]], [2, 2], "data has 3 items"),
        ([[1], [2]], [2], "data[0] is a list"),
        ([[[1]], [[2]]], [2, 1], "data[0][0] is a list"),
        ([1], [1, 1, 1], "shape must be"),
        ([1], [-1], "shape must be"),
        ([1], [], "shape must be"),
        ([1], [True], "shape must be"),
        ("1", [1], "data must be a list"),
    ],
)
def test_data_must_match_the_shape(data: Any, shape: list[int], words: str) -> None:
    error = refused(tensor(data, shape, name="score"))
    assert error.field == "score" and words in error.message


@pytest.mark.parametrize(
    ("datatype", "value"),
    [
        ("INT32", 1.5),
        ("INT32", 2**31),
        ("INT8", -129),
        ("UINT8", -1),
        ("UINT64", 2**64),
        ("INT64", True),
        ("INT64", "3"),
        ("FP64", "abc"),
        ("FP64", False),
        ("FP64", 10**400),
        ("FP32", 1e39),
        ("FP16", 70000),
        ("BOOL", 1),
        ("BOOL", "true"),
        ("BYTES", 3),
        ("BYTES", {"a": 1}),
    ],
)
def test_values_must_fit_the_datatype(datatype: str, value: Any) -> None:
    fitting = {"BYTES": "x", "BOOL": True}.get(datatype, 0)
    error = refused(tensor([fitting, value], [2], datatype, "age"))
    assert error.field == "age"
    assert (
        f"data[1] = {value!r}"[:30] in error.message and f"does not fit {datatype}" in error.message
    )


@pytest.mark.parametrize("datatype", ["INT3", "FLOAT", None, 5])
def test_an_unknown_datatype_is_refused(datatype: Any) -> None:
    error = refused(tensor([1], [1], datatype))
    assert error.field == "t" and "unknown datatype" in error.message


@pytest.mark.parametrize(
    ("inputs", "field"),
    [("x", "inputs"), ([5], "inputs[0]"), ([{"shape": [1]}], "inputs[0].name")],
)
def test_the_request_shape_is_checked(inputs: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_tensors(inputs)
    assert caught.value.field == field
