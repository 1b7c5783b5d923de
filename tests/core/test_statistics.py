"""core.statistics on the real PostgreSQL: a partition filled since its last analysis is analysed (so the
planner stops treating it as empty), a table full of dead rows is vacuumed where autovacuum is off, the
partitioned parent is analysed at most once an hour, and a table locked by someone else is skipped."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from core import fastcache, partitions, statistics
from developer.models import RequestLog
from tests.conftest import is_postgres

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not is_postgres(), reason="planner statistics are PostgreSQL's"),
]


def _flush_stats() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    # The counters of this backend reach the shared statistics when it goes idle; a new read sees them.
    connection.close()


def _partition_of_now() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM developer_requestlog ORDER BY created_at DESC LIMIT 1",
        )
        return str(cursor.fetchone()[0])


def _reltuples(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        return float(cursor.fetchone()[0])


def _fill_request_log(count: int) -> None:
    now = timezone.now()
    RequestLog.objects.bulk_create(
        RequestLog(
            request_id=f"req_{n:024x}",
            method="GET",
            path="/api/public/v1/calls",
            status_code=200,
            latency_ms=1.0,
            created_at=now,
        )
        for n in range(count)
    )


@pytest.fixture(autouse=True)
def _parent_flags() -> Any:
    yield
    for table in ("developer_requestlog", "webhooks_delivery", "webhooks_event", "webhooks_attempt"):
        fastcache.delete(f"stats:parent:{connection.settings_dict['NAME']}:{table}")


@pytest.fixture
def autovacuum(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """Which of the two servers to behave for: the branch is chosen here, whatever this server runs."""
    return lambda on: monkeypatch.setattr(statistics, "autovacuum_on", lambda: on)


def test_autovacuum_on_reads_the_server_setting() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        assert statistics.autovacuum_on() is (cursor.fetchone()[0] == "on")


def test_a_partition_filled_since_its_last_analysis_is_analysed_and_its_parent_once_an_hour(
    autovacuum: Callable[[bool], None],
) -> None:
    autovacuum(False)
    _fill_request_log(2000)
    _flush_stats()
    partition = _partition_of_now()
    # Filled since its last analysis (never, or an earlier test's): planned from stale figures.
    assert {t.name: t for t in statistics.table_stats()}[partition].needs_analyze

    done = statistics.refresh()

    assert any(s.endswith(partition) and "ANALYZE" in s for s in done), done
    assert "ANALYZE developer_requestlog" in done
    assert _reltuples(partition) == 2000
    _flush_stats()
    # Analysed now: nothing more to do for it, and the parent waits for its hour.
    again = statistics.refresh()
    assert not any(s.endswith(partition) or s == "ANALYZE developer_requestlog" for s in again), again


def test_with_autovacuum_on_only_the_partitioned_parent_is_analysed_here(autovacuum: Callable[[bool], None]) -> None:
    autovacuum(True)
    _fill_request_log(2000)
    partition = _partition_of_now()
    RequestLog.objects.filter(pk__in=RequestLog.objects.values("pk")[:1000]).delete()
    _flush_stats()
    stats = {t.name: t for t in statistics.table_stats()}[partition]
    assert stats.needs_analyze and stats.needs_vacuum

    done = statistics.refresh()

    # Autovacuum analyses and vacuums the partition; it never analyses the parent, so that is done here.
    assert "ANALYZE developer_requestlog" in done
    assert all(s.startswith("ANALYZE ") and partitions.is_partitioned(s.split()[1]) for s in done), done


def test_dead_rows_are_vacuumed_where_autovacuum_is_off(autovacuum: Callable[[bool], None]) -> None:
    autovacuum(False)
    _fill_request_log(1000)
    partition = _partition_of_now()
    RequestLog.objects.all().delete()
    _flush_stats()
    assert {t.name: t for t in statistics.table_stats()}[partition].needs_vacuum

    done = statistics.refresh()

    assert f"VACUUM (ANALYZE) {partition}" in done
    _flush_stats()
    assert {t.name: t for t in statistics.table_stats()}[partition].dead == 0


def test_a_table_locked_by_someone_else_is_skipped_not_waited_for(autovacuum: Callable[[bool], None]) -> None:
    autovacuum(False)
    _fill_request_log(2000)
    _flush_stats()
    partition = _partition_of_now()
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"LOCK TABLE {partition} IN ACCESS EXCLUSIVE MODE")
                locked.set()
                release.wait(30)
                cursor.execute("ROLLBACK")
        finally:
            other.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        done = statistics.refresh()
    finally:
        release.set()
        holder.join()
    assert not any(s.endswith(partition) for s in done)
    _flush_stats()
    assert {t.name: t for t in statistics.table_stats()}[partition].needs_analyze  # not analysed meanwhile
    _flush_stats()
    assert any(s.endswith(partition) for s in statistics.refresh())  # the next run gets it
