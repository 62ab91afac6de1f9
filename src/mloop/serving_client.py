"""``mloop.ServingClient``: predictions, feedback and health of a model server (`mloop serve`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from mloop.config import load_settings
from mloop.entities import FeedbackResult
from mloop.errors import InvalidInput, MloopError, StoreUnavailable
from mloop.web import error_from_body, json_bytes

UNIT_ID_HEADER = "x-unit-id"

if TYPE_CHECKING:
    import pandas as pd


class ServingClient:
    """Talks to the model server at ``url``; HTTP errors come back as mloop exceptions.

    ``token`` (default: ``MLOOP_TOKEN``) is sent as a bearer token, as the server needs for writes
    when it has one.
    """

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        token = token if token is not None else load_settings().token
        headers = {"authorization": f"Bearer {token}"} if token else {}
        headers["content-type"] = "application/json"
        self.url = _server_url(url)
        self._http = httpx.Client(base_url=self.url, timeout=timeout, headers=headers)

    def _post(self, path: str, body: Any, headers: Mapping[str, str] | None = None) -> Any:
        try:
            response = self._http.post(path, content=json_bytes(body), headers=headers)
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"model server {self.url} did not answer: {exc}") from exc
        if response.status_code >= 400:
            raise _error(response)
        return response.json()

    def predict(
        self,
        records: Sequence[Mapping[str, Any]] | Mapping[str, Any] | pd.DataFrame,
        unit_ids: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Predictions for one record, a list of records or a DataFrame's rows.

        Returns the server's answer: ``predictions``, ``probabilities`` for a classifier, the
        model name and version, and ``prediction_ids`` to send feedback to. Missing values
        (None, NaN) are sent as JSON null. A single unit id also goes in ``x-unit-id``, so a
        rollout routes the request by it (a request with several rows takes one arm). Raises
        InvalidInput (naming the field) for records the model cannot take, StoreUnavailable
        when the server does not answer.
        """
        body: Any = records
        headers: dict[str, str] = {}
        if hasattr(records, "to_dict") and not isinstance(records, Mapping):
            body = records.to_dict(orient="records")
        if unit_ids is not None:
            rows = [body] if isinstance(body, Mapping) else list(body)
            body = {"records": rows, "unit_ids": list(unit_ids)}
            if len(unit_ids) == 1:
                headers[UNIT_ID_HEADER] = str(unit_ids[0])
        result: dict[str, Any] = self._post("/predict", body, headers)
        return result

    def feedback(self, labels: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> FeedbackResult:
        """Attach ground-truth labels to prediction ids: ``{id: label}`` or a list of
        ``{"prediction_id": id, "label": label}``.

        Returns how many labels were stored, the ids whose predictions are not logged yet
        (``pending``) and those still unknown after the flush interval. Raises InvalidInput for
        a bad id or label, Unauthorized without the server's token.
        """
        answer = self._post("/feedback", {"labels": _labels(labels)})
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


def _server_url(url: object) -> str:
    """``url`` without a trailing slash if it is an http(s) URL with a host; InvalidInput else."""
    parsed = httpx.URL(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInput(
            f"model server URL {url!r} must look like http://HOST:PORT (where `mloop serve` runs)",
            field="url",
        )
    return str(url).rstrip("/")


def _labels(labels: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if isinstance(labels, Mapping):
        return dict(labels)
    found: dict[str, Any] = {}
    for index, item in enumerate(labels if isinstance(labels, Sequence) else ()):
        if not isinstance(item, Mapping) or "prediction_id" not in item or "label" not in item:
            raise InvalidInput(
                f"feedback[{index}] needs 'prediction_id' and 'label'", field=f"labels[{index}]"
            )
        found[str(item["prediction_id"])] = item["label"]
    if not found and not isinstance(labels, Sequence):
        raise InvalidInput("labels must map prediction ids to labels", field="labels")
    return found
