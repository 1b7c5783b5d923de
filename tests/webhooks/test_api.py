"""The webhooks endpoints of the public API (scope manage:webhooks)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import AuditEntry, Organization
from core.signing import verify
from tests.conftest import ApiClient, make_key, make_org
from webhooks.delivery import delivery_attempt
from webhooks.events import emit
from webhooks.models import Delivery, Endpoint
from webhooks.services import endpoint_create

from .receiver import Receiver, Reply

pytestmark = pytest.mark.django_db


def create(api: ApiClient, url: str, events: list[str] | None = None, **extra: Any) -> Any:
    return api.post("/webhooks", {"url": url, "events": events or ["*"], **extra})


def test_creating_an_endpoint_returns_the_secret_once(api: ApiClient, receiver: Receiver) -> None:
    response = create(api, receiver.url, ["call.completed", "sms.sent"], description="CRM sync")

    assert response.status_code == 201, response.body
    data = response.body["data"]
    assert data["id"].startswith("whk_") and data["secret"].startswith("whsec_")
    assert data["events"] == ["call.completed", "sms.sent"]
    assert data["enabled"] is True and data["description"] == "CRM sync"
    endpoint = Endpoint.objects.get(public_id=data["id"])
    assert endpoint.secret == data["secret"]
    assert AuditEntry.objects.filter(action="webhook.created", target_id=data["id"]).exists()

    shown = api.get(f"/webhooks/{data['id']}").body["data"]
    listed = api.get("/webhooks").body["data"]
    assert "secret" not in shown and all("secret" not in e for e in listed)
    assert data["secret"] not in str(api.get("/webhooks").content)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://example.com/hook", "events": ["*"]}, "url"),
        ({"url": "https://10.0.0.1/hook", "events": ["*"]}, "url"),
        ({"url": "https://169.254.169.254/latest", "events": ["*"]}, "url"),
        ({"url": "https://example.com/hook", "events": []}, "events"),
        ({"url": "https://example.com/hook", "events": ["call.exploded"]}, "events"),
        ({"url": "https://example.com/hook", "events": ["*", "sms.sent"]}, "events"),
        ({"url": "https://example.com/hook", "events": "call.started"}, "events"),
        ({"events": ["*"]}, "url"),
    ],
)
def test_invalid_endpoints_are_refused_naming_the_field(api: ApiClient, body: dict, field: str, settings: Any) -> None:
    settings.OUTBOUND_ALLOW_LOOPBACK = False  # as in production
    response = api.post("/webhooks", body)

    assert response.status_code == 400
    assert response.body["error"]["code"] == "VALIDATION_ERROR"
    assert field in response.body["error"]["fields"]
    assert not Endpoint.objects.exists()


def test_both_bad_fields_are_reported_at_once(api: ApiClient) -> None:
    response = api.post("/webhooks", {"url": "ftp://x", "events": ["nope"]})

    assert set(response.body["error"]["fields"]) == {"url", "events"}


def test_a_public_https_url_is_accepted(api: ApiClient) -> None:
    assert create(api, "https://hooks.example.com/aiphone").status_code == 201


def test_a_key_without_manage_webhooks_gets_insufficient_scope(org: Organization) -> None:
    reader = ApiClient(make_key(org, scopes=["read:calls"]))

    response = reader.get("/webhooks")

    assert response.status_code == 403 and response.body["error"]["code"] == "INSUFFICIENT_SCOPE"


def test_another_business_endpoint_is_not_found(api: ApiClient, receiver: Receiver) -> None:
    other = make_org("Other Business")
    theirs, _ = endpoint_create(organization=other, url=receiver.url, events=["*"], actor=None)

    for response in (
        api.get(f"/webhooks/{theirs.public_id}"),
        api.delete(f"/webhooks/{theirs.public_id}"),
        api.get(f"/webhooks/{theirs.public_id}/deliveries"),
        api.post(f"/webhooks/{theirs.public_id}/test"),
    ):
        assert response.status_code == 404 and response.body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert api.get("/webhooks").body["data"] == []
    assert receiver.requests == []


def test_patch_changes_fields_and_disabling_then_enabling_works(api: ApiClient, receiver: Receiver) -> None:
    webhook_id = create(api, receiver.url).body["data"]["id"]

    changed = api.patch(f"/webhooks/{webhook_id}", {"events": ["contact.created"], "description": "new"})
    assert changed.status_code == 200
    assert changed.body["data"]["events"] == ["contact.created"]
    off = api.patch(f"/webhooks/{webhook_id}", {"enabled": False}).body["data"]
    assert off["enabled"] is False and off["disabledReason"] == "Disabled by a user."
    on = api.patch(f"/webhooks/{webhook_id}", {"enabled": True}).body["data"]
    assert on["enabled"] is True and on["disabledReason"] is None

    bad = api.patch(f"/webhooks/{webhook_id}", {"url": "https://192.168.1.10/", "secret": "x"})
    assert bad.status_code == 400 and set(bad.body["error"]["fields"]) == {"secret"}
    bad = api.patch(f"/webhooks/{webhook_id}", {"url": "https://192.168.1.10/"})
    assert bad.status_code == 400 and "url" in bad.body["error"]["fields"]


def test_delete_removes_the_endpoint(api: ApiClient, receiver: Receiver) -> None:
    webhook_id = create(api, receiver.url).body["data"]["id"]

    response = api.delete(f"/webhooks/{webhook_id}")

    assert response.status_code == 200 and response.body["data"] == {"id": webhook_id, "deleted": True}
    assert api.get(f"/webhooks/{webhook_id}").status_code == 404


def test_the_test_button_sends_now_and_returns_the_outcome(api: ApiClient, receiver: Receiver) -> None:
    created = create(api, receiver.url, ["sms.sent"]).body["data"]
    receiver.reply(Reply(200, body=b'{"received":true}'))

    response = api.post(f"/webhooks/{created['id']}/test")

    assert response.status_code == 200
    data = response.body["data"]
    assert data["succeeded"] is True
    assert data["attempt"]["response"] == {
        "status": 200,
        "headers": data["attempt"]["response"]["headers"],
        "bodyExcerpt": '{"received":true}',
    }
    (request,) = receiver.requests
    assert request.json["type"] == "webhook.test" and request.json["livemode"] is False
    verify(header=request.headers["x-aip-signature"], body=request.body, secret=created["secret"])


def test_a_failing_test_send_reports_the_failure_without_retrying(api: ApiClient, receiver: Receiver) -> None:
    webhook_id = create(api, receiver.url).body["data"]["id"]
    receiver.reply(Reply(500, body=b"boom"))

    response = api.post(f"/webhooks/{webhook_id}/test")

    data = response.body["data"]
    assert data["succeeded"] is False and data["attempt"]["response"]["status"] == 500
    assert data["delivery"]["status"] == "failed"
    assert "500" in response.body["message"]


def test_rotate_secret_returns_a_new_secret_and_keeps_the_old_one_signing_during_the_overlap(
    api: ApiClient, receiver: Receiver
) -> None:
    created = create(api, receiver.url).body["data"]

    response = api.post(f"/webhooks/{created['id']}/rotate-secret", {"overlap": "24h"})
    assert response.status_code == 200
    new_secret = response.body["data"]["secret"]
    assert new_secret != created["secret"] and response.body["data"]["previousSecretExpiresAt"]
    api.post(f"/webhooks/{created['id']}/test")

    (request,) = receiver.requests
    header = request.headers["x-aip-signature"]
    assert header.count("v1=") == 2
    verify(header=header, body=request.body, secret=created["secret"])
    verify(header=header, body=request.body, secret=new_secret)

    default = api.post(f"/webhooks/{created['id']}/rotate-secret", raw="")  # no body at all
    assert default.status_code == 200 and default.body["data"]["secret"] not in (created["secret"], new_secret)
    bad = api.post(f"/webhooks/{created['id']}/rotate-secret", {"overlap": "2w"})
    assert bad.status_code == 400 and "overlap" in bad.body["error"]["fields"]


def test_delivery_log_lists_filters_and_shows_attempts(org: Organization, api: ApiClient, receiver: Receiver) -> None:
    webhook_id = create(api, receiver.url).body["data"]["id"]
    receiver.reply(Reply(500, body=b"nope"))
    failed = Delivery.objects.get(event=emit(organization=org, type="call.completed", data={}, mode="live"))
    delivery_attempt(delivery_id=failed.pk)
    ok = Delivery.objects.get(event=emit(organization=org, type="sms.sent", data={}, mode="live"))
    delivery_attempt(delivery_id=ok.pk)

    everything = api.get(f"/webhooks/{webhook_id}/deliveries").body
    assert [d["id"] for d in everything["data"]] == [ok.public_id, failed.public_id]
    assert everything["pagination"]["hasMore"] is False
    only_pending = api.get(f"/webhooks/{webhook_id}/deliveries?status=pending").body["data"]
    assert [d["id"] for d in only_pending] == [failed.public_id]
    only_sms = api.get(f"/webhooks/{webhook_id}/deliveries?eventType=sms.sent").body["data"]
    assert [d["eventType"] for d in only_sms] == ["sms.sent"]
    future = (timezone.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert api.get(f"/webhooks/{webhook_id}/deliveries?from={future}").body["data"] == []
    page = api.get(f"/webhooks/{webhook_id}/deliveries?limit=1").body
    assert page["pagination"]["hasMore"] is True
    rest = api.get(f"/webhooks/{webhook_id}/deliveries?limit=1&cursor={page['pagination']['nextCursor']}").body
    assert [d["id"] for d in rest["data"]] == [failed.public_id]
    bad = api.get(f"/webhooks/{webhook_id}/deliveries?status=lost&from=yesterday")
    assert bad.status_code == 400 and set(bad.body["error"]["fields"]) == {"status", "from"}

    detail = api.get(f"/webhooks/{webhook_id}/deliveries/{failed.public_id}").body["data"]
    assert detail["event"]["id"] == failed.event.public_id
    (attempt,) = detail["attempts"]
    assert attempt["response"]["status"] == 500 and attempt["response"]["bodyExcerpt"] == "nope"
    assert attempt["request"]["headers"]["X-AIP-Event-Id"] == failed.event.public_id
    assert attempt["request"]["body"] == failed.event.body
    assert attempt["errorClass"] == "http_error" and attempt["durationMs"] is not None


def test_replay_and_recover_over_the_api(
    org: Organization, api: ApiClient, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    webhook_id = create(api, receiver.url).body["data"]["id"]
    receiver.reply(Reply(410))
    first = Delivery.objects.get(event=emit(organization=org, type="call.completed", data={}, mode="live"))
    delivery_attempt(delivery_id=first.pk)  # 410: endpoint disabled, delivery failed

    refused = api.post(f"/webhooks/{webhook_id}/deliveries/{first.public_id}/replay")
    assert refused.status_code == 409 and refused.body["error"]["code"] == "ENDPOINT_DISABLED"
    api.patch(f"/webhooks/{webhook_id}", {"enabled": True})

    with django_capture_on_commit_callbacks(execute=True):
        replay = api.post(f"/webhooks/{webhook_id}/deliveries/{first.public_id}/replay")
    assert replay.status_code == 202
    assert replay.body["data"]["eventId"] == first.event.public_id
    assert replay.body["data"]["replayOf"] == first.public_id
    assert Delivery.objects.get(public_id=replay.body["data"]["id"]).status == Delivery.Status.SUCCEEDED

    since = (timezone.now() - timedelta(hours=1)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        recovered = api.post(f"/webhooks/{webhook_id}/recover", {"since": since})
    assert recovered.status_code == 202 and recovered.body["data"]["count"] == 0  # already replayed
    assert api.post(f"/webhooks/{webhook_id}/recover", {}).status_code == 400
    assert [r.headers["x-aip-event-id"] for r in receiver.requests] == [first.event.public_id] * 2
