from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import Organization
from billing.models import UsageRecord
from phone import services
from phone.backends import local
from phone.models import AiConfig, BusinessNumber, Message, SmsOptOut
from tests.conftest import ApiClient, make_key

from .conftest import events

QUICKSTART = {"to": "+15555550123", "body": "Thanks for calling!"}


def test_docs_quickstart_succeeds_with_a_test_key(
    test_api: ApiClient, sms_ready: BusinessNumber, org: Organization
) -> None:
    response = test_api.post("/messages", QUICKSTART)

    assert response.status_code == 201
    assert response.body["success"] is True
    data = response.body["data"]
    assert data["id"].startswith("msg_")
    assert data["to"] == "+15555550123" and data["from"] == "+12125550100"
    assert data["body"] == "Thanks for calling!"
    assert data["encoding"] == "GSM-7" and data["segments"] == 1
    assert data["status"] == "sent" and data["mode"] == "test" and data["test"] is True
    assert "Test mode" in response.body["message"]


def test_test_key_sends_nothing_and_charges_nothing(
    test_api: ApiClient, sms_ready: BusinessNumber, org: Organization
) -> None:
    response = test_api.post("/messages", QUICKSTART)

    assert local.outbox == []  # no carrier call
    message = Message.objects.get(public_id=response.body["data"]["id"])
    assert message.mode == "test" and message.provider_message_id == ""
    usage = UsageRecord.objects.get(reference=f"sms:{message.public_id}")
    assert usage.mode == "test" and usage.quantity == 1  # counted for visibility, never charged
    [event] = events(org, "sms.sent")
    assert event["_mode"] == "test" and event["livemode"] is False


def test_live_key_hands_the_message_to_the_backend_and_meters_segments(
    api: ApiClient, sms_ready: BusinessNumber, org: Organization
) -> None:
    body = "x" * 200  # two GSM-7 segments
    response = api.post("/messages", {"to": "+14155552671", "body": body})

    assert response.status_code == 201
    data = response.body["data"]
    assert data["status"] == "sent" and data["mode"] == "live" and data["test"] is False
    assert data["segments"] == 2 and data["sentAt"] is not None
    [sent] = local.outbox
    assert (sent.to_number, sent.from_number, sent.body, sent.reference) == (
        "+14155552671",
        "+12125550100",
        body,
        data["id"],
    )
    message = Message.objects.get(public_id=data["id"])
    assert message.provider_message_id == f"local_{data['id']}"
    usage = UsageRecord.objects.get(reference=f"sms:{data['id']}")
    assert (usage.metric, usage.quantity, usage.mode, usage.api_key_id) == (
        "sms_segments",
        2,
        "live",
        message.api_key_id,
    )
    [event] = events(org, "sms.sent")
    assert event["data"]["id"] == data["id"] and event["_mode"] == "live"


def test_message_to_a_known_contact_is_linked(api: ApiClient, sms_ready: BusinessNumber, org: Organization) -> None:
    contact = api.post("/contacts", {"phoneNumber": "+14155552671"}).body["data"]
    response = api.post("/messages", {"to": "(415) 555-2671", "body": "Hi"})
    assert response.body["data"]["contactId"] == contact["id"]
    assert response.body["data"]["to"] == "+14155552671"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "Hi"}, "to"),
        ({"to": "", "body": "Hi"}, "to"),
        ({"to": "call me", "body": "Hi"}, "to"),
        ({"to": "+1 415 55", "body": "Hi"}, "to"),
        ({"to": "+14155552671"}, "body"),
        ({"to": "+14155552671", "body": ""}, "body"),
        ({"to": "+14155552671", "body": "   \n "}, "body"),
        ({"to": "+14155552671", "body": 42}, "body"),
        ({"to": "+14155552671", "body": "x" * 1601}, "body"),
        ({"to": "+14155552671", "body": "Hi", "from": "+12125550100"}, "from"),
    ],
)
def test_invalid_message_is_a_validation_error_and_nothing_is_stored(
    api: ApiClient, sms_ready: BusinessNumber, org: Organization, body: dict, field: str
) -> None:
    response = api.post("/messages", body)

    assert response.status_code == 400
    assert response.body["error"]["code"] == "VALIDATION_ERROR"
    assert field in response.body["error"]["fields"]
    assert not Message.objects.exists() and local.outbox == []


def test_a_body_of_exactly_1600_characters_is_accepted(test_api: ApiClient, sms_ready: BusinessNumber) -> None:
    response = test_api.post("/messages", {"to": "+14155552671", "body": "a" * 1600})
    assert response.status_code == 201
    assert response.body["data"]["segments"] == 11  # ceil(1600 / 153)


def test_body_must_be_a_json_object(api: ApiClient, sms_ready: BusinessNumber) -> None:
    response = api.post("/messages", raw="[1, 2]")
    assert response.status_code == 400
    malformed = api.post("/messages", raw="{not json")
    assert malformed.status_code == 400 and malformed.body["error"]["code"] == "VALIDATION_ERROR"


# --- Segments: the carrier's exact arithmetic, as returned by the API ---------------------------

SEGMENT_TABLE = [
    ("plain GSM", "Hello, your appointment is confirmed.", "GSM-7", 1),
    ("exactly 160 GSM", "a" * 160, "GSM-7", 1),
    ("161 GSM", "a" * 161, "GSM-7", 2),
    ("exactly 306 GSM", "a" * 306, "GSM-7", 2),
    ("307 GSM", "a" * 307, "GSM-7", 3),
    ("extension chars count twice", "€" * 80, "GSM-7", 1),
    ("extension char over the edge", "a" * 159 + "€", "GSM-7", 2),
    ("extension char not split across parts", "a" * 152 + "{" + "a" * 10, "GSM-7", 2),
    ("GSM accented letters", "Café à Zürich, señor", "GSM-7", 1),
    ("non-GSM accent forces UCS-2", "Olá, está confirmado", "UCS-2", 1),
    ("exactly 70 UCS-2", "ú" * 70, "UCS-2", 1),
    ("71 UCS-2", "ú" * 71, "UCS-2", 2),
    ("exactly 134 UCS-2", "ú" * 134, "UCS-2", 2),
    ("135 UCS-2", "ú" * 135, "UCS-2", 3),
    ("emoji", "See you soon 😊", "UCS-2", 1),
    ("emoji count twice", "😊" * 35, "UCS-2", 1),
    ("36 emoji", "😊" * 36, "UCS-2", 2),
    ("mixed GSM and emoji", "a" * 68 + "😊", "UCS-2", 1),
    ("mixed over the edge", "a" * 69 + "😊", "UCS-2", 2),
]


@pytest.mark.parametrize(("label", "body", "encoding", "segments"), SEGMENT_TABLE, ids=[r[0] for r in SEGMENT_TABLE])
def test_segments_and_encoding(
    test_api: ApiClient, sms_ready: BusinessNumber, label: str, body: str, encoding: str, segments: int
) -> None:
    response = test_api.post("/messages", {"to": "+14155552671", "body": body})
    assert response.status_code == 201, response.body
    assert (response.body["data"]["encoding"], response.body["data"]["segments"]) == (encoding, segments)


def test_live_metering_uses_the_exact_segment_count(api: ApiClient, sms_ready: BusinessNumber) -> None:
    response = api.post("/messages", {"to": "+14155552671", "body": "😊" * 36})
    assert UsageRecord.objects.get(reference=f"sms:{response.body['data']['id']}").quantity == 2


# --- Compliance: one chokepoint, 422 with a specific code ---------------------------------------


def test_no_sms_number_is_refused(api: ApiClient, org: Organization) -> None:
    response = api.post("/messages", QUICKSTART)
    assert response.status_code == 422
    assert response.body["error"]["code"] == "NO_SMS_NUMBER"
    assert "no SMS-capable phone number" in response.body["error"]["message"]


def test_a_voice_only_number_does_not_count(api: ApiClient, org: Organization) -> None:
    services.business_number_add(organization=org, number="+12125550100", sms_capable=False)
    assert api.post("/messages", QUICKSTART).body["error"]["code"] == "NO_SMS_NUMBER"


def test_opted_out_recipient_is_refused_even_with_a_test_key(
    test_api: ApiClient, sms_ready: BusinessNumber, org: Organization
) -> None:
    # A STOP received in test mode (the simulator's): test sends run the same compliance checks.
    SmsOptOut.objects.create(organization=org, mode="test", phone_number="+14155552671", keyword="STOP")

    response = test_api.post("/messages", {"to": "415-555-2671", "body": "Hi"})

    assert response.status_code == 422
    assert response.body["error"]["code"] == "RECIPIENT_OPTED_OUT"
    assert "opted out" in response.body["error"]["message"] and "START" in response.body["error"]["message"]
    assert not Message.objects.exists()


def test_an_opt_out_at_another_business_does_not_apply(
    api: ApiClient, sms_ready: BusinessNumber, other_org: Organization
) -> None:
    SmsOptOut.objects.create(organization=other_org, phone_number="+14155552671", keyword="STOP")
    assert api.post("/messages", {"to": "+14155552671", "body": "Hi"}).status_code == 201


def _quiet_hours_around_now(org: Organization) -> None:
    local_now = timezone.now().astimezone(ZoneInfo(org.timezone))
    start = (local_now - datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local_now + datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    config = services.ai_config_for(organization=org)
    AiConfig.objects.filter(pk=config.pk).update(sms_quiet_hours_start=start, sms_quiet_hours_end=end)


def test_quiet_hours_are_refused(api: ApiClient, sms_ready: BusinessNumber, org: Organization) -> None:
    _quiet_hours_around_now(org)

    response = api.post("/messages", {"to": "+14155552671", "body": "Hi"})

    assert response.status_code == 422
    assert response.body["error"]["code"] == "QUIET_HOURS"
    assert "quiet hours" in response.body["error"]["message"]
    assert local.outbox == [] and not Message.objects.exists()


@pytest.mark.parametrize(
    ("local_time", "quiet"),
    [
        (datetime.time(20, 59), False),
        (datetime.time(21, 0), True),
        (datetime.time(23, 30), True),
        (datetime.time(3, 0), True),
        (datetime.time(7, 59), True),
        (datetime.time(8, 0), False),
        (datetime.time(12, 0), False),
    ],
)
def test_default_quiet_hours_are_21_to_8_in_the_business_time_zone(
    org: Organization, sms_number: BusinessNumber, local_time: datetime.time, quiet: bool
) -> None:
    org.timezone = "America/Los_Angeles"
    org.save(update_fields=["timezone"])
    now = datetime.datetime.combine(datetime.date(2026, 7, 1), local_time, tzinfo=ZoneInfo("America/Los_Angeles"))

    if quiet:
        with pytest.raises(services.ComplianceRefused) as refused:
            services.sms_compliance_check(organization=org, to_number="+14155552671", now=now)
        assert refused.value.code == "QUIET_HOURS" and refused.value.status == 422
    else:
        assert services.sms_compliance_check(organization=org, to_number="+14155552671", now=now) == sms_number


def test_keyword_replies_pass_the_chokepoint_despite_opt_out_and_quiet_hours(
    org: Organization, sms_number: BusinessNumber
) -> None:
    SmsOptOut.objects.create(organization=org, phone_number="+14155552671", keyword="STOP")
    midnight = datetime.datetime(2026, 7, 1, 0, 30, tzinfo=ZoneInfo(org.timezone))
    assert (
        services.sms_compliance_check(
            organization=org, to_number="+14155552671", now=midnight, purpose=services.SmsPurpose.KEYWORD_REPLY
        )
        == sms_number
    )


def test_scope_write_sms_is_required(org: Organization, sms_ready: BusinessNumber) -> None:
    without = ApiClient(make_key(org, scopes=["read:calls", "read:contacts", "write:contacts"]))
    refused = without.post("/messages", QUICKSTART)
    assert refused.status_code == 403 and refused.body["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert ApiClient(make_key(org, scopes=["write:sms"])).post("/messages", QUICKSTART).status_code == 201


def test_live_key_with_an_empty_wallet_is_blocked_but_a_test_key_is_not(sms_ready: BusinessNumber) -> None:
    from tests.conftest import make_org

    broke = make_org("Broke Dental", credits=None)
    services.business_number_add(organization=broke, number="+12125550101")
    config = services.ai_config_for(organization=broke)
    AiConfig.objects.filter(pk=config.pk).update(
        sms_quiet_hours_start=datetime.time(0), sms_quiet_hours_end=datetime.time(0)
    )

    live = ApiClient(make_key(broke, mode="live")).post("/messages", QUICKSTART)
    test = ApiClient(make_key(broke, mode="test")).post("/messages", QUICKSTART)

    assert live.status_code == 402 and live.body["error"]["code"] == "INSUFFICIENT_CREDITS"
    assert test.status_code == 201
    assert local.outbox == []
