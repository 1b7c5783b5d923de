"""Billing at its edges (issue 21): month and year ends, with a controllable clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from billing.metering import apply_api_counts, record_usage
from billing.models import LedgerEntry, Metric
from billing.quota import encode_counter_field, epoch_hours
from developer.models import ApiKey
from developer.usage.reports import daily_usage_rows, usage_report, wallet_summary
from tests.conftest import make_key

from .conftest import set_plan_terms

pytestmark = pytest.mark.django_db


def _key(org, name: str = "Server") -> ApiKey:
    make_key(org, name=name)
    return ApiKey.objects.get(organization=org, name=name)


def _flush(org, key: ApiKey, requests: int, *, made_at: datetime, batch: str) -> None:
    """Apply counters of `requests` made at `made_at`, as the flush does (whatever the clock says then)."""
    field = encode_counter_field(
        epoch_hour=epoch_hours(made_at), organization_id=org.pk, api_key_id=key.pk, mode=key.mode
    )
    assert apply_api_counts(batch_id=batch, counts={field: requests}, source="local")


def _ledger_spend(org, start: date, end_exclusive: date) -> Decimal:
    low = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    high = datetime.combine(end_exclusive, datetime.min.time(), tzinfo=UTC)
    total = (
        LedgerEntry.objects.filter(wallet__organization=org, dated_at__gte=low, dated_at__lt=high)
        .exclude(metric="")
        .aggregate(s=Sum("amount"))["s"]
    )
    return -(total or Decimal("0"))


@pytest.mark.parametrize(
    ("last_day", "next_day"),
    [
        (date(2026, 11, 30), date(2026, 12, 1)),  # a month's last day
        (date(2026, 12, 31), date(2027, 1, 1)),  # a year end
    ],
)
def test_requests_flushed_after_midnight_are_charged_in_the_month_they_were_made(org, clock, last_day, next_day):
    set_plan_terms(org, api_requests_free=0, api_request_block_price="0.40")
    key = _key(org)
    made = datetime.combine(last_day, datetime.min.time(), tzinfo=UTC).replace(hour=23, minute=40)
    # The flush runs 30 seconds into the next month.
    clock.return_value = datetime.combine(next_day, datetime.min.time(), tzinfo=UTC).replace(second=30)
    _flush(org, key, 2000, made_at=made, batch="late-flush")
    # And the new month's own requests, flushed a minute later.
    clock.return_value = clock.return_value.replace(minute=1, second=30)
    _flush(org, key, 1000, made_at=clock.return_value, batch="new-month")

    charges = list(LedgerEntry.objects.filter(wallet__organization=org, metric=Metric.API_REQUESTS).order_by("id"))
    assert [(c.amount, c.dated_at.date()) for c in charges] == [
        (Decimal("-0.80"), last_day),
        (Decimal("-0.40"), next_day),
    ]
    # Posted after midnight, dated in the month of the usage.
    assert charges[0].created_at.date() == next_day

    old_month = last_day.replace(day=1)
    old = usage_report(organization=org, start=old_month, end=last_day)
    new = usage_report(organization=org, start=next_day, end=next_day)
    assert old.modes["live"].by_metric[Metric.API_REQUESTS].amount == Decimal("0.80")
    assert new.modes["live"].by_metric[Metric.API_REQUESTS].amount == Decimal("0.40")
    # The ledger by period, the wallet's month-to-date spend on each side of midnight and the CSV rows agree.
    assert _ledger_spend(org, old_month, next_day) == Decimal("0.80")
    assert _ledger_spend(org, next_day, date(next_day.year, next_day.month, 28)) == Decimal("0.40")
    before_midnight = datetime.combine(last_day, datetime.max.time(), tzinfo=UTC)
    assert wallet_summary(organization=org, now=before_midnight).month_spend == Decimal("0.80")
    assert wallet_summary(organization=org, now=clock.return_value).month_spend == Decimal("0.40")
    assert sum(r.amount for r in daily_usage_rows(organization=org, start=old_month, end=last_day)) == Decimal("0.80")
    assert sum(r.amount for r in daily_usage_rows(organization=org, start=next_day, end=next_day)) == Decimal("0.40")
    # The free quota the blocks were counted against is that month's too.
    assert {u.month: u.quantity for u in org.monthly_usage.all()} == {old_month: 2000, next_day: 1000}


def test_per_unit_charges_on_either_side_of_midnight_are_dated_by_the_clock(org, clock):
    set_plan_terms(org, webhook_attempts_free=0, webhook_attempt_price="0.0004")
    clock.return_value = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference="dec")
    clock.return_value = datetime(2027, 1, 1, 0, 0, 0, tzinfo=UTC)
    record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference="jan")
    assert wallet_summary(organization=org).month_spend == Decimal("0.0004")
    assert _ledger_spend(org, date(2026, 12, 1), date(2027, 1, 1)) == Decimal("0.0004")
    dec = usage_report(organization=org, start=date(2026, 12, 1), end=date(2026, 12, 31))
    assert dec.modes["live"].by_metric[Metric.WEBHOOK_ATTEMPTS].quantity == 1


def _rollup_charges(org) -> dict[int | None, Decimal]:
    from billing.models import UsageRollup

    rows = UsageRollup.objects.filter(organization=org, metric=Metric.API_REQUESTS).values_list("api_key_id", "amount")
    totals: dict[int | None, Decimal] = {}
    for key_id, amount in rows:
        totals[key_id] = totals.get(key_id, Decimal("0")) + amount
    return totals


def test_a_block_is_split_among_the_keys_that_filled_it_and_adds_up_to_the_ledger(org, clock):
    set_plan_terms(org, api_requests_free=0, api_request_block_price="0.40")
    a, b = _key(org, "A"), _key(org, "B")
    _flush(org, a, 600, made_at=clock.return_value, batch="one")
    assert not LedgerEntry.objects.filter(metric=Metric.API_REQUESTS).exists()  # the block is not full yet
    _flush(org, b, 700, made_at=clock.return_value, batch="two")  # completes it; 300 wait in the next one
    charges = {e.api_key_id: e.amount for e in LedgerEntry.objects.filter(metric=Metric.API_REQUESTS)}
    assert charges == {a.pk: Decimal("-0.24"), b.pk: Decimal("-0.16")}
    _flush(org, a, 700, made_at=clock.return_value, batch="three")  # B's 300 + A's 700
    ledger = LedgerEntry.objects.filter(metric=Metric.API_REQUESTS)
    assert sum(e.amount for e in ledger) == Decimal("-0.80")
    assert _rollup_charges(org) == {a.pk: Decimal("0.52"), b.pk: Decimal("0.28")}
    per_key: dict[int | None, Decimal] = {}
    for e in ledger:
        per_key[e.api_key_id] = per_key.get(e.api_key_id, Decimal("0")) - e.amount
    assert per_key == _rollup_charges(org)
    assert sum(e.quantity or 0 for e in ledger) == 2  # two blocks, each counted once


def test_a_split_is_to_the_unit_with_the_remainder_to_the_largest_share(org, clock):
    set_plan_terms(org, api_requests_free=0, api_request_block_price="0.00001")
    keys = [_key(org, name) for name in ("A", "B", "C")]
    fields = {
        encode_counter_field(
            epoch_hour=epoch_hours(clock.return_value), organization_id=org.pk, api_key_id=k.pk, mode="live"
        ): n
        for k, n in zip(keys, (333, 334, 333), strict=True)
    }
    assert apply_api_counts(batch_id="thirds", counts=fields, source="local")
    charges = {e.api_key_id: e.amount for e in LedgerEntry.objects.filter(metric=Metric.API_REQUESTS)}
    assert charges == {
        keys[0].pk: Decimal("-0.000003"),
        keys[1].pk: Decimal("-0.000004"),
        keys[2].pk: Decimal("-0.000003"),
    }
    assert sum(charges.values()) == Decimal("-0.00001")


def _plans(basic_free: int = 10_000, pro_free: int = 100_000):
    from billing.models import Plan

    Plan.objects.filter(code="BASIC").update(api_requests_free=basic_free, api_request_block_price=Decimal("0.50"))
    Plan.objects.filter(code="PRO").update(api_requests_free=pro_free, api_request_block_price=Decimal("0.40"))


def test_a_downgrade_mid_month_charges_nothing_retroactively(org, clock):
    from billing.services import subscription_set

    _plans()
    key = _key(org)
    _flush(org, key, 50_000, made_at=clock.return_value, batch="on-pro")
    assert not LedgerEntry.objects.filter(metric=Metric.API_REQUESTS).exists()  # within PRO's 100,000
    subscription_set(organization=org, plan_code="BASIC", actor=None)
    _flush(org, key, 1, made_at=clock.return_value, batch="one-on-basic")
    assert not LedgerEntry.objects.filter(metric=Metric.API_REQUESTS).exists()  # was $20.00 at once
    _flush(org, key, 999, made_at=clock.return_value, batch="a-block-on-basic")
    (charge,) = LedgerEntry.objects.filter(metric=Metric.API_REQUESTS)
    assert (charge.amount, charge.unit_price) == (Decimal("-0.50"), Decimal("0.50"))  # BASIC's price from now
    quota = {
        line.metric: line
        for line in usage_report(organization=org, start=date(2026, 11, 1), end=date(2026, 11, 10)).quota
    }
    assert quota[Metric.API_REQUESTS].remaining == 0  # 10,000 − 51,000, never negative


def test_an_upgrade_mid_month_refunds_nothing_and_leaves_the_new_quota_minus_what_was_used(org, clock):
    from billing.services import subscription_set

    _plans()
    subscription_set(organization=org, plan_code="BASIC", actor=None)
    key = _key(org)
    _flush(org, key, 50_000, made_at=clock.return_value, batch="on-basic")
    assert LedgerEntry.objects.filter(metric=Metric.API_REQUESTS).get().amount == Decimal("-20.00")  # 40 blocks
    subscription_set(organization=org, plan_code="PRO", actor=None)
    assert LedgerEntry.objects.filter(metric=Metric.API_REQUESTS).count() == 1  # no refund
    _flush(org, key, 50_000, made_at=clock.return_value, batch="free-on-pro")  # PRO's 100,000 − 50,000 used
    assert LedgerEntry.objects.filter(metric=Metric.API_REQUESTS).count() == 1
    _flush(org, key, 1_000, made_at=clock.return_value, batch="block-on-pro")
    last = LedgerEntry.objects.filter(metric=Metric.API_REQUESTS).order_by("id").last()
    assert last is not None and last.amount == Decimal("-0.40")
