"""Model files: skops by default, pickle only on request, hashes and trust lists checked on load."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import mloop
from mloop import modelio
from mloop.config import DEFAULT_TRUSTED_PREFIXES
from mloop.errors import IntegrityError, InvalidInput, UnsafeModel


class MajorityVote(ClassifierMixin, BaseEstimator):
    """A user-defined estimator: its type is not on mloop's default trust list."""

    def fit(self, features: pd.DataFrame, labels: pd.Series) -> MajorityVote:
        self.majority_ = int(pd.Series(labels).mode()[0])
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return np.full(len(features), self.majority_)


class Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (os.system, (f"touch {self.marker}", ""))


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=100), "y": rng.normal(size=100)})
    return frame, (frame["x"] > 0).astype(int)


def _logged(model: object, **kwargs: object) -> tuple[mloop.Client, str]:
    client = mloop.Client()
    run_id = client.create_run("models", "m")
    client.log_model(run_id, model, **kwargs)  # type: ignore[arg-type]
    return client, run_id


def test_signature_records_columns_types_categories_and_ranges() -> None:
    frame = pd.DataFrame(
        {
            "age": [20.0, 35.5, None],
            "products": [1, 2, 3],
            "region": pd.Categorical(["N", "S", "N"], categories=["N", "S", "E"]),
            "vip": [True, False, True],
        }
    )
    inputs = {c["name"]: c for c in modelio.infer_signature(frame)["inputs"]}
    assert inputs["age"]["kind"] == "number" and inputs["age"]["nullable"] is True
    assert (inputs["age"]["min"], inputs["age"]["max"]) == (20.0, 35.5)
    assert inputs["products"]["kind"] == "integer" and inputs["products"]["max"] == 3.0
    assert inputs["region"]["categories"] == ["N", "S", "E"]
    assert inputs["vip"]["kind"] == "boolean"


def test_changed_model_file_is_refused(data: tuple[pd.DataFrame, pd.Series]) -> None:
    client, run_id = _logged(LogisticRegression().fit(*data))
    logged = client.tracking.get_logged_model(run_id, "model")
    blob = client.artifacts.root / "blobs" / logged.digest[:2] / logged.digest
    content = bytearray(blob.read_bytes())
    content[len(content) // 2] ^= 0xFF
    blob.write_bytes(bytes(content))
    with pytest.raises(IntegrityError, match="changed"):
        client.load_model(f"runs:/{run_id}/model")


def test_pickle_payload_given_to_the_safe_loader_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "owned"
    payload = pickle.dumps(Payload(marker))
    with pytest.raises(UnsafeModel, match="not a valid skops file"):
        modelio.load_model_bytes(
            payload, modelio.SKOPS, trusted_prefixes=DEFAULT_TRUSTED_PREFIXES, allow_pickle=False
        )
    assert not marker.exists()


def test_pickle_format_warns_at_save_and_is_refused_unless_enabled(
    data: tuple[pd.DataFrame, pd.Series], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.warns(modelio.UnsafeFormatWarning):
        client, run_id = _logged(LogisticRegression().fit(*data), serialization="pickle")
    with pytest.raises(UnsafeModel, match="MLOOP_ALLOW_PICKLE"):
        client.load_model(f"runs:/{run_id}/model")
    monkeypatch.setenv("MLOOP_ALLOW_PICKLE", "1")
    loaded = mloop.Client().load_model(f"runs:/{run_id}/model")
    assert loaded.predict(data[0]).shape == (100,)


def test_type_outside_the_trust_list_is_refused(
    data: tuple[pd.DataFrame, pd.Series], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOOP_TRUSTED_TYPES", f"{MajorityVote.__module__}.MajorityVote")
    _, run_id = _logged(MajorityVote().fit(*data))
    monkeypatch.delenv("MLOOP_TRUSTED_TYPES")
    with pytest.raises(UnsafeModel, match="MajorityVote"):
        mloop.Client().load_model(f"runs:/{run_id}/model")
    monkeypatch.setenv("MLOOP_TRUSTED_TYPES", f"{MajorityVote.__module__}.MajorityVote")
    loaded = mloop.Client().load_model(f"runs:/{run_id}/model")
    assert set(loaded.predict(data[0])) == {int(data[1].mode()[0])}


def test_function_reference_to_os_is_refused(data: tuple[pd.DataFrame, pd.Series]) -> None:
    client = mloop.Client()
    run_id = client.create_run("models", "evil")
    fitted = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(
        data[0].abs(), data[1]
    )
    fitted.steps[0][1].func = os.system
    with pytest.raises(UnsafeModel, match=r"(os|posix)\.system"):
        client.log_model(run_id, fitted)


def test_library_version_mismatch_warns(data: tuple[pd.DataFrame, pd.Series]) -> None:
    payload = modelio.dump_model(LogisticRegression().fit(*data))
    with pytest.warns(modelio.LibraryVersionWarning, match="scikit-learn 0.1"):
        modelio.load_model_bytes(
            payload,
            modelio.SKOPS,
            trusted_prefixes=DEFAULT_TRUSTED_PREFIXES,
            allow_pickle=False,
            trained_with={"scikit-learn": "0.1"},
        )


def test_log_model_refuses_non_models() -> None:
    client = mloop.Client()
    run_id = client.create_run("models", "m")
    with pytest.raises(InvalidInput, match="predict"):
        client.log_model(run_id, object())


def test_signature_type_round_trips_the_stored_form() -> None:
    from mloop.modelio.signature import Signature

    frame = pd.DataFrame({"age": [30, 40], "plan": pd.Categorical(["a", "b"]), "x": [0.5, None]})
    stored = modelio.infer_signature(frame, outputs=[1, 0])
    signature = Signature.from_dict(stored)
    assert signature.to_dict() == stored
    assert signature.names == ["age", "plan", "x"]
    assert signature.by_name["plan"].categories == ("a", "b")
    assert signature.by_name["x"].nullable and signature.by_name["age"].kind == "integer"
    assert Signature.from_dict({}) == Signature() and Signature.from_dict(None).inputs == ()
    with pytest.raises(InvalidInput) as caught:
        Signature.from_dict({"inputs": [{"kind": "number"}]})
    assert caught.value.field == "signature.inputs[0]"
