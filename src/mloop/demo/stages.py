"""Progress of the demo: one line per stage, a bar while it runs, its outcome when done."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

Advance = Callable[[float], None]


class Stages:
    """Prints the demo's stages on ``console`` (stderr under ``--json``) with a progress bar."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.done = 0
        self.started = time.perf_counter()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )

    @contextmanager
    def stage(self, title: str, total: float = 1) -> Iterator[Advance]:
        """Show ``title`` with a bar of ``total`` steps while the block runs; yields the
        function that advances the bar."""
        self.done += 1
        label = f"[{self.done}/{self.total}] {title}"
        self.title(label)
        with self._progress:
            task = self._progress.add_task(label, total=total)
            yield lambda steps: self._progress.advance(task, steps)
            self._progress.remove_task(task)

    def say(self, text: str) -> None:
        """Print an outcome line, indented under its stage."""
        self.console.print(f"   {text}", highlight=False)

    def title(self, text: str) -> None:
        """Print a stage's heading."""
        seconds = time.perf_counter() - self.started
        self.console.print(f"[bold cyan]{text}[/bold cyan] [dim]({seconds:.0f} s)[/dim]")
