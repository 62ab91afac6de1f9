"""The user's data files: checked before work starts, and read with their errors named.

pandas and pyarrow report a malformed file with their own exceptions; here they become
``InvalidInput`` naming the file, so a bad file is one line on stderr, not a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from mloop.errors import InvalidInput, NotFound

SUFFIXES = (".csv", ".parquet", ".pq")


def check_input(path: Path, field: str) -> Path:
    """``path`` if it is an existing .csv or .parquet file.

    Raises NotFound when there is no such file, InvalidInput for a folder or another suffix.
    """
    if not path.exists():
        raise NotFound(f"{field} file {str(path)!r} does not exist", field=field)
    if not path.is_file():
        raise InvalidInput(f"{field} {str(path)!r} is not a file", field=field)
    if path.suffix.lower() not in SUFFIXES:
        raise InvalidInput(f"{field} {str(path)!r}: use a .csv or .parquet file", field=field)
    return path


def check_output(source: Path, target: Path) -> Path:
    """``target`` if it can be written without touching ``source``.

    Raises InvalidInput when its folder does not exist, when it is a folder, or when it is the
    input file itself (which writing would overwrite).
    """
    if not target.parent.is_dir():
        raise InvalidInput(f"output folder {str(target.parent)!r} does not exist", field="output")
    if target.is_dir():
        raise InvalidInput(f"output {str(target)!r} is a folder, not a file", field="output")
    if target.exists() and target.resolve() == source.resolve():
        raise InvalidInput(
            f"output {str(target)!r} is the input file: choose another output", field="output"
        )
    return target


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn pandas' and pyarrow's errors while reading ``path`` into InvalidInput naming it."""
    import pyarrow as pa

    try:
        yield
    except pd.errors.EmptyDataError as exc:
        raise InvalidInput(f"{path} is empty", field=str(path)) from exc
    except (pd.errors.ParserError, pa.ArrowException, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InvalidInput(f"{path} cannot be read: {reason}", field=str(path)) from exc


def read_frame(path: Path, field: str) -> pd.DataFrame:
    """The whole of a .csv or .parquet file as a DataFrame.

    Raises NotFound for a missing file and InvalidInput for another suffix, an empty or
    malformed file, or one without rows.
    """
    check_input(path, field)
    with reading(path):
        frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    if frame.empty:
        raise InvalidInput(f"{path} has no rows", field=field)
    return frame
