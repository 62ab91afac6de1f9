"""Every user mistake is one ``error:`` line on stderr and exit code 2, in a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.unit.cli.home import MODEL, Home, mloop_main
from tests.unit.cli.test_main import assert_one_error_line

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Good, empty, corrupt and malformed input files next to each other."""
    folder = tmp_path_factory.mktemp("files")
    good = pd.DataFrame({"tenure": [1.0, 20.0], "spend": [3.0, 4.0]})
    good.to_csv(folder / "good.csv", index=False)
    good.to_parquet(folder / "good.parquet")
    good.head(0).to_parquet(folder / "norows.parquet")
    good[["tenure"]].to_csv(folder / "lacks.csv", index=False)
    (folder / "empty.parquet").write_bytes(b"")
    (folder / "empty.csv").write_bytes(b"")
    (folder / "header.csv").write_text("tenure,spend\n")
    (folder / "corrupt.parquet").write_bytes(b"PAR1 not really parquet")
    (folder / "malformed.csv").write_text('tenure,spend\n1,"2\n')
    (folder / "latin1.csv").write_bytes("tenure,spend\n1,2\xe9\n".encode("latin-1"))
    (folder / "notes.txt").write_text("tenure\n")
    return folder


CHAMPION = f"models:/{MODEL}@champion"
MISTAKES = [
    (("alerts", "ls", "--status", "bogus"), "bogus"),
    (("monitor", "history", "--kind", "bogus", "-m", MODEL), "bogus"),
    (("runs", "ls", "--max", "0"), "--max"),
    (("runs", "ls", "--bogus"), "--bogus"),
    (("models", "nope"), "nope"),
    (("runs", "show"), "run_id"),
    (("predict", "-i", "{files}/empty.parquet", "-m", CHAMPION), "empty.parquet"),
    (("predict", "-i", "{files}/corrupt.parquet", "-m", CHAMPION), "corrupt.parquet"),
    (("predict", "-i", "{files}/norows.parquet", "-m", CHAMPION), "no rows"),
    (("predict", "-i", "{files}/malformed.csv", "-m", CHAMPION), "malformed.csv"),
    (("predict", "-i", "{files}/empty.csv", "-m", CHAMPION), "empty.csv"),
    (("predict", "-i", "{files}/header.csv", "-m", CHAMPION), "no rows"),
    (("predict", "-i", "{files}/nothere.csv", "-m", CHAMPION), "does not exist"),
    (("predict", "-i", "{files}/notes.txt", "-m", CHAMPION), ".csv or .parquet"),
    (("predict", "-i", "{files}", "-m", CHAMPION), "--output"),
    (("predict", "-i", "{files}/good.csv", "-m", CHAMPION, "-o", "/no/such/dir/x.csv"), "folder"),
    (("predict", "-i", "{files}/good.csv", "-m", CHAMPION, "-o", "{files}/good.csv"), "input"),
    (("predict", "-i", "{files}/good.csv", "-m", CHAMPION, "-o", "{files}"), "is the input file"),
    (("predict", "-i", "{files}/good.csv", "-m", CHAMPION, "-o", "/no/such/dir/"), "folder"),
    (("predict", "-i", "{files}/good.csv", "-m", "models:/nope@champion"), "nope"),
    (("models", "reference", MODEL, "1", "--data", "{files}/lacks.csv"), "spend"),
    (("models", "reference", MODEL, "1", "--data", "{files}/malformed.csv"), "malformed.csv"),
    (("models", "reference", MODEL, "1", "--data", "{files}/latin1.csv"), "latin1.csv"),
    (("models", "reference", MODEL, "1", "--data", "{files}/corrupt.parquet"), "corrupt"),
    (("models", "reference", MODEL, "1", "--data", "{files}/good.csv", "--label-column", "y"), "y"),
    (("monitor", "history", "-m", "nope"), "nope"),
    (("alerts", "ls", "-m", "nope"), "nope"),
    (("models", "history", "nope"), "nope"),
    (("monitor", "run", "-m", MODEL, "--start", "yesterday"), "yesterday"),
    (("monitor", "run", "-m", MODEL, "--start", "2030-01-01", "--end", "2020-01-01"), "before"),
    (("monitor", "run", "-m", MODEL, "--start", "2030-01-01", "--window", "6h"), "not both"),
    (("serve", "nosuch"), "nosuch"),
    (("serve", "models:/nope@champion"), "nope"),
    (("serve", f"models:/{MODEL}/9"), "9"),
    (("serve", "runs:/0123456789abcdef0123456789abcdef/model"), "0123456789abcdef"),
]


@pytest.mark.parametrize(("args", "expected"), MISTAKES)
def test_a_mistake_is_one_line_and_exit_code_2(
    shared_home: Home, files: Path, args: tuple[str, ...], expected: str
) -> None:
    argv = [a.replace("{files}", str(files)) for a in args]
    result = mloop_main(shared_home.path, *argv)
    assert_one_error_line(result.returncode, result.stdout, result.stderr, expected)


def test_an_output_equal_to_the_input_leaves_the_input_alone(
    shared_home: Home, files: Path
) -> None:
    source = files / "good.csv"
    before = source.read_bytes()
    mloop_main(shared_home.path, "predict", "-i", str(source), "-m", CHAMPION, "-o", str(source))
    assert source.read_bytes() == before


def test_an_s3_artifact_root_without_credentials_is_one_line(shared_home: Home) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FSSPEC_"))}
    env.update(
        MLOOP_HOME=str(shared_home.path),
        MLOOP_ARTIFACTS_URL="s3://mloop-no-such-bucket/x",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        NO_COLOR="1",
    )
    result = subprocess.run(
        [sys.executable, "-c", "from mloop.cli import main; main()", "runs", "ls"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [sys.executable, "-c", "from mloop.cli import main; main()", "serve", CHAMPION],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert_one_error_line(result.returncode, result.stdout, result.stderr, "no credentials")


def test_a_port_in_use_is_reported_before_serving(shared_home: Home) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = mloop_main(shared_home.path, "serve", CHAMPION, "--port", str(port))
    assert_one_error_line(result.returncode, result.stdout, result.stderr, str(port))
    assert "serving" not in result.stdout
