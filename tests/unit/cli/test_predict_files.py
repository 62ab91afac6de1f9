"""``mloop predict`` over a folder or glob of files, on the local executor and on Dask."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mloop.cli import main
from tests.unit.cli.home import MODEL, Home, cli, mloop_main
from tests.unit.cli.test_main import assert_one_error_line

pytestmark = pytest.mark.timeout(300)
CHAMPION = f"models:/{MODEL}@champion"
NAMES = ["part0.parquet", "part1.parquet", "part2.parquet"]


def _fails(home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
           args: list[str], expected: str) -> None:  # fmt: skip
    """``mloop predict ARGS`` exits 2 with one error line naming ``expected``."""
    monkeypatch.setenv("MLOOP_HOME", str(home.path))
    monkeypatch.setattr(sys, "argv", ["mloop", "predict", "-m", CHAMPION, *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    assert_one_error_line(exited.value.code, captured.out, captured.err, expected)


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scores")
    rng = np.random.default_rng(0)
    for name in NAMES:
        frame = pd.DataFrame({"tenure": rng.uniform(0, 30, 300), "spend": rng.uniform(0, 30, 300)})
        frame.to_parquet(folder / name)
    (folder / "notes.txt").write_text("not scored")
    return folder


def test_local_and_dask_executors_write_the_same_predictions(
    shared_home: Home, scores: Path, tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    local, dask = tmp_path / "local", tmp_path / "dask"
    local.mkdir()
    dask.mkdir()
    pattern = f"{scores}/*.parquet"
    done = cli(shared_home, "predict", "-i", pattern, "-m", CHAMPION, "-o", str(local))
    assert f"{scores / 'part2.parquet'} -> {local / 'part2.parquet'}: 300 rows" in done.stdout
    with distributed.LocalCluster(
        n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        cli(shared_home, "predict", "-i", str(scores), "-m", CHAMPION, "-o", str(dask),
            "--executor", "dask", "--dask-address", address)  # fmt: skip
    assert sorted(p.name for p in local.iterdir()) == NAMES
    assert sorted(p.name for p in dask.iterdir()) == NAMES
    model = shared_home.client().registry.load_model(CHAMPION)
    for name in NAMES:
        on_local, on_dask = pd.read_parquet(local / name), pd.read_parquet(dask / name)
        pd.testing.assert_frame_equal(on_local, on_dask)
        assert list(on_local.columns) == ["tenure", "spend", "prediction", "proba.0", "proba.1"]
        source = pd.read_parquet(scores / name)
        np.testing.assert_array_equal(on_local["prediction"], model.predict(source))


def test_a_file_that_fails_leaves_no_predictions_behind(
    shared_home: Home,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    pd.DataFrame({"tenure": [1.0, 2.0], "spend": [3.0, 4.0]}).to_parquet(inputs / "a.parquet")
    pd.DataFrame({"tenure": [1.0], "spend": ["lots"]}).to_parquet(inputs / "b.parquet")
    _fails(shared_home, monkeypatch, capsys, ["-i", str(inputs), "-o", str(outputs)], "spend")
    assert list(outputs.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("-i", "{scores}/*.csv", "-o", "{tmp}/out"), "*.csv"),
        (("-i", "{scores}/*", "-o", "{tmp}/out"), "notes.txt"),
        (("-i", "{scores}"), "--output"),
        (("-i", "{scores}", "-o", "{scores}/part0.parquet"), "not a folder"),
        (("-i", "{scores}", "-o", "{scores}"), "input file"),
        (("-i", "{scores}", "-o", "{tmp}/out", "--executor", "ray"), "ray"),
        (("-i", "{scores}", "-o", "{tmp}/out", "--dask-address", "tcp://x:1"), "--executor dask"),
        (("-i", "{scores}/*.parquet", "-o", "{tmp}/out"), "output folder '{tmp}/out' does not"),
        (("-i", "{scores}/*.parquet", "-o", "{tmp}/out/"), "output folder '{tmp}/out' does not"),
        (("-i", "{scores}", "-o", "{tmp}/out", "--executor", "dask"), "does not exist"),
        (("-i", "{scores}/part0.parquet", "-o", "{tmp}/out/p.parquet"), "does not exist"),
        (("-i", "{scores}/part0.parquet", "-o", "{tmp}/out/"), "output folder '{tmp}/out/' does"),
        (("-i", "{scores}/part0.parquet", "-o", "{scores}"), "is the input file"),
    ],
)
def test_a_mistake_with_many_files_is_one_line_and_exit_code_2(
    shared_home: Home,
    scores: Path,
    tmp_path: Path,
    args: tuple[str, ...],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [a.replace("{scores}", str(scores)).replace("{tmp}", str(tmp_path)) for a in args]
    _fails(shared_home, monkeypatch, capsys, argv, expected.replace("{tmp}", str(tmp_path)))
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_one_file_into_an_existing_folder_keeps_its_name(
    shared_home: Home, scores: Path, tmp_path: Path
) -> None:
    done = cli(shared_home, "predict", "-i", str(scores / "part1.parquet"), "-m", CHAMPION,
               "-o", f"{tmp_path}/")  # fmt: skip
    assert f"into {tmp_path / 'part1.parquet'}" in done.stdout
    assert len(pd.read_parquet(tmp_path / "part1.parquet")) == 300


def test_a_failing_file_on_a_local_dask_cluster_is_one_line(
    shared_home: Home, tmp_path: Path
) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    (inputs / "a.csv").write_text("tenure,spend\n1,2\n3,4\n")
    (inputs / "b.csv").write_text("tenure,spend\n1,2\n3,lots\n")
    done = mloop_main(shared_home.path, "predict", "-i", str(inputs), "-m", CHAMPION, "-o",
                      str(outputs), "--executor", "dask")  # fmt: skip
    assert_one_error_line(done.returncode, done.stdout, done.stderr, "'lots' is not a number")
    assert "b.csv line 3" in done.stderr and list(outputs.iterdir()) == []
