"""The artifact store against a real S3 API: moto's server on 127.0.0.1, reached through s3fs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("s3fs", reason="s3fs is not installed (pip install 'mloop[s3]')")
pytest.importorskip(
    "moto.server", reason="moto[server] is not installed (pip install 'mloop[dev]')"
)
pytest.importorskip("boto3", reason="boto3 is not installed (it comes with moto)")

import boto3
import fsspec.config
import s3fs
from moto.server import ThreadedMotoServer

import mloop
from mloop.artifacts import ArtifactStore
from mloop.errors import IntegrityError, InvalidInput, NotFound
from mloop.store import close_stores

pytestmark = pytest.mark.timeout(60)

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A moto S3 server in a thread of this process, listening on a free port of 127.0.0.1."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Credentials and FSSPEC_S3_ENDPOINT_URL in the environment, as a user would set them."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("FSSPEC_S3_ENDPOINT_URL", endpoint)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    # fsspec reads FSSPEC_* once, when it is imported; it already is in this process, so load
    # the variables again into a copy of its config (a fresh process, see below, needs nothing).
    monkeypatch.setattr(fsspec.config, "conf", {})
    fsspec.config.set_conf_env(fsspec.config.conf)
    s3fs.S3FileSystem.clear_instance_cache()
    yield endpoint
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def s3(s3_env: str) -> Any:
    """A plain boto3 client on the same server, to look behind mloop's back."""
    return boto3.client("s3", endpoint_url=s3_env, region_name="us-east-1")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"mloop-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def store(bucket: str) -> ArtifactStore:
    return ArtifactStore(f"s3://{bucket}/artifacts")


def object_keys(s3: Any, bucket: str) -> list[str]:
    listing = s3.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_fsspec_picks_the_endpoint_from_the_environment(s3_env: str) -> None:
    assert fsspec.config.conf["s3"]["endpoint_url"] == s3_env
    fs, _ = fsspec.core.url_to_fs("s3://any-bucket/x")
    assert fs.endpoint_url == s3_env


def test_put_bytes_and_get_bytes_round_trip(store: ArtifactStore, s3: Any, bucket: str) -> None:
    data = b"tabular model bytes" * 1000
    digest = store.put_bytes(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.get_bytes(digest) == data
    assert store.exists(digest)
    key = f"artifacts/blobs/{digest[:2]}/{digest}"
    assert object_keys(s3, bucket) == [key]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    assert store.put_bytes(data) == digest
    assert object_keys(s3, bucket) == [key]


def test_put_file_round_trips(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "data.bin"
    data = os.urandom(2 * (1 << 20) + 5)
    source.write_bytes(data)
    digest, size = store.put_file(source)
    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert store.get_bytes(digest) == data


def test_object_overwritten_behind_mloops_back_raises_integrity_error(
    store: ArtifactStore, s3: Any, bucket: str
) -> None:
    digest = store.put_bytes(b"the real model")
    key = f"artifacts/blobs/{digest[:2]}/{digest}"
    s3.put_object(Bucket=bucket, Key=key, Body=b"a swapped model")
    with pytest.raises(IntegrityError):
        store.get_bytes(digest)


def test_download_of_a_tampered_object_writes_nothing(
    store: ArtifactStore, s3: Any, bucket: str, tmp_path: Path
) -> None:
    digest = store.put_bytes(b"the real model")
    s3.put_object(Bucket=bucket, Key=f"artifacts/blobs/{digest[:2]}/{digest}", Body=b"evil")
    destination = tmp_path / "dest"
    with pytest.raises(IntegrityError):
        store.download(digest, destination, "model.skops")
    assert not (destination / "model.skops").exists()


def test_unknown_digest_is_not_found(store: ArtifactStore) -> None:
    with pytest.raises(NotFound):
        store.get_bytes("f" * 64)
    assert not store.exists("f" * 64)


@pytest.mark.parametrize("digest", ["", "F" * 64, "0" * 63, "../" + "0" * 61, "0" * 62 + "/x"])
def test_invalid_digests_are_refused(
    store: ArtifactStore, s3: Any, bucket: str, digest: str
) -> None:
    with pytest.raises(InvalidInput):
        store.get_bytes(digest)
    with pytest.raises(InvalidInput):
        store.exists(digest)
    assert object_keys(s3, bucket) == []


def test_log_register_and_load_a_model_with_artifacts_on_s3(
    bucket: str, s3: Any, tmp_path: Path
) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    features = pd.DataFrame({"tenure": np.arange(40.0), "spend": np.arange(40.0)[::-1] * 2})
    target = (features["tenure"] > 19).astype(int)
    model = LogisticRegression().fit(features, target)
    client = mloop.Client(f"sqlite:///{tmp_path}/m.db", artifacts_url=f"s3://{bucket}/team")
    try:
        run_id = client.create_run("exp", "name")
        logged = client.log_model(run_id, model, input_example=features.head())
        version = client.register_model(run_id, "churn")
        client.set_alias("churn", "champion", version.version, reason="first model")
        loaded = client.load_model("models:/churn@champion")
    finally:
        close_stores()
    assert object_keys(s3, bucket) == [f"team/blobs/{logged.digest[:2]}/{logged.digest}"]
    assert (loaded.name, loaded.version, loaded.run_id) == ("churn", 1, run_id)
    assert loaded.digest == logged.digest
    assert list(loaded.estimator.predict(features)) == list(model.predict(features))


def test_a_fresh_process_reads_the_endpoint_from_the_environment_alone(
    s3_env: str, bucket: str, s3: Any
) -> None:
    code = (
        "from mloop.artifacts import ArtifactStore\n"
        f"store = ArtifactStore('s3://{bucket}/cli')\n"
        "digest = store.put_bytes(b'from another process')\n"
        "assert store.get_bytes(digest) == b'from another process'\n"
        "print(digest)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert result.returncode == 0, result.stderr
    digest = result.stdout.strip()
    assert object_keys(s3, bucket) == [f"cli/blobs/{digest[:2]}/{digest}"]


def test_writing_to_a_missing_bucket_is_not_found(s3_env: str, tmp_path: Path) -> None:
    store = ArtifactStore(f"s3://mloop-missing-{uuid.uuid4().hex[:12]}/artifacts")
    source = tmp_path / "data.bin"
    source.write_bytes(b"data")
    with pytest.raises(NotFound, match="does not exist"):
        store.put_bytes(b"data")
    with pytest.raises(NotFound, match="does not exist"):
        store.put_file(source)
