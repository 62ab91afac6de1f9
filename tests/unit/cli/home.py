"""A real mloop home filled through the Python API, and ways to run the CLI against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import mloop
from mloop.cli import app

MODEL = "churn-model"
MISSING_RUN = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Home:
    """A populated mloop home: its folder and the ids of what the Python API put in it."""

    path: Path
    weak: str
    strong: str
    baseline: str

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.path / 'mloop.db'}"

    @property
    def artifacts_url(self) -> str:
        return str(self.path / "artifacts")

    def client(self) -> mloop.Client:
        return mloop.Client(self.store_url, artifacts_url=self.artifacts_url)


def populate(path: Path) -> Home:
    """Two churn runs with models (registered as v1, v2; champion -> v1) and one baseline run."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    features = pd.DataFrame({"tenure": np.arange(30.0), "spend": np.arange(30.0)[::-1]})
    target = (features["tenure"] > 14).astype(int)
    home = Home(path, "", "", "")
    client = home.client()
    ids = []
    for name, c, f1 in [("lr-weak", 0.1, 0.7), ("lr-strong", 1.0, 0.9)]:
        run_id = client.create_run("churn", name)
        client.log_params(run_id, {"C": c, "solver": "lbfgs"})
        client.log_metrics(run_id, {"f1": f1, "auc": f1 + 0.05})
        model = LogisticRegression(C=c).fit(features, target)
        client.log_model(run_id, model, input_example=features.head())
        client.end_run(run_id)
        client.register_model(run_id, MODEL, description=f"{name} model")
        ids.append(run_id)
    baseline = client.create_run("other", "baseline")
    client.log_metrics(baseline, {"f1": 0.5})
    client.end_run(baseline)
    client.set_alias(MODEL, "champion", 1, reason="first champion")
    return Home(path, ids[0], ids[1], baseline)


def cli(home: Home, *args: str, user: str = "bob") -> Any:
    """Run the CLI in this process against ``home``; the result must be a success."""
    runner = CliRunner(env={"COLUMNS": "250", "MLOOP_USER": user})
    result = runner.invoke(
        app, ["--store", home.store_url, "--artifacts", home.artifacts_url, *args]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def cli_json(home: Home, *args: str) -> Any:
    return json.loads(cli(home, *args, "--json").stdout)


def mloop_main(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``mloop.cli.main`` in a fresh process with MLOOP_HOME, as the installed script does."""
    env = {**os.environ, "MLOOP_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, "-c", "from mloop.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
