from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import AuditEntry, Organization
from phone import services
from phone.models import AiConfig
from tests.conftest import ApiClient, make_key

CURATED = {
    "language",
    "timezone",
    "callHandlingMode",
    "greeting",
    "businessHours",
    "voicemailEnabled",
    "smsHelpReply",
    "smsQuietHours",
    "updatedAt",
}


def test_get_config_returns_the_curated_subset_only(api: ApiClient, org: Organization) -> None:
    response = api.get("/config")

    assert response.status_code == 200
    data = response.body["data"]
    assert set(data) == CURATED
    assert data["language"] == "en-US"
    assert data["timezone"] == "America/New_York"
    assert data["callHandlingMode"] == "ai_first"
    assert data["smsQuietHours"] == {"start": "21:00", "end": "08:00"}
    text = response.content.decode().lower()
    for secret in ("payment", "spam", "pii"):
        assert secret not in text


def test_patch_config_updates_each_field(api: ApiClient, org: Organization) -> None:
    hours = {
        "monday": [{"open": "13:00", "close": "17:00"}, {"open": "08:00", "close": "12:00"}],
        "saturday": [{"open": "09:00", "close": "13:00"}],
    }
    response = api.patch(
        "/config",
        {
            "language": "es-us",
            "timezone": "America/Los_Angeles",
            "callHandlingMode": "after_hours_only",
            "greeting": "  ¡Hola! Gracias por llamar.  ",
            "businessHours": hours,
            "voicemailEnabled": False,
            "smsHelpReply": "Call us at 212-555-0100.",
            "smsQuietHours": {"start": "20:30", "end": "09:00"},
        },
    )

    assert response.status_code == 200, response.body
    data = response.body["data"]
    assert data["language"] == "es-US"
    assert data["timezone"] == "America/Los_Angeles"
    assert data["callHandlingMode"] == "after_hours_only"
    assert data["greeting"] == "¡Hola! Gracias por llamar."
    assert data["businessHours"] == {
        "monday": [{"open": "08:00", "close": "12:00"}, {"open": "13:00", "close": "17:00"}],
        "saturday": [{"open": "09:00", "close": "13:00"}],
    }
    assert data["voicemailEnabled"] is False
    assert data["smsQuietHours"] == {"start": "20:30", "end": "09:00"}
    org.refresh_from_db()
    assert org.timezone == "America/Los_Angeles"  # the business's one time zone
    assert api.get("/config").body["data"] == data


def test_patch_config_is_audited_with_the_acting_key(api: ApiClient, org: Organization) -> None:
    api.patch("/config", {"greeting": "Hello there!"})
    entry = AuditEntry.objects.get(organization=org, action="ai_config.updated")
    assert entry.actor_type == "api_key"
    assert entry.metadata == {"fields": ["greeting"], "mode": "live"}


def test_patch_with_no_change_is_not_audited(api: ApiClient, org: Organization) -> None:
    api.patch("/config", {"language": "en-US"})
    assert not AuditEntry.objects.filter(action="ai_config.updated").exists()


@pytest.mark.parametrize(
    "field",
    [
        "paymentsEnabled",
        "paymentLinkMaxAmount",
        "spamFilterLevel",
        "spamBlockedNumbers",
        "piiRedactionEnabled",
        "piiRetentionDays",
        "paymentProcessor",
        "PII_export",
    ],
)
def test_sensitive_settings_are_refused_by_name(api: ApiClient, org: Organization, field: str) -> None:
    api.get("/config")
    response = api.patch("/config", {"greeting": "Changed?", field: True})

    assert response.status_code == 400
    assert response.body["error"]["code"] == "VALIDATION_ERROR"
    assert list(response.body["error"]["fields"]) == [field]
    assert "sensitive" in response.body["error"]["fields"][field][0]
    config = AiConfig.objects.get(organization=org)
    assert config.greeting != "Changed?"  # nothing half-written
    assert config.payments_enabled is False


def test_unknown_fields_are_refused_never_ignored(api: ApiClient) -> None:
    response = api.patch("/config", {"voice": "alloy", "greeting": "Hi"})
    assert response.status_code == 400
    assert response.body["error"]["fields"]["voice"][0].startswith("Unknown field")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "klingon"}, "language"),
        ({"language": "en"}, "language"),
        ({"language": 7}, "language"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "EST5EDT "}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"callHandlingMode": "telepathy"}, "callHandlingMode"),
        ({"greeting": ""}, "greeting"),
        ({"greeting": "x" * 501}, "greeting"),
        ({"voicemailEnabled": "yes"}, "voicemailEnabled"),
        ({"businessHours": []}, "businessHours"),
        ({"businessHours": {"funday": []}}, "businessHours"),
        ({"businessHours": {"monday": [{"open": "17:00", "close": "09:00"}]}}, "businessHours"),
        ({"businessHours": {"monday": [{"open": "9am", "close": "5pm"}]}}, "businessHours"),
        (
            {"businessHours": {"monday": [{"open": "09:00", "close": "13:00"}, {"open": "12:00", "close": "17:00"}]}},
            "businessHours",
        ),
        ({"smsQuietHours": {"start": "25:00", "end": "08:00"}}, "smsQuietHours"),
        ({"smsQuietHours": {"start": "21:00"}}, "smsQuietHours"),
        ({"smsHelpReply": "x" * 321}, "smsHelpReply"),
    ],
)
def test_invalid_values_are_refused_naming_the_field(api: ApiClient, org: Organization, body: dict, field: str) -> None:
    before = api.get("/config").body["data"]
    response = api.patch("/config", body)
    assert response.status_code == 400
    assert field in response.body["error"]["fields"]
    assert api.get("/config").body["data"] == before


def test_empty_patch_is_refused(api: ApiClient) -> None:
    response = api.patch("/config", {})
    assert response.status_code == 400


def test_config_scopes(org: Organization) -> None:
    reader = ApiClient(make_key(org, scopes=["read:usage"]))
    writer = ApiClient(make_key(org, scopes=["manage:config"]))
    neither = ApiClient(make_key(org, scopes=["read:calls"]))

    assert reader.get("/config").status_code == 200
    assert reader.patch("/config", {"greeting": "Hi"}).body["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert writer.patch("/config", {"greeting": "Hi"}).status_code == 200
    assert writer.get("/config").status_code == 403
    assert neither.get("/config").status_code == 403


def test_each_business_sees_only_its_own_config(api: ApiClient, other_org: Organization) -> None:
    ApiClient(make_key(other_org)).patch("/config", {"greeting": "Other business greeting"})
    assert api.get("/config").body["data"]["greeting"] != "Other business greeting"


def test_quiet_hours_changed_through_config_apply_to_sends(api: ApiClient, org: Organization) -> None:
    services.business_number_add(organization=org, number="+12125550100")
    local_now = timezone.now().astimezone(ZoneInfo(org.timezone))
    window = {
        "start": (local_now - datetime.timedelta(hours=1)).strftime("%H:%M"),
        "end": (local_now + datetime.timedelta(hours=1)).strftime("%H:%M"),
    }
    assert api.patch("/config", {"smsQuietHours": window}).status_code == 200

    refused = api.post("/messages", {"to": "+14155552671", "body": "Hi"})
    assert refused.status_code == 422 and refused.body["error"]["code"] == "QUIET_HOURS"

    api.patch("/config", {"smsQuietHours": {"start": "00:00", "end": "00:00"}})  # equal ends: no quiet hours
    assert api.post("/messages", {"to": "+14155552671", "body": "Hi"}).status_code == 201
