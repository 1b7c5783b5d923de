"""Every timestamp on the wire is UTC with a `Z`, in every event type and in the API, whatever the zones.

The business sits in New York and Django's current zone is Tokyo, so a date-time made or rendered in
either zone would show an offset. Events come from the paths that really emit them: the demo
simulator (calls, transcripts, voicemails, appointments, inbound texts, new contacts), the public
API (`POST /messages`, `PATCH /contacts/{id}`) and "Send test event".
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import Organization
from core.timefmt import iso, parse_iso_datetime
from demo.simulator import simulate_traffic
from phone.models import BusinessNumber, Message
from phone.services import sms_status_update
from tests.conftest import ApiClient
from tests.phone.conftest import (  # noqa: F401
    _empty_outbox,
    _media_root,
    sms_number,
    sms_ready,
)
from webhooks.delivery import delivery_attempt
from webhooks.events import EVENT_TYPES, TEST_EVENT_TYPE
from webhooks.models import Delivery, Event
from webhooks.services import endpoint_create, endpoint_send_test

from .receiver import Receiver

pytestmark = pytest.mark.django_db

BUSINESS_ZONE = "America/New_York"
CURRENT_ZONE = "Asia/Tokyo"
# Timestamps that change after the event (a later edit), so the API's value may be newer.
MUTABLE = {"updatedAt", "statusUpdatedAt"}


def timestamps(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every (path, string) in a JSON value that parses as an ISO 8601 date-time, nested fields included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from timestamps(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from timestamps(item, f"{path}[{index}]")
    elif isinstance(value, str) and "T" in value and parse_iso_datetime(value) is not None:
        yield path, value


def assert_utc(value: Any, where: str) -> int:
    found = list(timestamps(value))
    for path, text in found:
        assert text.endswith("Z"), f"{where}{path} = {text!r} is not UTC with Z"
        assert text == iso(parse_iso_datetime(text)), f"{where}{path} = {text!r} is not the API's rendering"
    return len(found)


@pytest.fixture
def new_york_business(org: Organization) -> Iterator[Organization]:
    org.timezone = BUSINESS_ZONE
    org.save(update_fields=["timezone"])
    with timezone.override(ZoneInfo(CURRENT_ZONE)):
        yield org


@pytest.fixture
def every_event(
    new_york_business: Organization,
    api: ApiClient,
    sms_ready: BusinessNumber,  # noqa: F811 (the phone tests' fixture, imported above)
    receiver: Receiver,
) -> dict[str, list[Event]]:
    org = new_york_business
    endpoint, _secret = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    simulate_traffic(organization=org, calls=40, days=10, rng=random.Random(7))
    sent = api.post("/messages", {"to": "+14155552671", "body": "See you at 3."})
    assert sent.status_code in (200, 201), sent.body
    first_contact = Event.objects.filter(organization=org, type="contact.created").order_by("created_at", "id")[0]
    contact = json.loads(first_contact.body)["data"]["id"]
    updated = api.patch(f"/contacts/{contact}", {"company": "Acme Dental"})
    assert updated.status_code == 200, updated.body
    message = Message.objects.get(public_id=sent.body["data"]["id"])
    sms_status_update(provider_message_id=message.provider_message_id, carrier_status="delivered")
    erased = api.post("/contacts", {"phoneNumber": "+14155552699", "name": "Gone Soon"}).body["data"]["id"]
    assert api.delete(f"/contacts/{erased}").status_code == 200
    endpoint_send_test(endpoint=endpoint, actor=None)

    by_type: dict[str, list[Event]] = {}
    for event in Event.objects.filter(organization=org).order_by("created_at", "id"):
        by_type.setdefault(event.type, []).append(event)
    return by_type


def test_every_event_type_is_produced(every_event: dict[str, list[Event]]) -> None:
    assert set(every_event) == {*EVENT_TYPES, TEST_EVENT_TYPE}


def test_every_timestamp_in_every_stored_event_is_utc_with_z(every_event: dict[str, list[Event]]) -> None:
    for event_type, stored in every_event.items():
        counted = sum(assert_utc(json.loads(e.body), f"{event_type} {e.public_id}") for e in stored)
        assert counted >= len(stored), event_type  # at least createdAt in each


def test_delivered_bodies_carry_the_same_utc_timestamps(
    every_event: dict[str, list[Event]], receiver: Receiver
) -> None:
    """One delivery of each type, received by a real local server (the test event was delivered already)."""
    for event_type, stored in every_event.items():
        if event_type != TEST_EVENT_TYPE:
            delivery_attempt(delivery_id=Delivery.objects.get(event=stored[0]).pk)
    received = {request.json["type"]: request for request in receiver.requests}
    assert set(received) == set(every_event)
    for event_type, request in received.items():
        assert_utc(request.json, f"delivered {event_type}")
        assert request.body == every_event[event_type][0].body.encode() or event_type == TEST_EVENT_TYPE


def _api_view(api: ApiClient, event_type: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The API's rendering of the record an event announces, where the API serves one."""
    if event_type in ("call.started", "call.completed"):
        return api.get(f"/calls/{data['id']}").body["data"]
    if event_type in ("contact.created", "contact.updated"):
        return api.get(f"/contacts/{data['id']}").body["data"]
    if event_type == "voicemail.created":
        return api.get(f"/calls/{data['callId']}").body["data"]["voicemail"]
    if event_type == "appointment.booked":
        appointments = api.get(f"/calls/{data['callId']}").body["data"]["appointments"]
        return next(a for a in appointments if a["id"] == data["id"])
    if event_type in ("sms.received", "sms.sent", "sms.status_updated"):
        return api.get(f"/messages/{data['id']}").body["data"]
    return None  # transcripts carry no timestamps; an erased contact has none to compare


def test_event_timestamps_equal_the_api_rendering_of_the_same_instant(
    every_event: dict[str, list[Event]], api: ApiClient
) -> None:
    compared = 0
    for event_type, stored in every_event.items():
        for event in stored[:5]:
            data = json.loads(event.body)["data"]
            served = _api_view(api, event_type, data)
            if served is None:
                continue
            for key, value in data.items():
                if key in MUTABLE or not (isinstance(value, str) and parse_iso_datetime(value)):
                    continue
                assert served[key] == value, f"{event_type} {key}: event {value!r}, API {served[key]!r}"
                compared += 1
    assert compared > 20


def test_api_responses_render_every_timestamp_in_utc_with_z(
    every_event: dict[str, list[Event]], api: ApiClient
) -> None:
    calls = api.get("/calls?limit=100").body
    contacts = api.get("/contacts?limit=100").body
    assert assert_utc(calls, "GET /calls") > 0 and assert_utc(contacts, "GET /contacts") > 0
    for call in calls["data"][:10]:
        assert assert_utc(api.get(f"/calls/{call['id']}").body, "GET /calls/{id}") > 0
    for contact in contacts["data"][:10]:
        assert assert_utc(api.get(f"/contacts/{contact['id']}").body, "GET /contacts/{id}") > 0
    message = api.post("/messages", {"to": "+14155552672", "body": "Running late."}).body
    assert assert_utc(message, "POST /messages") > 0
    listed = api.get("/messages?limit=100").body
    assert assert_utc(listed, "GET /messages") > 0
    assert assert_utc(api.get(f"/messages/{listed['data'][0]['id']}").body, "GET /messages/{id}") > 0


def test_a_local_aware_datetime_renders_as_the_same_instant_in_utc() -> None:
    local = datetime(2026, 12, 2, 8, 54, 8, tzinfo=ZoneInfo(BUSINESS_ZONE))
    assert iso(local) == "2026-12-02T13:54:08Z"
    assert iso(None) is None
