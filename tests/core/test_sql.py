"""core.sql.update_rows: many rows in one statement, each value adapted by its field, WHERE honoured per row."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from core.sql import insert_rows, rows_by_pk, update_rows
from webhooks.events import emit
from webhooks.models import Attempt, Delivery, Event
from webhooks.services import endpoint_create


@pytest.mark.django_db
def test_update_rows_sets_each_row_and_skips_rows_whose_where_does_not_match(org: Any) -> None:
    endpoint, _ = endpoint_create(organization=org, url="https://example.com/hook", events=["*"], actor=None)
    emit(organization=org, type="call.started", data={}, mode="test")
    emit(organization=org, type="call.started", data={}, mode="test")
    first, second = Delivery.objects.filter(endpoint=endpoint).order_by("pk")
    token = uuid.uuid4()
    Delivery.objects.filter(pk__in=[first.pk, second.pk]).update(claim_token=token)
    at = timezone.now() + timedelta(seconds=3)

    update_rows(
        Delivery,
        set_fields=["completed_at", "last_status", "status", "status_reason", "next_attempt_at"],
        where_fields=["id", "claim_token"],
        rows=[
            [at, 204, Delivery.Status.SUCCEEDED, 'it\'s "done"', None, first.pk, token],
            # Another claim's token: this row must not move.
            [at, 500, Delivery.Status.FAILED, "no", None, second.pk, uuid.uuid4()],
        ],
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.last_status, first.completed_at, first.next_attempt_at) == (
        Delivery.Status.SUCCEEDED,
        204,
        at,
        None,
    )
    assert first.status_reason == 'it\'s "done"'
    assert second.status == Delivery.Status.PENDING
    assert second.last_status is None
    assert second.completed_at is None
    assert second.next_attempt_at is not None


@pytest.mark.django_db
def test_insert_rows_writes_each_object_adapted_by_its_fields_and_sets_its_key_in_order(org: Any) -> None:
    endpoint_create(organization=org, url="https://example.com/hook", events=["*"], actor=None)
    emit(organization=org, type="call.started", data={}, mode="test")
    emit(organization=org, type="call.started", data={}, mode="test")
    first, second = Delivery.objects.order_by("pk")
    at = timezone.now()
    attempts = [
        Attempt(
            delivery=first,
            number=1,
            request_url="https://example.com/hook",
            signature=b"\x00\xff" * 16,
            queued_ms=5,
            started_at=at,
        ),
        Attempt(
            delivery=second,
            number=1,
            request_url="https://example.com/it's",
            signature=None,
            request_headers_override={"X-Odd": 'a "quoted", {braced} value'},
            started_at=at + timedelta(seconds=1),
        ),
        Attempt(
            delivery=first, number=2, request_url="https://example.com/hook", response_headers={"a": "b"}, started_at=at
        ),
    ]

    insert_rows(attempts)

    assert [a.pk for a in attempts] == sorted(a.pk for a in attempts) and None not in [a.pk for a in attempts]
    stored = {a.pk: a for a in Attempt.objects.filter(pk__in=[a.pk for a in attempts])}
    for attempt in attempts:
        row = stored[attempt.pk]
        assert (row.delivery_id, row.number, row.request_url, row.started_at, row.queued_ms) == (
            attempt.delivery_id,
            attempt.number,
            attempt.request_url,
            attempt.started_at,
            attempt.queued_ms,
        )
        assert (bytes(row.signature) if row.signature is not None else None) == attempt.signature
        assert row.request_headers_override == attempt.request_headers_override
        assert (row.response_headers, row.succeeded, row.error_class, row.finished_at) == (
            attempt.response_headers,
            False,
            "",
            None,
        )


def _three_attempts(org: Any) -> tuple[list[Delivery], list[Attempt], Any]:
    """Three deliveries of one endpoint, each with a first attempt inserted by insert_rows, and its start time."""
    endpoint_create(organization=org, url="https://example.com/hook", events=["*"], actor=None)
    for _ in range(3):
        emit(organization=org, type="call.started", data={}, mode="test")
    deliveries = list(Delivery.objects.order_by("pk"))
    at = timezone.now()
    attempts = [
        Attempt(delivery=d, number=1, request_url="https://example.com/hook", started_at=at, response_headers={})
        for d in deliveries
    ]
    insert_rows(attempts)
    return deliveries, attempts, at


@pytest.mark.django_db
def test_columns_equal_in_every_row_are_written_to_each_row_and_equal_values_of_another_type_are_not_merged(
    org: Any,
) -> None:
    """A column with one value for all rows goes once; values that are equal in Python but written
    differently (1 and True in JSON) still reach their own rows."""
    deliveries, attempts, at = _three_attempts(org)
    token = uuid.uuid4()
    Delivery.objects.update(claim_token=token)

    update_rows(
        Attempt,
        set_fields=["response_status", "response_headers", "succeeded", "finished_at"],
        where_fields=["id"],
        rows=[
            [200, {"n": 1}, True, at, attempts[0].pk],
            [200, {"n": True}, True, at, attempts[1].pk],
            [200, {"n": 1}, True, at, attempts[2].pk],
        ],
    )
    # Every value the same, the WHERE's included: one row named, one row moved.
    update_rows(
        Delivery,
        set_fields=["status", "completed_at"],
        where_fields=["id", "claim_token"],
        rows=[[Delivery.Status.SUCCEEDED, at, deliveries[0].pk, token]],
    )

    stored = list(Attempt.objects.filter(pk__in=[a.pk for a in attempts]).order_by("pk"))
    assert [(a.number, a.request_url, a.started_at, a.response_headers) for a in stored[:1]] == [
        (1, "https://example.com/hook", at, {"n": 1})
    ]
    assert [a.response_headers for a in stored] == [{"n": 1}, {"n": True}, {"n": 1}]
    assert [(a.response_status, a.succeeded, a.finished_at) for a in stored] == [(200, True, at)] * 3
    assert [a.delivery_id for a in stored] == [d.pk for d in deliveries]
    assert list(Delivery.objects.order_by("pk").values_list("status", flat=True)) == [
        Delivery.Status.SUCCEEDED,
        Delivery.Status.PENDING,
        Delivery.Status.PENDING,
    ]


@pytest.mark.django_db
def test_values_that_need_their_field_are_adapted_and_plain_ones_arrive_as_they_are(org: Any) -> None:
    """Plain values (ints, texts, aware times) skip their field's adaptation on PostgreSQL; the others still
    get it: a number given as text, JSON, a naive time (made aware by the field, as save() would)."""
    _, attempts, at = _three_attempts(org)
    naive = (at + timedelta(seconds=5)).replace(tzinfo=None)

    with pytest.warns(RuntimeWarning, match="naive datetime"):
        update_rows(
            Attempt,
            set_fields=["response_status", "duration_ms", "response_headers", "error_message", "finished_at"],
            where_fields=["id"],
            rows=[
                ["201", 7, {"server": "a", "x-id": "1"}, "it's", at, attempts[0].pk],
                [204, 8, {"server": "a", "x-id": "1"}, 'a "b"', naive, attempts[1].pk],
                [500, None, {"server": "a", "x-id": "1"}, "", at + timedelta(seconds=1), attempts[2].pk],
            ],
        )

    stored = list(Attempt.objects.filter(pk__in=[a.pk for a in attempts]).order_by("pk"))
    assert [(a.response_status, a.duration_ms, a.error_message) for a in stored] == [
        (201, 7, "it's"),
        (204, 8, 'a "b"'),
        (500, None, ""),
    ]
    assert [a.response_headers for a in stored] == [{"server": "a", "x-id": "1"}] * 3
    assert [a.finished_at for a in stored] == [at, naive.replace(tzinfo=at.tzinfo), at + timedelta(seconds=1)]


@pytest.mark.django_db
def test_a_prepared_cursor_runs_statements_and_on_postgresql_the_server_keeps_their_plan(org: Any) -> None:
    from django.db import connection

    from core.sql import prepared_cursor

    endpoint_create(organization=org, url="https://example.com/hook", events=["*"], actor=None)
    for n in range(7):  # PostgreSQL plans a prepared statement 5 times before it weighs a generic plan
        emit(organization=org, type="call.completed", data={"n": n}, mode="live")
    with prepared_cursor(connection) as cursor:
        cursor.execute("SELECT COUNT(*) FROM webhooks_delivery WHERE organization_id = %s", [org.pk])
        assert cursor.fetchone() == (7,)
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%%INSERT INTO \"webhooks_delivery\"%%'"
        )
        ((statement, generic, custom),) = cursor.fetchall()
    # emit's statement is prepared once on this connection and run 7 times; the held check inside it
    # no longer costs a plan over every partition each time.
    assert "$1" in statement and generic + custom == 7 and generic >= 1
    assert Delivery.objects.filter(organization=org, status=Delivery.Status.PENDING).count() == 7


@pytest.mark.django_db(transaction=True)
def test_a_prepared_cursor_replaces_a_dead_persistent_connection_as_django_s_cursor_does() -> None:
    from django.db import connection

    from core.sql import prepared_cursor

    if connection.vendor != "postgresql":
        pytest.skip("the prepared cursor is PostgreSQL's; elsewhere it is connection.cursor() itself")
    connection.ensure_connection()
    dead = connection.connection
    dead.close()  # the server or a network device dropped it between two requests
    # A new request begins (attributes Django sets per request; absent from the stubs).
    connection.health_check_enabled, connection.health_check_done = True, False  # type: ignore[attr-defined]
    with prepared_cursor(connection) as cursor:
        cursor.execute("SELECT %s + 1", [41])
        assert cursor.fetchone() == (42,)
    assert connection.connection is not dead


def _field_values(obj: Any) -> dict[str, Any]:
    return {field.attname: getattr(obj, field.attname) for field in type(obj)._meta.concrete_fields}


@pytest.mark.django_db
def test_rows_by_pk_loads_the_rows_the_orm_would_in_the_order_asked(org: Any) -> None:
    _, attempts, _ = _three_attempts(org)
    attempts[0].response_headers = {"Content-Type": "text/plain", "X-Odd": 'a "quoted" value'}
    attempts[0].save(update_fields=["response_headers"])
    deliveries = list(Delivery.objects.order_by("pk"))
    Delivery.objects.filter(pk=deliveries[0].pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))

    for model, pks, order_by in [
        (Delivery, [d.pk for d in deliveries] + [10**12], ("next_attempt_at", "id")),  # an unknown id is no row
        (Attempt, [a.pk for a in attempts], ("-number", "id")),  # JSON and bytes go through their fields
        (Event, {d.event_id for d in deliveries}, ()),  # the compressed body comes back as text
    ]:
        loaded = rows_by_pk(model, pks, order_by=order_by)
        expected = list(model._default_manager.filter(pk__in=list(pks)).order_by(*order_by))
        assert [_field_values(obj) for obj in loaded] == [_field_values(obj) for obj in expected], model
        assert all(not obj._state.adding and obj._state.db == "default" for obj in loaded)
    assert [d.pk for d in rows_by_pk(Delivery, [d.pk for d in deliveries], order_by=("next_attempt_at", "id"))][
        -1
    ] == deliveries[0].pk  # the one due last comes last
    assert isinstance(rows_by_pk(Event, [deliveries[0].event_id])[0].body, str)
    assert rows_by_pk(Delivery, []) == []
