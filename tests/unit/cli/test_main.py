"""``mloop.cli.main``: the installed script, one error line and an exit code per error class."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mloop import errors
from mloop.cli import EXIT_CODES, exit_code, main
from tests.unit.cli.home import MISSING_RUN, MODEL, Home, cli_json, mloop_main

pytestmark = pytest.mark.timeout(120)


def test_mloop_home_selects_the_store(shared_home: Home) -> None:
    result = mloop_main(shared_home.path, "runs", "ls", "--json")
    assert result.returncode == 0, result.stderr
    assert {row["run_id"] for row in json.loads(result.stdout)} == {
        shared_home.weak,
        shared_home.strong,
        shared_home.baseline,
    }


BAD_INPUT = [
    (("runs", "ls", "--filter", "metrics.f1 >"), "malformed filter"),
    (("runs", "ls", "--filter", "metrics.f1 >> 1"), "filter"),
    (("runs", "ls", "--order-by", "metrics.f1 SIDEWAYS"), "ASC or DESC"),
    (("runs", "ls", "--experiment", "nope"), "nope"),
    (("runs", "show", MISSING_RUN), MISSING_RUN),
    (("runs", "show", "[/x]"), "[/x]"),
    (("runs", "compare", "WEAK", MISSING_RUN), MISSING_RUN),
    (("models", "show", "nope"), "nope"),
    (("models", "show", MODEL, "--version", "9"), "9"),
    (("models", "history", "nope"), "nope"),
    (("models", "promote", MODEL, "9", "--reason", "r"), "9"),
    (("models", "promote", "nope", "1", "--reason", "r"), "nope"),
    (("models", "promote", MODEL, "1", "--reason", "r", "--alias", "1bad"), "1bad"),
    (("models", "rollback", MODEL, "--reason", "r"), "roll back"),
    (("models", "rollback", MODEL, "--reason", "r", "--alias", "challenger"), "has no alias"),
]


def assert_one_error_line(code: object, stdout: str, stderr: str, expected: str) -> None:
    """Exit code 2, nothing on stdout, one ``error: ...`` line on stderr naming the problem."""
    assert code == 2, (stdout, stderr)
    assert "Traceback" not in stdout + stderr
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]


@pytest.mark.parametrize(("args", "expected"), BAD_INPUT)
def test_bad_input_gives_one_line_and_exit_code_2(
    shared_home: Home,
    args: tuple[str, ...],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = tuple(shared_home.weak if a == "WEAK" else a for a in args)
    monkeypatch.setenv("MLOOP_HOME", str(shared_home.path))
    monkeypatch.setattr(sys, "argv", ["mloop", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    assert_one_error_line(exited.value.code, captured.out, captured.err, expected)


@pytest.mark.parametrize(("args", "expected"), [BAD_INPUT[0], BAD_INPUT[4], BAD_INPUT[13]])
def test_bad_input_in_a_real_process(
    shared_home: Home, args: tuple[str, ...], expected: str
) -> None:
    result = mloop_main(shared_home.path, *args)
    assert_one_error_line(result.returncode, result.stdout, result.stderr, expected)


def test_failed_commands_change_nothing(home: Home) -> None:
    before = cli_json(home, "models", "history", MODEL)
    assert mloop_main(home.path, "models", "promote", MODEL, "9", "-r", "x").returncode == 2
    assert mloop_main(home.path, "models", "rollback", MODEL, "-r", "x").returncode == 2
    assert cli_json(home, "models", "history", MODEL) == before
    assert home.client().get_alias(MODEL, "champion") == 1


def _error_classes() -> list[type[errors.MloopError]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.MloopError)
    ]


def test_every_error_class_has_an_exit_code() -> None:
    missing = [cls.__name__ for cls in _error_classes() if cls not in EXIT_CODES]
    assert missing == []
    assert len(_error_classes()) == len(EXIT_CODES)


@pytest.mark.parametrize(
    "error",
    [
        errors.InvalidInput,
        errors.NotFound,
        errors.Conflict,
        errors.MalformedRequest,
        errors.PayloadTooLarge,
        errors.UnsupportedMediaType,
    ],
)
def test_user_mistakes_exit_2(error: type[errors.MloopError]) -> None:
    assert exit_code(error("bad")) == 2


def test_a_subclass_exits_like_its_base() -> None:
    class MissingChampion(errors.NotFound):
        pass

    assert exit_code(MissingChampion("no champion")) == 2
    assert exit_code(errors.MloopError("other")) == 1
    assert exit_code(errors.StoreUnavailable("down")) == 6


def test_bad_settings_file_gives_one_line_and_exit_code_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "mloop.toml"
    config.write_text("allow_pickle = 'maybe'\n")
    monkeypatch.setenv("MLOOP_CONFIG", str(config))
    monkeypatch.setattr(sys, "argv", ["mloop", "runs", "ls"])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    assert_one_error_line(exited.value.code, captured.out, captured.err, "allow_pickle")
    assert str(config) in captured.err.replace("\n", "")


def test_python_dash_m_mloop_runs_the_same_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "MLOOP_HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "250"}
    ran = subprocess.run(
        [sys.executable, "-m", "mloop", "rollout", "start", "churn", "--challenger", "2",
         "--mode", "shadow", "--steps", "50", "--reason", "x"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 2
    assert ran.stderr.strip() == (
        "error: a shadow rollout sends every request to both arms and only the champion "
        "answers: it takes no challenger share, got steps 0.5"
    )
