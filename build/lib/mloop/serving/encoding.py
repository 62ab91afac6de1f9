"""Request body encodings: gzip and deflate decoded as the body streams in, within a size limit.

The limit applies to the decoded bytes, and a decoder never produces more than one byte past
it, so a small compressed body that would inflate to gigabytes is refused after ``limit`` bytes.
"""

from __future__ import annotations

import zlib

from mloop.errors import MalformedRequest, PayloadTooLarge, UnsupportedMediaType

IDENTITY = "identity"
ACCEPTED_ENCODINGS = ("gzip", "deflate", IDENTITY)
_WINDOW_BITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": 0}
"""zlib's window bits per coding: 16+ reads a gzip member, 0 a zlib stream of any window."""


def codings(header: str | None) -> list[str]:
    """The codings of a ``Content-Encoding`` header in the order they were applied.

    ``identity`` is dropped. Raises UnsupportedMediaType (415) naming a coding mloop does not
    decode.
    """
    applied = [part.strip().lower() for part in (header or "").split(",") if part.strip()]
    for coding in applied:
        if coding != IDENTITY and coding not in _WINDOW_BITS:
            raise UnsupportedMediaType(
                f"content encoding {coding!r} is not accepted here; "
                f"send {', '.join(ACCEPTED_ENCODINGS)}",
                field="content-encoding",
            )
    return [coding for coding in applied if coding != IDENTITY]


class Decoder:
    """Undoes one coding, chunk by chunk, refusing output past ``limit`` bytes in all."""

    def __init__(self, coding: str, limit: int) -> None:
        self.coding = coding
        self.limit = limit
        self.size = 0
        self._head = b""
        self._zlib: zlib._Decompress | None = None

    def feed(self, chunk: bytes) -> bytes:
        """The decoded bytes of ``chunk``; raises PayloadTooLarge or MalformedRequest."""
        if self._zlib is None:
            chunk = self._start(chunk)
        decoded = b""
        while chunk and self._zlib is not None:
            decoded += self._inflate(self._zlib, chunk)
            chunk = self._next_member(self._zlib)
        return decoded

    def finish(self) -> None:
        """Check the body ended with its stream; raises MalformedRequest for a cut-off one."""
        if self._head or (self._zlib is not None and not self._zlib.eof):
            raise MalformedRequest(f"the {self.coding} request body ends before its stream does")

    def _start(self, chunk: bytes) -> bytes:
        """Hold bytes until the stream's first two show its kind; then the bytes to inflate."""
        self._head += chunk
        if len(self._head) < 2:
            return b""
        self._zlib = zlib.decompressobj(self._window_bits(self._head))
        head, self._head = self._head, b""
        return head

    def _window_bits(self, head: bytes) -> int:
        """zlib's setting for this stream; deflate without zlib's header is read as raw deflate."""
        zlib_header = head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        if self.coding == "deflate" and not zlib_header:
            return -zlib.MAX_WBITS
        return _WINDOW_BITS[self.coding]

    def _inflate(self, stream: zlib._Decompress, chunk: bytes) -> bytes:
        try:
            decoded = stream.decompress(chunk, self.limit - self.size + 1)
        except zlib.error as exc:
            raise MalformedRequest(f"the {self.coding} request body is corrupt: {exc}") from exc
        self.size += len(decoded)
        if self.size > self.limit:
            raise PayloadTooLarge(
                f"the {self.coding} request body decodes to over the limit of {self.limit} bytes"
            )
        return decoded

    def _next_member(self, stream: zlib._Decompress) -> bytes:
        """The bytes after a finished stream: a further gzip member starts there."""
        rest = stream.unused_data
        if not stream.eof or not rest:
            return b""
        if self.coding == "deflate":
            raise MalformedRequest("the deflate request body has bytes after its stream")
        self._zlib = zlib.decompressobj(_WINDOW_BITS[self.coding])
        return rest
