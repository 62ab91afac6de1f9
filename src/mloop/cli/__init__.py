"""The ``mloop`` command line: experiments, runs, models, serving, monitoring, the demo."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from mloop import __version__, errors
from mloop.cli.common import CliState
from mloop.cli.demo import demo, report
from mloop.cli.examples import add_examples
from mloop.cli.models import models_app, store_app
from mloop.cli.monitoring import alerts_app, monitor_app
from mloop.cli.predictions import predictions_app
from mloop.cli.retraining import retrain_app
from mloop.cli.rollouts import rollout_app
from mloop.cli.server import server
from mloop.cli.serving import predict, serve
from mloop.cli.tracking import experiments_app, runs_app
from mloop.cli.webhooks import webhooks_app
from mloop.errors import MloopError

# One row per class of mloop.errors (a test checks none is missing): 2 for the user's mistakes,
# 3 for a missing permission, 4 for bytes or types mloop will not trust, 5 for a store written by
# a newer mloop, 6 for a store or server that cannot answer, 1 for anything else.
EXIT_CODES: dict[type[MloopError], int] = {
    errors.MloopError: 1,
    errors.InvalidInput: 2,
    errors.ModelFailed: 1,
    errors.MalformedRequest: 2,
    errors.PayloadTooLarge: 2,
    errors.UnsupportedMediaType: 2,
    errors.MethodNotAllowed: 2,
    errors.NotFound: 2,
    errors.Conflict: 2,
    errors.AliasMoved: 2,
    errors.Unauthorized: 3,
    errors.Forbidden: 3,
    errors.IntegrityError: 4,
    errors.UnsafeModel: 4,
    errors.StoreVersionError: 5,
    errors.StoreUnavailable: 6,
    errors.NotReady: 6,
}

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.add_typer(experiments_app, name="experiments")
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")
app.add_typer(store_app, name="store")
app.add_typer(monitor_app, name="monitor")
app.add_typer(alerts_app, name="alerts")
app.add_typer(rollout_app, name="rollout")
app.add_typer(retrain_app, name="retrain")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(predictions_app, name="predictions")
app.command()(serve)
app.command()(predict)
app.command()(server)
app.command()(demo)
app.command()(report)


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"mloop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    store: Annotated[str | None, typer.Option(help="Store URL (default: MLOOP_STORE_URL).")] = None,
    artifacts: Annotated[str | None, typer.Option(help="Artifact root URL.")] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """mloop: track, register, serve and monitor tabular models."""
    ctx.obj = CliState.from_options(store, artifacts)


def main() -> None:
    """Run the CLI: a user's mistake is one line on stderr and an exit code, never a traceback.

    mloop errors exit with their row of ``EXIT_CODES``; a bad option or argument exits 2.
    Modules in the working folder import (a retraining recipe ``recipes:train``), as under
    ``python -m``.
    """
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        code = app(prog_name="mloop", standalone_mode=False)
    except MloopError as exc:
        _fail(str(exc), exit_code(exc))
    except typer.TyperException as exc:
        if not exc.format_message().strip():
            sys.exit(exc.exit_code)  # a group called without a command: its help is printed
        _fail(exc.format_message(), exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    line = Text.assemble(("error:", "red"), " ", " ".join(message.split()))
    Console(stderr=True).print(line, highlight=False, soft_wrap=True)
    sys.exit(code)


def exit_code(exc: MloopError) -> int:
    """The process exit code for an error: its class's row, else its nearest base class's."""
    return next(EXIT_CODES[cls] for cls in type(exc).__mro__ if cls in EXIT_CODES)


add_examples(app)  # last: after every command and group is registered
