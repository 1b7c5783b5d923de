"""Settings → Developer → Webhooks in real headless Chromium, against a real local receiver: add an
endpoint (secret shown), send a test event, watch the delivery log refresh itself, inspect an attempt,
replay it, reveal and rotate the secret, disable, delete; viewers read-only; the same without JavaScript."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import AuditEntry
from core.signing import verify
from tests.webhooks.receiver import Receiver, Reply
from webhooks.events import emit
from webhooks.models import Delivery, Endpoint
from webhooks.services import endpoint_create

from .conftest import screenshot, wait_until_gone

# serialized_rollback: the plans seeded by migrations must survive the flush after each test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "correct-horse-battery"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def nav(page: Any) -> Any:
    return page.get_by_role("navigation", name="Settings")


def test_owner_adds_tests_inspects_replays_rotates_and_deletes_an_endpoint(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any, receiver: Receiver
) -> None:
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    nav(page).get_by_role("link", name="Webhooks").click()
    page.get_by_role("heading", name="No webhook endpoints yet").wait_for()
    screenshot(page, "webhooks-empty")

    # Add: the dialog, event checkboxes, the secret.
    page.get_by_role("link", name="+ Add endpoint").first.click()
    dialog = page.locator("dialog#dialog")
    dialog.get_by_role("heading", name="Add a webhook endpoint").wait_for()
    dialog.get_by_label("Endpoint URL").fill(receiver.url)
    dialog.get_by_label("Description").fill("CRM sync")
    dialog.locator("input[name=events][value='call.completed']").check()
    dialog.locator("input[name=events][value='sms.sent']").check()
    screenshot(page, "webhook-create-dialog", full_page=False)
    dialog.get_by_role("button", name="Add endpoint").click()
    secret = dialog.locator("#endpoint-secret").input_value()
    endpoint = Endpoint.objects.get(organization=org)
    assert secret.startswith("whsec_") and secret == endpoint.secret
    assert endpoint.events == ["call.completed", "sms.sent"]
    screenshot(page, "webhook-created-secret", full_page=False)
    dialog.get_by_role("link", name="Done").click()
    assert not dialog.is_visible()
    page.locator(f"#endpoint-row-{endpoint.public_id}").get_by_text("CRM sync").wait_for()
    wait_until_gone(page, secret)
    assert secret not in page.content()

    # Test button: the response shows inline and the receiver got a verifiable request.
    page.get_by_role("link", name=receiver.url).click()
    page.get_by_role("heading", name="No deliveries yet").wait_for()
    receiver.reply(Reply(200, body=b'{"thanks":true}'))
    page.get_by_role("button", name="Send test event").click()
    page.get_by_test_id("test-result").get_by_text("Test event delivered.").wait_for()
    assert '{"thanks":true}' in page.get_by_test_id("test-result").inner_text()
    (request,) = receiver.requests
    verify(header=request.headers["x-aip-signature"], body=request.body, secret=secret)
    page.locator("#delivery-log").get_by_text("webhook.test").wait_for()
    screenshot(page, "webhook-test-sent")

    # A real event that fails appears by itself (live refresh), retrying.
    receiver.reply(Reply(500, body=b"database down"))
    event = emit(organization=org, type="call.completed", data={"callId": "call_42"}, mode="live")
    delivery = Delivery.objects.get(event=event)
    row = page.locator(f"tr[data-delivery='{delivery.public_id}']")
    row.get_by_text("Retrying").wait_for(timeout=15_000)
    page.locator("#endpoint-health").get_by_text("Failing").wait_for(timeout=15_000)
    screenshot(page, "webhook-delivery-log")

    # Attempt detail with request and response, then replay (same event id).
    row.get_by_role("link").first.click()
    page.get_by_role("heading", name="Attempt 1").wait_for()
    content = page.content()
    assert "database down" in content and "X-AIP-Signature" in content and event.public_id in content
    screenshot(page, "webhook-attempt-detail")
    page.get_by_role("button", name="Replay").click()
    page.get_by_text(f"Replaying {event.public_id} as a new delivery.").wait_for()
    page.get_by_text("Replay of").wait_for()
    assert receiver.requests[-1].headers["x-aip-event-id"] == event.public_id
    assert Delivery.objects.get(replay_of=delivery).status == Delivery.Status.SUCCEEDED

    # Reveal and rotate the secret.
    page.get_by_role("link", name=f"← {receiver.url}").click()
    page.get_by_role("button", name="Reveal secret").click()
    assert page.locator("#endpoint-secret").input_value() == secret
    page.goto(page.url)
    page.get_by_role("link", name="Rotate…").click()
    dialog.get_by_role("heading", name="Rotate the signing secret").wait_for()
    dialog.get_by_text("In 1 hour").click()
    dialog.get_by_role("button", name="Rotate secret").click()
    new_secret = dialog.locator("#endpoint-secret").input_value()
    assert new_secret != secret and new_secret == Endpoint.objects.get(pk=endpoint.pk).secret
    dialog.get_by_text("The old secret keeps signing alongside the new one").wait_for()
    screenshot(page, "webhook-rotated", full_page=False)
    dialog.get_by_role("link", name="Done").click()

    # Disable, enable, delete with confirmation.
    questions: list[str] = []

    def accept(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)  # Disable asks first, naming the consequence
    page.get_by_role("button", name="Disable").click()
    page.get_by_text("Disabled by a user.").wait_for()
    assert questions and questions[0].startswith("Disable this endpoint? Nothing is sent to")
    screenshot(page, "webhook-disabled")
    page.get_by_role("button", name="Enable").click()
    page.get_by_role("button", name="Disable").wait_for()
    page.get_by_role("link", name="Delete").click()
    dialog.get_by_role("heading", name="Delete this endpoint?").wait_for()
    dialog.get_by_role("button", name="Delete endpoint").click()
    page.get_by_role("heading", name="No webhook endpoints yet").wait_for()
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()

    actions = set(AuditEntry.objects.filter(organization=org).values_list("action", flat=True))
    assert {
        "webhook.created",
        "webhook.test_sent",
        "webhook.secret_revealed",
        "webhook.secret_rotated",
        "webhook.delivery_replayed",
        "webhook.updated",
        "webhook.deleted",
    } <= actions


def test_viewer_sees_health_but_cannot_act(
    page: Any, live_server: Any, login_as: Any, org: Any, viewer: Any, receiver: Receiver
) -> None:
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    login_as(page, live_server.url, "viewer@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/webhooks/")
    page.get_by_role("link", name=receiver.url).click()
    page.get_by_role("heading", name="Health").wait_for()
    for name in ("Send test event", "Reveal secret", "Disable"):
        assert page.get_by_role("button", name=name).count() == 0
    assert page.get_by_role("link", name="+ Add endpoint").count() == 0
    status = page.evaluate(
        """async (url) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const r = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}});
            return r.status;
        }""",
        f"/settings/developer/webhooks/{endpoint.public_id}/secret/",
    )
    assert status == 403
    screenshot(page, "webhook-viewer")


def test_webhook_pages_work_without_javascript(
    browser: Any, live_server: Any, login_as: Any, org: Any, owner: Any, receiver: Receiver
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        login_as(page, live_server.url, "owner@acme.test", PASSWORD)
        page.goto(f"{live_server.url}/settings/developer/webhooks/")
        page.get_by_role("link", name="+ Add endpoint").first.click()
        assert page.url.endswith("/settings/developer/webhooks/new/")
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_label("All events").check()
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.locator("#endpoint-secret").input_value()
        endpoint = Endpoint.objects.get(organization=org)
        assert endpoint.events == ["*"] and endpoint.secret == secret

        page.get_by_role("link", name="Open endpoint").click()
        page.get_by_role("button", name="Send test event").click()
        page.get_by_text("Test event delivered: the endpoint answered 200.").wait_for()
        assert len(receiver.requests) == 1
        screenshot(page, "webhook-nojs")
    finally:
        context.close()


def test_webhooks_page_fits_a_phone(
    browser: Any, live_server: Any, login_as: Any, org: Any, owner: Any, receiver: Receiver
) -> None:
    endpoint_create(
        organization=org,
        url=receiver.url + "/a/rather/long/path/to/show/wrapping",
        events=["*"],
        description="Phone width",
        actor=None,
    )
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        login_as(page, live_server.url, "owner@acme.test", PASSWORD)
        page.goto(f"{live_server.url}/settings/developer/webhooks/")
        page.get_by_text("Phone width").wait_for()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"
        screenshot(page, "webhooks-phone")
    finally:
        context.close()


def test_owner_limits_an_endpoint_to_test_events_then_to_live_events(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any, receiver: Receiver
) -> None:
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.goto(live_server.url + "/settings/developer/webhooks/")
    page.get_by_role("link", name="+ Add endpoint").first.click()
    dialog = page.locator("dialog#dialog")
    dialog.get_by_label("Endpoint URL").fill(receiver.url)
    dialog.get_by_label("All events").check()
    assert dialog.get_by_label("Live and test").is_checked()  # the default
    dialog.get_by_label("Test only").check()
    screenshot(page, "webhook-create-modes", full_page=False)
    dialog.get_by_role("button", name="Add endpoint").click()
    dialog.locator("#endpoint-secret").wait_for()
    endpoint = Endpoint.objects.get(organization=org)
    assert endpoint.modes == ["test"]
    dialog.get_by_role("link", name="Done").click()
    row = page.locator(f"#endpoint-row-{endpoint.public_id}")
    row.get_by_test_id("endpoint-modes").get_by_text("Test").wait_for()
    assert row.get_by_test_id("endpoint-modes").inner_text().split() == ["Test"]

    page.get_by_role("link", name=receiver.url).click()
    page.locator("#endpoint-health").get_by_text("Test only").wait_for()
    page.get_by_role("link", name="Edit").first.click()
    dialog.get_by_label("Live only").check()
    dialog.get_by_role("button", name="Save endpoint").click()
    page.locator("#endpoint-health").get_by_text("Live only").wait_for()
    endpoint.refresh_from_db()
    assert endpoint.modes == ["live"]

    assert not Delivery.objects.filter(event=emit(organization=org, type="call.started", data={}, mode="test"))
    assert Delivery.objects.filter(event=emit(organization=org, type="call.started", data={}, mode="live")).count() == 1
