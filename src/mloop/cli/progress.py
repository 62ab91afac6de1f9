"""A spinner on stderr for commands that may take more than a second (stdout stays clean)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


@contextmanager
def working(description: str) -> Iterator[None]:
    """Show ``description`` with a spinner and the elapsed time while the block runs (on a
    terminal only: piped or captured stderr gets nothing)."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    console = Console(stderr=True)
    shown = console.is_terminal
    with Progress(*columns, console=console, transient=True, disable=not shown) as progress:
        progress.add_task(description, total=None)
        yield
