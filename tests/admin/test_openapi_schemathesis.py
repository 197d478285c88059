"""schemathesis drives every /api/admin operation from the OpenAPI description: none may
answer with a server error, whatever it is sent."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.admin.console_server import console_server, prepare

EXAMPLES = 6
"""Per operation: enough to reach odd corners, few enough to finish in well under a minute."""


def test_no_admin_operation_answers_with_a_server_error(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}"
    accounts, _ = prepare(url)
    headers = {"Authorization": f"Bearer {accounts['platform_admin'].token}"}
    with console_server(url) as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        operations = [r.ok() for r in schema.include(path_regex="^/api/admin").get_all_operations()]
        assert len(operations) >= 15
        failures: list[str] = []
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            def no_server_error(case: schemathesis.Case) -> None:
                response = case.call(headers=headers, timeout=30)
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} -> {response.status_code}: "
                        f"{response.text[:300]}"
                    )

            no_server_error()
    assert failures == []
