from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Organization
from phone import services
from phone.backends import local
from phone.models import AiConfig, BusinessNumber, Contact, Message, SmsOptOut
from phone.twilio_signature import compute_signature, is_valid_signature
from tests.conftest import ApiClient

from .conftest import events

TOKEN = "inbound-token-for-tests"
WEBHOOK = "/hooks/sms/inbound"
CALLER = "+14155552671"

TWILIO_VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_VECTOR_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]


def test_signature_matches_twilio_published_vector() -> None:
    assert compute_signature(TWILIO_VECTOR_URL, TWILIO_VECTOR_PARAMS, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert is_valid_signature(
        TWILIO_VECTOR_URL, reversed(TWILIO_VECTOR_PARAMS), "12345", "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )


def test_signature_with_repeated_parameters_matches_twilio() -> None:
    params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234"), ("Digits", "1234")]
    assert compute_signature(TWILIO_VECTOR_URL, params, "12345") == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


@pytest.mark.parametrize(
    ("url", "params", "token"),
    [
        (TWILIO_VECTOR_URL + "&extra=1", TWILIO_VECTOR_PARAMS, "12345"),
        (TWILIO_VECTOR_URL, [*TWILIO_VECTOR_PARAMS[:2], ("Digits", "9999"), *TWILIO_VECTOR_PARAMS[3:]], "12345"),
        (TWILIO_VECTOR_URL, TWILIO_VECTOR_PARAMS, "54321"),
        (TWILIO_VECTOR_URL, TWILIO_VECTOR_PARAMS, ""),
    ],
)
def test_signature_fails_when_anything_changes(url: str, params: list, token: str) -> None:
    assert not is_valid_signature(url, params, token, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_signature_accepts_the_url_with_or_without_the_default_port() -> None:
    signed_with_port = compute_signature("https://api.example.com:443/hooks/sms/inbound", [("Body", "Hi")], "t")
    assert is_valid_signature("https://api.example.com/hooks/sms/inbound", [("Body", "Hi")], "t", signed_with_port)


@pytest.fixture
def inbound(settings: Any, sms_number: BusinessNumber) -> BusinessNumber:
    settings.TWILIO_AUTH_TOKEN = TOKEN
    return sms_number


def _post(
    body: str,
    *,
    sid: str = "SM0001",
    sender: str = CALLER,
    to: str = "+12125550100",
    signature: str | None = None,
    extra: dict | None = None,
):
    form = {
        "MessageSid": sid,
        "AccountSid": "AC123",
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        **(extra or {}),
    }
    url = f"http://testserver{WEBHOOK}"
    if signature is None:
        signature = compute_signature(url, form.items(), TOKEN)
    return Client().post(WEBHOOK, form, headers={"X-Twilio-Signature": signature})


def test_inbound_text_is_stored_and_announced(inbound: BusinessNumber, org: Organization) -> None:
    response = _post("Can I move my appointment to Thursday?")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response></Response>" in response.content
    message = Message.objects.get(direction="inbound")
    assert (message.organization, message.from_number, message.to_number, message.status) == (
        org,
        CALLER,
        "+12125550100",
        "received",
    )
    assert message.body == "Can I move my appointment to Thursday?" and message.provider_message_id == "SM0001"
    [event] = events(org, "sms.received")
    assert event["data"]["id"] == message.public_id and event["data"]["keyword"] is None
    assert event["_mode"] == "live"
    assert message.contact is not None and message.contact.phone_number == CALLER  # the texter became a contact
    assert [e["type"] for e in events(org)] == ["contact.created", "sms.received"]
    assert local.outbox == []  # ordinary texts get no automatic reply


def test_a_known_contact_is_linked_without_a_new_contact_event(
    inbound: BusinessNumber, org: Organization, api: ApiClient
) -> None:
    contact = api.post("/contacts", {"phoneNumber": CALLER, "name": "Jordan"}).body["data"]
    _post("Hello")
    linked = Message.objects.get(direction="inbound").contact
    assert linked is not None and linked.public_id == contact["id"]
    assert len(events(org, "contact.created")) == 1


def test_carrier_retry_with_the_same_message_sid_is_stored_once(inbound: BusinessNumber, org: Organization) -> None:
    assert _post("Hello", sid="SM42").status_code == 200
    assert _post("Hello", sid="SM42").status_code == 200
    assert Message.objects.filter(direction="inbound").count() == 1
    assert len(events(org, "sms.received")) == 1


@pytest.mark.parametrize("keyword", ["STOP", "stop", "Stop!", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"])
def test_opt_out_keywords_block_later_sends(
    inbound: BusinessNumber, org: Organization, api: ApiClient, keyword: str
) -> None:
    config = services.ai_config_for(organization=org)
    AiConfig.objects.filter(pk=config.pk).update(sms_quiet_hours_start="00:00", sms_quiet_hours_end="00:00")

    _post(keyword)

    assert SmsOptOut.objects.filter(organization=org, phone_number=CALLER).exists()
    refused = api.post("/messages", {"to": CALLER, "body": "Special offer!"})
    assert refused.status_code == 422 and refused.body["error"]["code"] == "RECIPIENT_OPTED_OUT"
    [confirmation] = local.outbox  # the carrier-style confirmation, nothing else
    assert "unsubscribed" in confirmation.body and confirmation.to_number == CALLER
    assert events(org, "sms.received")[0]["data"]["keyword"] == "opt_out"


@pytest.mark.parametrize("keyword", ["START", "YES", "UNSTOP"])
def test_opt_in_keywords_lift_the_opt_out(
    inbound: BusinessNumber, org: Organization, api: ApiClient, keyword: str
) -> None:
    config = services.ai_config_for(organization=org)
    AiConfig.objects.filter(pk=config.pk).update(sms_quiet_hours_start="00:00", sms_quiet_hours_end="00:00")
    _post("STOP", sid="SM1")
    _post(keyword, sid="SM2")

    assert not SmsOptOut.objects.filter(organization=org, phone_number=CALLER).exists()
    assert api.post("/messages", {"to": CALLER, "body": "Welcome back"}).status_code == 201
    updates = events(org, "contact.updated")
    assert [u["data"]["smsOptedOut"] for u in updates] == [False]  # created opted out, then opted back in


def test_help_gets_the_business_help_reply(inbound: BusinessNumber, org: Organization) -> None:
    config = services.ai_config_for(organization=org)
    AiConfig.objects.filter(pk=config.pk).update(sms_help_reply="Acme Dental: call (212) 555-0100. STOP to end.")

    _post("help")

    [reply] = local.outbox
    assert reply.body == "Acme Dental: call (212) 555-0100. STOP to end."
    assert reply.to_number == CALLER and reply.from_number == "+12125550100"
    sent = Message.objects.get(direction="outbound")
    assert sent.status == "sent" and sent.body == reply.body
    assert events(org, "sms.sent")[0]["data"]["id"] == sent.public_id


def test_help_without_a_configured_reply_names_the_business(inbound: BusinessNumber, org: Organization) -> None:
    _post("HELP")
    [reply] = local.outbox
    assert org.name in reply.body and "STOP" in reply.body


def test_a_sentence_containing_stop_is_not_an_opt_out(inbound: BusinessNumber, org: Organization) -> None:
    _post("please stop by tomorrow")
    assert not SmsOptOut.objects.exists()
    assert local.outbox == []


def test_bad_or_missing_signature_is_refused_and_nothing_stored(inbound: BusinessNumber) -> None:
    assert _post("Hello", signature="bm90LXRoZS1yaWdodC1zaWduYXR1cmU=").status_code == 403
    assert Client().post(WEBHOOK, {"From": CALLER, "To": "+12125550100", "Body": "x"}).status_code == 403
    assert not Message.objects.exists()


def test_a_signature_for_other_parameters_is_refused(inbound: BusinessNumber) -> None:
    form = {"MessageSid": "SM1", "From": CALLER, "To": "+12125550100", "Body": "Hello"}
    signature = compute_signature(f"http://testserver{WEBHOOK}", form.items(), TOKEN)
    response = Client().post(WEBHOOK, {**form, "Body": "STOP"}, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert not SmsOptOut.objects.exists()


def test_webhook_without_a_configured_token_refuses_everything(settings: Any, sms_number: BusinessNumber) -> None:
    settings.TWILIO_AUTH_TOKEN = ""
    response = _post("Hello", signature="anything")
    assert response.status_code == 503
    assert not Message.objects.exists()


def test_text_to_an_unknown_number_is_404(inbound: BusinessNumber) -> None:
    assert _post("Hello", to="+13125550177").status_code == 404
    assert not Message.objects.exists()


def test_webhook_honours_the_configured_public_base_url(settings: Any, inbound: BusinessNumber) -> None:
    settings.SMS_WEBHOOK_BASE_URL = "https://api.aiphone360.com"
    form = {"MessageSid": "SM9", "From": CALLER, "To": "+12125550100", "Body": "Hi"}
    signature = compute_signature(f"https://api.aiphone360.com{WEBHOOK}", form.items(), TOKEN)
    assert Client().post(WEBHOOK, form, headers={"X-Twilio-Signature": signature}).status_code == 200


def test_webhook_only_accepts_post(inbound: BusinessNumber) -> None:
    assert Client().get(WEBHOOK).status_code == 405


def test_unknown_contact_who_texts_stop_is_created_opted_out(inbound: BusinessNumber, org: Organization) -> None:
    _post("STOP")
    contact = Contact.objects.get(organization=org, phone_number=CALLER)
    created = events(org, "contact.created")[0]
    assert created["data"]["id"] == contact.public_id and created["data"]["smsOptedOut"] is True
    assert events(org, "contact.updated") == []


def test_a_carrier_text_is_live_even_from_a_number_only_test_mode_knows(
    inbound: BusinessNumber, org: Organization, test_api: ApiClient
) -> None:
    test_contact = test_api.post("/contacts", {"phoneNumber": CALLER, "name": "Sandbox Sam"}).body["data"]
    services.ai_config_update(organization=org, actor=None, mode="test", sms_help_reply="Sandbox help")

    _post("STOP", sid="SM1")
    _post("HELP", sid="SM2")

    received = Message.objects.filter(direction="inbound")
    assert set(received.values_list("mode", flat=True)) == {"live"}
    live_contact = received.get(provider_message_id="SM1").contact
    assert live_contact is not None and live_contact.mode == "live" and live_contact.public_id != test_contact["id"]
    assert SmsOptOut.objects.get(organization=org).mode == "live"
    # The HELP answer is the live one, not the test config's.
    replies = [sms.body for sms in local.outbox]
    assert len(replies) == 2 and "for help call" in replies[1] and "Sandbox help" not in replies
    assert test_api.get(f"/contacts/{test_contact['id']}").body["data"]["smsOptedOut"] is False
