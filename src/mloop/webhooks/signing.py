"""How a webhook body is signed, and how a receiver checks it.

Every delivery carries ``X-Mloop-Timestamp`` (epoch seconds) and ``X-Mloop-Signature``:
``sha256=`` and the hex HMAC-SHA256, keyed by the webhook's shared secret, of the timestamp, a
dot and the raw body bytes (``f"{timestamp}.".encode() + body``). A receiver recomputes it over
the bytes it received, compares in constant time (``hmac.compare_digest``) and refuses a
timestamp far from its clock, so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "x-mloop-signature"
TIMESTAMP_HEADER = "x-mloop-timestamp"
EVENT_HEADER = "x-mloop-event"
DELIVERY_HEADER = "x-mloop-delivery"
SCHEME = "sha256="
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Mloop-Signature`` value of a body sent at ``timestamp``: ``sha256=<64 hex>``."""
    signed = f"{timestamp}.".encode() + body
    return SCHEME + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    body: bytes,
    timestamp: str,
    signed: str,
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:
    """Whether ``signed`` is the signature of ``body`` at ``timestamp`` under ``secret`` and the
    timestamp lies within ``tolerance`` seconds of ``now``; never raises on malformed input."""
    if not timestamp.isdigit():
        return False
    moment = int(timestamp)
    if abs((time.time() if now is None else now) - moment) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, moment, body), signed)
