"""`mloop server` refuses to run on top of another server."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from mloop.cli import app
from mloop.errors import Conflict, InvalidInput


def test_the_server_needs_a_database_store() -> None:
    result = CliRunner().invoke(app, ["--store", "http://127.0.0.1:9/", "server"])
    assert result.exit_code != 0
    assert "needs a database store" in str(result.exception)


def test_a_server_that_cannot_start_never_says_it_is_on(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app, ["--store", f"sqlite:///{tmp_path}/m.db", "server", "--port", str(port)]
        )
    assert isinstance(result.exception, Conflict) and str(port) in str(result.exception)
    assert "mloop server on" not in result.stdout
    bad_window = CliRunner().invoke(
        app, ["--store", f"sqlite:///{tmp_path}/m.db", "server", "--monitor-window", "banana"]
    )
    assert isinstance(bad_window.exception, InvalidInput)
    assert "mloop server on" not in bad_window.stdout
