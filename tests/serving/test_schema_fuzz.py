"""Schema fuzzing of the OpenAPI spec with schemathesis (bounded): no input makes the service answer 500."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.serving.conftest import KEY

#: Examples per operation: enough to reach every validation branch, bounded for CI.
EXAMPLES = 30


@pytest.mark.slow
def test_no_server_errors(app: FastAPI) -> None:
    with TestClient(app):  # the lifespan loads the model for the fuzzed calls
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
            "POST /v1/claims/score",
            "POST /v1/x12/837/score",
            "POST /v1/claims/audit",
            "GET /v1/model",
            "GET /readyz",
        }
        tried = 0
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def call(case: Any) -> None:
                nonlocal tried
                tried += 1
                case.call_and_validate(headers={"X-API-Key": KEY}, checks=[not_a_server_error])

            call()
        assert tried >= len(operations)
