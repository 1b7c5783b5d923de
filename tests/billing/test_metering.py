"""record_usage: free quota first, then per-unit charges at the plan's current price; test mode is free."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from billing.metering import record_usage
from billing.models import (
    LedgerEntry,
    Metric,
    MonthlyUsage,
    UsageRecord,
    UsageRollup,
    Wallet,
)
from developer.models import ApiKey
from tests.conftest import make_key

from .conftest import set_plan_terms

pytestmark = pytest.mark.django_db


def _balance(org) -> Decimal:
    return Wallet.objects.get(organization=org).balance


def _ledger_sum(org) -> Decimal:
    return LedgerEntry.objects.filter(wallet__organization=org).aggregate(s=Sum("amount"))["s"]


def _charges(org):
    return LedgerEntry.objects.filter(wallet__organization=org).exclude(metric="").order_by("id")


def test_units_within_the_free_quota_are_recorded_but_not_charged(org, clock):
    set_plan_terms(org, webhook_attempts_free=3, webhook_attempt_price="0.0004")
    for n in range(3):
        record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference=f"att-{n}")
    assert _charges(org).count() == 0
    assert _balance(org) == Decimal("50")
    assert MonthlyUsage.objects.get(organization=org, metric=Metric.WEBHOOK_ATTEMPTS).quantity == 3
    rollup = UsageRollup.objects.get(organization=org, metric=Metric.WEBHOOK_ATTEMPTS)
    assert (rollup.quantity, rollup.amount, rollup.mode) == (3, Decimal("0"), "live")


def test_each_unit_after_the_free_quota_is_charged_once_at_the_plan_price(org, clock):
    set_plan_terms(org, webhook_attempts_free=2, webhook_attempt_price="0.0004")
    for n in range(5):
        record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference=f"att-{n}")
    charges = list(_charges(org))
    assert len(charges) == 3
    assert all(
        c.amount == Decimal("-0.0004")
        and c.unit_price == Decimal("0.0004")
        and c.quantity == 1
        and c.metric == Metric.WEBHOOK_ATTEMPTS
        for c in charges
    )
    assert [c.reference for c in charges] == [
        f"usage:{UsageRecord.objects.get(reference=f'att-{n}').pk}" for n in (2, 3, 4)
    ]
    assert _balance(org) == Decimal("50") - Decimal("0.0012") == _ledger_sum(org)
    assert UsageRecord.objects.get(reference="att-1").amount == 0
    assert UsageRecord.objects.get(reference="att-4").amount == Decimal("0.0004")
    assert UsageRollup.objects.get(organization=org, metric=Metric.WEBHOOK_ATTEMPTS).amount == Decimal("0.0012")


def test_a_multi_unit_record_crossing_the_quota_is_charged_only_for_the_units_beyond_it(org, clock):
    set_plan_terms(org, sms_segments_free=2, sms_segment_price="0.0079")
    record_usage(organization=org, metric=Metric.SMS_SEGMENTS, quantity=3, mode="live", reference="sms-1")
    record_usage(organization=org, metric=Metric.SMS_SEGMENTS, quantity=2, mode="live", reference="sms-2")
    assert [(c.quantity, c.amount) for c in _charges(org)] == [(1, Decimal("-0.0079")), (2, Decimal("-0.0158"))]
    assert _balance(org) == Decimal("50") - Decimal("0.0237")


def test_a_repeated_reference_counts_and_charges_once(org, clock):
    set_plan_terms(org, tool_invocations_free=0, tool_invocation_price="0.0015")
    first, created = record_usage(
        organization=org, metric=Metric.TOOL_INVOCATIONS, quantity=1, mode="live", reference="inv_1"
    )
    again, created_again = record_usage(
        organization=org, metric=Metric.TOOL_INVOCATIONS, quantity=1, mode="live", reference="inv_1"
    )
    assert created and not created_again and again.pk == first.pk
    assert _charges(org).count() == 1
    assert UsageRollup.objects.get(organization=org).quantity == 1
    assert MonthlyUsage.objects.get(organization=org).quantity == 1


def test_test_mode_usage_is_rolled_up_but_never_charged_nor_uses_the_free_quota(org, clock):
    set_plan_terms(org, tool_invocations_free=0, tool_invocation_price="0.0015")
    for n in range(4):
        record_usage(organization=org, metric=Metric.TOOL_INVOCATIONS, quantity=1, mode="test", reference=f"t-{n}")
    assert _charges(org).count() == 0
    assert _balance(org) == Decimal("50")
    assert not MonthlyUsage.objects.filter(organization=org).exists()
    rollup = UsageRollup.objects.get(organization=org, mode="test")
    assert (rollup.quantity, rollup.amount) == (4, Decimal("0"))


def test_test_mode_usage_is_counted_even_when_the_wallet_is_empty(clock):
    from tests.conftest import make_org

    org = make_org("Empty wallet", credits=None)
    record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="test", reference="t-1")
    assert UsageRollup.objects.get(organization=org).quantity == 1
    assert _balance(org) == 0


def test_a_price_change_applies_to_new_charges_and_never_rewrites_past_ones(org, clock):
    plan = set_plan_terms(org, webhook_attempts_free=0, webhook_attempt_price="0.0004")
    record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference="a")
    plan.webhook_attempt_price = Decimal("0.0010")
    plan.save()
    record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference="b")
    assert [(c.unit_price, c.amount) for c in _charges(org)] == [
        (Decimal("0.0004"), Decimal("-0.0004")),
        (Decimal("0.0010"), Decimal("-0.0010")),
    ]
    assert _balance(org) == Decimal("50") - Decimal("0.0014") == _ledger_sum(org)


def test_the_free_quota_starts_again_each_calendar_month_in_utc(org, clock):
    set_plan_terms(org, webhook_attempts_free=1, webhook_attempt_price="0.0004")
    clock.return_value = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
    record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference="nov-1")
    record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference="nov-2")
    clock.return_value = datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC)
    record_usage(organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference="dec-1")
    assert _charges(org).count() == 1  # only the second November attempt
    months = dict(MonthlyUsage.objects.filter(organization=org).values_list("month", "quantity"))
    assert {m.isoformat(): q for m, q in months.items()} == {"2026-11-01": 2, "2026-12-01": 1}


def test_usage_already_done_is_charged_even_past_zero_and_then_the_wallet_blocks(clock):
    from billing.access import can_pay
    from tests.conftest import make_org

    org = make_org("Low balance", credits=Decimal("0.001"))
    set_plan_terms(org, tool_invocations_free=0, tool_invocation_price="0.0015")
    assert can_pay(org.pk)
    record_usage(organization=org, metric=Metric.TOOL_INVOCATIONS, quantity=1, mode="live", reference="inv")
    assert _balance(org) == Decimal("-0.0005") == _ledger_sum(org)
    assert not can_pay(org.pk)


def test_charges_carry_the_key_that_used_them(org, clock):
    set_plan_terms(org, webhook_attempts_free=0)
    make_key(org, name="Server")
    key = ApiKey.objects.get(organization=org, name="Server")
    record_usage(
        organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference="k", api_key_id=key.pk
    )
    assert _charges(org).get().api_key_id == key.pk
    assert UsageRollup.objects.get(organization=org).api_key_id == key.pk


def test_usage_of_an_organisation_without_a_plan_is_counted_and_not_priced(clock):
    from billing.services import organization_create

    org = organization_create(name="No plan")
    record_usage(organization=org, metric=Metric.SMS_SEGMENTS, quantity=2, mode="live", reference="s")
    assert UsageRollup.objects.get(organization=org).quantity == 2
    assert not LedgerEntry.objects.filter(wallet__organization=org).exists()


def test_unknown_metric_mode_or_quantity_is_refused(org):
    with pytest.raises(ValueError):
        record_usage(organization=org, metric="calls", quantity=1, mode="live", reference="x")
    with pytest.raises(ValueError):
        record_usage(organization=org, metric=Metric.SMS_SEGMENTS, quantity=1, mode="sandbox", reference="x")
    with pytest.raises(ValueError):
        record_usage(organization=org, metric=Metric.SMS_SEGMENTS, quantity=0, mode="live", reference="x")
    assert not UsageRecord.objects.exists()
