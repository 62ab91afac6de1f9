"""The JSON shape of mloop's records on the wire, shared by ``mloop server`` and the REST store.

A record (a dataclass of ``mloop.entities``) travels as a JSON object of its fields, enums as
their values and tuples as arrays; ``decode`` turns such an object back into the record,
checking every field's type.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from mloop.errors import InvalidInput

T = TypeVar("T")


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(kind: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def encode(value: Any) -> Any:
    """``value`` (a record, a list of them, or plain data) as JSON-ready dicts, lists, scalars."""
    return _adapter(type(value)).dump_python(value, mode="json", warnings=False)


def decode(kind: type[T], data: Any) -> T:
    """The record of type ``kind`` that ``data`` (parsed JSON) describes.

    Raises InvalidInput naming the first field that is missing or of the wrong type.
    """
    try:
        found: T = _adapter(kind).validate_python(data)
        return found
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or kind.__name__
        raise InvalidInput(f"{kind.__name__}.{where}: {error['msg']}", field=where) from exc
