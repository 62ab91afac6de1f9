"""Content-addressed blobs (sha256) under a local folder or any fsspec URL."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from mloop.errors import IntegrityError, InvalidInput, NotFound, Unauthorized

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


def safe_name(name: str) -> str:
    """Return a normalised relative artifact name, refusing any that could leave a root.

    Raises InvalidInput for an absolute name (``/etc/passwd``, ``C:\\x``), ``..``, a backslash,
    a control character or percent-encoding of any of these.
    """
    if not isinstance(name, str) or not name:
        raise InvalidInput("artifact name must be a non-empty string")
    decoded = unquote(unquote(name))
    if decoded.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", decoded) is not None:
        raise InvalidInput(
            f"artifact name {name!r} is absolute; use a relative path such as 'plots/roc.png'"
        )
    bad = (
        "\x00" in decoded
        or "\\" in decoded
        or decoded.startswith("~")
        or any(not ch.isprintable() for ch in decoded)
    )
    parts = PurePosixPath(unicodedata.normalize("NFKC", decoded)).parts
    if bad or decoded != name or any(p in {"..", "."} for p in parts) or not parts:
        raise InvalidInput(f"artifact name {name!r} is not a plain relative path inside the store")
    return "/".join(parts)


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is a lowercase hex sha256, else refuse it."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InvalidInput(f"{digest!r} is not a sha256 content address")
    return digest


def sha256_file(path: Path) -> tuple[str, int]:
    """The sha256 hex digest and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class ArtifactStore:
    """Blobs named by their sha256, written atomically and verified on every read."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = "://" not in url or url.startswith("file://")
        if self._local:
            self.root = Path(url.removeprefix("file://")).absolute()
            self.root.mkdir(parents=True, exist_ok=True)
            self._real_root = self.root.resolve()
            self._fs: Any = None
        else:
            import fsspec

            self._fs, self._remote_root = fsspec.core.url_to_fs(url)

    def _blob_key(self, digest: str) -> str:
        check_digest(digest)
        return f"blobs/{digest[:2]}/{digest}"

    def _local_path(self, key: str) -> Path:
        path = self.root / key
        real = path.resolve()
        if not _inside(real, self._real_root):
            raise InvalidInput(f"artifact path {key!r} resolves outside the artifact root")
        return path

    def put_bytes(self, data: bytes) -> str:
        """Store bytes; return their sha256 content address."""
        digest = hashlib.sha256(data).hexdigest()
        key = self._blob_key(digest)
        if self._local:
            path = self._local_path(key)
            if not path.exists():
                _atomic_write(path, data)
        else:
            with self._remote_writes():
                if not self._fs.exists(f"{self._remote_root}/{key}"):
                    self._fs.pipe_file(f"{self._remote_root}/{key}", data)
        return digest

    def put_file(self, source: Path) -> tuple[str, int]:
        """Store a file's content; return its sha256 and size."""
        source = Path(source)
        if not source.is_file():
            raise NotFound(f"file {str(source)!r} does not exist")
        if self._local:
            return self._put_local_file(source)
        digest, size = sha256_file(source)
        key = self._blob_key(digest)
        with self._remote_writes():
            if not self._fs.exists(f"{self._remote_root}/{key}"):
                self._fs.put_file(str(source), f"{self._remote_root}/{key}")
        return digest, size

    @contextmanager
    def _remote_writes(self) -> Iterator[None]:
        """Turn fsspec's missing-bucket and access-denied errors into mloop errors."""
        with self._credentials():
            try:
                yield
            except FileNotFoundError as exc:
                raise NotFound(f"artifact store {self.url} does not exist: {exc}") from exc
            except PermissionError as exc:
                raise Unauthorized(f"artifact store {self.url} refused the write: {exc}") from exc

    @contextmanager
    def _credentials(self) -> Iterator[None]:
        """Turn "no credentials found" of an object store into InvalidInput naming the URL."""
        try:
            yield
        except _credential_errors() as exc:
            raise InvalidInput(
                f"artifact store {self.url}: no credentials found ({exc}); set them the way "
                "the storage's client library reads them (for S3: AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or a profile)",
                field="artifacts_url",
            ) from exc

    def _put_local_file(self, source: Path) -> tuple[str, int]:
        """Copy a file in chunks while hashing it, so the blob is exactly what was hashed."""
        temp, digest, size = _write_temp(self._local_path("blobs"), _read_chunks(source))
        try:
            path = self._local_path(self._blob_key(digest))
            if not path.exists():
                _move_into_place(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        return digest, size

    def get_bytes(self, digest: str) -> bytes:
        """Read a blob and verify it still hashes to its address."""
        key = self._blob_key(digest)
        try:
            if self._local:
                data = self._local_path(key).read_bytes()
            else:
                with self._credentials():
                    data = self._fs.cat_file(f"{self._remote_root}/{key}")
        except FileNotFoundError as exc:
            raise NotFound(f"artifact {digest} is not in the artifact store {self.url}") from exc
        if hashlib.sha256(data).hexdigest() != digest:
            raise IntegrityError(f"artifact {digest} was changed after it was stored")
        return data

    def exists(self, digest: str) -> bool:
        """Whether a blob with this address is stored."""
        key = self._blob_key(digest)
        if self._local:
            return self._local_path(key).exists()
        with self._credentials():
            return bool(self._fs.exists(f"{self._remote_root}/{key}"))

    def download(self, digest: str, destination: Path, name: str) -> Path:
        """Write a verified blob to ``destination/name``, refusing names that leave it."""
        relative = safe_name(name)
        destination = Path(destination).absolute()
        target = destination / relative
        real_destination = destination.resolve()
        if not _inside(target.parent.resolve(), real_destination) or (
            target.is_symlink() and not _inside(target.resolve(), real_destination)
        ):
            raise InvalidInput(f"artifact name {name!r} would be written outside {destination}")
        _atomic_write(target, self.get_bytes(digest))
        return target


def _credential_errors() -> tuple[type[Exception], ...]:
    """The exceptions object-store clients raise when they find no credentials."""
    try:
        from botocore.exceptions import NoCredentialsError, PartialCredentialsError
    except ImportError:
        return ()
    return (NoCredentialsError, PartialCredentialsError)


def _read_chunks(source: Path) -> Iterator[bytes]:
    """The bytes of a file in chunks of 1 MiB."""
    with source.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def _create_temp(folder: Path) -> tuple[int, Path]:
    """Create a new, empty ``.tmp-*`` file in ``folder`` with the mode the umask gives."""
    while True:
        temp = folder / f".tmp-{secrets.token_hex(8)}"
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temp
        except FileExistsError:
            continue


def _write_temp(folder: Path, chunks: Iterable[bytes]) -> tuple[Path, str, int]:
    """Write chunks to a fsynced temp file in ``folder``; return it, its sha256 and size."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, temp = _create_temp(folder)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, digest.hexdigest(), size


def _move_into_place(temp: Path, path: Path) -> None:
    """Rename a finished temp file over ``path`` and make the rename durable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder, fsync, then rename over the target."""
    temp, _, _ = _write_temp(path.parent, [data])
    try:
        _move_into_place(temp, path)
    finally:
        temp.unlink(missing_ok=True)
