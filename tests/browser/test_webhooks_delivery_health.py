"""The delivery engine's state in the dashboard, in real headless Chromium: each endpoint's backlog
(pending and held), requests in flight, p95 response time over 24 h and the "slow" badge; a
delivery's time queued and time sending, apart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.webhooks.receiver import Receiver
from webhooks import delivery as engine
from webhooks.events import emit
from webhooks.models import Attempt, Delivery, Endpoint
from webhooks.services import endpoint_create

from .conftest import screenshot

# serialized_rollback: the plans seeded by migrations must survive the flush after each test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "correct-horse-battery"


def test_endpoints_show_backlog_in_flight_p95_and_the_slow_lane_and_a_delivery_its_queue_and_send_times(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any, receiver: Receiver, monkeypatch: Any
) -> None:
    monkeypatch.setattr(engine, "enqueue_turn", lambda **kwargs: False)  # nothing leaves by itself here
    monkeypatch.setattr("webhooks.events.enqueue_fanout", lambda **kwargs: None)
    healthy, _ = endpoint_create(organization=org, url=receiver.url + "/healthy", events=["*"], actor=None)
    slow, _ = endpoint_create(organization=org, url=receiver.url + "/slow", events=["*"], actor=None)
    events = [emit(organization=org, type="call.completed", data={"n": n}, mode="live") for n in range(24)]
    now = timezone.now()
    # Twenty answered attempts to the healthy endpoint, 100 ms to 2 s: p95 is 1,900 ms.
    sent = list(Delivery.objects.filter(endpoint=healthy, event__in=events[:20]).order_by("id"))
    for n, row in enumerate(sent, start=1):
        Attempt.objects.create(
            delivery=row, number=1, request_url=healthy.url, response_status=200,
            succeeded=True, duration_ms=n * 100, queued_ms=40, started_at=now, finished_at=now,
        )  # fmt: skip
    Delivery.objects.filter(pk__in=[row.pk for row in sent]).update(status="succeeded", attempt_count=1)
    # The healthy endpoint still has four pending, two of them in flight; the slow one two held.
    rest = list(Delivery.objects.filter(endpoint=healthy, event__in=events[20:]).order_by("id"))
    Delivery.objects.filter(pk__in=[d.pk for d in rest[:2]]).update(claimed_until=now + timedelta(seconds=10))
    slow_rows = list(Delivery.objects.filter(endpoint=slow).order_by("id"))
    Delivery.objects.filter(pk__in=[d.pk for d in slow_rows[:2]]).update(status="held", held_since=now)
    Delivery.objects.filter(pk__in=[d.pk for d in slow_rows[2:]]).update(status="succeeded")
    Endpoint.objects.filter(pk=slow.pk).update(slow_since=now - timedelta(minutes=3))
    # A delivery that waited 2.5 s for a worker, then 14.2 s for the slow endpoint, then a retry.
    shown = slow_rows[2]
    Attempt.objects.create(
        delivery=shown, number=1, request_url=slow.url, error_class="timeout",
        duration_ms=14_200, queued_ms=2_500, started_at=now, finished_at=now,
    )  # fmt: skip
    Attempt.objects.create(
        delivery=shown, number=2, request_url=slow.url, response_status=200,
        succeeded=True, duration_ms=300, queued_ms=120, started_at=now, finished_at=now,
    )  # fmt: skip

    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/webhooks/")
    healthy_row = page.locator(f"#endpoint-row-{healthy.public_id}")
    slow_row = page.locator(f"#endpoint-row-{slow.public_id}")
    healthy_row.wait_for()
    cells = healthy_row.locator("td")
    headers = [h.strip() for h in page.locator("table thead th").all_text_contents()]
    backlog, in_flight, p95 = headers.index("Backlog"), headers.index("In flight"), headers.index("p95 (24 h)")
    assert cells.nth(backlog).inner_text().strip() == "4 pending"
    assert cells.nth(in_flight).inner_text().strip() == "2"
    assert cells.nth(p95).inner_text().strip() == "1,900 ms"
    assert not healthy_row.get_by_text("Slow", exact=True).count()
    assert slow_row.get_by_text("Slow", exact=True).is_visible()
    assert slow_row.locator("td").nth(backlog).inner_text().strip() == "2 held"
    screenshot(page, "webhooks-delivery-health")

    # The endpoint's own page: the same figures, and the cap.
    page.get_by_role("link", name=healthy.url).click()
    health = page.locator("#endpoint-health")
    health.get_by_text("4 pending").wait_for()
    assert "2 requests" in health.inner_text() and "at most 40 at once" in health.inner_text()
    assert "p95 1,900 ms" in health.inner_text()

    # One delivery: time queued and time sending, each summed over its attempts and per attempt.
    page.goto(f"{live_server.url}/settings/developer/webhooks/{slow.public_id}/deliveries/{shown.public_id}/")
    details = page.locator("dl.details").first
    details.get_by_text("2,620 ms").wait_for()
    assert "Time queued" in details.inner_text() and "Time sending" in details.inner_text()
    assert "14,500 ms" in details.inner_text()
    assert page.get_by_text("queued 2,500 ms · sending 14,200 ms").is_visible()
    assert page.get_by_text("queued 120 ms · sending 300 ms").is_visible()
    screenshot(page, "webhook-delivery-times")
