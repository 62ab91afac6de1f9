"""``mloop models evaluate``: unlabelled rows left out and counted, labels and features checked."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from mloop.cli import main
from tests.unit.cli.home import MODEL, Home, cli, cli_json
from tests.unit.cli.test_main import assert_one_error_line

pytestmark = pytest.mark.timeout(300)


def _holdout(rows: int = 90, seed: int = 1) -> pd.DataFrame:
    """Customers like the home's training set, with noisy labels so versions make mistakes."""
    rng = np.random.default_rng(seed)
    tenure = rng.uniform(0, 30, rows)
    frame = pd.DataFrame({"tenure": tenure, "spend": rng.uniform(0, 30, rows)})
    frame["y"] = ((tenure + rng.normal(0, 6, rows)) > 14).astype(int)
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Labelled files: whole, a third unlabelled, and the mistakes a new user makes."""
    folder = tmp_path_factory.mktemp("evaluate")
    whole = _holdout()
    whole.to_parquet(folder / "whole.parquet")
    partial = whole.astype({"y": float})
    partial.loc[partial.index % 3 == 0, "y"] = np.nan
    partial.to_parquet(folder / "partial.parquet")
    partial.to_csv(folder / "partial.csv", index=False)
    partial.dropna(subset=["y"]).astype({"y": int}).to_parquet(folder / "labelled.parquet")
    whole.assign(y=None).to_parquet(folder / "nolabels.parquet")
    whole.assign(y=np.where(whole["y"] == 1, "yes", "no")).to_parquet(folder / "yesno.parquet")
    whole.assign(y=whole["y"].replace(1, 2)).to_csv(folder / "two.csv", index=False)
    whole.drop(columns=["spend"]).to_parquet(folder / "nospend.parquet")
    bad = whole.astype({"spend": object})
    bad.loc[4, "spend"] = "lots"
    bad.to_csv(folder / "badcell.csv", index=False)
    whole.head(0).to_csv(folder / "header.csv", index=False)
    (folder / "empty.csv").write_bytes(b"")
    (folder / "notes.txt").write_text("tenure,spend,y\n1,2,0\n")
    return folder


def _fails(home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
           args: list[str], expected: str) -> None:  # fmt: skip
    """``mloop models evaluate ARGS`` exits 2 with one error line naming ``expected``."""
    monkeypatch.setenv("MLOOP_HOME", str(home.path))
    monkeypatch.setattr(sys, "argv", ["mloop", "models", "evaluate", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    assert_one_error_line(exited.value.code, captured.out, captured.err, expected)


def _evaluate(home: Home, data: Path, *args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cli_json(
        home, "models", "evaluate", MODEL, "--versions", "1,2", "--data", str(data),
        "--label-column", "y", *args,
    )  # fmt: skip
    return rows


def _metrics(rows: list[dict[str, Any]]) -> dict[tuple[int, str], float]:
    return {(row["version"], row["metric"]): row["value"] for row in rows}


def test_rows_without_a_label_are_left_out_and_counted(shared_home: Home, files: Path) -> None:
    partial = _evaluate(shared_home, files / "partial.parquet")
    labelled = _evaluate(shared_home, files / "labelled.parquet")
    assert _metrics(partial) == pytest.approx(_metrics(labelled), nan_ok=True)
    assert {(row["scored_rows"], row["unlabelled_rows"]) for row in partial} == {(60, 30)}
    assert {(row["scored_rows"], row["unlabelled_rows"]) for row in labelled} == {(60, 0)}
    from_csv = _evaluate(shared_home, files / "partial.csv")
    assert _metrics(from_csv) == pytest.approx(_metrics(labelled), nan_ok=True)
    table = cli(
        shared_home, "models", "evaluate", MODEL, "--versions", "2", "--data",
        str(files / "partial.csv"), "--label-column", "y",
    ).stdout  # fmt: skip
    assert "scored 60 rows; left out 30 without a label in 'y'" in table
    assert "60 labelled rows" in table and "unlabelled_rows" not in table


def test_labels_of_string_classes_and_of_a_regressor(
    home: Home,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = home.client()
    train = _holdout(60, seed=5)
    features = train[["tenure", "spend"]]
    for name, model in (
        ("words", LogisticRegression().fit(features, train["y"].map({0: "no", 1: "yes"}))),
        ("amounts", LinearRegression().fit(features, train["tenure"] * 2.0)),
    ):
        run_id = client.create_run("evaluate", name)
        client.log_model(run_id, model, input_example=features)
        client.end_run(run_id)
        client.register_model(run_id, name)
    data = _holdout(40, seed=6)
    data.assign(y=data["y"].map({0: "no", 1: "yes"})).to_csv(tmp_path / "words.csv", index=False)
    data.assign(y=data["tenure"] * 2.0).to_csv(tmp_path / "amounts.csv", index=False)
    words = cli_json(
        home, "models", "evaluate", "words", "--versions", "1", "--data",
        str(tmp_path / "words.csv"), "--label-column", "y",
    )  # fmt: skip
    assert {"accuracy", "f1", "roc_auc"} <= {row["metric"] for row in words}
    amounts = cli_json(
        home, "models", "evaluate", "amounts", "--versions", "1", "--data",
        str(tmp_path / "amounts.csv"), "--label-column", "y",
    )  # fmt: skip
    assert {row["metric"]: row["value"] for row in amounts}["mae"] == pytest.approx(0, abs=1e-9)
    data.to_csv(tmp_path / "numbers.csv", index=False)
    args = ["words", "--versions", "1", "--data", str(tmp_path / "numbers.csv")]
    _fails(home, monkeypatch, capsys, [*args, "--label-column", "y"], "classes ['no', 'yes']")


@pytest.mark.parametrize(
    ("data", "versions", "label", "expected"),
    [
        ("nolabels.parquet", "1", "y", "label column 'y' has no labels"),
        ("yesno.parquet", "1,2", "y", "'no' (42 rows), which is not one of the model's classes"),
        ("two.csv", "1", "y", "holds '2'"),
        ("nospend.parquet", "1", "y", "no column 'spend'"),
        ("badcell.csv", "1", "y", "feature 'spend': 'lots' is not a number (row 4)"),
        ("whole.parquet", "1", "churn", "--label-column"),
        ("whole.parquet", "9", "y", "no version 9"),
        ("whole.parquet", "1,,x", "y", "--versions '1,,x'"),
        ("whole.parquet", "x", "y", "'x' is not a version number"),
        ("whole.parquet", "0", "y", "'0' is not a version number"),
        ("nothere.parquet", "1", "y", "does not exist"),
        ("notes.txt", "1", "y", ".csv or .parquet"),
        ("empty.csv", "1", "y", "empty.csv is empty"),
        ("header.csv", "1", "y", "no rows"),
    ],
)  # fmt: skip
def test_a_mistake_is_one_line_and_exit_code_2(
    shared_home: Home,
    files: Path,
    data: str,
    versions: str,
    label: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [MODEL, "--versions", versions, "--data", str(files / data), "--label-column", label]
    _fails(shared_home, monkeypatch, capsys, args, expected)
