"""Property-based fuzzing of the API's OpenAPI document with schemathesis, against a real uvicorn server:
no 5xx, and every answer conforms to the schema (status code, content type, body, headers).

Every operation is tried with up to ``MAX_EXAMPLES`` generated requests (an admin token, so authorization is
not what stops them); failures are collected per operation and reported together. Not checked: that every
schema-valid request is accepted (``positive_data_acceptance``): rules across fields that JSON Schema cannot state
(series of equal length, a file or window that exists) are refused with a 400/422 that names the field.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.support.api import api_server, make_credentials, project_env, write_instance_yaml
from tests.support.project import make_project

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAX_EXAMPLES = 25


def test_no_server_error_and_no_schema_violation(tmp_path: Path) -> None:
    project = make_project(tmp_path, days=2, rows_per_hour=5)
    env = project_env(tmp_path, project.config_file)
    write_instance_yaml(Path(env["DAGSTER_HOME"]))
    creds = make_credentials(tmp_path / "keys")
    with api_server(tmp_path, env, creds, extra_env={"API_RATE_LIMIT": "100000"}) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        headers = {"Authorization": f"Bearer {creds.token('admin', teams=('ml-platform',))}"}
        failures: dict[str, str] = {}
        tried = []
        for result in schema.get_all_operations():
            operation = result.ok()
            tried.append(operation.label)

            @given(case=operation.as_strategy())
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

            try:
                check()
            except Exception as exc:  # collect every operation's failure, then report them all
                failures[operation.label] = str(exc)[:1500]
    assert len(tried) >= 12, tried
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
