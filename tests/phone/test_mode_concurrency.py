"""The test AI config is made once however many test-mode requests need it at the same instant (PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection

from accounts.models import Organization
from phone import services
from phone.models import AiConfig
from tests.conftest import ApiClient, is_postgres, make_key, make_org

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL: set DATABASE_URL (SQLite serialises writers)"),
]

THREADS = 8


def _together(work: Any) -> list[Any]:
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # reported by the assertions
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    close_old_connections()
    return results


def test_concurrent_first_test_mode_reads_and_writes_make_one_copy() -> None:
    org: Organization = make_org()
    services.ai_config_update(organization=org, actor=None, greeting="Live greeting")
    keys = [make_key(org, mode="test") for _ in range(THREADS)]

    def touch(index: int) -> int:
        client = ApiClient(keys[index])
        # Half read, half write: either may be the one that makes the copy.
        response = client.get("/config") if index % 2 else client.patch("/config", {"language": "fr-CA"})
        return response.status_code

    assert _together(touch) == [200] * THREADS
    rows = AiConfig.objects.filter(organization=org)
    assert sorted(rows.values_list("mode", flat=True)) == ["live", "test"]
    test = rows.get(mode="test")
    assert (test.greeting, test.language) == ("Live greeting", "fr-CA")
    assert rows.get(mode="live").language == "en-US"
