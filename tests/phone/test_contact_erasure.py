"""`DELETE /contacts/{id}`: an erasure request. The contact and its personal data go, its calls and texts stay
without the link, `contact.deleted` is emitted with the id only, and the erasure is audited under the id only."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import AuditEntry, Organization
from phone import services
from phone.models import Appointment, BusinessNumber, Call, Contact, Message, SmsOptOut
from tests.conftest import ApiClient, make_key
from webhooks.models import Event

from .conftest import events, make_call

CALLER = "+14155550123"


@pytest.fixture
def jordan(org: Organization, api: ApiClient, sms_ready: BusinessNumber) -> Contact:
    """A contact with a call, an appointment, texts both ways and an opt-out."""
    call = make_call(org, caller=CALLER, name="Jordan Lee")
    contact = call.contact
    assert contact is not None
    services.contact_update(contact=contact, email="jordan@example.com", company="Lee Design")
    services.appointment_book(
        organization=org,
        contact=contact,
        call=call,
        service="Cleaning",
        starts_at=timezone.now() + datetime.timedelta(days=2),
        notes="Sensitive teeth",
    )
    assert api.post("/messages", {"to": CALLER, "body": "See you Tuesday"}).status_code == 201
    services.sms_receive(to_number=sms_ready.e164, from_number=CALLER, body="STOP", provider_message_id="SMstop")
    return contact


def test_erasure_removes_the_contact_and_unlinks_its_calls_and_texts(
    api: ApiClient, jordan: Contact, org: Organization
) -> None:
    call_ids = list(Call.objects.filter(contact=jordan).values_list("public_id", flat=True))
    message_ids = list(Message.objects.filter(contact=jordan).values_list("public_id", flat=True))
    assert call_ids and len(message_ids) == 3  # ours, their STOP, and the STOP confirmation

    response = api.delete(f"/contacts/{jordan.public_id}")

    assert response.status_code == 200
    assert response.body["data"] == {"id": jordan.public_id, "deleted": True}
    assert not Contact.objects.filter(pk=jordan.pk).exists()
    assert not Appointment.objects.filter(organization=org).exists()  # its notes were about the person
    for call_id in call_ids:
        shown = api.get(f"/calls/{call_id}").body["data"]
        assert shown["contact"] is None and shown["appointments"] == []
        assert "Jordan" not in json.dumps(shown)
    for message_id in message_ids:
        assert api.get(f"/messages/{message_id}").body["data"]["contactId"] is None
    assert Message.objects.filter(public_id__in=message_ids).count() == 3
    # The opt-out is a compliance record: the number still may not be texted.
    assert SmsOptOut.objects.filter(organization=org, phone_number=CALLER).exists()
    assert api.post("/messages", {"to": CALLER, "body": "Hello again"}).body["error"]["code"] == "RECIPIENT_OPTED_OUT"


def test_erasure_emits_contact_deleted_with_the_id_only_and_is_audited_without_the_name(
    api: ApiClient, jordan: Contact, org: Organization, live_key: str
) -> None:
    api.delete(f"/contacts/{jordan.public_id}")

    [event] = events(org, "contact.deleted")
    assert event["data"] == {"id": jordan.public_id, "deleted": True}
    assert event["livemode"] is True
    entry = AuditEntry.objects.get(action="contact.deleted")
    assert (entry.target_type, entry.target_id, entry.target_label) == ("contact", jordan.public_id, jordan.public_id)
    assert entry.actor_type == AuditEntry.ActorType.API_KEY
    assert entry.metadata == {"mode": "live", "callsUnlinked": 1, "messagesUnlinked": 3}
    assert "Jordan" not in json.dumps([entry.target_label, entry.metadata])


def test_a_second_delete_is_404_and_a_retry_with_the_same_key_replays(api: ApiClient, jordan: Contact) -> None:
    path = f"/contacts/{jordan.public_id}"
    first = api.delete(path, headers={"Idempotency-Key": "erase-jordan"})
    replay = api.delete(path, headers={"Idempotency-Key": "erase-jordan"})
    again = api.delete(path)

    assert first.status_code == replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true" and replay.body["data"] == first.body["data"]
    assert again.status_code == 404 and again.body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert Event.objects.filter(type="contact.deleted").count() == 1


def test_erasing_needs_write_contacts(org: Organization, jordan: Contact) -> None:
    reader = ApiClient(make_key(org, scopes=["read:contacts"]))
    refused = reader.delete(f"/contacts/{jordan.public_id}")
    assert refused.status_code == 403 and refused.body["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert Contact.objects.filter(pk=jordan.pk).exists()


@pytest.mark.parametrize("who", ["other business", "test key"])
def test_another_business_or_mode_cannot_erase_it(
    who: str, jordan: Contact, other_org: Organization, test_api: ApiClient, org: Organization
) -> None:
    client = ApiClient(make_key(other_org)) if who == "other business" else test_api
    before = len(events(org))

    response = client.delete(f"/contacts/{jordan.public_id}")

    assert response.status_code == 404 and response.body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert Contact.objects.filter(pk=jordan.pk).exists()
    assert len(events(org)) == before and not AuditEntry.objects.filter(action="contact.deleted").exists()


def test_a_contact_without_history_is_erased_too(test_api: ApiClient, org: Organization) -> None:
    created = test_api.post("/contacts", {"phoneNumber": "+14155550199", "name": "Sam"}).body["data"]
    assert test_api.delete(f"/contacts/{created['id']}").status_code == 200
    [event] = events(org, "contact.deleted")
    assert event["livemode"] is False and event["_mode"] == "test"


def test_the_number_can_become_a_contact_again(api: ApiClient, jordan: Contact, settings: Any) -> None:
    api.delete(f"/contacts/{jordan.public_id}")
    again = api.post("/contacts", {"phoneNumber": CALLER})
    assert again.status_code == 201 and again.body["data"]["id"] != jordan.public_id
    assert again.body["data"]["name"] is None
