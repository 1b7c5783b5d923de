"""Existing calls, contacts, opt-outs and the AI config became live (the field's default) in 0002. This
moves to test mode what provably happened in test mode: the event outbox records the mode of every
`call.*`, `transcript.ready`, `voicemail.created`, `appointment.booked` and `contact.created` event, with
the object's id in its payload (`simulate_handoff` calls, contacts a test key created).

A contact stays live when live traffic already used it (a live call, a live text, an appointment of a
live call): it is live data now. A test call or test text that pointed at a live contact is given a
test contact of the same number (a copy), so no object refers across modes. Opt-outs stay live: only
carrier webhooks and the live simulator ever received texts. Rows whose events were already pruned
cannot be proven test and stay live. The AI config stays live; a test key's earlier change to it is
in the audit trail (`ai_config.updated` by a test key), and is not undone here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import migrations

# Event type → the payload field naming its call (or, for contact.created, the contact).
_CALL_ID_FIELD = {
    "call.started": "id",
    "call.completed": "id",
    "transcript.ready": "callId",
    "voicemail.created": "callId",
    "appointment.booked": "callId",
}
_BATCH = 500


def _chunks(ids: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in ids:
        batch.append(value)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _test_ids(Event: Any) -> tuple[set[str], set[str]]:
    calls: set[str] = set()
    contacts: set[str] = set()
    rows = Event.objects.filter(mode="test", type__in=[*_CALL_ID_FIELD, "contact.created"]).values_list("type", "body")
    for type_, body in rows.iterator(chunk_size=_BATCH):
        try:
            data = json.loads(body).get("data") or {}
        except (ValueError, AttributeError):
            continue
        if type_ == "contact.created":
            contact_id = data.get("id")
            if isinstance(contact_id, str):
                contacts.add(contact_id)
        else:
            call_id = data.get(_CALL_ID_FIELD[type_])
            if isinstance(call_id, str):
                calls.add(call_id)
    return calls, contacts


def forwards(apps: Any, schema_editor: Any) -> None:
    Event = apps.get_model("webhooks", "Event")
    Call = apps.get_model("phone", "Call")
    Contact = apps.get_model("phone", "Contact")
    Message = apps.get_model("phone", "Message")
    Appointment = apps.get_model("phone", "Appointment")

    test_calls, test_contacts = _test_ids(Event)
    for batch in _chunks(sorted(test_calls)):
        Call.objects.filter(public_id__in=batch).update(mode="test")

    used_live = set(Call.objects.filter(mode="live", contact__isnull=False).values_list("contact_id", flat=True))
    used_live |= set(Message.objects.filter(mode="live", contact__isnull=False).values_list("contact_id", flat=True))
    used_live |= set(Appointment.objects.filter(call__mode="live").values_list("contact_id", flat=True))
    for batch in _chunks(sorted(test_contacts)):
        Contact.objects.filter(public_id__in=batch).exclude(pk__in=used_live).update(mode="test")

    def test_twin(contact: Any) -> Any:
        twin = Contact.objects.filter(
            organization_id=contact.organization_id, mode="test", phone_number=contact.phone_number
        ).first()
        if twin is None:
            twin = Contact.objects.create(
                organization_id=contact.organization_id,
                mode="test",
                phone_number=contact.phone_number,
                name=contact.name,
                email=contact.email,
                company=contact.company,
                created_at=contact.created_at,
                updated_at=contact.updated_at,
            )
        return twin

    for call in Call.objects.filter(mode="test", contact__mode="live").select_related("contact"):
        twin = test_twin(call.contact)
        Call.objects.filter(pk=call.pk).update(contact=twin)
        Appointment.objects.filter(call_id=call.pk).update(contact=twin)
    for message in Message.objects.filter(mode="test", contact__mode="live").select_related("contact"):
        Message.objects.filter(pk=message.pk).update(contact=test_twin(message.contact))


class Migration(migrations.Migration):
    dependencies = [
        ("phone", "0002_mode_on_calls_contacts_opt_outs_and_ai_config"),
        ("webhooks", "0002_reencrypt_secrets_under_field_encryption_key"),
    ]

    # Going back drops the mode columns (0002's reverse); nothing to undo here.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
