"""Concurrent charges on PostgreSQL (threads, each with its own connection): no double charge, no race past zero."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.db.models import Sum

from billing.metering import apply_api_counts, record_usage
from billing.models import LedgerEntry, Metric, MonthlyUsage, UsageRecord, UsageRollup, Wallet
from billing.quota import encode_counter_field
from billing.wallet import InsufficientCredits, wallet_debit
from developer.models import ApiKey
from phone import services as phone_services
from phone.backends import local
from phone.models import AiConfig, Message
from tests.conftest import is_postgres, make_key, make_org

from .conftest import set_plan_terms

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL: set DATABASE_URL (SQLite serialises writers)"),
]

THREADS = 8


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Start `count` threads at the same instant; return their results (or exceptions)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # reported by the assertions below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    close_old_connections()
    return results


def _ledger_matches_balance(org) -> Decimal:
    balance = Wallet.objects.get(organization=org).balance
    assert balance == LedgerEntry.objects.filter(wallet__organization=org).aggregate(s=Sum("amount"))["s"]
    return balance


def test_concurrent_debits_can_neither_double_charge_nor_race_past_zero():
    org = make_org("Five dollars", credits=Decimal("5"))
    results = run_together(
        THREADS * 2,
        lambda i: wallet_debit(organization=org, amount=Decimal("1"), reason="test", reference=f"debit-{i}"),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(1 for r in results if r is not None) == 5
    assert _ledger_matches_balance(org) == 0
    assert not LedgerEntry.objects.filter(wallet__organization=org, balance_after__lt=0).exists()


def test_the_same_charge_retried_concurrently_is_posted_once():
    org = make_org("Retry Co")
    results = run_together(
        THREADS, lambda i: wallet_debit(organization=org, amount=Decimal("2"), reason="test", reference="same-charge")
    )
    assert len({r.pk for r in results}) == 1
    assert _ledger_matches_balance(org) == Decimal("48")


def test_the_same_usage_recorded_concurrently_counts_and_charges_once():
    org = make_org("Dup Co")
    set_plan_terms(org, tool_invocations_free=0, tool_invocation_price="0.0015")
    results = run_together(
        THREADS,
        lambda i: record_usage(
            organization=org, metric=Metric.TOOL_INVOCATIONS, quantity=1, mode="live", reference="inv_same"
        ),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(1 for _, created in results if created) == 1
    assert UsageRecord.objects.count() == 1
    assert LedgerEntry.objects.filter(wallet__organization=org).exclude(metric="").count() == 1
    assert UsageRollup.objects.get(organization=org).quantity == 1
    assert _ledger_matches_balance(org) == Decimal("50") - Decimal("0.0015")


def test_concurrent_units_cross_the_free_quota_exactly_once_each():
    org = make_org("Quota race")
    set_plan_terms(org, webhook_attempts_free=5, webhook_attempt_price="0.0004")
    per_thread = 5
    results = run_together(
        THREADS,
        lambda i: [
            record_usage(
                organization=org, metric=Metric.WEBHOOK_ATTEMPTS, quantity=1, mode="live", reference=f"att-{i}-{n}"
            )
            for n in range(per_thread)
        ],
    )
    assert not [r for r in results if isinstance(r, Exception)]
    total = THREADS * per_thread
    charged = LedgerEntry.objects.filter(wallet__organization=org, metric=Metric.WEBHOOK_ATTEMPTS)
    assert charged.count() == total - 5
    counter = MonthlyUsage.objects.get(organization=org)
    assert (counter.quantity, counter.billed_units) == (total, total - 5)
    assert UsageRollup.objects.get(organization=org).quantity == total
    assert _ledger_matches_balance(org) == Decimal("50") - (total - 5) * Decimal("0.0004")


def test_concurrent_flushes_of_one_batch_apply_it_once():
    org = make_org("Flush race")
    set_plan_terms(org, api_requests_free=0, api_request_block_price="0.40")
    make_key(org, name="K")
    key = ApiKey.objects.get(organization=org, name="K")
    field = encode_counter_field(
        epoch_hour=int(time.time()) // 3600, organization_id=org.pk, api_key_id=key.pk, mode="live"
    )
    results = run_together(THREADS, lambda i: apply_api_counts(batch_id="batch-1", counts={field: 3000}, source="test"))
    assert sorted(results, key=str) == [False] * (THREADS - 1) + [True]
    assert UsageRollup.objects.get(organization=org).quantity == 3000
    assert LedgerEntry.objects.get(wallet__organization=org, metric=Metric.API_REQUESTS).quantity == 3
    assert _ledger_matches_balance(org) == Decimal("50") - Decimal("1.20")


def test_flushes_and_unit_charges_running_together_keep_the_ledger_equal_to_the_balance():
    org = make_org("Mixed load")
    set_plan_terms(org, api_requests_free=0, webhook_attempts_free=0)
    make_key(org, name="K")
    key = ApiKey.objects.get(organization=org, name="K")
    field = encode_counter_field(
        epoch_hour=int(time.time()) // 3600, organization_id=org.pk, api_key_id=key.pk, mode="live"
    )

    def work(i: int) -> Any:
        if i % 2:
            return apply_api_counts(batch_id=f"b-{i}", counts={field: 1000}, source="test")
        return record_usage(
            organization=org,
            metric=Metric.WEBHOOK_ATTEMPTS,
            quantity=1,
            mode="live",
            reference=f"att-{i}",
            api_key_id=key.pk,
        )

    results = run_together(THREADS, work)
    assert not [r for r in results if isinstance(r, Exception)]
    assert (
        LedgerEntry.objects.filter(wallet__organization=org, metric=Metric.API_REQUESTS).aggregate(q=Sum("quantity"))[
            "q"
        ]
        == THREADS // 2
    )
    assert LedgerEntry.objects.filter(wallet__organization=org, metric=Metric.WEBHOOK_ATTEMPTS).count() == THREADS // 2
    _ledger_matches_balance(org)


def test_fifty_concurrent_live_sms_on_a_wallet_that_pays_for_seven_send_exactly_seven():
    price = Decimal("0.0075")
    org = make_org("Seven texts", credits=7 * price + Decimal("0.0050"))  # $0.0575: seven, not eight
    set_plan_terms(org, sms_segments_free=0, sms_segment_price=str(price))
    phone_services.business_number_add(organization=org, number="+12125550100")
    AiConfig.objects.filter(pk=phone_services.ai_config_for(organization=org).pk).update(
        sms_quiet_hours_start=datetime.time(0), sms_quiet_hours_end=datetime.time(0)
    )
    make_key(org)
    key = ApiKey.objects.get(organization=org)
    local.outbox.clear()

    results = run_together(
        50,
        lambda i: phone_services.sms_send(
            organization=org, to_number=f"+1415555{i:04d}", body="Hi", mode="live", api_key_id=key.pk
        ),
    )

    refused = [r for r in results if isinstance(r, InsufficientCredits)]
    assert len(refused) == sum(1 for r in results if isinstance(r, Exception))  # no other failure
    assert {(r.code, r.status) for r in refused} == {("INSUFFICIENT_CREDITS", 402)}
    assert (len(refused), len(local.outbox)) == (43, 7)
    assert Message.objects.filter(organization=org, status="sent").count() == 7
    assert Message.objects.filter(organization=org).count() == 7  # a refused send stores nothing
    assert _ledger_matches_balance(org) == Decimal("0.0050")
    assert not LedgerEntry.objects.filter(wallet__organization=org, balance_after__lt=0).exists()
    assert LedgerEntry.objects.filter(wallet__organization=org, metric=Metric.SMS_SEGMENTS).count() == 7
    counter = MonthlyUsage.objects.get(organization=org, metric=Metric.SMS_SEGMENTS)
    assert (counter.quantity, counter.billed_units) == (7, 7)
    local.outbox.clear()


def test_concurrent_live_sms_share_the_free_allowance_exactly():
    price = Decimal("0.0075")
    org = make_org("Free texts", credits=Decimal("1"))
    set_plan_terms(org, sms_segments_free=10, sms_segment_price=str(price))
    phone_services.business_number_add(organization=org, number="+12125550100")
    AiConfig.objects.filter(pk=phone_services.ai_config_for(organization=org).pk).update(
        sms_quiet_hours_start=datetime.time(0), sms_quiet_hours_end=datetime.time(0)
    )
    local.outbox.clear()

    results = run_together(
        30, lambda i: phone_services.sms_send(organization=org, to_number=f"+1415555{i:04d}", body="Hi", mode="live")
    )

    assert not [r for r in results if isinstance(r, Exception)]
    assert len(local.outbox) == 30
    assert LedgerEntry.objects.filter(wallet__organization=org, metric=Metric.SMS_SEGMENTS).count() == 20
    assert _ledger_matches_balance(org) == Decimal("1") - 20 * price
    counter = MonthlyUsage.objects.get(organization=org, metric=Metric.SMS_SEGMENTS)
    assert (counter.quantity, counter.billed_units) == (30, 20)
    local.outbox.clear()


def test_concurrent_releases_after_a_partial_top_up_release_only_what_it_pays_for():
    """Issue 21: the sweep and the funding signal racing release at most what the balance covers, oldest first."""
    from billing.access import invalidate_access_state
    from webhooks.delivery import deliveries_release_held
    from webhooks.events import emit
    from webhooks.models import Delivery
    from webhooks.services import endpoint_create

    org = make_org("Partial", credits=None)
    set_plan_terms(org, webhook_attempts_free=0, webhook_attempt_price="0.0004")
    # An endpoint nobody listens on: the released rows only need to become pending here.
    endpoint_create(organization=org, url="http://127.0.0.1:9/hooks", events=["*"], actor=None)
    events = [emit(organization=org, type="call.completed", data={"n": n}, mode="live") for n in range(6)]
    assert Delivery.objects.filter(organization=org, status=Delivery.Status.HELD).count() == 6
    # Credited without the signal's own release, so only the racing calls below release.
    Wallet.objects.filter(organization=org).update(balance=Decimal("0.001"))
    invalidate_access_state(org.pk)

    released = run_together(4, lambda _: deliveries_release_held(organization=org))

    assert sum(released) == 2
    pending = Delivery.objects.filter(organization=org, status=Delivery.Status.PENDING).order_by("event__created_at")
    assert [d.event_id for d in pending] == [events[0].pk, events[1].pk]
    assert Delivery.objects.filter(organization=org, status=Delivery.Status.HELD).count() == 4
