"""The content-addressed artifact store on a local folder: round trips, integrity, confinement."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import mloop
from mloop.artifacts import ArtifactStore, safe_name
from mloop.errors import IntegrityError, InvalidInput, NotFound
from mloop.store import close_stores

pytestmark = pytest.mark.timeout(60)

PAYLOAD = b"mloop artifact payload\n" * 100
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()

ESCAPING_NAMES = [
    "..",
    "../x",
    "a/../../x",
    "a/b/../../../x",
    "/x",
    "..\\x",
    "a\\..\\..\\x",
    "%2e%2e/x",
    "%2E%2E/x",
    "%252e%252e/x",
    "..%2fx",
    "a\x00b",
    "x%00",
    "~/x",
    "~",
    "C:/x",
    "c:x",
    "\u2025/x",  # one-dot leader: NFKC turns it into '..'
    "\uff0e\uff0e/x",  # full-width dots
    "",
]


def files_under(folder: Path) -> set[str]:
    """Every file, folder and link below ``folder``, as relative paths."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def temp_leftovers(folder: Path) -> list[Path]:
    """Any ``.tmp-*`` file the atomic writer left behind."""
    return [p for p in folder.rglob(".tmp-*")]


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "artifacts"))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the artifact root that nothing may write into."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.txt").write_text("do not touch")
    return folder


# -- round trips ---------------------------------------------------------------------------------


def test_put_bytes_returns_sha256_and_get_bytes_round_trips(store: ArtifactStore) -> None:
    digest = store.put_bytes(PAYLOAD)
    assert digest == DIGEST
    assert store.get_bytes(digest) == PAYLOAD
    assert store.exists(digest)
    assert (store.root / "blobs" / DIGEST[:2] / DIGEST).read_bytes() == PAYLOAD


def test_put_file_returns_sha256_and_size(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    data = os.urandom(3 * (1 << 20) + 17)  # spans several 1 MiB chunks
    source.write_bytes(data)
    digest, size = store.put_file(source)
    assert digest == hashlib.sha256(data).hexdigest()
    assert size == len(data)
    assert store.get_bytes(digest) == data


def test_same_content_is_stored_once(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "same.bin"
    source.write_bytes(PAYLOAD)
    assert store.put_bytes(PAYLOAD) == store.put_file(source)[0] == store.put_bytes(PAYLOAD)
    assert files_under(store.root / "blobs") == {DIGEST[:2], f"{DIGEST[:2]}/{DIGEST}"}


def test_empty_blob_round_trips(store: ArtifactStore) -> None:
    digest = store.put_bytes(b"")
    assert digest == hashlib.sha256(b"").hexdigest()
    assert store.get_bytes(digest) == b""


def test_put_file_of_a_missing_file_is_not_found(store: ArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        store.put_file(tmp_path / "missing.bin")
    assert files_under(store.root) == set()


def test_unknown_digest_is_not_found(store: ArtifactStore) -> None:
    with pytest.raises(NotFound):
        store.get_bytes("0" * 64)
    assert not store.exists("0" * 64)


@pytest.mark.parametrize(
    "digest", ["", "abc", "A" * 64, "g" * 64, "0" * 63, "0" * 65, "../" + "0" * 61, None]
)
def test_malformed_digests_are_refused(store: ArtifactStore, digest: str) -> None:
    with pytest.raises(InvalidInput):
        store.get_bytes(digest)
    with pytest.raises(InvalidInput):
        store.exists(digest)


# -- integrity -----------------------------------------------------------------------------------


def test_blob_changed_on_disk_raises_integrity_error(store: ArtifactStore) -> None:
    digest = store.put_bytes(PAYLOAD)
    (store.root / "blobs" / digest[:2] / digest).write_bytes(PAYLOAD + b"tampered")
    with pytest.raises(IntegrityError):
        store.get_bytes(digest)


def test_truncated_blob_raises_integrity_error(store: ArtifactStore) -> None:
    digest = store.put_bytes(PAYLOAD)
    (store.root / "blobs" / digest[:2] / digest).write_bytes(b"")
    with pytest.raises(IntegrityError):
        store.get_bytes(digest)


def test_download_of_a_tampered_blob_writes_nothing(store: ArtifactStore, tmp_path: Path) -> None:
    digest = store.put_bytes(PAYLOAD)
    (store.root / "blobs" / digest[:2] / digest).write_bytes(b"evil")
    destination = tmp_path / "dest"
    destination.mkdir()
    with pytest.raises(IntegrityError):
        store.download(digest, destination, "model/model.skops")
    assert files_under(destination) == set()


# -- atomic writes -------------------------------------------------------------------------------


def test_no_temp_files_are_left_after_writes(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "file.bin"
    source.write_bytes(b"from a file")
    store.put_bytes(PAYLOAD)
    store.put_file(source)
    destination = tmp_path / "dest"
    written = store.download(DIGEST, destination, "deep/er/file.bin")
    assert written == destination / "deep" / "er" / "file.bin"
    assert written.read_bytes() == PAYLOAD
    assert temp_leftovers(store.root) == []
    assert temp_leftovers(destination) == []


def test_download_replaces_an_existing_file_whole(store: ArtifactStore, tmp_path: Path) -> None:
    store.put_bytes(PAYLOAD)
    destination = tmp_path / "dest"
    destination.mkdir()
    (destination / "file.bin").write_bytes(b"old content that is longer than nothing" * 1000)
    store.download(DIGEST, destination, "file.bin")
    assert (destination / "file.bin").read_bytes() == PAYLOAD
    assert files_under(destination) == {"file.bin"}


def test_written_files_get_the_mode_the_umask_gives(store: ArtifactStore, tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        digest = store.put_bytes(PAYLOAD)
        written = store.download(digest, tmp_path / "dest", "file.bin")
    finally:
        os.umask(umask)
    blob = store.root / "blobs" / digest[:2] / digest
    assert blob.stat().st_mode & 0o777 == 0o644
    assert written.stat().st_mode & 0o777 == 0o644


# -- names that try to leave a root --------------------------------------------------------------


@pytest.mark.parametrize("name", ESCAPING_NAMES)
def test_safe_name_refuses_names_that_leave_the_root(name: str) -> None:
    with pytest.raises(InvalidInput):
        safe_name(name)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("model.skops", "model.skops"), ("a/b/c.txt", "a/b/c.txt"), ("a//b/", "a/b"), ("./x", "x")],
)
def test_safe_name_keeps_plain_relative_names(name: str, expected: str) -> None:
    assert safe_name(name) == expected


@pytest.mark.parametrize("name", [*ESCAPING_NAMES, "OUTSIDE/victim.txt"])
def test_download_refuses_escaping_names_and_writes_nothing(
    store: ArtifactStore, tmp_path: Path, outside: Path, name: str
) -> None:
    store.put_bytes(PAYLOAD)
    destination = tmp_path / "work" / "dest"
    destination.mkdir(parents=True)
    name = name.replace("OUTSIDE", str(outside))  # an absolute path to a real folder
    before = files_under(tmp_path)
    with pytest.raises(InvalidInput):
        store.download(DIGEST, destination, name)
    assert files_under(tmp_path) == before
    assert (outside / "victim.txt").read_text() == "do not touch"


# -- symlinks ------------------------------------------------------------------------------------


def test_write_through_a_symlinked_blob_folder_is_refused(
    store: ArtifactStore, tmp_path: Path, outside: Path
) -> None:
    (store.root / "blobs").mkdir()
    (store.root / "blobs" / DIGEST[:2]).symlink_to(outside, target_is_directory=True)
    source = tmp_path / "payload.bin"
    source.write_bytes(PAYLOAD)
    before = files_under(outside)
    with pytest.raises(InvalidInput):
        store.put_bytes(PAYLOAD)
    with pytest.raises(InvalidInput):
        store.put_file(source)
    assert files_under(outside) == before
    assert temp_leftovers(store.root) == []


def test_read_through_a_symlinked_blob_folder_is_refused(
    store: ArtifactStore, outside: Path
) -> None:
    digest = store.put_bytes(PAYLOAD)
    folder = store.root / "blobs" / digest[:2]
    shutil.move(folder, outside / digest[:2])  # a valid blob now lives outside the root
    folder.symlink_to(outside / digest[:2], target_is_directory=True)
    with pytest.raises(InvalidInput):
        store.get_bytes(digest)
    with pytest.raises(InvalidInput):
        store.exists(digest)


def test_symlinked_blobs_root_is_refused(store: ArtifactStore, outside: Path) -> None:
    (store.root / "blobs").symlink_to(outside, target_is_directory=True)
    before = files_under(outside)
    with pytest.raises(InvalidInput):
        store.put_bytes(PAYLOAD)
    assert files_under(outside) == before


def test_symlinked_blob_file_pointing_outside_is_refused(
    store: ArtifactStore, outside: Path
) -> None:
    (outside / "blob").write_bytes(PAYLOAD)
    folder = store.root / "blobs" / DIGEST[:2]
    folder.mkdir(parents=True)
    (folder / DIGEST).symlink_to(outside / "blob")
    with pytest.raises(InvalidInput):
        store.get_bytes(DIGEST)
    with pytest.raises(InvalidInput):
        store.put_bytes(PAYLOAD)
    assert (outside / "blob").read_bytes() == PAYLOAD


def test_download_through_a_symlinked_folder_is_refused(
    store: ArtifactStore, tmp_path: Path, outside: Path
) -> None:
    store.put_bytes(PAYLOAD)
    destination = tmp_path / "dest"
    destination.mkdir()
    (destination / "sub").symlink_to(outside, target_is_directory=True)
    before = files_under(outside)
    for name in ("sub/x.bin", "sub/victim.txt", "sub/new/x.bin"):
        with pytest.raises(InvalidInput):
            store.download(DIGEST, destination, name)
    assert files_under(outside) == before
    assert (outside / "victim.txt").read_text() == "do not touch"


def test_download_over_a_symlinked_file_is_refused(
    store: ArtifactStore, tmp_path: Path, outside: Path
) -> None:
    store.put_bytes(PAYLOAD)
    destination = tmp_path / "dest"
    destination.mkdir()
    (destination / "model.bin").symlink_to(outside / "victim.txt")
    with pytest.raises(InvalidInput):
        store.download(DIGEST, destination, "model.bin")
    assert (outside / "victim.txt").read_text() == "do not touch"
    assert files_under(outside) == {"victim.txt"}


def test_download_through_a_dangling_symlink_is_refused(
    store: ArtifactStore, tmp_path: Path, outside: Path
) -> None:
    store.put_bytes(PAYLOAD)
    destination = tmp_path / "dest"
    destination.mkdir()
    (destination / "later").symlink_to(outside / "not-yet", target_is_directory=True)
    with pytest.raises(InvalidInput):
        store.download(DIGEST, destination, "later/x.bin")
    assert files_under(outside) == {"victim.txt"}


def test_download_through_a_symlink_that_stays_inside_is_allowed(
    store: ArtifactStore, tmp_path: Path
) -> None:
    store.put_bytes(PAYLOAD)
    destination = tmp_path / "dest"
    (destination / "real").mkdir(parents=True)
    (destination / "alias").symlink_to(destination / "real", target_is_directory=True)
    store.download(DIGEST, destination, "alias/x.bin")
    assert (destination / "real" / "x.bin").read_bytes() == PAYLOAD


# -- the client refuses escaping artifact paths and records nothing ------------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[mloop.Client]:
    yield mloop.Client(f"sqlite:///{tmp_path}/m.db", artifacts_url=str(tmp_path / "artifacts"))
    close_stores()


@pytest.mark.parametrize("artifact_path", ["../x", "a/../../x", "..\\x", "%2e%2e/x", "~/x"])
def test_log_artifact_with_escaping_path_records_nothing(
    client: mloop.Client, tmp_path: Path, artifact_path: str
) -> None:
    run_id = client.create_run("exp", "name")
    source = tmp_path / "report.txt"
    source.write_text("hello")
    before = files_under(tmp_path)
    with pytest.raises(InvalidInput):
        client.log_artifact(run_id, source, artifact_path=artifact_path)
    assert client.list_artifacts(run_id) == []
    assert {p for p in files_under(tmp_path) - before if not p.startswith("m.db")} == set()


def test_log_artifact_and_download_round_trip(client: mloop.Client, tmp_path: Path) -> None:
    run_id = client.create_run("exp", "name")
    source = tmp_path / "report.txt"
    source.write_text("hello")
    ref = client.log_artifact(run_id, source, artifact_path="reports")
    assert ref.path == "reports/report.txt"
    assert [a.path for a in client.list_artifacts(run_id)] == ["reports/report.txt"]
    written = client.download_artifact(run_id, "reports/report.txt", tmp_path / "dest")
    assert written.read_text() == "hello"
    with pytest.raises(InvalidInput):
        client.download_artifact(run_id, "../reports/report.txt", tmp_path / "dest")
