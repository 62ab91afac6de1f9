"""`mloop server` refuses to run on top of another server."""

from __future__ import annotations

from typer.testing import CliRunner

from mloop.cli import app


def test_the_server_needs_a_database_store() -> None:
    result = CliRunner().invoke(app, ["--store", "http://127.0.0.1:9/", "server"])
    assert result.exit_code != 0
    assert "needs a database store" in str(result.exception)
