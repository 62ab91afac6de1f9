"""``--json`` output is JSON any parser takes: NaN and infinities become null."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mloop.cli.common import print_json


def _refuse(constant: str) -> None:
    raise ValueError(f"non-standard JSON constant {constant}")


def test_nan_and_infinities_print_as_null(capsys: pytest.CaptureFixture[str]) -> None:
    value = {"precision": math.nan, "rows": [1.5, np.float64("inf"), -math.inf],
             "nested": {"ci": (np.float64("nan"), 0.25)}, "name": "churn"}  # fmt: skip
    print_json(value)
    printed = json.loads(capsys.readouterr().out, parse_constant=_refuse)
    assert printed == {"precision": None, "rows": [1.5, None, None],
                       "nested": {"ci": [None, 0.25]}, "name": "churn"}  # fmt: skip
