"""Message history: `GET /messages` and `GET /messages/{id}` with the delivery lifecycle, moved by signed
Twilio-compatible status callbacks (forward only, idempotent), and `sms.status_updated`."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Organization
from phone import services
from phone.models import BusinessNumber, Message
from phone.twilio_signature import compute_signature
from tests.conftest import ApiClient, make_key

from .conftest import events
from .test_sms_backends import FakeTwilio
from .test_sms_backends import twilio as twilio

TOKEN = "status-token-for-tests"
STATUS_HOOK = "/hooks/sms/status"
INBOUND_HOOK = "/hooks/sms/inbound"


@pytest.fixture
def carrier_token(settings: Any) -> str:
    settings.TWILIO_AUTH_TOKEN = TOKEN
    return TOKEN


def _signed_post(path: str, form: dict[str, str], *, token: str = TOKEN, signature: str | None = None) -> Any:
    if signature is None:
        signature = compute_signature(f"http://testserver{path}", form.items(), token)
    return Client().post(path, form, headers={"X-Twilio-Signature": signature})


def _report(sid: str, status: str, error_code: str | None = None, **kw: Any) -> Any:
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC123"}
    if error_code is not None:
        form["ErrorCode"] = error_code
    return _signed_post(STATUS_HOOK, form, **kw)


def _send(api: ApiClient, to: str = "+14155552671", body: str = "See you at 3.") -> Message:
    response = api.post("/messages", {"to": to, "body": body})
    assert response.status_code == 201, response.body
    return Message.objects.get(public_id=response.body["data"]["id"])


# --- the lifecycle -----------------------------------------------------------------------------


def test_a_delivery_report_moves_the_status_and_announces_it(
    api: ApiClient, sms_ready: BusinessNumber, carrier_token: str, org: Organization
) -> None:
    message = _send(api)
    assert api.get(f"/messages/{message.public_id}").body["data"]["status"] == "sent"

    response = _report(message.provider_message_id, "delivered")

    assert response.status_code == 204
    shown = api.get(f"/messages/{message.public_id}").body["data"]
    assert shown["status"] == "delivered" and shown["error"] is None
    assert shown["deliveredAt"] is not None and shown["deliveredAt"].endswith("Z")
    assert shown["statusUpdatedAt"] == shown["deliveredAt"]
    [event] = events(org, "sms.status_updated")
    assert event["data"]["id"] == message.public_id
    assert (event["data"]["status"], event["data"]["previousStatus"]) == ("delivered", "sent")
    assert event["livemode"] is True


def test_an_undelivered_report_carries_the_carrier_error_code(
    api: ApiClient, sms_ready: BusinessNumber, carrier_token: str, org: Organization
) -> None:
    message = _send(api)

    assert _report(message.provider_message_id, "undelivered", "30003").status_code == 204

    shown = api.get(f"/messages/{message.public_id}").body["data"]
    assert shown["status"] == "undelivered"
    assert shown["error"] == {
        "code": "CARRIER_30003",
        "message": "Unreachable destination handset (switched off or out of coverage).",
    }
    assert events(org, "sms.status_updated")[0]["data"]["error"]["code"] == "CARRIER_30003"


def test_reports_never_move_a_status_backwards_and_repeats_change_nothing(
    api: ApiClient, sms_ready: BusinessNumber, carrier_token: str, org: Organization
) -> None:
    message = _send(api)
    assert _report(message.provider_message_id, "delivered").status_code == 204
    after_delivery = Message.objects.values().get(pk=message.pk)

    # Out of order, retried, or contradicting a final status: all answered 204, none changes anything.
    for status, code in (("sent", None), ("queued", None), ("delivered", None), ("failed", "30008")):
        assert _report(message.provider_message_id, status, code).status_code == 204

    assert Message.objects.values().get(pk=message.pk) == after_delivery
    assert len(events(org, "sms.status_updated")) == 1


def test_intermediate_carrier_statuses_are_queued_and_do_not_regress_a_sent_text(
    api: ApiClient, sms_ready: BusinessNumber, carrier_token: str, org: Organization
) -> None:
    message = _send(api)
    for status in ("accepted", "sending"):
        assert _report(message.provider_message_id, status).status_code == 204
    assert Message.objects.get(pk=message.pk).status == "sent"
    assert events(org, "sms.status_updated") == []


def test_a_report_for_a_queued_text_moves_it_to_sent_then_failed(org: Organization, sms_ready: BusinessNumber) -> None:
    # A text whose send crashed after the carrier took it stays queued until the carrier reports.
    message = Message.objects.create(
        organization=org,
        direction="outbound",
        mode="live",
        from_number=sms_ready.e164,
        to_number="+14155552671",
        body="Hi",
        encoding="GSM-7",
        segments=1,
        status=Message.Status.QUEUED,
        provider_message_id="SMqueued",
    )
    services.sms_status_update(provider_message_id="SMqueued", carrier_status="sent")
    services.sms_status_update(provider_message_id="SMqueued", carrier_status="failed", error_code="30007")

    message.refresh_from_db()
    assert message.status == "failed" and message.sent_at is not None and message.delivered_at is None
    assert message.error_code == "CARRIER_30007"
    assert [e["data"]["status"] for e in events(org, "sms.status_updated")] == ["sent", "failed"]


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"MessageSid": "SMnobody", "MessageStatus": "delivered"}, 404),
        ({"MessageSid": "SMx", "MessageStatus": "exploded"}, 400),
        ({"MessageStatus": "delivered"}, 400),
    ],
)
def test_unknown_messages_and_statuses_are_refused(
    db: Any, carrier_token: str, form: dict[str, str], status: int
) -> None:
    assert _signed_post(STATUS_HOOK, form).status_code == status


def test_a_bad_signature_is_refused_and_changes_nothing(
    api: ApiClient, sms_ready: BusinessNumber, carrier_token: str, org: Organization
) -> None:
    message = _send(api)
    assert _report(message.provider_message_id, "delivered", token="not-the-token").status_code == 403
    assert _report(message.provider_message_id, "delivered", signature="").status_code == 403
    assert Message.objects.get(pk=message.pk).status == "sent"
    assert events(org, "sms.status_updated") == []


def test_without_a_token_status_callbacks_are_refused(settings: Any) -> None:
    settings.TWILIO_AUTH_TOKEN = ""
    response = Client().post(STATUS_HOOK, {"MessageSid": "SM1", "MessageStatus": "delivered"})
    assert response.status_code == 503


def test_twilio_is_asked_for_reports_and_its_report_lands(
    twilio: FakeTwilio,
    api: ApiClient,
    sms_ready: BusinessNumber,
    settings: Any,
    org: Organization,
) -> None:
    settings.SMS_WEBHOOK_BASE_URL = "http://testserver"
    message = _send(api)

    [request] = twilio.requests
    assert request["form"]["StatusCallback"] == ["http://testserver/hooks/sms/status"]
    # The fake Twilio's auth token signs its callbacks, as the real one does.
    response = _report("SM11111111111111111111111111111111", "delivered", token=settings.TWILIO_AUTH_TOKEN)
    assert response.status_code == 204
    assert api.get(f"/messages/{message.public_id}").body["data"]["status"] == "delivered"


# --- the list ---------------------------------------------------------------------------------


@pytest.fixture
def history(
    api: ApiClient, sms_ready: BusinessNumber, carrier_token: str, org: Organization
) -> Iterator[dict[str, str]]:
    """Two outbound texts (one delivered, one failed) and one inbound text, a day apart."""
    delivered = _send(api, to="+14155552671", body="Your appointment is confirmed.")
    failed = _send(api, to="+14155552672", body="Reminder: tomorrow at 3.")
    _report(delivered.provider_message_id, "delivered")
    _report(failed.provider_message_id, "failed", "30005")
    inbound = _signed_post(
        INBOUND_HOOK,
        {"MessageSid": "SMin1", "From": "+14155552671", "To": sms_ready.e164, "Body": "Thanks!"},
    )
    assert inbound.status_code == 200
    received = Message.objects.get(provider_message_id="SMin1")
    # The delivered text is two days old, so a date range can leave it out.
    Message.objects.filter(pk=delivered.pk).update(created_at=timezone.now() - datetime.timedelta(days=2))
    yield {"delivered": delivered.public_id, "failed": failed.public_id, "received": received.public_id}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["received", "failed", "delivered"]),
        ("direction=inbound", ["received"]),
        ("direction=outbound", ["failed", "delivered"]),
        ("status=delivered", ["delivered"]),
        ("status=failed", ["failed"]),
        ("status=received", ["received"]),
        ("phoneNumber=%2B14155552671", ["received", "delivered"]),
        ("phoneNumber=(415) 555-2672", ["failed"]),
        ("phoneNumber=", ["received", "failed", "delivered"]),  # empty: no filter, as for search
        ("dateRange=today", ["received", "failed"]),
        ("direction=outbound&status=failed&phoneNumber=%2B14155552671", []),
    ],
)
def test_the_list_filters_by_direction_status_number_and_date(
    api: ApiClient, history: dict[str, str], query: str, expected: list[str]
) -> None:
    response = api.get(f"/messages?{query}")
    assert response.status_code == 200, response.body
    assert [m["id"] for m in response.body["data"]] == [history[name] for name in expected]


def test_the_list_pages_with_a_cursor(api: ApiClient, history: dict[str, str]) -> None:
    first = api.get("/messages?limit=2").body
    assert first["pagination"]["hasMore"] is True
    second = api.get(f"/messages?limit=2&cursor={first['pagination']['nextCursor']}").body
    assert [m["id"] for m in first["data"] + second["data"]] == [
        history["received"],
        history["failed"],
        history["delivered"],
    ]
    assert second["pagination"]["hasMore"] is False


def test_inbound_texts_show_as_received_with_their_contact(api: ApiClient, history: dict[str, str]) -> None:
    shown = api.get(f"/messages/{history['received']}").body["data"]
    assert (shown["direction"], shown["status"], shown["body"]) == ("inbound", "received", "Thanks!")
    assert shown["contactId"] is not None and shown["contactId"].startswith("con_")


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=bounced", "status"), ("direction=sideways", "direction"), ("phoneNumber=call-me", "phoneNumber")],
)
def test_bad_filters_are_400_naming_the_field(api: ApiClient, history: dict[str, str], query: str, field: str) -> None:
    response = api.get(f"/messages?{query}")
    assert response.status_code == 400
    assert response.body["error"]["code"] == "VALIDATION_ERROR"
    assert field in response.body["error"]["fields"]


def test_reading_texts_needs_read_contacts_not_write_sms(org: Organization, history: dict[str, str]) -> None:
    sender = ApiClient(make_key(org, scopes=["write:sms"]))
    for path in ("/messages", f"/messages/{history['failed']}"):
        refused = sender.get(path)
        assert refused.status_code == 403 and refused.body["error"]["code"] == "INSUFFICIENT_SCOPE"
    reader = ApiClient(make_key(org, scopes=["read:contacts"]))
    assert reader.get("/messages").status_code == 200
    assert reader.post("/messages", {"to": "+14155552671", "body": "Hi"}).status_code == 403


# --- tenants and modes ---------------------------------------------------------------------------


def test_another_business_or_mode_sees_none_of_it(
    history: dict[str, str], org: Organization, other_org: Organization, test_api: ApiClient
) -> None:
    theirs = ApiClient(make_key(other_org))
    assert theirs.get("/messages").body["data"] == []
    assert test_api.get("/messages").body["data"] == []
    for client in (theirs, test_api):
        for public_id in history.values():
            response = client.get(f"/messages/{public_id}")
            assert response.status_code == 404 and response.body["error"]["code"] == "RESOURCE_NOT_FOUND"


def test_a_test_key_lists_its_own_test_texts_only(
    test_api: ApiClient, api: ApiClient, history: dict[str, str], sms_ready: BusinessNumber, org: Organization
) -> None:
    services.ai_config_update(
        organization=org, actor=None, mode="test", sms_quiet_hours={"start": "00:00", "end": "00:00"}
    )
    sent = test_api.post("/messages", {"to": "+14155552671", "body": "Test text"}).body["data"]
    assert [m["id"] for m in test_api.get("/messages").body["data"]] == [sent["id"]]
    assert sent["id"] not in [m["id"] for m in api.get("/messages?limit=100").body["data"]]
    assert api.get(f"/messages/{sent['id']}").status_code == 404
