"""One exception hierarchy for mloop; every error carries a stable ``code`` slug."""

from __future__ import annotations


class MloopError(Exception):
    """Base of every error mloop raises on purpose; ``field`` names the input at fault."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ModelFailed(MloopError):
    """A served model raised on a request's rows; the server answers 500 and keeps serving."""

    code = "model_failed"


class InvalidInput(MloopError):
    """The caller gave a value mloop cannot accept (bad name, malformed filter ...)."""

    code = "invalid_input"


class MalformedRequest(MloopError):
    """A request body that cannot be parsed at all (bad JSON, bad CSV, nested too deep)."""

    code = "malformed"


class PayloadTooLarge(MloopError):
    """A request body over the configured size limit."""

    code = "too_large"


class UnsupportedMediaType(MloopError):
    """A request body in a content type the endpoint does not read."""

    code = "unsupported_media_type"


class MethodNotAllowed(MloopError):
    """A request with an HTTP method the route does not take (GET on /predict, say)."""

    code = "method_not_allowed"


class NotReady(MloopError):
    """The server has no model loaded yet."""

    code = "not_ready"


class NotFound(MloopError):
    """A named thing (experiment, run, model version, artifact) does not exist."""

    code = "not_found"


class Conflict(MloopError):
    """The request contradicts what is already stored (e.g. a param overwrite)."""

    code = "conflict"


class AliasMoved(Conflict):
    """An alias moved after the caller read it, so the move it planned was not made."""

    code = "alias_moved"


class Unauthorized(MloopError):
    """The caller lacks the token or permission the operation needs."""

    code = "unauthorized"


class Forbidden(MloopError):
    """A request the server refuses whoever sends it: a foreign Host or a cross-site write."""

    code = "forbidden"


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
