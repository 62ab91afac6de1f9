"""``mloop.ServingClient``: predictions, feedback and health of a model server (`mloop serve`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from mloop.config import load_settings
from mloop.entities import FeedbackResult
from mloop.errors import MloopError, StoreUnavailable
from mloop.web import error_from_body


class ServingClient:
    """Talks to the model server at ``url``; HTTP errors come back as mloop exceptions.

    ``token`` (default: ``MLOOP_TOKEN``) is sent as a bearer token, as the server needs for writes
    when it has one.
    """

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        token = token if token is not None else load_settings().token
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout, headers=headers)

    def _post(self, path: str, body: Any) -> Any:
        try:
            response = self._http.post(path, json=body)
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"model server {self.url} did not answer: {exc}") from exc
        if response.status_code >= 400:
            raise _error(response)
        return response.json()

    def predict(
        self,
        records: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        unit_ids: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Predictions for one record or a list of records, with model name, version and ids."""
        body: Any = records
        if unit_ids is not None:
            body = {
                "records": list(records) if not isinstance(records, Mapping) else [records],
                "unit_ids": list(unit_ids),
            }
        result: dict[str, Any] = self._post("/predict", body)
        return result

    def feedback(self, labels: Mapping[str, Any]) -> FeedbackResult:
        """Attach ground-truth labels to prediction ids; returns accepted count and unknown ids.

        Raises InvalidInput for a bad id or label, Unauthorized without the server's token.
        """
        answer = self._post("/feedback", {"labels": dict(labels)})
        return FeedbackResult(
            int(answer["accepted"]), list(answer["unknown"]), list(answer.get("pending", []))
        )

    def ready(self) -> bool:
        """Whether the server answers and has a model loaded (False when unreachable)."""
        try:
            return self._http.get("/v2/health/ready").status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()


def _error(response: httpx.Response) -> MloopError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return error_from_body(response.status_code, body, response.text)
