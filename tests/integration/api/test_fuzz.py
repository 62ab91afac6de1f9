"""schemathesis against the API's own OpenAPI document on a real server on 127.0.0.1.

Every operation gets a few generated requests (valid and not); no answer may be a 5xx or break
the document's response schema. Bounded: a few examples per operation, no shrinking.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from mloop.api import create_api
from mloop.config import load_settings
from mloop.store import close_stores, open_store
from tests.team_server import SessionServer

EXAMPLES = 8


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionServer]:
    folder = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{folder / 'mloop.db'}"
    chosen = replace(load_settings(), store_url=url, artifacts_url=str(folder / "artifacts"))
    server = SessionServer(create_api(chosen, open_store(url)))
    yield server
    server.stop()
    close_stores()


def _fuzz(operation: Any, base_url: str) -> None:
    """Send a few generated requests to one operation; raise the first check that fails."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=base_url, checks=[not_a_server_error, response_schema_conformance]
        )

    run()


def test_no_server_error_and_no_answer_off_its_schema(fuzzed_server: SessionServer) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed_server.url}/api/v1/openapi.json")
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        try:
            _fuzz(operation, fuzzed_server.url)
        except (Exception, BaseExceptionGroup) as exc:
            failures[operation.label] = " ".join(str(exc).split())[:400]
    assert failures == {}
