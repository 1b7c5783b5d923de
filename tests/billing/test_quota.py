"""Pure quota and money arithmetic (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from billing.quota import (
    API_REQUEST_BLOCK,
    billable_units,
    csv_text,
    days_between,
    decode_counter_field,
    encode_counter_field,
    hour_start,
    money,
    month_start,
    next_month_start,
    parse_iso_date,
    runway_days,
    units_to_bill,
)


@pytest.mark.parametrize(
    "used, blocks", [(0, 0), (999, 0), (1000, 0), (1001, 0), (1999, 0), (2000, 1), (2001, 1), (2999, 1), (3000, 2)]
)
def test_api_request_blocks_complete_only_at_each_thousand_past_the_free_quota(used, blocks):
    assert billable_units(used=used, free=1000, unit_size=API_REQUEST_BLOCK) == blocks


def test_units_to_bill_counts_against_what_was_billed_not_the_previous_usage():
    assert units_to_bill(used_after=5, free=2, already_billed=0) == 3
    assert units_to_bill(used_after=6, free=2, already_billed=3) == 1
    # The free quota was raised mid-month: nothing more is charged and nothing is refunded.
    assert units_to_bill(used_after=7, free=10, already_billed=4) == 0
    assert units_to_bill(used_after=2000, free=1000, already_billed=0, unit_size=1000) == 1


def test_months_and_hours_are_calendar_utc():
    eastern = timezone(timedelta(hours=-5))
    late = datetime(2026, 11, 30, 20, 30, tzinfo=eastern)  # 01:30 on Dec 1 in UTC
    assert month_start(late) == date(2026, 12, 1)
    assert hour_start(late) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert next_month_start(date(2026, 12, 1)) == date(2027, 1, 1)
    assert next_month_start(date(2027, 1, 1)) == date(2027, 2, 1)


@pytest.mark.parametrize(
    "amount, text",
    [
        ("0", "0.00"),
        ("0.4", "0.40"),
        ("0.0005", "0.0005"),
        ("12.5", "12.50"),
        ("-0.0012", "-0.0012"),
        ("1234.567891", "1234.567891"),
    ],
)
def test_money_is_exact_with_at_least_two_decimals(amount, text):
    assert money(Decimal(amount)) == text


def test_runway_is_balance_over_the_average_daily_burn_of_the_last_week():
    assert runway_days(balance=Decimal("70"), spend_last_7_days=Decimal("7")) == Decimal("70.0")
    assert runway_days(balance=Decimal("10"), spend_last_7_days=Decimal("21")) == Decimal("3.3")
    assert runway_days(balance=Decimal("10"), spend_last_7_days=Decimal("0")) is None
    assert runway_days(balance=Decimal("0"), spend_last_7_days=Decimal("5")) == Decimal("0")


def test_counter_fields_round_trip():
    field = encode_counter_field(epoch_hour=493_000, organization_id=7, api_key_id=42, mode="test")
    assert decode_counter_field(field) == (493_000, 7, 42, "test")
    assert decode_counter_field(field.encode()) == (493_000, 7, 42, "test")


def test_days_between_includes_both_ends():
    assert days_between(date(2026, 2, 27), date(2026, 3, 1)) == [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]


@pytest.mark.parametrize(
    "value, parsed",
    [
        ("2026-11-01", date(2026, 11, 1)),
        ("20261101", None),
        ("2026-W45-1", None),
        ("2026-02-30", None),
        ("", None),
        ("2026-11-1", None),
    ],
)
def test_only_strict_iso_dates_parse(value, parsed):
    assert parse_iso_date(value) == parsed


def test_csv_text_neutralises_spreadsheet_formulas():
    assert csv_text('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert csv_text("@SUM(A1)") == "'@SUM(A1)" and csv_text("-1+2") == "'-1+2"
    assert csv_text("Billing sync") == "Billing sync"
