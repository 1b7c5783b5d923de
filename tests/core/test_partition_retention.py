"""Retention by partition on PostgreSQL: the maintenance tasks make weeks ahead and drop whole weeks.

The tables are converted by the migrations the test database was built with (core/partitions.py);
rows are aged by updating their time, which PostgreSQL moves into the partition of that week (made
first where the migration did not reach back so far). A row 38 days old or more is always in a week
that ended before the 30-day cutoff's week began; one younger than 30 days never is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organization
from core import partitions
from developer.models import RequestLog
from developer.public_api import request_log
from developer.tasks import prune_request_logs
from tests.conftest import ApiClient, is_postgres
from tests.webhooks.receiver import Receiver, Reply
from webhooks.delivery import delivery_attempt
from webhooks.events import emit
from webhooks.models import Attempt, Delivery, Event
from webhooks.services import delivery_replay, endpoint_create
from webhooks.tasks import prune as prune_webhooks

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL (set DATABASE_URL): SQLite keeps plain tables"),
]

WEBHOOK_TABLES = {"webhooks_event": Event, "webhooks_delivery": Delivery, "webhooks_attempt": Attempt}


def week_names(table: str) -> set[str]:
    return {p.name for p in partitions.partitions(table)}


def name_of(table: str, moment: datetime) -> str:
    return partitions.partition_name(table, partitions.period_start(moment).date())


def week_of(table: str, moment: datetime) -> None:
    """Make the partition of ``moment``'s week, if missing."""
    column = "started_at" if table == "webhooks_attempt" else "created_at"
    partitions.ensure_partitions(table, column, now=moment, ahead=0)


def rows_in(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # the partition itself, not the parent
        (count,) = cursor.fetchone()
    return int(count)


def age(delivery: Delivery, *, days: float, event_too: bool = True) -> datetime:
    """Date the delivery (its attempts, and its event unless told otherwise) ``days`` back."""
    moment = timezone.now() - timedelta(days=days)
    if days < 100:  # older ones are left to the default partition
        for table in WEBHOOK_TABLES:
            week_of(table, moment)
    Delivery.objects.filter(pk=delivery.pk).update(created_at=moment)
    Attempt.objects.filter(delivery_id=delivery.pk).update(started_at=moment)
    if event_too:
        Event.objects.filter(pk=delivery.event_id).update(created_at=moment)
    return moment


def sent(org: Organization) -> Delivery:
    delivery = Delivery.objects.get(event=emit(organization=org, type="call.completed", data={}, mode="live"))
    delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_the_tables_are_partitioned_by_week_with_a_default_partition(db: Any) -> None:
    for table in (*WEBHOOK_TABLES, "developer_requestlog"):
        assert partitions.is_partitioned(table)
        assert partitions.default_name(table) in _children(table)


def test_request_log_prune_makes_weeks_ahead_and_drops_whole_weeks_past_retention(org: Organization) -> None:
    now = timezone.now()
    table = "developer_requestlog"
    ages = {"today": 0, "kept": 29.5, "old": 38, "older": 45, "stray": 200}
    week_of(table, now - timedelta(days=45))
    request_log.insert_entries([_entry(org, name, at=now - timedelta(days=days)) for name, days in ages.items()])
    assert rows_in(name_of(table, now - timedelta(days=38))) == 1
    assert rows_in(partitions.default_name(table)) == 1  # 200 days back: no partition covers it

    prune_request_logs.delay().get()

    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == ["req_kept", "req_today"]
    remaining = week_names(table)
    assert {name_of(table, now), name_of(table, now + timedelta(days=7))} <= remaining
    assert name_of(table, now - timedelta(days=38)) not in remaining
    assert name_of(table, now - timedelta(days=45)) not in remaining
    with connection.cursor() as cursor:  # detached and dropped, not left behind
        cursor.execute("SELECT to_regclass(%s)", [name_of(table, now - timedelta(days=38))])
        assert cursor.fetchone()[0] is None
    assert name_of(table, now - timedelta(days=29.5)) in remaining
    assert min(p.upper for p in partitions.partitions(table)) > now - timedelta(days=30)
    # A retried flush of what is kept still inserts each request once.
    request_log.insert_entries([_entry(org, "kept", at=now - timedelta(days=29.5))])
    assert RequestLog.objects.filter(request_id="req_kept").count() == 1


def test_a_row_beyond_the_weeks_made_waits_in_the_default_partition_and_moves_into_its_week(org: Organization) -> None:
    table = "developer_requestlog"
    later = timezone.now() + timedelta(days=30)
    request_log.insert_entries([_entry(org, "later", at=later)])
    assert rows_in(partitions.default_name(table)) == 1

    created = partitions.ensure_partitions(table, "created_at", now=later - timedelta(days=5), ahead=1)

    assert name_of(table, later) in created
    assert rows_in(partitions.default_name(table)) == 0
    assert rows_in(name_of(table, later)) == 1
    assert RequestLog.objects.get().request_id == "req_later"
    # Sizes count the partitions (the parent itself holds nothing).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size(%s)", [table])
        assert cursor.fetchone()[0] == 0
    assert partitions.table_bytes(table) >= 8192


def test_webhook_prune_drops_whole_weeks_but_never_unfinished_work_or_an_event_still_referred_to(
    org: Organization, receiver: Receiver, api: ApiClient
) -> None:
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    finished_old = sent(org)
    finished_old_at = age(finished_old, days=38)
    stray = sent(org)
    age(stray, days=200)  # in the default partition
    # Replayed two days ago, of an event past retention: the event must stay while the replay does.
    replayed = sent(org)
    replayed_at = age(replayed, days=52)
    replay = delivery_replay(delivery=replayed, actor=None)
    delivery_attempt(delivery_id=replay.pk)
    age(replay, days=2, event_too=False)
    # Retrying: its first attempt failed, the next is due.
    receiver.reply(Reply(500))
    retrying = sent(org)
    assert retrying.status == Delivery.Status.PENDING
    retrying_at = age(retrying, days=45)
    receiver.reply(Reply(200))
    finished_beside = sent(org)  # same week as the retrying one, finished
    age(finished_beside, days=45)
    recent = sent(org)
    recent_at = age(recent, days=5)

    prune_webhooks.delay().get()

    for table in WEBHOOK_TABLES:
        assert {name_of(table, timezone.now()), name_of(table, timezone.now() + timedelta(days=7))} <= week_names(table)
    # A finished week goes whole, event and attempts with it.
    assert name_of("webhooks_delivery", finished_old_at) not in week_names("webhooks_delivery")
    assert not Delivery.objects.filter(pk=finished_old.pk).exists()
    assert not Event.objects.filter(pk=finished_old.event_id).exists()
    # The default partition's strays go row by row.
    assert not Delivery.objects.filter(pk=stray.pk).exists()
    assert not Event.objects.filter(pk=stray.event_id).exists()
    assert rows_in(partitions.default_name("webhooks_delivery")) == 0
    # The retrying delivery's week stays, with its event and attempts; what finished beside it goes.
    assert name_of("webhooks_delivery", retrying_at) in week_names("webhooks_delivery")
    assert Delivery.objects.get(pk=retrying.pk).status == Delivery.Status.PENDING
    assert Event.objects.filter(pk=retrying.event_id).exists()
    assert Attempt.objects.filter(delivery_id=retrying.pk).count() == 1
    assert not Delivery.objects.filter(pk=finished_beside.pk).exists()
    assert not Attempt.objects.filter(delivery_id=finished_beside.pk).exists()
    # The replayed original's week went; the replay forgot it and still has its event.
    assert name_of("webhooks_delivery", replayed_at) not in week_names("webhooks_delivery")
    assert name_of("webhooks_event", replayed_at) in week_names("webhooks_event")
    replay.refresh_from_db()
    assert replay.replay_of_id is None and replay.event.pk == replayed.event_id
    # Within retention, untouched.
    assert Delivery.objects.filter(pk=recent.pk).exists()
    assert name_of("webhooks_attempt", recent_at) in week_names("webhooks_attempt")

    # The ordinary reads work on the partitioned tables: the delivery log over the API.
    log = api.get(f"/webhooks/{endpoint.public_id}/deliveries")
    assert log.status_code == 200
    assert {d["id"] for d in log.body["data"]} == {replay.public_id, retrying.public_id, recent.public_id}
    shown = next(d for d in log.body["data"] if d["id"] == replay.public_id)
    assert shown["replayOf"] is None and shown["eventId"] == replayed.event.public_id

    # Once the retry finishes, its week goes on the next run, attempts and event with it.
    Delivery.objects.filter(pk=retrying.pk).update(status=Delivery.Status.FAILED, next_attempt_at=None)
    prune_webhooks.delay().get()
    assert name_of("webhooks_delivery", retrying_at) not in week_names("webhooks_delivery")
    assert name_of("webhooks_attempt", retrying_at) not in week_names("webhooks_attempt")
    assert not Event.objects.filter(pk=retrying.event_id).exists()
    assert not Attempt.objects.filter(delivery_id=retrying.pk).exists()
    assert min(p.lower for p in partitions.partitions("webhooks_attempt")) > retrying_at


@pytest.mark.django_db(transaction=True)
def test_a_prune_beside_an_open_insert_into_this_week_leaves_the_old_week_for_later_and_the_insert_lands(
    org: Organization,
) -> None:
    now = timezone.now()
    table = "developer_requestlog"
    week_of(table, now - timedelta(days=38))
    request_log.insert_entries([_entry(org, "old", at=now - timedelta(days=38))])

    # The insert holds its lock on the table until it commits: the detach gives up after its lock
    # timeout rather than queue every later insert behind it, and the prune carries on.
    with _open_transaction(lambda: request_log.insert_entries([_entry(org, "during", at=timezone.now())])):
        prune_request_logs.delay().get()
        assert name_of(table, now - timedelta(days=38)) in week_names(table)
        assert not RequestLog.objects.filter(request_id="req_old").exists()  # deleted row by row meanwhile

    assert RequestLog.objects.filter(request_id="req_during").exists()
    prune_request_logs.delay().get()
    assert name_of(table, now - timedelta(days=38)) not in week_names(table)
    assert _exists(name_of(table, now - timedelta(days=38))) is False
    assert RequestLog.objects.filter(request_id="req_during").exists()


@pytest.mark.django_db(transaction=True)
def test_a_prune_beside_a_long_read_of_the_organisations_never_waits_on_it_for_long(
    org: Organization, receiver: Receiver
) -> None:
    # Dropping a detached week's foreign keys locks the organisations outright: with a reader holding
    # them, the prune gives that week up after the lock timeout (instead of stalling every request
    # queued behind it), and drops it on the next run.
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    old = sent(org)
    old_at = age(old, days=45)

    with _open_transaction(lambda: Organization.objects.filter(pk=org.pk).exists()):
        prune_webhooks.delay().get()
        assert name_of("webhooks_delivery", old_at) in week_names("webhooks_delivery")

    prune_webhooks.delay().get()
    for table in WEBHOOK_TABLES:
        assert name_of(table, old_at) not in week_names(table)
        assert _exists(name_of(table, old_at)) is False
    assert not Delivery.objects.filter(pk=old.pk).exists()
    assert not Event.objects.filter(pk=old.event_id).exists()


def test_a_detached_week_a_failed_run_left_behind_is_dropped_by_the_next_prune(org: Organization) -> None:
    old = timezone.now() - timedelta(days=45)
    table = "webhooks_event"
    week_of(table, old)
    leftover = name_of(table, old)
    with connection.cursor() as cursor:  # as a run stopped between detaching and dropping leaves it
        cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {leftover}")
        cursor.execute(f"CREATE TABLE {table}_p20200106_notes (id int)")  # not a week: not ours
    assert leftover not in week_names(table) and _exists(leftover)

    prune_webhooks.delay().get()

    assert _exists(leftover) is False
    assert _exists(f"{table}_p20200106_notes")
    assert partitions.is_partitioned(table)


@contextmanager
def _open_transaction(work: Callable[[], object]) -> Iterator[None]:
    """Run ``work`` in a transaction on another connection that stays open (its locks held) until the block ends."""
    started, finish, failed = threading.Event(), threading.Event(), []

    def hold() -> None:
        try:
            with transaction.atomic():
                work()
                started.set()
                finish.wait(30)
        except Exception as error:  # reported in the test's thread
            failed.append(error)
            started.set()
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    started.wait(30)
    try:
        yield
    finally:
        finish.set()
        thread.join(30)
    assert not failed, failed


def _exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return bool(cursor.fetchone()[0])


def _children(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [table],
        )
        return {name for (name,) in cursor.fetchall()}


def _entry(org: Organization, name: str, *, at: datetime) -> dict[str, Any]:
    return {
        "request_id": f"req_{name}",
        "org_id": org.pk,
        "mode": "test",
        "method": "GET",
        "path": "/api/public/v1/calls",
        "status": 200,
        "latency_ms": 3.0,
        "at": at.isoformat(),
    }
