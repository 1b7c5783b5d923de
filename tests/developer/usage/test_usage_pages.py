"""Settings → Developer → Usage: balance, spend, runway, per-key table, SVG chart, htmx switches, drill-down, CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from billing.metering import apply_api_counts, record_usage
from billing.models import Metric
from billing.quota import encode_counter_field, epoch_hours
from billing.wallet import wallet_debit
from developer.models import ApiKey
from tests.billing.conftest import set_plan_terms
from tests.conftest import make_key, make_org

pytestmark = pytest.mark.django_db

URL = "/settings/developer/usage/"
NOW = datetime(2026, 11, 10, 12, 30, tzinfo=UTC)


@pytest.fixture
def usage(org, owner, clock):
    set_plan_terms(
        org,
        api_requests_free=0,
        api_request_block_price="0.40",
        webhook_attempts_free=0,
        webhook_attempt_price="0.0004",
    )
    make_key(org, name="Server")
    make_key(org, mode="test", name="Sandbox")
    server = ApiKey.objects.get(organization=org, name="Server")
    sandbox = ApiKey.objects.get(organization=org, name="Sandbox")
    for day, n in ((8, 2000), (9, 3000), (10, 1000)):
        at = NOW.replace(day=day)
        clock.return_value = at
        field = encode_counter_field(
            epoch_hour=epoch_hours(at), organization_id=org.pk, api_key_id=server.pk, mode="live"
        )
        apply_api_counts(batch_id=f"b{day}", counts={field: n}, source="test")
    clock.return_value = NOW
    test_field = encode_counter_field(
        epoch_hour=epoch_hours(NOW), organization_id=org.pk, api_key_id=sandbox.pk, mode="test"
    )
    apply_api_counts(batch_id="bt", counts={test_field: 700}, source="test")
    record_usage(
        organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference="w", api_key_id=server.pk
    )
    return server, sandbox


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_usage_page_shows_balance_month_spend_and_runway(usage, owner):
    html = _client(owner).get(URL).content.decode()
    # $50 − 6 blocks × $0.40 − $0.0004 = $47.5996; all of it spent in the last 7 days.
    # Shown to the cent (the API keeps $47.5996 exact).
    assert re.search(r'data-testid="balance">\$47\.60<', html)
    assert re.search(r'data-testid="month-spend">\$2\.40<', html)
    # $47.5996 / ($2.4004 / 7 per day) = 138.8 days, shown in whole days.
    assert re.search(r'data-testid="runway">\s*138 days', html)


def test_runway_says_so_when_nothing_was_spent_recently(org, owner, clock):
    html = _client(owner).get(URL).content.decode()
    assert "No spend in the last 7 days" in html


def test_the_page_draws_an_svg_bar_chart_with_axis_labels_and_a_titled_bar_per_day(usage, owner):
    html = _client(owner).get(URL + "?range=7d").content.decode()
    match = re.search(r"<svg.*?</svg>", html, re.S)
    assert match is not None, "no <svg> in the page"
    svg = match.group(0)
    assert 'role="img"' in svg and "API requests per day" in svg
    assert svg.count('class="chart-axis"') == 1
    assert "Nov 4" in svg and "Nov 10" in svg  # first and last day labelled
    assert svg.count('class="chart-day"') == 7 and svg.count('class="chart-bar"') == 7
    assert "<title>Mon, Nov 9, 2026: 3,000 requests</title>" in svg  # the mode being viewed: live
    assert "Nov 10, 2026: 700" not in svg  # the test key's requests
    assert "<script" not in html.split("</head>")[1]  # no chart library: htmx and app.js sit in <head>


def test_the_usage_page_follows_the_viewing_test_data_switch(usage, owner):
    client = _client(owner)
    client.post("/settings/developer/viewing-mode/", {"mode": "test"})
    html = client.get(URL + "?range=7d").content.decode()
    chart = re.search(r"<svg.*?</svg>", html, re.S)
    assert chart is not None
    svg = chart.group(0)
    assert "<title>Tue, Nov 10, 2026: 700 requests</title>" in svg
    assert "Nov 9, 2026: 3,000" not in svg  # the live key's requests
    found = re.search(r'data-testid="key-table".*?</table>', html, re.S)
    assert found is not None
    table = found.group(0)
    assert "Sandbox" in table and "Server" not in table and "never charged" in table


def test_the_per_key_table_lists_the_viewed_modes_keys_with_charges(usage, owner):
    html = _client(owner).get(URL).content.decode()
    match = re.search(r'data-testid="key-table".*?</table>', html, re.S)
    assert match is not None, "no key table in the page"
    table = match.group(0)
    assert "Server" in table and "Sandbox" not in table  # live data; test keys show when viewing test data
    assert "6,000" in table
    assert "$2.40" in table and "$2.4004" not in table
    server, _ = usage
    assert f'href="/settings/developer/usage/keys/{server.public_id}/?range=mtd&amp;metric=api_requests"' in table


def test_the_metric_switch_answers_htmx_with_the_panel_only(usage, owner):
    response = _client(owner).get(URL + "?range=mtd&metric=webhook_attempts", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="usage-panel"')
    assert "<html" not in html and 'data-testid="balance"' not in html
    assert "Webhook delivery attempts per day" in html
    assert '<option value="webhook_attempts" selected>' in html


def test_a_history_restore_gets_the_whole_page(usage, owner):
    response = _client(owner).get(URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in response.content.decode()


def test_a_custom_range_is_used_and_a_preset_range_keeps_its_name(usage, owner):
    client = _client(owner)
    html = client.get(URL + "?range=custom&from=2026-11-09&to=2026-11-09").content.decode()
    assert "Usage Nov 9 – Nov 9, 2026" in html
    assert "3,000" in html and "6,000" not in html
    html = client.get(URL + "?range=custom&from=2026-11-04&to=2026-11-10").content.decode()
    assert re.search(r'aria-current="true">Last 7 days<', html)


def _range_error(html: str) -> str:
    match = re.search(r'<p class="flash flash-error usage-error" role="alert">(.*?)</p>', html, re.S)
    assert match is not None, "no range message on the page"
    return match.group(1)


def test_a_bad_custom_range_falls_back_to_month_to_date_with_a_message(usage, owner):
    html = _client(owner).get(URL + "?range=custom&from=nope&to=2026-11-09").content.decode()
    assert _range_error(html) == "“From” is not a date: use YYYY-MM-DD, e.g. 2026-11-10. Showing month to date instead."
    assert "Usage Nov 1 – Nov 10, 2026" in html
    html = _client(owner).get(URL + "?range=custom&from=&to=").content.decode()
    assert _range_error(html).startswith("Give “From” and “To”: use YYYY-MM-DD")


@pytest.mark.parametrize(
    ("query", "message", "shown"),
    [
        (
            "from=2026-11-09&to=2026-11-02",
            "“From” was after “To”, so the two dates were swapped.",
            "Usage Nov 2 – Nov 9, 2026",
        ),
        (
            "from=2026-11-05&to=2026-12-31",
            "There is no usage after today yet, so the range ends today, Nov 10, 2026 (UTC).",
            "Usage Nov 5 – Nov 10, 2026",
        ),
        (
            "from=2026-12-01&to=2026-12-31",
            "The range starts after today (Nov 10, 2026, UTC), so there is no usage in it yet. "
            "Showing month to date instead.",
            "Usage Nov 1 – Nov 10, 2026",
        ),
        (
            "from=2024-01-01&to=2026-11-10",
            "A range covers at most 366 days and this one has 1045: showing the last 366, from Nov 10, 2025 "
            "to Nov 10, 2026.",
            "Nov 10, 2025",
        ),
    ],
)
def test_an_invalid_custom_range_is_explained_not_ignored(usage, owner, query, message, shown):
    html = _client(owner).get(f"{URL}?range=custom&{query}").content.decode()
    assert _range_error(html) == message
    assert shown in html


def test_the_range_inputs_state_their_limits_before_they_are_hit(usage, owner):
    html = _client(owner).get(URL).content.decode()
    assert 'id="usage-from" name="from"' in html and 'max="2026-11-10"' in html
    assert "At most 366 days, up to today (UTC)." in html


def test_the_key_drill_down_shows_that_key_by_day(usage, owner):
    server, _ = usage
    html = _client(owner).get(f"{URL}keys/{server.public_id}/").content.decode()
    match = re.search(r'data-testid="day-table".*?</table>', html, re.S)
    assert match is not None, "no day table in the page"
    table = match.group(0)
    assert "Tue, Nov 10" in table and "Mon, Nov 9" in table
    assert "3,000" in table and "$1.20" in table
    assert "Sandbox" not in html


def test_another_business_key_is_a_404_in_the_drill_down_and_the_csv(usage, owner):
    other = make_org("Other Co")
    make_key(other, name="Theirs")
    theirs = ApiKey.objects.get(organization=other)
    client = _client(owner)
    assert client.get(f"{URL}keys/{theirs.public_id}/").status_code == 404
    assert client.get(f"{URL}export.csv?key={theirs.public_id}").status_code == 404


def test_the_csv_export_has_a_row_per_day_key_mode_and_metric(usage, owner):
    server, sandbox = usage
    response = _client(owner).get(URL + "export.csv?range=mtd")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="usage-biz_')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {(r["date"], r["key_name"], r["mode"], r["metric"], r["quantity"], r["charges_usd"]) for r in rows} == {
        ("2026-11-08", "Server", "live", "api_requests", "2000", "0.80"),
        ("2026-11-09", "Server", "live", "api_requests", "3000", "1.20"),
        ("2026-11-10", "Server", "live", "api_requests", "1000", "0.40"),
        ("2026-11-10", "Server", "live", "webhook_attempts", "1", "0.0004"),
        ("2026-11-10", "Sandbox", "test", "api_requests", "700", "0.00"),
    }
    assert {r["key_id"] for r in rows} == {server.public_id, sandbox.public_id}


def test_the_csv_export_of_one_key(usage, owner):
    _, sandbox = usage
    response = _client(owner).get(f"{URL}export.csv?range=mtd&key={sandbox.public_id}")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["key_name"], r["quantity"]) for r in rows] == [("Sandbox", "700")]


def test_viewers_see_usage_too(usage, viewer):
    assert _client(viewer).get(URL).status_code == 200


def test_the_usage_page_needs_a_login(db):
    response = Client().get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_empty_wallet_is_flagged_on_the_page(org, owner, clock):
    wallet_debit(organization=org, amount=Decimal("50"), reason="x", reference="drain")
    html = _client(owner).get(URL).content.decode()
    assert "402 INSUFFICIENT_CREDITS" in html and "stat-alert" in html


def test_the_usage_nav_entry_is_shown(org, owner, clock):
    html = _client(owner).get("/settings/developer/keys/").content.decode()
    assert f'href="{URL}"' in html


def test_spend_older_than_seven_days_does_not_shorten_the_runway(org, owner, clock):
    set_plan_terms(org, webhook_attempts_free=0, webhook_attempt_price="1.00")
    clock.return_value = NOW - timedelta(days=8)
    record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference="old")
    clock.return_value = NOW
    record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=7, mode="live", reference="new")
    html = _client(owner).get(URL).content.decode()
    # $42 left at $7 per 7 days = $1/day → 42 days.
    assert re.search(r'data-testid="runway">\s*42 days', html)


def test_a_key_name_that_looks_like_a_formula_is_exported_as_text(org, owner, clock):
    make_key(org, name="=cmd|' /C calc'!A0")
    key = ApiKey.objects.get(organization=org)
    record_usage(
        organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference="f", api_key_id=key.pk
    )
    rows = list(csv.DictReader(io.StringIO(_client(owner).get(URL + "export.csv").content.decode())))
    assert rows[0]["key_name"] == "'=cmd|' /C calc'!A0"


def test_the_page_states_the_billing_month_is_utc_with_its_bounds_in_the_business_time_zone(org, owner, clock):
    # Acme Dental is in America/New_York; the clock stands at Nov 10, 2026 12:30 UTC.
    html = _client(owner).get(URL).content.decode()
    period = re.search(r'data-testid="billing-period">(.*?)</p>', html, re.S)
    assert period is not None
    text = " ".join(re.sub(r"<[^>]+>", "", period.group(1)).split())
    assert "calendar month in UTC" in text
    assert "from Oct 31, 2026, 20:00 EDT to Nov 30, 2026, 19:00 EST" in text
    assert "Nov 1 – Dec 1 00:00 UTC" in text


def test_the_page_says_which_api_answers_are_billed(org, owner):
    html = _client(owner).get(URL).content.decode()
    rule = re.search(r'data-testid="billable-requests">(.*?)</p>', html, re.S)
    assert rule is not None and "answers below 400" in rule.group(1)
    assert "404 for an unknown route or an unknown id" in rule.group(1)


def test_money_and_runway_read_as_a_person_reads_them():
    """Issue 17 point 8: totals to 2 decimals, unit prices to 4, a runway past a year as "More than a year"."""
    from decimal import Decimal

    from developer.templatetags.dashboard_format import cents, runway, unit_price

    assert cents(Decimal("24.9605")) == "$24.96" and cents(Decimal("1234.005")) == "$1,234.01"
    assert cents(Decimal("-0.004")) == "$0.00"  # no "-$0.00"
    assert unit_price(Decimal("0.0075")) == "$0.0075" and unit_price(Decimal("0.4")) == "$0.4000"
    assert runway(Decimal("4423.4")) == "More than a year" and runway(Decimal("365")) == "365 days"
    assert runway(Decimal("1.9")) == "1 day" and runway(None) == "No spend in the last 7 days"
