"""What a new user meets first: the version, short run ids, dates, 80 columns, no stray stores."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mloop
from mloop import errors
from mloop.cli import app
from tests.unit.cli.home import MODEL, Home, cli, mloop_main
from tests.unit.cli.test_main import assert_one_error_line

pytestmark = pytest.mark.timeout(120)

READS = [
    ("experiments", "ls"),
    ("runs", "ls"),
    ("runs", "show", "abc"),
    ("runs", "compare", "abc", "def"),
    ("models", "ls"),
    ("models", "show", "churn"),
    ("models", "history", "churn"),
    ("monitor", "history", "-m", "churn"),
    ("alerts", "ls"),
    ("serve", "models:/churn@champion"),
    ("predict", "-i", "{tmp}/in.csv", "-m", "models:/churn@champion"),
]


@pytest.mark.parametrize("args", READS)
def test_reading_never_creates_a_store(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "in.csv").write_text("a\n1\n")
    store = tmp_path / "no" / "such" / "x.db"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    runner = CliRunner(env={"COLUMNS": "80"})
    result = runner.invoke(app, ["--store", f"sqlite:///{store}", *argv])
    assert isinstance(result.exception, errors.NotFound), result.output
    assert "no store at" in str(result.exception)
    assert not store.parent.exists()


def test_reading_a_missing_store_says_so_in_one_line(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    result = mloop_main(tmp_path, "--store", f"sqlite:///{store}", "models", "ls")
    assert_one_error_line(result.returncode, result.stdout, result.stderr, "no store at")
    assert not store.exists()


def test_writing_creates_the_store(tmp_path: Path) -> None:
    store = tmp_path / "new" / "x.db"
    store.parent.mkdir()
    result = CliRunner().invoke(app, ["--store", f"sqlite:///{store}", "store", "upgrade"])
    assert result.exit_code == 0, result.output
    assert store.exists()


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"mloop {mloop.__version__}"


def test_a_run_is_shown_by_its_short_id(shared_home: Home) -> None:
    result = cli(shared_home, "runs", "show", shared_home.weak[:8], "--json")
    assert shared_home.weak in result.stdout
    compared = cli(shared_home, "runs", "compare", shared_home.weak[:6], shared_home.strong[:6])
    assert shared_home.strong[:8] in compared.stdout


def test_an_ambiguous_prefix_lists_the_matches(tmp_path: Path) -> None:
    client = mloop.Client(f"sqlite:///{tmp_path / 'x.db'}", artifacts_url=str(tmp_path / "a"))
    ids = [client.create_run("many", f"r{i}") for i in range(40)]
    first, _ = Counter(i[0] for i in ids).most_common(1)[0]
    sharing = sorted(i for i in ids if i.startswith(first))
    with pytest.raises(errors.InvalidInput) as raised:
        client.get_run(first)
    assert all(i in str(raised.value) for i in sharing[:10])
    assert client.get_run(sharing[0]).id == sharing[0]
    assert client.tracking.resolve_run_id(sharing[0][:20]) == sharing[0]
    with pytest.raises(errors.NotFound):
        client.get_run("zz")
    with pytest.raises(errors.NotFound):
        client.get_run("%")


EIGHTY = [
    ("--help",),
    ("runs", "ls"),
    ("runs", "ls", "--help"),
    ("runs", "show", "WEAK"),
    ("runs", "compare", "WEAK", "STRONG"),
    ("models", "ls"),
    ("models", "show", MODEL),
    ("models", "show", MODEL, "--version", "1"),
    ("models", "history", MODEL),
    ("monitor", "run", "--help"),
    ("serve", "--help"),
    ("experiments", "ls"),
]


@pytest.mark.parametrize("args", EIGHTY)
def test_output_fits_80_columns(shared_home: Home, args: tuple[str, ...]) -> None:
    ids = {"WEAK": shared_home.weak, "STRONG": shared_home.strong}
    argv = [ids.get(a, a) for a in args]
    runner = CliRunner(env={"COLUMNS": "80", "MLOOP_USER": "bob"})
    options = ["--store", shared_home.store_url, "--artifacts", shared_home.artifacts_url]
    result = runner.invoke(app, [*options, *argv])
    assert result.exit_code == 0, result.output
    widest = max(len(line) for line in result.stdout.splitlines())
    assert widest <= 80
    assert not re.search(r"\b1[6-9]\d{8}(\.\d+)?\b", result.stdout)  # no epoch seconds


def test_times_are_dates(shared_home: Home) -> None:
    shown = cli(shared_home, "models", "history", MODEL).stdout
    assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d", shown)


def test_monitor_run_takes_start_end_and_arm(home: Home) -> None:
    import pandas as pd

    client = home.client()
    client.set_reference(MODEL, 1, pd.DataFrame({"tenure": [1.0, 20.0], "spend": [3.0, 4.0]}))
    cli(home, "monitor", "run", "-m", MODEL, "--start", "2024-05-01", "--end", "1735689600")
    cli(home, "monitor", "run", "-m", MODEL, "--start", "2024-05-01T12:00+02:00", "--arm", "b")
    stored = client.monitoring.results(MODEL)
    assert [(r.window_start, r.window_end, r.arm) for r in stored[::2]] == [
        (1714521600.0, 1735689600.0, ""),
        (1714557600.0, None, "b"),
    ]


def test_a_wide_listing_keeps_one_table_and_names_the_columns_it_leaves_out(
    shared_home: Home,
) -> None:
    runner = CliRunner(env={"COLUMNS": "80", "MLOOP_USER": "bob"})
    options = ["--store", shared_home.store_url, "--artifacts", shared_home.artifacts_url]
    result = runner.invoke(app, [*options, "runs", "ls"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert sum("run_id" in line for line in lines) == 1
    assert max(len(line) for line in lines) <= 80
    (note,) = [line for line in lines if line.startswith("not shown: ")]
    hidden = note.removeprefix("not shown: ").split(" (")[0].split(", ")
    assert "metrics.f1" in hidden and all(f"{h} " not in lines[2] for h in hidden)
    wide = CliRunner(env={"COLUMNS": "250"}).invoke(app, [*options, "runs", "ls"])
    assert "not shown" not in wide.stdout and "metrics.f1" in wide.stdout


def test_a_store_file_that_is_not_a_database_is_one_error_line(tmp_path: Path) -> None:
    store = tmp_path / "notes.db"
    store.write_text("not a database\n")
    result = mloop_main(tmp_path, "--store", f"sqlite:///{store}", "models", "ls")
    assert_one_error_line(result.returncode, result.stdout, result.stderr, "not a database")
    assert store.read_text() == "not a database\n"
