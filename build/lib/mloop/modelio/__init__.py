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
from mloop.modelio.frame import frame_from_columns, frame_from_records, frame_from_rows
from mloop.modelio.signature import infer_signature

__all__ = [
    "FORMATS",
    "PICKLE",
    "SKOPS",
    "LibraryVersionWarning",
    "UnsafeFormatWarning",
    "dump_model",
    "environment",
    "frame_from_columns",
    "frame_from_records",
    "frame_from_rows",
    "infer_signature",
    "load_model_bytes",
]
