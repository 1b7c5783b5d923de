"""/metrics: the token, and the values after real API requests, webhook deliveries and tool calls."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import Organization
from agents.services import tool_invoke
from billing.models import Wallet
from billing.wallet import wallet_debit
from tests.agents.conftest import make_tool
from tests.conftest import ApiClient
from tests.webhooks.receiver import Receiver, Reply
from webhooks.events import emit
from webhooks.models import Delivery
from webhooks.services import delivery_attempt, endpoint_create

from .metrics_helpers import TOKEN, scrape

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("metrics_token")]


@pytest.fixture
def metrics_token() -> Any:
    with override_settings(METRICS_TOKEN=TOKEN):
        yield


@override_settings(METRICS_TOKEN="")
def test_without_a_token_setting_metrics_does_not_exist() -> None:
    response = Client().get("/metrics", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404
    assert b"aip_" not in response.content


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "])
def test_a_scrape_without_the_right_bearer_token_is_refused(header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = Client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"aip_" not in response.content


def test_api_requests_are_counted_by_route_template_status_and_mode(
    api: ApiClient, test_api: ApiClient, org: Organization
) -> None:
    before = scrape()
    route = "/api/public/v1/contacts/<str:contact_id>"
    for _ in range(3):
        assert api.get("/contacts/ct_doesnotexist").status_code == 404
    assert test_api.get("/keys").status_code == 200
    assert api.get("/keys", key="aip_live_" + "x" * 43).status_code == 401
    assert api.get("/keys", key="").status_code == 401
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    # The route template, not the id: one series however many contacts there are.
    assert delta("aip_http_requests_total", route=route, method="GET", status="404", mode="live") == 3
    assert delta("aip_http_requests_total", route="/api/public/v1/keys", method="GET", status="200", mode="test") == 1
    assert delta("aip_http_request_duration_seconds_count", route=route, mode="live") == 3
    assert delta("aip_http_request_duration_seconds_bucket", route=route, mode="live", le="+Inf") == 3
    assert delta("aip_api_refusals_total", code="INVALID_API_KEY") == 1
    assert delta("aip_api_refusals_total", code="API_KEY_REQUIRED") == 1
    assert not any("ct_doesnotexist" in str(labels) for labels in after.labelled("aip_http_requests_total"))


def test_rate_limit_and_gate_refusals_are_counted_by_code(api: ApiClient, org: Organization) -> None:
    before = scrape()
    balance = Wallet.objects.get(organization=org).balance
    wallet_debit(organization=org, amount=balance, reason="Spent", reference="test:spent")
    response = api.get("/keys")
    assert response.status_code == 402 and response.body["error"]["code"] == "INSUFFICIENT_CREDITS"
    after = scrape()
    assert (
        after.value("aip_api_refusals_total", code="INSUFFICIENT_CREDITS")
        - before.value("aip_api_refusals_total", code="INSUFFICIENT_CREDITS")
        == 1
    )


def test_webhook_attempts_by_outcome_and_emit_to_receipt_latency_after_real_deliveries(
    org: Organization, receiver: Receiver
) -> None:
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    before = scrape()
    ok = emit(organization=org, type="call.completed", data={"callId": "call_1"}, mode="live")
    delivery_attempt(delivery_id=Delivery.objects.get(event=ok).pk)
    receiver.reply(Reply(status=500, body=b"boom"))
    failing = emit(organization=org, type="call.completed", data={"callId": "call_2"}, mode="live")
    delivery_attempt(delivery_id=Delivery.objects.get(event=failing).pk)
    receiver.reply(Reply(status=410))
    gone = emit(organization=org, type="call.completed", data={"callId": "call_3"}, mode="live")
    delivery_attempt(delivery_id=Delivery.objects.get(event=gone).pk)
    assert len(receiver.requests) == 3
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    # The delivery log's own classification of each attempt.
    assert delta("aip_webhook_attempts_total", outcome="succeeded") == 1
    assert delta("aip_webhook_attempts_total", outcome="http_error") == 1
    assert delta("aip_webhook_attempts_total", outcome="gone") == 1
    assert delta("aip_webhook_emit_to_receipt_seconds_count") == 1
    assert 0 < delta("aip_webhook_emit_to_receipt_seconds_sum") < 10
    assert delta("aip_webhook_emit_to_receipt_seconds_bucket", le="15.0") == 1


def test_backlog_held_deliveries_and_the_oldest_due_one_are_read_from_the_database(
    org: Organization, receiver: Receiver
) -> None:
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    for n in range(3):
        emit(organization=org, type="call.completed", data={"callId": f"call_{n}"}, mode="live")
    deliveries = list(Delivery.objects.filter(organization=org).order_by("id"))
    ten_minutes_ago = timezone.now() - timedelta(minutes=10)
    Delivery.objects.filter(pk=deliveries[0].pk).update(next_attempt_at=ten_minutes_ago)
    Delivery.objects.filter(pk=deliveries[1].pk).update(next_attempt_at=timezone.now() + timedelta(hours=2))
    Delivery.objects.filter(pk=deliveries[2].pk).update(status=Delivery.Status.HELD, next_attempt_at=None)

    found = scrape()
    assert found.value("aip_webhook_deliveries", status="pending") == 2
    assert found.value("aip_webhook_deliveries", status="held") == 1
    assert found.value("aip_webhook_deliveries_due") == 1  # the retry two hours out is not late
    assert 600 <= found.value("aip_webhook_oldest_pending_age_seconds") < 660
    assert found.value("aip_metrics_collector_errors", collector="webhooks") == 0

    Delivery.objects.filter(organization=org).update(status=Delivery.Status.SUCCEEDED)
    assert scrape().value("aip_webhook_oldest_pending_age_seconds") == 0


def test_tool_invocations_by_outcome_latency_and_timeouts(org: Organization) -> None:
    hold = threading.Event()
    endpoint = Receiver()
    endpoint.default = Reply(status=200, body=b'{"ok": true}', headers={"Content-Type": "application/json"})
    try:
        tool = make_tool(org, endpoint.url, timeout_seconds=1)
        before = scrape()
        assert tool_invoke(tool=tool, arguments={"orderNumber": "A-1042"}, call_session_id="c1", mode="live").ok
        endpoint.reply(Reply(wait_for=hold))
        slow = tool_invoke(tool=tool, arguments={"orderNumber": "A-1043"}, call_session_id="c2", mode="test")
        assert slow.error_code == "timeout"
        after = scrape()
    finally:
        hold.set()
        endpoint.close()

    def delta(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert delta("aip_tool_invocations_total", outcome="succeeded", mode="live") == 1
    assert delta("aip_tool_invocations_total", outcome="failed", mode="test") == 1
    assert delta("aip_tool_timeouts_total") == 1
    assert delta("aip_tool_invocation_duration_seconds_count") == 2
    assert delta("aip_tool_invocation_duration_seconds_sum") >= 1.0  # the timeout's full second


def test_queue_depth_heartbeats_and_flush_are_reported(org: Organization) -> None:
    from ops import heartbeat

    heartbeat.beat("celery@worker-1", force=True)
    heartbeat.beat(heartbeat.BEAT, force=True)
    heartbeat.record_flush()
    found = scrape()
    workers = {dict(labels)["worker"] for labels in found.labelled("aip_worker_last_heartbeat_timestamp_seconds")}
    assert {"celery@worker-1", "beat"} <= workers
    assert 0 <= found.value("aip_metering_seconds_since_last_flush") < 5
    assert set(dict(labels)["queue"] for labels in found.labelled("aip_celery_queue_length")) == {"default", "tools"}
    assert found.value("aip_metrics_collector_errors", collector="queues") == 0


def test_every_metric_the_sample_alert_rules_use_is_exported(org: Organization) -> None:
    import re
    from pathlib import Path

    import yaml
    from django.conf import settings

    from ops import heartbeat

    heartbeat.beat("celery@worker-1", force=True)
    heartbeat.record_flush()
    Client().get("/api/public/v1/keys")  # one request and one webhook attempt, so the counters have series
    rules = yaml.safe_load(Path(settings.BASE_DIR, "deploy/prometheus/alerts.yml").read_text())
    used = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in re.findall(r"\baip_[a-z_]+", rule["expr"])
    }
    exported = {name for name, _ in scrape().samples}
    # Counters are exported with _total; the webhook attempts need a delivery, checked in its own test.
    assert used - exported <= {"aip_webhook_attempts_total"}, used - exported
    assert len(used) >= 7


def test_a_webhook_request_counts_as_in_flight_to_its_endpoint_while_it_is_out(
    org: Organization, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prometheus_client import REGISTRY

    from core import outbound

    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    seen_during: list[float | None] = []
    real_post = outbound._post

    def post_and_look(*args: Any, **kwargs: Any) -> Any:
        # The registry, not a scrape: the scrape's collectors would read the database from this thread.
        seen_during.append(
            REGISTRY.get_sample_value("aip_webhook_requests_in_flight", {"endpoint": endpoint.public_id})
        )
        return real_post(*args, **kwargs)

    monkeypatch.setattr(outbound, "_post", post_and_look)
    event = emit(organization=org, type="call.completed", data={"callId": "call_1"}, mode="live")
    delivery_attempt(delivery_id=Delivery.objects.get(event=event).pk)

    assert len(receiver.requests) == 1
    assert seen_during == [1]
    assert scrape().value("aip_webhook_requests_in_flight", endpoint=endpoint.public_id) == 0
