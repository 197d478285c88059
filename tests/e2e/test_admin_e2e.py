"""The console end to end: two real `tsunagari serve` processes sharing PostgreSQL and Redis,
and an org editor in headless Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.admin.console_fixtures import OTHER_SERVICE, OWN_SERVICE
from tests.admin.console_server import BIN, free_port, prepare, running
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.e2e

NOON = {"topics": ["loneliness"], "at": "2026-12-01T12:00:00+09:00"}
EVENINGS = {
    "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "open": "18:00", "close": "21:00"}]
}


def serve(stack: ExitStack, database_url: str, redis_prefix: str) -> str:
    port = free_port()
    env = {
        "TSUNAGARI_DATABASE_URL": database_url,
        "TSUNAGARI_REDIS_URL": REDIS_URL,
        "TSUNAGARI_REDIS_PREFIX": redis_prefix,
        "TSUNAGARI_SECRET_KEY": "two-process-test",
    }
    command = [str(BIN / "tsunagari"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return stack.enter_context(running(command, env, port, "/readyz"))


def hope_line_open_at_noon(base: str) -> bool:
    answer = httpx.post(f"{base}/api/route", json=NOON, timeout=10).json()
    return next(r["open_now"] for r in answer["referrals"] if r["service_id"] == OWN_SERVICE)


@pytest.fixture
def two_processes(postgres_url: str, redis_prefix: str) -> Iterator[tuple[str, str, dict]]:
    accounts, _ = prepare(postgres_url)
    with ExitStack() as stack:
        first = serve(stack, postgres_url, redis_prefix)
        second = serve(stack, postgres_url, redis_prefix)
        yield first, second, accounts


def test_a_change_through_one_process_reaches_the_other_within_moments(
    two_processes: tuple[str, str, dict],
) -> None:
    first, second, accounts = two_processes
    assert hope_line_open_at_noon(second)
    changed = httpx.put(
        f"{first}/api/admin/services/{OWN_SERVICE}/contacts/0/hours", json=EVENINGS,
        headers={"Authorization": f"Bearer {accounts['org_editor'].token}"}, timeout=10,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    deadline = time.monotonic() + 5
    while hope_line_open_at_noon(second) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not hope_line_open_at_noon(second)
    assert not hope_line_open_at_noon(first)


def test_another_organisations_service_is_refused_by_every_process(
    two_processes: tuple[str, str, dict],
) -> None:
    first, second, accounts = two_processes
    for base in (first, second):
        refused = httpx.put(
            f"{base}/api/admin/services/{OTHER_SERVICE}/contacts/0/hours", json=EVENINGS,
            headers={"Authorization": f"Bearer {accounts['org_editor'].token}"}, timeout=10,
        )  # fmt: skip
        assert refused.status_code == 403
