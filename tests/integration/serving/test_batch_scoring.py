"""Offline batch scoring with `mloop predict`: CSV or Parquet in, the same with predictions out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .conftest import ChurnModels

CLI = [sys.executable, "-c", "from mloop.cli import main; main()"]


def _run(models: ChurnModels, *args: str) -> subprocess.CompletedProcess[str]:
    client = models.client
    env_args = ["--store", client.store_url, "--artifacts", client.artifacts_url]
    return subprocess.run([*CLI, *env_args, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predict_scores_a_file(churn_models: ChurnModels, tmp_path: Path, suffix: str) -> None:
    features = churn_models.features
    source = tmp_path / f"customers{suffix}"
    if suffix == ".csv":
        features.to_csv(source, index=False)
    else:
        features.to_parquet(source, index=False)
    target = tmp_path / f"scored{suffix}"
    result = _run(
        churn_models,
        "predict",
        "-i",
        str(source),
        "-m",
        "models:/churn@champion",
        "-o",
        str(target),
        "--batch-rows",
        "1000",
    )
    assert result.returncode == 0, result.stderr
    assert f"scored {len(features)} rows" in result.stdout
    scored = pd.read_csv(target) if suffix == ".csv" else pd.read_parquet(target)
    assert len(scored) == len(features)
    expected = churn_models.v1.predict(features)  # type: ignore[attr-defined]
    assert np.array_equal(scored["prediction"].to_numpy(), expected)
    assert np.allclose(scored["proba.1"], churn_models.v1.predict_proba(features)[:, 1])  # type: ignore[attr-defined]


def test_predict_refuses_bad_input_with_exit_code_2(
    churn_models: ChurnModels, tmp_path: Path
) -> None:
    missing = _run(
        churn_models, "predict", "-i", str(tmp_path / "nope.csv"), "-m", "models:/churn/1"
    )
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    wrong = tmp_path / "wrong.csv"
    churn_models.features.head(5).drop(columns=["credit_score"]).to_csv(wrong, index=False)
    invalid = _run(churn_models, "predict", "-i", str(wrong), "-m", "models:/churn/1")
    assert invalid.returncode == 2
    assert "credit_score" in invalid.stderr
    assert "Traceback" not in invalid.stderr
    assert not (tmp_path / "wrong.predictions.csv").exists()
    text = tmp_path / "notes.txt"
    text.write_text("x")
    assert _run(churn_models, "predict", "-i", str(text), "-m", "models:/churn/1").returncode == 2


def test_predict_types_csv_cells_by_the_signature(
    churn_models: ChurnModels, tmp_path: Path
) -> None:
    features = churn_models.features.head(30).copy()
    features["geographic_region"] = ["NA", "null", "None", "North", "n/a", "East"] * 5
    source = tmp_path / "customers.csv"
    text = features.to_csv(index=False).replace(",1,", ",01,")
    source.write_text(text)
    target = tmp_path / "scored.csv"
    result = _run(
        churn_models, "predict", "-i", str(source), "-m", "models:/churn/1", "-o", str(target),
        "--batch-rows", "7",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    scored = pd.read_csv(target, keep_default_na=False)
    assert scored["geographic_region"].tolist() == features["geographic_region"].tolist()
    expected = churn_models.v1.predict(features)  # type: ignore[attr-defined]
    assert np.array_equal(scored["prediction"].to_numpy(), expected)


@pytest.mark.parametrize(
    ("row", "column", "cell", "words"),
    [
        (
            0,
            "credit_score",
            "abc",
            "feature 'credit_score': 'abc' is not a number (customers.csv line 2)",
        ),
        (
            17,
            "num_products",
            "2.5",
            "lines 16-22: feature 'num_products': expected an integer, got 2.5",
        ),
        (
            25,
            "annual_income",
            "1,000",
            "'annual_income': '1,000' is not a number (customers.csv line 27)",
        ),
        (
            29,
            "geographic_region",
            "",
            "lines 30-32: feature 'geographic_region': null/NaN is not allowed (row 1)",
        ),
    ],
)
def test_predict_names_the_line_and_text_of_a_cell_that_does_not_convert(
    churn_models: ChurnModels, tmp_path: Path, row: int, column: str, cell: str, words: str
) -> None:
    features = churn_models.features.head(31).astype(object)
    features.loc[row, column] = cell
    source = tmp_path / "customers.csv"
    features.to_csv(source, index=False)
    result = _run(
        churn_models, "predict", "-i", str(source), "-m", "models:/churn/1", "--batch-rows", "7"
    )
    assert result.returncode == 2
    assert words in result.stderr and "Traceback" not in result.stderr
