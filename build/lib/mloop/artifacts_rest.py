"""The artifact store of an mloop server, reached through its ``/blobs`` API.

A client whose store is an ``http://`` URL keeps its blobs on the server: it needs no access
to the server's artifact folder or bucket, and the server verifies each upload's sha256.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mloop.artifacts import ArtifactStore, check_digest
from mloop.errors import IntegrityError, NotFound
from mloop.store.rest import RestSession

OCTETS = "application/octet-stream"


class ServerArtifactStore(ArtifactStore):
    """Blobs by sha256 on an mloop server: the same reads and writes as ``ArtifactStore``.

    Every read is verified against its address again here, so a blob changed in transit or on
    the server raises IntegrityError as a local read would.
    """

    def __init__(self, session: RestSession) -> None:
        self.url = f"{session.url}/api/v1/blobs"
        self._session = session

    def put_bytes(self, data: bytes) -> str:
        """Upload bytes; return their sha256 content address."""
        digest = hashlib.sha256(data).hexdigest()
        headers = {"content-type": OCTETS}
        self._session.send("PUT", f"/blobs/{digest}", content=data, headers=headers)
        return digest

    def put_file(self, source: Path) -> tuple[str, int]:
        """Upload a file's content; return its sha256 and size. NotFound for a missing file."""
        source = Path(source)
        if not source.is_file():
            raise NotFound(f"file {str(source)!r} does not exist")
        data = source.read_bytes()
        return self.put_bytes(data), len(data)

    def get_bytes(self, digest: str) -> bytes:
        """Download a blob and verify it still hashes to its address."""
        check_digest(digest)
        data = self._session.send("GET", f"/blobs/{digest}").content
        if hashlib.sha256(data).hexdigest() != digest:
            raise IntegrityError(f"artifact {digest} from {self.url} does not match its address")
        return data

    def exists(self, digest: str) -> bool:
        """Whether the server holds a blob with this address."""
        check_digest(digest)
        return bool(self._session.call("GET", f"/blobs/{digest}/exists")["exists"])
