"""Schemathesis generates requests from the committed OpenAPI document and sends them to
the real gateway: no input may produce a server error. Bounded budget for CI.

(schemathesis' own pytest plugin does not run under pytest 9, so the operations'
hypothesis strategies are driven directly.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.integration
OPENAPI = Path(__file__).resolve().parents[2] / "client" / "openapi.json"
EXAMPLES_PER_OPERATION = 30


def test_no_input_produces_a_server_error(gateway) -> None:
    schema = schemathesis.openapi.from_dict(json.loads(OPENAPI.read_text()))
    schema.config.update(base_url=gateway.url)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case) -> None:
            case.call_and_validate(checks=[not_a_server_error], timeout=30)

        check()
