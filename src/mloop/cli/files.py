"""The user's data files: checked before work starts, and read with their errors named.

pandas and pyarrow report a malformed file with their own exceptions; here they become
``InvalidInput`` naming the file, so a bad file is one line on stderr, not a traceback.
"""

from __future__ import annotations

import glob
import os
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


def single_target(source: Path, output: str | None) -> Path:
    """Where one input file's predictions go, checked with ``check_output``.

    No ``output``: ``INPUT.predictions.EXT`` beside the input. An existing folder, or a path
    ending in a separator (a folder, which must exist: nothing is created): the input's name
    in it. Anything else: that file. Raises InvalidInput as ``check_output`` does, and for a
    folder that does not exist.
    """
    if output is None:
        return check_output(source, source.with_name(f"{source.stem}.predictions{source.suffix}"))
    path = Path(output)
    if output.endswith(("/", os.sep)) and not path.is_dir():
        raise InvalidInput(f"output folder {output!r} does not exist", field="output")
    return check_output(source, path / source.name if path.is_dir() else path)


def check_new_file(target: Path, field: str) -> Path:
    """``target`` if a file can be written there: its folder exists and it is not a folder.

    Raises InvalidInput naming ``field`` otherwise (nothing is created).
    """
    if not target.parent.is_dir():
        raise InvalidInput(f"--{field}: folder {str(target.parent)!r} does not exist", field=field)
    if target.is_dir():
        raise InvalidInput(f"--{field}: {str(target)!r} is a folder, not a file", field=field)
    return target


def input_files(pattern: str, field: str = "input") -> list[Path]:
    """The .csv and .parquet files of a folder, or the files a glob pattern matches, sorted.

    A folder's hidden files are skipped. Raises NotFound naming the pattern when nothing
    matches, InvalidInput for a matched file of another kind.
    """
    folder = Path(pattern)
    if folder.is_dir():
        found = sorted(
            p for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUFFIXES
        )  # fmt: skip
    else:
        found = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        other = [p for p in found if p.suffix.lower() not in SUFFIXES]
        if other:
            raise InvalidInput(
                f"{field} {str(other[0])!r} (matched by {pattern!r}) is not a .csv or .parquet "
                "file: narrow the pattern",
                field=field,
            )
    if not found:
        raise NotFound(f"no .csv or .parquet files match {field} {pattern!r}", field=field)
    return found


def output_folder(path: Path | None, sources: list[Path], field: str = "output") -> Path:
    """The existing folder the predictions of several files go to (nothing is created).

    Raises InvalidInput when no folder is given, it does not exist or is a file, two inputs
    share a name, or an output would overwrite an input.
    """
    if path is None:
        raise InvalidInput(
            f"several input files need --{field} naming a folder for their predictions",
            field=field,
        )
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{field} {str(path)!r} is a file, not a folder", field=field)
    if not path.is_dir():
        raise InvalidInput(f"output folder {str(path)!r} does not exist", field=field)
    names = [source.name for source in sources]
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        raise InvalidInput(
            f"two inputs are named {twice!r}: their outputs would clash", field=field
        )
    inputs = {source.resolve() for source in sources}
    clash = next((n for n in names if (path / n).resolve() in inputs), None)
    if clash is not None:
        raise InvalidInput(
            f"output {str(path / clash)!r} is an input file: choose another folder", field=field
        )
    return path


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


def read_frame(path: Path, field: str, *, csv_as_text: bool = False) -> pd.DataFrame:
    """The whole of a .csv or .parquet file as a DataFrame.

    With ``csv_as_text`` a CSV's cells stay the text they are (an empty cell is ``""``), for a
    model's signature to type them (``mloop.modelio.text``); otherwise pandas guesses types.
    Raises NotFound for a missing file and InvalidInput for another suffix, an empty or
    malformed file, or one without rows.
    """
    check_input(path, field)
    with reading(path):
        if path.suffix.lower() != ".csv":
            frame = pd.read_parquet(path)
        elif csv_as_text:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
        else:
            frame = pd.read_csv(path)
    if frame.empty:
        raise InvalidInput(f"{path} has no rows", field=field)
    return frame
