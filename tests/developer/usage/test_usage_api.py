"""GET /usage: totals and charges by key, metric and day, the month's free quota, test and live apart."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.metering import apply_api_counts, record_usage
from billing.models import Metric
from billing.quota import encode_counter_field, epoch_hours
from developer.models import ApiKey
from tests.billing.conftest import set_plan_terms
from tests.conftest import ApiClient, make_key, make_org

pytestmark = pytest.mark.django_db

NOV_10 = datetime(2026, 11, 10, 12, 30, tzinfo=UTC)


def _by_metric(lines: list[dict]) -> dict[str, tuple[int, str]]:
    return {line["metric"]: (line["quantity"], line["charges"]) for line in lines}


@pytest.fixture
def usage_org(clock):
    """November 2026: live usage on two keys over two days, test usage on a test key, one other business."""
    org = make_org("Usage Co")
    set_plan_terms(
        org,
        api_requests_free=1000,
        api_request_block_price="0.40",
        webhook_attempts_free=1,
        webhook_attempt_price="0.0004",
    )
    secrets = {
        "server": make_key(org, name="Server"),
        "worker": make_key(org, name="Worker"),
        "sandbox": make_key(org, mode="test", name="Sandbox"),
    }
    keys = {name: ApiKey.objects.get(organization=org, name=name.title()) for name in secrets}

    def requests(key: ApiKey, n: int, at: datetime, batch: str) -> None:
        field = encode_counter_field(
            epoch_hour=epoch_hours(at), organization_id=org.pk, api_key_id=key.pk, mode=key.mode
        )
        apply_api_counts(batch_id=batch, counts={field: n}, source="test")

    clock.return_value = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)
    requests(keys["server"], 1500, clock.return_value, "b1")
    record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference="w1")
    clock.return_value = NOV_10
    requests(keys["server"], 600, NOV_10, "b2")  # request 2,000 completes the first block
    requests(keys["worker"], 10, NOV_10, "b3")
    requests(keys["sandbox"], 5000, NOV_10, "b4")
    record_usage(
        organization=org,
        metric=Metric.WEBHOOK_ATTEMPTS,
        quantity=1,
        mode="live",
        reference="w2",
        api_key_id=keys["worker"].pk,
    )
    record_usage(
        organization=org,
        metric=Metric.TOOL_INVOCATIONS,
        quantity=2,
        mode="test",
        reference="t1",
        api_key_id=keys["sandbox"].pk,
    )
    other = make_org("Other Co")
    record_usage(organization=other, metric=Metric.SMS_SEGMENTS, quantity=9, mode="live", reference="o1")
    return org, keys, secrets


def test_usage_defaults_to_month_to_date_with_live_and_test_apart(usage_org):
    _org, keys, secrets = usage_org
    response = ApiClient(secrets["server"]).get("/usage")
    assert response.status_code == 200
    assert response.body["success"] is True
    data = response.body["data"]
    assert (data["from"], data["to"], data["currency"]) == ("2026-11-01", "2026-11-10", "USD")

    live, test = data["live"], data["test"]
    assert _by_metric(live["byMetric"]) == {
        "api_requests": (2110, "0.40"),
        "webhook_attempts": (2, "0.0004"),
        "tool_invocations": (0, "0.00"),
        "sms_segments": (0, "0.00"),
    }
    assert live["charges"] == "0.4004"
    assert _by_metric(test["byMetric"])["api_requests"] == (5000, "0.00")
    assert _by_metric(test["byMetric"])["tool_invocations"] == (2, "0.00")
    assert test["charges"] == "0.00"

    live_keys = {k["keyId"]: k for k in live["byKey"]}
    assert set(live_keys) == {keys["server"].public_id, keys["worker"].public_id, None}
    server = live_keys[keys["server"].public_id]
    assert (server["name"], server["maskedKey"], server["charges"]) == ("Server", keys["server"].masked, "0.40")
    assert _by_metric(server["metrics"])["api_requests"] == (2100, "0.40")
    assert _by_metric(live_keys[keys["worker"].public_id]["metrics"])["webhook_attempts"] == (1, "0.0004")
    assert _by_metric(live_keys[None]["metrics"])["webhook_attempts"] == (1, "0.00")  # keyless, inside free quota
    assert [k["keyId"] for k in test["byKey"]] == [keys["sandbox"].public_id]

    days = {d["date"]: d for d in live["byDay"]}
    assert len(days) == 10 and next(iter(days)) == "2026-11-01"
    assert _by_metric(days["2026-11-09"]["metrics"])["api_requests"] == (1500, "0.00")
    assert _by_metric(days["2026-11-10"]["metrics"])["api_requests"] == (610, "0.40")
    assert days["2026-11-10"]["charges"] == "0.4004"
    assert days["2026-11-01"]["charges"] == "0.00"


def test_usage_reports_the_free_quota_used_and_left_this_month(usage_org):
    _, _, secrets = usage_org
    quota = ApiClient(secrets["server"]).get("/usage").body["data"]["freeQuota"]
    assert (quota["month"], quota["plan"]) == ("2026-11", "PRO")
    lines = {line["metric"]: line for line in quota["metrics"]}
    assert lines["api_requests"] == {
        "metric": "api_requests",
        "included": 1000,
        "used": 1000,
        "remaining": 0,
        "unitSize": 1000,
        "unitPrice": "0.40",
    }
    assert (lines["webhook_attempts"]["used"], lines["webhook_attempts"]["remaining"]) == (1, 0)
    assert (lines["tool_invocations"]["used"], lines["tool_invocations"]["remaining"]) == (0, 5000)  # test is free


def test_usage_honours_an_explicit_range(usage_org):
    _, _, secrets = usage_org
    data = ApiClient(secrets["server"]).get("/usage?from=2026-11-10&to=2026-11-10").body["data"]
    assert [d["date"] for d in data["live"]["byDay"]] == ["2026-11-10"]
    assert _by_metric(data["live"]["byMetric"])["api_requests"] == (610, "0.40")


def test_empty_range_values_mean_the_defaults_as_documented(usage_org):
    _, _, secrets = usage_org
    client = ApiClient(secrets["server"])
    default = client.get("/usage").body["data"]
    empty = client.get("/usage?from=&to=").body["data"]
    assert (empty["from"], empty["to"]) == (default["from"], default["to"])


def test_usage_wallet_shows_balance_and_month_spend(usage_org):
    _, _, secrets = usage_org
    wallet = ApiClient(secrets["server"]).get("/usage").body["data"]["wallet"]
    assert wallet == {"balance": "49.5996", "monthToDateSpend": "0.4004"}


def test_usage_never_shows_another_business(usage_org):
    _, _, secrets = usage_org
    data = ApiClient(secrets["server"]).get("/usage").body["data"]
    assert _by_metric(data["live"]["byMetric"])["sms_segments"] == (0, "0.00")


def test_a_test_key_reads_usage_too(usage_org):
    _, _, secrets = usage_org
    assert ApiClient(secrets["sandbox"]).get("/usage").status_code == 200


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=20261101", "from"),
        ("from=2026-11-05&to=2026-11-01", "to"),
        ("from=2025-01-01&to=2026-11-01", "to"),
    ],
)
def test_bad_dates_are_a_validation_error_naming_the_field(usage_org, query, field):
    _, _, secrets = usage_org
    response = ApiClient(secrets["server"]).get(f"/usage?{query}")
    assert response.status_code == 400
    assert response.body["error"]["code"] == "VALIDATION_ERROR"
    assert list(response.body["error"]["fields"]) == [field]


def test_usage_needs_the_read_usage_scope(usage_org):
    org, _, _ = usage_org
    response = ApiClient(make_key(org, scopes=["read:calls"], name="Narrow")).get("/usage")
    assert response.status_code == 403
    assert response.body["error"]["code"] == "INSUFFICIENT_SCOPE"


def test_usage_without_a_key_is_401(db):
    response = ApiClient().get("/usage")
    assert response.status_code == 401 and response.body["error"]["code"] == "API_KEY_REQUIRED"


def test_balance_left_is_exact_money_not_float(usage_org):
    org, _, _ = usage_org
    org.wallet.refresh_from_db()
    assert org.wallet.balance == Decimal("50") - Decimal("0.40") - Decimal("0.0004")


def test_the_openapi_document_describes_usage(db):
    import json

    from django.test import Client

    doc = json.loads(Client().get("/api/public/v1/openapi.json").content)
    operation = doc["paths"]["/usage"]["get"]
    assert operation["operationId"] == "getUsage"
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["from", "to"]
    assert {"200", "400", "401", "402", "403", "429"} <= set(operation["responses"])
    usage = doc["components"]["schemas"]["Usage"]
    assert list(usage["properties"])[:3] == ["from", "to", "currency"]
    key_id = doc["components"]["schemas"]["KeyUsage"]["properties"]["keyId"]
    assert key_id.get("nullable") is True or "null" in key_id.get("type", [])  # OpenAPI 3.0 or 3.1 spelling


def test_usage_states_the_billing_month_in_utc_and_in_the_business_time_zone(usage_org):
    from datetime import UTC, datetime
    from unittest import mock

    _, _, secrets = usage_org
    with mock.patch("django.utils.timezone.now", return_value=datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)):
        period = ApiClient(secrets["server"]).get("/usage").body["data"]["billingPeriod"]
    assert period["timeZone"] == "UTC"
    assert (period["start"], period["end"]) == ("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert period["localTimeZone"] == "America/New_York"
    assert (period["localStart"], period["localEnd"]) == ("2026-11-30T19:00:00-05:00", "2026-12-31T19:00:00-05:00")
    assert period["billableRequests"].startswith("Answers below 400.")
