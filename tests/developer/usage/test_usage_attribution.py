"""Every metered unit is reported under what caused it: the key whose request did, the dashboard, or the system.

Webhook attempts (and their retries) of an event a key's request raised, replays, and tool calls are
followed end to end: a real receiver gets the deliveries, and GET /usage and the usage page report them.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import Organization
from agents.models import CustomTool, ToolInvocation
from agents.services import tool_invocation_run, tool_test_invoke
from billing.models import UsageRecord, UsageRollup
from developer.models import ApiKey
from phone.services import call_start
from tests.agents.conftest import make_tool
from tests.conftest import ApiClient, make_key
from tests.phone.conftest import sms_number as sms_number
from tests.phone.conftest import sms_ready as sms_ready
from tests.webhooks.receiver import Receiver, Reply
from webhooks.models import Delivery, Endpoint, Event
from webhooks.services import delivery_attempt, endpoint_create

pytestmark = pytest.mark.django_db


def by_key(usage: dict[str, Any], mode: str) -> dict[str, dict[str, Any]]:
    """GET /usage's byKey of one mode as {name: {"keyId", "source", metric: quantity}}."""
    rows = {}
    for row in usage[mode]["byKey"]:
        quantities = {line["metric"]: line["quantity"] for line in row["metrics"] if line["quantity"]}
        rows[row["name"]] = {"keyId": row["keyId"], "source": row["source"], **quantities}
    return rows


@pytest.fixture
def hook(org: Organization, receiver: Receiver) -> Receiver:
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    return receiver


def test_a_live_keys_contact_webhook_attempt_and_its_retry_are_that_keys_usage(
    org: Organization, hook: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    secret = make_key(org, name="CRM sync")
    key = ApiKey.objects.get(organization=org, name="CRM sync")
    api = ApiClient(secret)
    hook.reply(Reply(500))  # the first attempt fails, the retry succeeds

    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/contacts", {"phoneNumber": "+14155550123", "name": "Jordan"})
    assert created.status_code == 201
    delivery = Delivery.objects.get(event__type="contact.created")
    assert delivery.status == Delivery.Status.PENDING and delivery.attempt_count == 1
    retry = delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    assert retry is not None and retry.succeeded and retry.number == 2
    assert [r.json["type"] for r in hook.requests] == ["contact.created", "contact.created"]
    event = Event.objects.get(type="contact.created")
    assert (event.source, event.api_key_id) == ("api", key.pk)
    assert set(UsageRecord.objects.filter(metric="webhook_attempts").values_list("api_key_id", "source")) == {
        (key.pk, "api")
    }
    usage = api.get("/usage").body["data"]
    rows = by_key(usage, "live")
    assert rows["CRM sync"]["keyId"] == key.public_id and rows["CRM sync"]["source"] == "api"
    assert rows["CRM sync"]["webhook_attempts"] == 2
    assert "System" not in rows and "Dashboard" not in rows


def test_a_replay_over_the_api_is_the_replaying_keys_usage(
    org: Organization, hook: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    writer, replayer = make_key(org, name="Writer"), make_key(org, name="Replayer")
    with django_capture_on_commit_callbacks(execute=True):
        ApiClient(writer).post("/contacts", {"phoneNumber": "+14155550124"})
    delivery = Delivery.objects.get(event__type="contact.created")
    webhook_id = delivery.endpoint.public_id

    with django_capture_on_commit_callbacks(execute=True):
        replay = ApiClient(replayer).post(f"/webhooks/{webhook_id}/deliveries/{delivery.public_id}/replay")

    assert replay.status_code == 202
    assert [r.headers["x-aip-event-id"] for r in hook.requests] == [delivery.event.public_id] * 2
    rows = by_key(ApiClient(writer).get("/usage").body["data"], "live")
    assert rows["Writer"]["webhook_attempts"] == 1
    assert rows["Replayer"]["webhook_attempts"] == 1
    assert rows["Replayer"]["keyId"] == ApiKey.objects.get(name="Replayer").public_id


def test_a_recover_over_the_api_is_the_recovering_keys_usage(
    org: Organization, hook: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    writer, fixer = make_key(org, name="Writer"), make_key(org, name="Fixer")
    hook.reply(Reply(410))  # gone: the endpoint is disabled and the delivery fails
    with django_capture_on_commit_callbacks(execute=True):
        ApiClient(writer).post("/contacts", {"phoneNumber": "+14155550129"})
    delivery = Delivery.objects.get(event__type="contact.created")
    assert delivery.status == Delivery.Status.FAILED
    webhook_id = delivery.endpoint.public_id

    fixing = ApiClient(fixer)
    fixing.patch(f"/webhooks/{webhook_id}", {"enabled": True})
    with django_capture_on_commit_callbacks(execute=True):
        recovered = fixing.post(f"/webhooks/{webhook_id}/recover", {"since": delivery.created_at.isoformat()})

    assert recovered.status_code == 202 and recovered.body["data"]["count"] == 1
    assert [r.json["type"] for r in hook.requests] == ["contact.created", "contact.created"]
    rows = by_key(fixing.get("/usage").body["data"], "live")
    assert rows["Writer"]["webhook_attempts"] == 1 and rows["Fixer"]["webhook_attempts"] == 1


def test_a_text_sent_through_a_key_and_its_sms_sent_webhook_are_that_keys_usage(
    org: Organization, hook: Receiver, sms_ready: Any, test_key: str, django_capture_on_commit_callbacks: Any
) -> None:
    api = ApiClient(test_key)
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post("/messages", {"to": "+15555550123", "body": "Thanks for calling!"})

    assert sent.status_code == 201
    assert [r.json["type"] for r in hook.requests] == ["sms.sent"]
    rows = by_key(api.get("/usage").body["data"], "test")
    assert rows == {
        "Test key": {
            "keyId": ApiKey.objects.get(name="Test key").public_id,
            "source": "api",
            "webhook_attempts": 1,
            "sms_segments": 1,
        }
    }


def test_a_replay_from_the_dashboard_is_the_dashboards_usage(
    org: Organization, hook: Receiver, owner_client: Client, live_key: str, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ApiClient(live_key).post("/contacts", {"phoneNumber": "+14155550125"})
    delivery = Delivery.objects.get(event__type="contact.created")

    url = f"/settings/developer/webhooks/{delivery.endpoint.public_id}/deliveries/{delivery.public_id}/replay/"
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url)

    assert response.status_code in (200, 302)
    assert len(hook.requests) == 2
    replay = Delivery.objects.get(replay_of=delivery)
    assert (replay.source, replay.api_key_id) == ("dashboard", None)
    rows = by_key(ApiClient(live_key).get("/usage").body["data"], "live")
    assert rows["Test key"]["webhook_attempts"] == 1
    assert rows["Dashboard"] == {"keyId": None, "source": "dashboard", "webhook_attempts": 1}


def test_events_from_the_phone_system_are_the_systems_usage(
    org: Organization, hook: Receiver, live_key: str, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call_start(organization=org, direction="inbound", from_number="+14155550126", to_number="+14155550000")

    # The call announces call.started and the caller's new contact.created: two attempts, no key.
    assert sorted(r.json["type"] for r in hook.requests) == ["call.started", "contact.created"]
    assert list(Event.objects.values_list("source", flat=True)) == ["system", "system"]
    assert not Event.objects.filter(api_key__isnull=False).exists()
    usage = ApiClient(live_key).get("/usage").body["data"]
    assert by_key(usage, "live") == {"System": {"keyId": None, "source": "system", "webhook_attempts": 2}}


def test_a_test_send_from_the_dashboard_is_the_dashboards_test_usage_and_from_the_api_the_keys(
    org: Organization, hook: Receiver, owner_client: Client, test_key: str
) -> None:
    endpoint = Endpoint.objects.get(organization=org)

    owner_client.post(f"/settings/developer/webhooks/{endpoint.public_id}/test/")
    ApiClient(test_key).post(f"/webhooks/{endpoint.public_id}/test")

    assert [r.json["type"] for r in hook.requests] == ["webhook.test", "webhook.test"]
    usage = ApiClient(test_key).get("/usage").body["data"]
    rows = by_key(usage, "test")
    assert rows["Dashboard"]["webhook_attempts"] == 1 and rows["Dashboard"]["source"] == "dashboard"
    assert rows["Test key"]["webhook_attempts"] == 1 and rows["Test key"]["source"] == "api"
    assert usage["live"]["byKey"] == [] and usage["test"]["charges"] == "0.00"


def test_a_tool_test_asked_by_a_key_is_that_keys_usage_and_by_a_person_the_dashboards(
    org: Organization, owner: Any, test_key: str
) -> None:
    endpoint = Receiver()
    endpoint.default = Reply(body=b'{"ok": true}', headers={"Content-Type": "application/json"})
    try:
        tool: CustomTool = make_tool(org, endpoint.url)
        key = ApiKey.objects.get(organization=org, name="Test key")
        by_api = tool_test_invoke(tool=tool, arguments={"orderNumber": "A-1"}, actor=key)
        by_person = tool_test_invoke(tool=tool, arguments={"orderNumber": "A-2"}, actor=owner)
        for invocation in (by_api, by_person):
            result = tool_invocation_run(invocation_pk=invocation.pk)
            assert result is not None and result.ok
    finally:
        endpoint.close()

    assert len(endpoint.requests) == 2
    assert (by_api.source, by_api.api_key_id) == (ToolInvocation.Source.API, key.pk)
    assert (by_person.source, by_person.api_key_id) == (ToolInvocation.Source.DASHBOARD, None)
    rows = by_key(ApiClient(test_key).get("/usage").body["data"], "test")
    assert rows["Test key"]["tool_invocations"] == 1 and rows["Test key"]["keyId"] == key.public_id
    assert rows["Dashboard"]["tool_invocations"] == 1


def test_the_usage_page_shows_system_and_dashboard_rows_apart_from_the_keys(
    org: Organization, hook: Receiver, owner_client: Client, live_key: str, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ApiClient(live_key).post("/contacts", {"phoneNumber": "+14155550127"})
        call_start(organization=org, direction="inbound", from_number="+14155550128", to_number="+14155550000")
    delivery = Delivery.objects.filter(event__type="contact.created", event__source="api").get()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            f"/settings/developer/webhooks/{delivery.endpoint.public_id}/deliveries/{delivery.public_id}/replay/"
        )

    html = owner_client.get("/settings/developer/usage/?metric=webhook_attempts").content.decode()
    table = re.search(r'data-testid="key-table".*?</table>', html, re.S)
    assert table is not None
    cells = re.findall(r'<th scope="row"[^>]*>(.*?)</th>', table[0], re.S)
    heads = [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]
    # The keys first, then what no key caused; then the totals.
    assert heads[0].startswith("Test key aip_live_…")
    assert heads[1:3] == ["Dashboard", "System"]
    assert "No API key" not in html
    csv_rows = owner_client.get("/settings/developer/usage/export.csv").content.decode().splitlines()
    names = {line.split(",")[2] for line in csv_rows[1:] if ",webhook_attempts," in line}
    assert names == {"Test key", "Dashboard", "System"}
    rollups = UsageRollup.objects.filter(metric="webhook_attempts")
    assert {(r.source, r.api_key_id is not None, r.quantity) for r in rollups} == {
        ("api", True, 1),
        ("system", False, 2),
        ("dashboard", False, 1),
    }


def test_the_migration_makes_usage_with_a_key_api_usage_and_leaves_the_rest_to_the_system(
    org: Organization, live_key: str
) -> None:
    from django.apps import apps
    from django.utils import timezone

    migration = importlib.import_module("billing.migrations.0006_usage_source_attribution")
    key = ApiKey.objects.get(organization=org)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    # Rows as they were before attribution: every one "system", the column's default.
    keyed = UsageRollup.objects.create(
        organization=org, api_key=key, source="system", metric="webhook_attempts", mode="live", hour=hour, quantity=3
    )
    unkeyed = UsageRollup.objects.create(
        organization=org, source="system", metric="webhook_attempts", mode="live", hour=hour, quantity=2
    )
    record = UsageRecord.objects.create(
        organization=org,
        api_key=key,
        source="system",
        metric="tool_invocations",
        quantity=1,
        mode="live",
        reference="r",
    )

    migration.keyed_rows_are_api(apps, None)

    assert UsageRollup.objects.get(pk=keyed.pk).source == "api"
    assert UsageRollup.objects.get(pk=unkeyed.pk).source == "system"
    assert UsageRecord.objects.get(pk=record.pk).source == "api"
    rows = by_key(ApiClient(live_key).get("/usage").body["data"], "live")
    assert rows["Test key"]["webhook_attempts"] == 3 and rows["System"]["webhook_attempts"] == 2
