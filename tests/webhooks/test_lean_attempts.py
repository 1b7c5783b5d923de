"""Lean attempt rows: the delivery log rebuilds what was sent, and shows exactly what a real receiver got."""

from __future__ import annotations

import hashlib
import hmac
import importlib
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.exceptions import IrreversibleError
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from accounts.models import Organization
from developer.templatetags.code_blocks import pretty_json
from tests.conftest import is_postgres
from webhooks.delivery import delivery_attempt
from webhooks.events import emit
from webhooks.models import Attempt, Delivery, Event
from webhooks.services import endpoint_create, endpoint_rotate_secret

from .receiver import Received, Receiver, Reply

BASE = "/settings/developer/webhooks/"
# What the HTTP client adds to every request; the log shows the headers the engine chose.
TRANSPORT_HEADERS = {"host", "content-length", "connection", "accept-encoding"}


def _signed_by(received: Received, secret: str) -> bool:
    parts = [p.split("=", 1) for p in received.headers["x-aip-signature"].split(",")]
    t = next(v for k, v in parts if k == "t")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + received.body, hashlib.sha256).hexdigest()
    return expected in [v for k, v in parts if k == "v1"]


def _assert_shown_as_sent(shown_headers: dict[str, str], shown_body: str, received: Received) -> None:
    assert shown_body.encode("utf-8") == received.body
    for name, value in shown_headers.items():
        assert received.headers[name.lower()] == value, name
    assert set(received.headers) - {name.lower() for name in shown_headers} <= TRANSPORT_HEADERS


@pytest.mark.django_db
def test_the_api_and_the_dashboard_show_exactly_what_the_receiver_got_even_after_the_secret_rotated(
    org: Organization, api: Any, owner: Any, receiver: Receiver
) -> None:
    endpoint, first_secret = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    event = emit(
        organization=org, type="call.completed", data={"callId": "call_123", "note": "café ünïcode"}, mode="live"
    )
    delivery = Delivery.objects.get(event=event)
    receiver.reply(Reply(500, body=b"busy"))

    delivery_attempt(delivery_id=delivery.pk)
    # The retry goes out during a rotation, signed with both secrets; then the old one is gone for good.
    endpoint, second_secret = endpoint_rotate_secret(endpoint=endpoint, overlap="1h", actor=None)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    delivery_attempt(delivery_id=delivery.pk)
    endpoint_rotate_secret(endpoint=endpoint, overlap="now", actor=None)

    first, second = receiver.requests
    assert _signed_by(first, first_secret) and not _signed_by(first, second_secret)
    assert _signed_by(second, first_secret) and _signed_by(second, second_secret)
    assert first.headers["x-aip-signature"].count("v1=") == 1 and second.headers["x-aip-signature"].count("v1=") == 2

    # The rows hold no copy of the body or the headers: digests only.
    rows = list(Attempt.objects.filter(delivery=delivery).order_by("number"))
    assert [len(bytes(r.signature or b"")) for r in rows] == [32, 64]
    assert all(r.request_headers_override is None and r.request_body_override is None for r in rows)

    detail = api.get(f"/webhooks/{endpoint.public_id}/deliveries/{delivery.public_id}")
    assert detail.status_code == 200
    shown = sorted(detail.body["data"]["attempts"], key=lambda a: a["number"])
    assert [a["response"]["status"] for a in shown] == [500, 200]
    for attempt, received in zip(shown, (first, second), strict=True):
        assert attempt["request"]["url"] == receiver.url
        _assert_shown_as_sent(attempt["request"]["headers"], attempt["request"]["body"], received)
        assert "date" not in attempt["response"]["headers"] and "content-length" not in attempt["response"]["headers"]

    client = Client()
    client.force_login(owner)
    page = client.get(f"{BASE}{endpoint.public_id}/deliveries/{delivery.public_id}/")
    assert page.status_code == 200
    text = page.content.decode()
    # Each attempt's request as the page prints it: the headers in the order sent, one per line, then
    # the body received, indented for reading (its copy button copies the same text).
    for attempt, received in zip(shown, (first, second), strict=True):
        lines = "\n".join(f"{name}: {value}" for name, value in attempt["request"]["headers"].items())
        assert escape(lines) in text
        assert escape(pretty_json(received.body.decode())) in text
    for shown_text in (text, str(detail.body)):
        assert first_secret not in shown_text and second_secret not in shown_text


@pytest.mark.django_db
def test_a_test_send_and_a_replay_show_their_own_event_body_and_headers(
    org: Organization, api: Any, receiver: Receiver
) -> None:
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    sent = api.post(f"/webhooks/{endpoint.public_id}/test", {})
    assert sent.status_code == 200, sent.body
    original = Delivery.objects.get(endpoint=endpoint)
    replayed = api.post(f"/webhooks/{endpoint.public_id}/deliveries/{original.public_id}/replay", {})
    assert replayed.status_code == 202, replayed.body
    replay = Delivery.objects.get(public_id=replayed.body["data"]["id"])
    delivery_attempt(delivery_id=replay.pk)

    test_request, replay_request = receiver.requests
    assert replay_request.body == test_request.body  # a replay keeps the event
    for delivery, received in ((original, test_request), (replay, replay_request)):
        (attempt,) = api.get(f"/webhooks/{endpoint.public_id}/deliveries/{delivery.public_id}").body["data"]["attempts"]
        _assert_shown_as_sent(attempt["request"]["headers"], attempt["request"]["body"], received)
        assert attempt["request"]["headers"]["X-AIP-Delivery-Id"] == delivery.public_id


def _legacy_rows(apps: Any) -> dict[str, Any]:
    """Rows as the engine wrote them before migration 0005: full headers and body in every attempt."""
    organization = apps.get_model("accounts", "Organization").objects.create(name="Legacy")
    endpoint = apps.get_model("webhooks", "Endpoint").objects.create(
        organization=organization, url="https://hooks.example.com/legacy", events=["*"], secret_encrypted="x"
    )
    body = '{"id":"evt_legacy","type":"call.completed","data":{"note":"café"},"livemode":true}'
    event = apps.get_model("webhooks", "Event").objects.create(
        organization=organization, public_id="evt_legacy", type="call.completed", mode="live", body=body
    )
    delivery = apps.get_model("webhooks", "Delivery").objects.create(
        organization=organization, endpoint=endpoint, event=event, public_id="del_legacy"
    )
    started = timezone.now().replace(microsecond=250_000)
    t = int(started.timestamp())
    standard = {
        "Content-Type": "application/json",
        "User-Agent": "AIPhone360-Webhooks/1.0",
        "X-AIP-Signature": f"t={t},v1={'ab' * 32},v1={'cd' * 32}",
        "X-AIP-Event-Id": "evt_legacy",
        "X-AIP-Event-Type": "call.completed",
        "X-AIP-Delivery-Id": "del_legacy",
        "X-AIP-Attempt": "1",
        "X-AIP-Mode": "live",
    }
    # Not what the engine would rebuild: another user agent, and a body that is not the event's.
    odd = {**standard, "X-AIP-Attempt": "2", "User-Agent": "AIPhone360-Webhooks/0.9"}
    Attempt = apps.get_model("webhooks", "Attempt")
    for number, headers, sent_body in ((1, standard, body), (2, odd, '{"old":"format"}')):
        Attempt.objects.create(
            delivery=delivery,
            public_id=f"att_legacy{number}",
            number=number,
            request_url=endpoint.url,
            request_headers=headers,
            request_body=sent_body,
            started_at=started,
            response_status=200,
        )
    return {"body": body, "standard": standard, "odd": odd}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    is_postgres(),
    reason="on PostgreSQL the tables are partitioned from webhooks 0010 on, which is one way (its own test below)",
)
def test_the_migrations_keep_what_legacy_attempts_sent_both_ways() -> None:
    before = [("webhooks", "0004_delivery_leases_slow_lane_queue_times")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        executor.loader.build_graph()
        legacy = _legacy_rows(executor.loader.project_state(before).apps)

        executor.migrate(latest)
        executor.loader.build_graph()
        standard, odd = Attempt.objects.select_related("delivery__event").order_by("number")
        assert standard.request_headers == legacy["standard"] and standard.request_body == legacy["body"]
        assert standard.request_headers_override is None and standard.request_body_override is None
        assert bytes(standard.signature or b"") == bytes.fromhex("ab" * 32 + "cd" * 32)
        assert odd.request_headers == legacy["odd"] and odd.request_body == '{"old":"format"}'
        assert odd.request_headers_override == legacy["odd"]
        assert Event.objects.get().body == legacy["body"]

        executor.migrate(before)
        executor.loader.build_graph()
        apps = executor.loader.project_state(before).apps
        rows = apps.get_model("webhooks", "Attempt").objects.order_by("number")
        assert [(r.request_headers, r.request_body) for r in rows] == [
            (legacy["standard"], legacy["body"]),
            (legacy["odd"], '{"old":"format"}'),
        ]
        assert apps.get_model("webhooks", "Event").objects.get().body == legacy["body"]
    finally:
        executor.loader.build_graph()
        executor.migrate(latest)


@pytest.mark.django_db
def test_deleting_an_organization_takes_its_deliveries_along_through_its_endpoints(receiver: Receiver) -> None:
    short_lived = Organization.objects.create(name="Short-lived")  # no ledger, so it may be deleted
    endpoint, _ = endpoint_create(organization=short_lived, url=receiver.url, events=["*"], actor=None)
    event = emit(organization=short_lived, type="call.completed", data={"callId": "call_1"}, mode="test")
    delivery = Delivery.objects.get(event=event)
    Attempt.objects.create(delivery=delivery, number=1, request_url=endpoint.url, signature=b"\x00" * 32)

    short_lived.delete()

    assert not Delivery.objects.exists() and not Attempt.objects.exists() and not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not is_postgres(), reason="the partitioning is PostgreSQL's; SQLite keeps plain tables")
def test_going_back_past_the_partitioning_is_refused_before_anything_changes() -> None:
    executor = MigrationExecutor(connection)
    with pytest.raises(IrreversibleError, match="stay partitioned"):
        executor.migrate([("webhooks", "0009_derived_attempt_ids_and_unfinished_org_index")])
    executor.loader.build_graph()
    assert ("webhooks", "0010_partition_by_time") in executor.loader.applied_migrations
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'webhooks_attempt'")
        assert cursor.fetchone() == ("p",)  # still partitioned, and still in use
    assert Attempt.objects.count() == 0
    # Only 0010 refused: what came after it (unapplied on the way) is applied again, as the other tests expect.
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not is_postgres(), reason="the constraint's column order is PostgreSQL's partitioned index")
def test_the_attempt_number_constraint_is_put_back_delivery_first() -> None:
    """Databases partitioned by 0010 before the conversion kept the declared order got (number, delivery_id)."""
    fix = importlib.import_module("webhooks.migrations.0011_attempt_unique_delivery_first")

    def constraint() -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'webhooks_attempt'::regclass AND conname = 'attempt_number_unique'"
            )
            return str(cursor.fetchone()[0])

    assert constraint() == fix.RIGHT  # a fresh database has it right already
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE webhooks_attempt DROP CONSTRAINT attempt_number_unique, ADD CONSTRAINT attempt_number_unique {fix.WRONG}"
        )
    with connection.schema_editor() as editor:
        fix.delivery_first(None, editor)
    assert constraint() == fix.RIGHT
    with connection.schema_editor() as editor:
        fix.delivery_first(None, editor)  # and leaves a right one alone
    assert constraint() == fix.RIGHT
