"""Request and response shapes of the serving protocols; all build their rows in modelio.

Each protocol is an object with one small interface, ``WireProtocol``: the content types it reads,
``parse`` (a body to rows and unit ids), ``respond`` (an answer to a body) and ``error_body``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from mloop.errors import InvalidInput, MloopError
from mloop.modelio.outputs import Outputs
from mloop.modelio.rows import Rows
from mloop.modelio.signature import Signature

MAX_UNIT_ID_CHARS = 256
"""The longest unit id a request may carry (header, ``unit_ids`` or ``parameters.unit_id``)."""


def checked_unit_id(unit: str, field: str) -> str:
    """``unit`` itself; raises InvalidInput naming ``field`` when it is over the length limit."""
    if len(unit) > MAX_UNIT_ID_CHARS:
        raise InvalidInput(
            f"{field}: a unit id has at most {MAX_UNIT_ID_CHARS} characters, got {len(unit)}",
            field=field,
        )
    return unit


@dataclass(frozen=True)
class Parsed:
    """A request body read against a signature: the validated rows and, if given, unit ids."""

    rows: Rows
    unit_ids: list[str | None] | None = None


@dataclass(frozen=True)
class Answer:
    """What an answer is built from: the request, the model that answered and its outputs."""

    payload: Any
    request_id: str
    model: str
    version: int
    outputs: Outputs
    prediction_ids: list[str]


class WireProtocol(Protocol):
    """One serving protocol: how its bodies are read and its answers and errors written."""

    @property
    def name(self) -> str:
        """The protocol's label in metrics and logs (``plain``, ``mlflow``, ``oip``)."""

    @property
    def content_types(self) -> tuple[str, ...]:
        """The media types its request bodies may have; the first is the default."""

    def parse(self, kind: str, payload: Any, signature: Signature) -> Parsed:
        """The rows (and unit ids) of a body of media type ``kind``; raises InvalidInput."""

    def respond(self, answer: Answer) -> dict[str, Any]:
        """The JSON body of a successful answer."""

    def error_body(self, error: MloopError) -> dict[str, Any]:
        """The JSON body of an error answer, in the shape this protocol's clients read."""
