"""Migrating existing phone rows to modes: everything becomes live except what the event outbox proves
happened in test mode, and no call or text is left pointing at a contact of the other mode."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F
from django.utils import timezone

from tests.conftest import is_postgres

BEFORE = [("phone", "0001_initial"), ("webhooks", "0002_reencrypt_secrets_under_field_encryption_key")]
AFTER = [("phone", "0003_mark_rows_made_in_test_mode")]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Going back to webhooks 0002 would unapply webhooks 0010, which PostgreSQL refuses (its tables
    # stay partitioned); the migration's logic is the same on SQLite, where this test runs.
    pytest.mark.skipif(is_postgres(), reason="webhooks 0010 (partitioning) cannot be unapplied on PostgreSQL"),
]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _event(apps: Any, org: Any, type_: str, mode: str, data: dict[str, Any]) -> None:
    body = json.dumps({"id": "evt_x", "type": type_, "data": data, "livemode": mode == "live"})
    apps.get_model("webhooks", "Event").objects.create(organization_id=org.pk, type=type_, mode=mode, body=body)


def test_rows_become_live_unless_test_mode_events_prove_otherwise() -> None:
    old = _migrate(BEFORE)
    try:
        Organization = old.get_model("accounts", "Organization")
        Call = old.get_model("phone", "Call")
        Contact = old.get_model("phone", "Contact")
        Message = old.get_model("phone", "Message")
        Appointment = old.get_model("phone", "Appointment")
        org = Organization.objects.create(name="Old Dental")
        now = timezone.now()

        def contact(number: str) -> Any:
            return Contact.objects.create(organization=org, phone_number=number, created_at=now, updated_at=now)

        def call(who: Any) -> Any:
            return Call.objects.create(
                organization=org, direction="inbound", from_number=who.phone_number, to_number="+12125550100",
                started_at=now, contact=who,
            )  # fmt: skip

        plain = contact("+14155550101")  # no events: live
        made_by_test_key = contact("+14155550102")  # contact.created in test mode, used by nothing live
        test_then_live = contact("+14155550103")  # created in test mode, then a live call used it
        shared = contact("+14155550104")  # live contact a simulated test call also reached
        live_call = call(plain)
        live_call_on_test_contact = call(test_then_live)
        test_call = call(shared)
        Appointment.objects.create(
            organization=org, contact=shared, call=test_call, service="Cleaning", starts_at=now, created_at=now
        )
        test_text = Message.objects.create(
            organization=org, direction="outbound", mode="test", from_number="+12125550100",
            to_number=plain.phone_number, body="Hi", encoding="GSM-7", segments=1, status="sent", contact=plain,
        )  # fmt: skip
        _event(old, org, "contact.created", "test", {"id": made_by_test_key.public_id})
        _event(old, org, "contact.created", "test", {"id": test_then_live.public_id})
        _event(old, org, "contact.created", "live", {"id": plain.public_id})
        _event(old, org, "call.started", "test", {"id": test_call.public_id})
        _event(old, org, "transcript.ready", "test", {"callId": test_call.public_id})
        _event(old, org, "call.completed", "live", {"id": live_call.public_id})
        _event(old, org, "sms.sent", "test", {"id": "msg_x"})

        new = _migrate(AFTER)
        Call, Contact = new.get_model("phone", "Call"), new.get_model("phone", "Contact")
        Message, Appointment = new.get_model("phone", "Message"), new.get_model("phone", "Appointment")
        mode = {c.public_id: c.mode for c in Contact.objects.all()}

        assert mode[plain.public_id] == "live"
        assert mode[made_by_test_key.public_id] == "test"
        assert mode[test_then_live.public_id] == "live"  # live data now
        assert mode[shared.public_id] == "live"
        assert Call.objects.get(pk=live_call.pk).mode == "live"
        assert Call.objects.get(pk=live_call_on_test_contact.pk).mode == "live"
        moved = Call.objects.select_related("contact").get(pk=test_call.pk)
        assert moved.mode == "test"
        # The test call now points at a test twin of its caller; its appointment follows it.
        twin = moved.contact
        assert (twin.mode, twin.phone_number, twin.pk != shared.pk) == ("test", shared.phone_number, True)
        assert Appointment.objects.get(call_id=test_call.pk).contact_id == twin.pk
        text = Message.objects.select_related("contact").get(pk=test_text.pk)
        assert (text.contact.mode, text.contact.phone_number) == ("test", plain.phone_number)
        # Nothing refers across modes.
        assert not Call.objects.exclude(contact__mode=F("mode")).exists()
        assert not Message.objects.filter(contact__isnull=False).exclude(contact__mode=F("mode")).exists()
        AiConfig = new.get_model("phone", "AiConfig")
        assert not AiConfig.objects.exclude(mode="live").exists()
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
