"""A published Open Inference Protocol client (tritonclient, JSON tensors) talks to mloop."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import ChurnModels, LiveServer

httpclient = pytest.importorskip(
    "tritonclient.http", reason="tritonclient[http] is in the dev extra"
)


def test_tritonclient_infers_and_reads_metadata(
    live: LiveServer, churn_models: ChurnModels
) -> None:
    client = httpclient.InferenceServerClient(url=live.url.removeprefix("http://"))
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("churn")
    metadata = client.get_model_metadata("churn")
    assert metadata["name"] == "churn"
    head = churn_models.features.head(4)
    inputs = []
    for column in head.columns:
        values = head[column].to_numpy()
        if values.dtype.kind == "f":
            tensor = httpclient.InferInput(column, [len(head)], "FP64")
            tensor.set_data_from_numpy(values.astype(np.float64), binary_data=False)
        elif values.dtype.kind in "iu":
            tensor = httpclient.InferInput(column, [len(head)], "INT64")
            tensor.set_data_from_numpy(values.astype(np.int64), binary_data=False)
        else:
            tensor = httpclient.InferInput(column, [len(head)], "BYTES")
            tensor.set_data_from_numpy(values.astype(np.object_), binary_data=False)
        inputs.append(tensor)
    outputs = [
        httpclient.InferRequestedOutput("predict", binary_data=False),
        httpclient.InferRequestedOutput("predict_proba", binary_data=False),
    ]
    result = client.infer("churn", inputs, outputs=outputs)
    expected = churn_models.v1.predict(head)  # type: ignore[attr-defined]
    assert result.as_numpy("predict").tolist() == expected.tolist()
    assert result.as_numpy("predict_proba").shape == (4, 2)
    declared = {output["name"]: output["datatype"] for output in metadata["outputs"]}
    answered = result.get_response()["outputs"]
    assert {output["name"]: output["datatype"] for output in answered} == declared
    with pytest.raises(Exception, match="not served"):
        client.infer("other-model", inputs)
    client.close()
