"""One exception hierarchy for mloop; every error carries a stable ``code`` slug."""

from __future__ import annotations


class MloopError(Exception):
    """Base of every error mloop raises on purpose."""

    code = "error"


class InvalidInput(MloopError):
    """The caller gave a value mloop cannot accept (bad name, malformed filter ...)."""

    code = "invalid_input"


class NotFound(MloopError):
    """A named thing (experiment, run, model version, artifact) does not exist."""

    code = "not_found"


class Conflict(MloopError):
    """The request contradicts what is already stored (e.g. a param overwrite)."""

    code = "conflict"


class Unauthorized(MloopError):
    """The caller lacks the token or permission the operation needs."""

    code = "unauthorized"


class IntegrityError(MloopError):
    """Stored bytes no longer match their recorded sha256."""

    code = "integrity"


class UnsafeModel(MloopError):
    """A model file would need an untrusted type or pickle to load."""

    code = "unsafe_model"


class StoreVersionError(MloopError):
    """The store was written by a newer mloop, or its schema cannot be read."""

    code = "store_version"


class StoreUnavailable(MloopError):
    """The store could not be reached or answered with an unexpected failure."""

    code = "store_unavailable"
