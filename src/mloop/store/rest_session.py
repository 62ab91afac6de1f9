"""One HTTP session to an mloop server: requests, error bodies turned into mloop errors.

Shared by the REST stores (``mloop.store.rest`` and ``mloop.store.rest_loop``).
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from mloop.errors import InvalidInput, MloopError, StoreUnavailable
from mloop.store.wire import decode, encode
from mloop.web import JSON_TYPE, error_from_body

API_PREFIX = "/api/v1"
SERVICE_NAME = "mloop"
T = TypeVar("T")


def part(text: str) -> str:
    """``text`` quoted to be one segment of a URL path."""
    return quote(text, safe="")


class RestSession:
    """One kept-alive HTTP connection pool to an mloop server, turning error bodies into errors."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=f"{self.url}{API_PREFIX}", headers=headers, timeout=timeout
        )

    def send(self, method: str, path: str, **options: Any) -> httpx.Response:
        """The server's answer to one request; raises the mloop error an error answer names.

        Raises StoreUnavailable when the server cannot be reached.
        """
        try:
            response = self._http.request(method, path, **options)
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"mloop server {self.url} did not answer: {exc}") from exc
        if response.status_code >= 400:
            raise error_from_body(response.status_code, _json_or_none(response), response.text)
        return response

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """The parsed JSON answer to a request with an optional JSON body and query params."""
        options: dict[str, Any] = {"params": {k: v for k, v in params.items() if v is not None}}
        if body is not None:
            options["json"] = encode(body)
        return self.send(method, path, **options).json()

    def check_server(self) -> None:
        """Return if the URL is an mloop server; InvalidInput naming ServingClient otherwise."""
        try:
            answer = self.send("GET", "/", headers={"accept": JSON_TYPE}).json()
        except StoreUnavailable:
            raise
        except (MloopError, ValueError) as exc:
            raise _not_a_server(self.url) from exc
        if not isinstance(answer, dict) or answer.get("service") != SERVICE_NAME:
            raise _not_a_server(self.url)

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _not_a_server(url: str) -> InvalidInput:
    return InvalidInput(
        f"{url} is not an mloop server (no {API_PREFIX} API answered there): start one with "
        f"`mloop server`. For a model server started by `mloop serve`, use "
        f"mloop.ServingClient({url!r})",
        field="store_url",
    )


def records(kind: type[T], items: Any) -> list[T]:
    """Each item of parsed JSON decoded as a ``kind`` record."""
    return [decode(kind, item) for item in items]
