"""emit(): the transactional outbox writes the event and its deliveries, and sends only after commit."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from accounts.models import Organization
from billing.attribution import by_key
from billing.models import UsageRecord, Wallet
from core import fastcache
from core.signing import verify
from developer.scopes import ALL_SCOPES
from developer.services import api_key_create
from tests.conftest import make_org
from webhooks import dispatch
from webhooks.events import EVENT_TYPES, emit, event_signal_key
from webhooks.models import Delivery, Event
from webhooks.services import endpoint_create, endpoint_delete, endpoint_update

from .receiver import Receiver

pytestmark = pytest.mark.django_db


def test_the_nine_spec_event_types_and_the_additions_are_known() -> None:
    assert sorted(EVENT_TYPES) == sorted(
        [
            "sms.status_updated",  # additions beside the spec's nine (issue 18)
            "contact.deleted",
            "call.started",
            "call.completed",
            "transcript.ready",
            "sms.received",
            "sms.sent",
            "voicemail.created",
            "contact.created",
            "contact.updated",
            "appointment.booked",
        ]
    )


def test_emit_writes_the_exact_payload_and_one_delivery_per_subscribed_enabled_endpoint(
    org: Organization, receiver: Receiver
) -> None:
    calls, _ = endpoint_create(organization=org, url=receiver.url, events=["call.completed"], actor=None)
    everything, _ = endpoint_create(organization=org, url=receiver.url + "/all", events=["*"], actor=None)
    endpoint_create(organization=org, url=receiver.url + "/sms", events=["sms.sent"], actor=None)
    off, _ = endpoint_create(organization=org, url=receiver.url + "/off", events=["*"], actor=None)
    off.disable(reason="test")
    other = make_org("Someone Else")
    endpoint_create(organization=other, url=receiver.url + "/other", events=["*"], actor=None)

    event = emit(
        organization=org, type="call.completed", data={"callId": "call_1", "cost": Decimal("1.50")}, mode="live"
    )

    payload = json.loads(event.body)
    assert list(payload) == ["id", "type", "createdAt", "businessId", "data", "livemode"]
    assert payload["id"] == event.public_id and event.public_id.startswith("evt_")
    assert payload["type"] == "call.completed"
    assert payload["businessId"] == org.public_id
    assert payload["data"] == {"callId": "call_1", "cost": "1.50"}
    assert payload["livemode"] is True
    assert payload["createdAt"].endswith("Z")
    assert {d.endpoint_id for d in Delivery.objects.filter(event=event)} == {calls.pk, everything.pk}


def test_emit_refuses_unknown_types_and_writes_nothing(org: Organization) -> None:
    with pytest.raises(ValueError, match="Unknown webhook event type"):
        emit(organization=org, type="call.exploded", data={}, mode="live")
    with pytest.raises(ValueError, match="mode"):
        emit(organization=org, type="call.started", data={}, mode="sandbox")
    assert not Event.objects.exists()


def test_emitted_event_is_delivered_after_commit_with_a_verifiable_signature(
    org: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    _endpoint, secret = endpoint_create(organization=org, url=receiver.url, events=["contact.created"], actor=None)

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            event = emit(organization=org, type="contact.created", data={"id": "con_1"}, mode="live")
            assert receiver.requests == []  # nothing leaves before commit

    (request,) = receiver.requests
    assert request.body == event.body.encode()
    verify(header=request.headers["x-aip-signature"], body=request.body, secret=secret)
    assert request.headers["x-aip-event-id"] == event.public_id
    assert request.headers["x-aip-event-type"] == "contact.created"
    assert request.headers["x-aip-attempt"] == "1"
    assert request.headers["x-aip-mode"] == "live"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("AIPhone360-Webhooks/")
    delivery = Delivery.objects.get(event=event)
    assert request.headers["x-aip-delivery-id"] == delivery.public_id
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert UsageRecord.objects.filter(metric="webhook_attempts", mode="live", organization=org).count() == 1


def test_events_emitted_in_a_rolled_back_transaction_are_never_sent(
    org: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                emit(organization=org, type="sms.received", data={"id": "msg_1"}, mode="live")
                raise RuntimeError("the caller's change failed")

    assert callbacks == []
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert receiver.requests == []


def test_every_emit_reads_the_endpoints_as_they_are_now_by_the_rules_of_the_model(
    org: Organization, other_org: Organization
) -> None:
    """On PostgreSQL emit() matches endpoints in SQL (no ORM); the rules stay Endpoint.subscribes_to and
    Endpoint.receives_mode, and a change made just before is honoured by the very next emit."""
    url = "https://example.com/hook"
    endpoints = [
        endpoint_create(organization=org, url=url, events=events, modes=modes, actor=None)[0]
        for events, modes in [
            (["*"], ["live", "test"]),
            (["*"], ["live"]),
            (["*"], ["test"]),
            (["call.completed", "sms.sent"], ["live", "test"]),
            (["sms.sent"], ["test"]),
        ]
    ]
    endpoint_create(organization=other_org, url=url, events=["*"], actor=None)  # never another business's

    def delivered_to(type: str, mode: str) -> set[int]:
        event = emit(organization=org, type=type, data={}, mode=mode)
        return set(Delivery.objects.filter(event=event).values_list("endpoint_id", flat=True))

    for type in ["call.completed", "sms.sent", "contact.deleted"]:
        for mode in ["live", "test"]:
            expected = {e.pk for e in endpoints if e.subscribes_to(type) and e.receives_mode(mode)}
            assert delivered_to(type, mode) == expected, (type, mode)

    first, _, _, calls, _ = endpoints
    endpoint_update(endpoint=first, enabled=False, actor=None)
    assert first.pk not in delivered_to("sms.sent", "test")
    endpoint_update(endpoint=calls, events=["contact.deleted"], actor=None)
    assert calls.pk not in delivered_to("call.completed", "live")
    assert calls.pk in delivered_to("contact.deleted", "live")
    endpoint_update(endpoint=calls, modes=["test"], actor=None)
    assert calls.pk not in delivered_to("contact.deleted", "live")
    endpoint_update(endpoint=first, enabled=True, actor=None)
    assert first.pk in delivered_to("sms.sent", "test")
    endpoint_delete(endpoint=first, actor=None)
    assert first.pk not in delivered_to("sms.sent", "test")


def test_emitted_rows_carry_the_cause_the_times_and_the_queue_state(org: Organization) -> None:
    endpoint, _ = endpoint_create(organization=org, url="https://example.com/hook", events=["*"], actor=None)
    key, _ = api_key_create(organization=org, name="Caller", mode="live", scopes=list(ALL_SCOPES), actor=None)
    event = emit(organization=org, type="sms.sent", data={"id": "msg_1"}, mode="live", caused_by=by_key(key.pk))

    stored = Event.objects.get(pk=event.pk)
    assert (stored.public_id, stored.body, stored.created_at) == (event.public_id, event.body, event.created_at)
    assert (stored.type, stored.mode, stored.source, stored.api_key_id) == ("sms.sent", "live", "api", key.pk)
    (delivery,) = Delivery.objects.filter(event=event)
    assert delivery.public_id.startswith("del_") and len(delivery.public_id) == 26
    assert (delivery.organization_id, delivery.endpoint_id) == (org.pk, endpoint.pk)
    assert (delivery.source, delivery.api_key_id, delivery.replay_of_id) == ("api", key.pk, None)
    assert delivery.status == Delivery.Status.PENDING and delivery.held_since is None
    assert delivery.next_attempt_at == delivery.queued_at == delivery.created_at >= event.created_at
    assert (delivery.attempt_count, delivery.status_reason, delivery.claimed_until) == (0, "", None)


def test_a_live_event_waits_behind_held_deliveries_and_a_test_event_never_does(org: Organization) -> None:
    """delivery_initial_state's rule (issue 21), which the PostgreSQL statement applies itself."""
    endpoint_create(organization=org, url="https://example.com/hook", events=["*"], actor=None)
    first = emit(organization=org, type="call.started", data={}, mode="live")
    Delivery.objects.filter(event=first).update(status=Delivery.Status.HELD, next_attempt_at=None, queued_at=None)

    live = Delivery.objects.get(event=emit(organization=org, type="call.completed", data={}, mode="live"))
    test = Delivery.objects.get(event=emit(organization=org, type="call.completed", data={}, mode="test"))

    assert live.status == Delivery.Status.HELD
    assert live.held_since == live.created_at and live.next_attempt_at is None and live.queued_at is None
    assert test.status == Delivery.Status.PENDING and test.held_since is None and test.next_attempt_at is not None


def test_a_live_event_of_an_organisation_that_cannot_pay_is_held() -> None:
    broke = make_org("Broke Dental", credits=None)
    endpoint_create(organization=broke, url="https://example.com/hook", events=["*"], actor=None)

    live = Delivery.objects.get(event=emit(organization=broke, type="call.completed", data={}, mode="live"))
    test = Delivery.objects.get(event=emit(organization=broke, type="call.completed", data={}, mode="test"))

    assert live.status == Delivery.Status.HELD and live.held_since is not None
    assert test.status == Delivery.Status.PENDING


@pytest.mark.parametrize("wallet", ["funded", "empty"])
@pytest.mark.parametrize("endpoints", [0, 1])
def test_every_committed_event_wakes_the_event_log_and_a_pending_one_its_turn(
    org: Organization,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    wallet: str,
    endpoints: int,
) -> None:
    """On PostgreSQL the wake-up rides on the turn flag's round trip when there is a turn to wake; either way
    every committed event changes the event log's signal, and only pending deliveries queue a turn."""
    turns: list[tuple[Any, ...]] = []
    monkeypatch.setattr(dispatch, "enqueue", lambda *args, **kwargs: turns.append(args))
    if wallet == "empty":
        Wallet.objects.filter(organization=org).update(balance=Decimal("0"))
    for n in range(endpoints):
        endpoint_create(organization=org, url=f"https://hooks.example.com/{n}", events=["*"], actor=None)
    key = event_signal_key(org.pk, "live")
    fastcache.delete(key)
    fastcache.delete(dispatch._queued_key(org.pk, "fast"))

    with django_capture_on_commit_callbacks(execute=True):
        emit(organization=org, type="call.completed", data={}, mode="live")
        assert fastcache.get(key) is None  # nothing before the commit
    first = fastcache.get(key)
    with django_capture_on_commit_callbacks(execute=True):
        emit(organization=org, type="call.completed", data={}, mode="live")

    assert first is not None and fastcache.get(key) not in (None, first)
    pending = endpoints and wallet == "funded"
    assert turns == ([("webhooks.turn", org.pk, "fast")] if pending else [])  # the second waits behind the first
    assert Delivery.objects.filter(organization=org, status="held").count() == (
        2 * endpoints if wallet == "empty" else 0
    )
