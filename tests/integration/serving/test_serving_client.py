"""`mloop.ServingClient` against a real server: what users hand it, and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest

import mloop
from mloop.errors import InvalidInput

from .conftest import ChurnModels, LiveServer


def _expected(models: ChurnModels, rows: int) -> list[int]:
    return [int(v) for v in models.v1.predict(models.features.head(rows))]  # type: ignore[attr-defined]


def test_a_dataframe_and_numpy_values_are_sent_as_json(
    live: LiveServer, churn_models: ChurnModels
) -> None:
    remote = mloop.ServingClient(live.url)
    frame = churn_models.features.head(3)
    assert remote.predict(frame)["predictions"] == _expected(churn_models, 3)
    record = {key: np.asarray(value).item() for key, value in frame.iloc[0].items()}
    numpy_record = {k: np.float64(v) if isinstance(v, float) else v for k, v in record.items()}
    assert remote.predict(numpy_record)["predictions"] == _expected(churn_models, 1)


def test_a_missing_value_comes_back_as_a_422_naming_the_feature(
    live: LiveServer, churn_models: ChurnModels
) -> None:
    remote = mloop.ServingClient(live.url)
    numeric = churn_models.features.select_dtypes("number").columns[0]
    record = churn_models.features.head(1).to_dict(orient="records")[0]
    with pytest.raises(InvalidInput, match=numeric) as caught:
        remote.predict({**record, numeric: float("nan")})
    assert caught.value.field is not None and numeric in caught.value.field


def test_feedback_takes_a_mapping_or_a_list_of_records(
    live: LiveServer, churn_models: ChurnModels
) -> None:
    remote = mloop.ServingClient(live.url)
    ids = remote.predict(churn_models.features.head(2))["prediction_ids"]
    as_list = remote.feedback([{"prediction_id": ids[0], "label": 1}])
    as_mapping = remote.feedback({ids[1]: 0})
    assert as_list.accepted == 1 and as_mapping.accepted == 1
    for bad in ([{"label": 1}], [ids[0]], 5):
        with pytest.raises(InvalidInput, match=r"prediction_id|map prediction ids"):
            remote.feedback(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["localhost:8000", "", "ftp://x", "http://", 8000])
def test_a_url_that_is_no_http_server_is_refused_at_once(url: object) -> None:
    with pytest.raises(InvalidInput, match="http://HOST:PORT"):
        mloop.ServingClient(url)  # type: ignore[arg-type]
