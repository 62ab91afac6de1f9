"""Model serialization, signatures and the checks made before a model is loaded."""

from mloop.modelio.files import (
    FORMATS,
    PICKLE,
    SKOPS,
    LibraryVersionWarning,
    UnsafeFormatWarning,
    dump_model,
    environment,
    load_model_bytes,
)
from mloop.modelio.signature import infer_signature

__all__ = [
    "FORMATS",
    "PICKLE",
    "SKOPS",
    "LibraryVersionWarning",
    "UnsafeFormatWarning",
    "dump_model",
    "environment",
    "infer_signature",
    "load_model_bytes",
]
