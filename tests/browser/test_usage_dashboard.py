"""The usage dashboard in real headless Chromium: stats, SVG chart, htmx metric and range switches with the
URL kept in step, per-key drill-down, CSV download, and the same page working without JavaScript."""

from __future__ import annotations

import csv
import io
import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from billing.metering import apply_api_counts, record_usage
from billing.models import Metric
from billing.quota import encode_counter_field
from developer.models import ApiKey

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery"


@pytest.fixture
def usage_data() -> tuple[Any, ApiKey]:
    from accounts.models import Role
    from accounts.services import membership_set, user_get_or_create
    from tests.billing.conftest import set_plan_terms
    from tests.conftest import make_key, make_org  # make_org re-seeds the plans a flush removed

    org = make_org("Acme Dental")
    owner = user_get_or_create(email="owner@acme.test", password=PASSWORD)
    membership_set(organization=org, user=owner, role=Role.OWNER)
    set_plan_terms(org, api_requests_free=0, api_request_block_price="0.40", webhook_attempts_free=0)
    make_key(org, name="Billing sync")
    make_key(org, mode="test", name="Sandbox")
    live = ApiKey.objects.get(organization=org, name="Billing sync")
    sandbox = ApiKey.objects.get(organization=org, name="Sandbox")
    hour = int(time.time()) // 3600
    apply_api_counts(
        batch_id="b1",
        source="test",
        counts={
            encode_counter_field(epoch_hour=hour, organization_id=org.pk, api_key_id=live.pk, mode="live"): 3000,
            encode_counter_field(epoch_hour=hour, organization_id=org.pk, api_key_id=sandbox.pk, mode="test"): 450,
        },
    )
    record_usage(
        organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=4, mode="live", reference="w", api_key_id=live.pk
    )
    return org, live


def test_owner_reads_usage_switches_metric_and_range_drills_into_a_key_and_exports_csv(
    page: Any, live_server: Any, login_as: Any, usage_data: Any
) -> None:
    _org, live = usage_data
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Usage").click()
    page.wait_for_url("**/settings/developer/usage/")
    page.get_by_role("heading", name="Usage", exact=True).wait_for()
    # $50 − 3 blocks × $0.40 − 4 attempts × $0.0004, shown exactly.
    assert page.get_by_test_id("balance").inner_text() == "$48.80"  # to the cent (exact: $48.7984)
    chart = page.get_by_role("img", name="API requests per day")
    assert chart.is_visible()
    table = page.get_by_test_id("key-table")
    # Live usage; the test key's 450 requests show while "Viewing test data" is on.
    assert "3,000" in table.inner_text() and "450" not in table.inner_text()
    screenshot(page, "usage-dashboard")

    # Metric switch: htmx swaps the panel only, and the address bar follows.
    page.get_by_label("Metric").select_option("webhook_attempts")
    page.get_by_role("img", name="Webhook delivery attempts per day").wait_for()
    assert "metric=webhook_attempts" in page.url
    assert page.get_by_test_id("balance").is_visible()  # the rest of the page stayed

    # Range preset, by keyboard.
    page.get_by_role("link", name="Last 7 days").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**range=7d**")
    assert page.get_by_role("link", name="Last 7 days").get_attribute("aria-current") == "true"

    # Drill into the key.
    page.get_by_test_id("key-table").get_by_role("link", name="Billing sync").click()
    page.get_by_role("heading", name="Billing sync").wait_for()
    assert "range=7d" in page.url and "metric=webhook_attempts" in page.url  # the switches carry over
    assert page.get_by_role("img", name="Webhook delivery attempts per day").is_visible()
    assert "Sandbox" not in page.get_by_test_id("day-table").inner_text()
    assert len(page.get_by_test_id("day-table").locator("tbody tr").all()) == 7
    screenshot(page, "usage-key-drilldown")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert {(r["key_id"], r["metric"], r["quantity"]) for r in rows} == {
        (live.public_id, "api_requests", "3000"),
        (live.public_id, "webhook_attempts", "4"),
    }


def test_the_usage_page_works_without_javascript(browser: Any, live_server: Any, usage_data: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill("owner@acme.test")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live_server.url}/settings/developer/usage/")
        page.get_by_label("Metric").select_option("sms_segments")
        page.get_by_role("button", name="Show").click()
        page.get_by_role("img", name="SMS segments per day").wait_for()
        assert "metric=sms_segments" in page.url
    finally:
        context.close()


CHART_GEOMETRY = """svg => {
    const box = svg.getBoundingClientRect();
    const days = [...svg.querySelectorAll('g.chart-day')].map(g => ({
        title: g.querySelector(':scope > title')?.textContent ?? null,
        height: g.querySelector('rect.chart-bar').getBoundingClientRect().height,
    }));
    const dates = [...svg.querySelectorAll('text.chart-date')].map(t => {
        const r = t.getBoundingClientRect(); return {left: r.left, right: r.right, height: r.height};
    });
    return {left: box.left, right: box.right, width: box.width, days, dates};
}"""


@pytest.mark.parametrize("width", [1280, 390])
def test_the_daily_bars_render_as_svg_with_a_title_per_bar_and_read_at_both_widths(
    browser: Any, live_server: Any, login_as: Any, usage_data: Any, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        login_as(page, live_server.url, "owner@acme.test", PASSWORD)
        page.goto(f"{live_server.url}/settings/developer/usage/?range=7d&metric=api_requests")
        # Exactly one of the two drawings shows: the wide one on a desktop, the narrow one on a phone.
        charts = page.get_by_role("img", name="API requests per day")
        assert charts.count() == 1
        chart = charts.first
        geometry = chart.evaluate(CHART_GEOMETRY)
        # One bar per day of the range, each with its hover <title>; only today had requests (3,000).
        assert len(geometry["days"]) == 7
        assert all(day["title"] and ": " in day["title"] for day in geometry["days"])
        assert geometry["days"][-1]["title"].endswith(": 3,000 requests") and geometry["days"][-1]["height"] > 50
        assert [day["height"] for day in geometry["days"][:-1]] == [0] * 6
        # Inside the page, with date labels that neither overlap nor shrink below a readable size.
        assert 0 <= geometry["left"] and geometry["right"] <= width
        dates = geometry["dates"]
        assert len(dates) >= 2
        assert all(b["left"] >= a["right"] for a, b in itertools.pairwise(dates))
        assert min(d["height"] for d in dates) >= 10
        # The pointer over today's bar finds its column (the target of the tooltip).
        page.get_by_test_id("usage-chart").locator("g.chart-day:visible").last.hover()
        screenshot(page, f"usage-chart-{width}")
    finally:
        context.close()
