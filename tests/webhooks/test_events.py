"""emit(): the transactional outbox writes the event and its deliveries, and sends only after commit."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from accounts.models import Organization
from billing.models import UsageRecord
from core.signing import verify
from tests.conftest import make_org
from webhooks.events import EVENT_TYPES, emit
from webhooks.models import Delivery, Event
from webhooks.services import endpoint_create

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
