"""Live SMS is prepaid: the price is reserved before the carrier call, kept as the charge or given back."""

from __future__ import annotations

import datetime
from decimal import Decimal
from unittest import mock

import pytest

from accounts.models import Organization
from billing.metering import apply_api_counts
from billing.models import LedgerEntry, MonthlyUsage, UsageRecord, UsageRollup, Wallet
from billing.quota import encode_counter_field, epoch_hours
from billing.wallet import wallet_debit
from developer.models import ApiKey
from developer.usage.reports import wallet_summary
from phone import services
from phone.backends import SmsBackendError, local
from phone.backends.local import LocalBackend
from phone.models import AiConfig, BusinessNumber, Message
from tests.billing.conftest import set_plan_terms
from tests.conftest import ApiClient, make_key, make_org

from .conftest import events

PRICE = Decimal("0.0075")
HI = {"to": "+14155552671", "body": "Hi"}


@pytest.fixture
def paid_sms(org: Organization, sms_ready: BusinessNumber) -> Organization:
    """No free segments: every live segment costs PRICE."""
    set_plan_terms(org, sms_segments_free=0, sms_segment_price=str(PRICE))
    return org


def _balance(org: Organization) -> Decimal:
    balance = Wallet.objects.get(organization=org).balance
    # Summed in Python: SQLite's SUM of decimals is a float.
    assert balance == sum(LedgerEntry.objects.filter(wallet__organization=org).values_list("amount", flat=True))
    return balance


def _sms_entries(org: Organization) -> list[tuple[Decimal, str]]:
    rows = LedgerEntry.objects.filter(wallet__organization=org, metric="sms_segments").order_by("pk")
    return [(entry.amount, entry.reference or "") for entry in rows]


def _refusing(code: str = "CARRIER_21610", permanent: bool = True) -> mock._patch:
    return mock.patch.object(
        LocalBackend, "send", autospec=True, side_effect=SmsBackendError("Refused", code=code, permanent=permanent)
    )


def test_a_live_send_is_charged_once_before_the_carrier_call_and_recorded_at_that_price(
    api: ApiClient, paid_sms: Organization
) -> None:
    response = api.post("/messages", {"to": "+14155552671", "body": "x" * 200})  # two segments

    assert response.status_code == 201
    message_id = response.body["data"]["id"]
    assert _sms_entries(paid_sms) == [(-2 * PRICE, f"sms:{message_id}")]
    assert _balance(paid_sms) == Decimal("50") - 2 * PRICE
    usage = UsageRecord.objects.get(reference=f"sms:{message_id}")
    assert (usage.quantity, usage.amount) == (2, 2 * PRICE)
    rollup = UsageRollup.objects.get(organization=paid_sms, metric="sms_segments")
    assert (rollup.quantity, rollup.amount) == (2, 2 * PRICE)
    counter = MonthlyUsage.objects.get(organization=paid_sms, metric="sms_segments")
    assert (counter.quantity, counter.billed_units) == (2, 2)


@pytest.mark.parametrize(("permanent", "status"), [(True, 422), (False, 502)])
def test_a_carrier_refusal_releases_the_reservation(
    api: ApiClient, paid_sms: Organization, permanent: bool, status: int
) -> None:
    with _refusing(permanent=permanent):
        response = api.post("/messages", HI)

    assert response.status_code == status
    message = Message.objects.get()
    assert message.status == "failed"
    assert _sms_entries(paid_sms) == [
        (-PRICE, f"sms:{message.public_id}"),
        (PRICE, f"sms:{message.public_id}:released"),
    ]
    assert _balance(paid_sms) == Decimal("50")
    counter = MonthlyUsage.objects.get(organization=paid_sms, metric="sms_segments")
    assert (counter.quantity, counter.billed_units) == (0, 0)
    assert not UsageRecord.objects.filter(metric="sms_segments").exists()
    assert not UsageRollup.objects.filter(metric="sms_segments").exists()
    assert events(paid_sms, "sms.sent") == []
    assert wallet_summary(organization=paid_sms).month_spend == 0  # the refund nets out the charge


def test_a_send_the_wallet_cannot_pay_for_is_402_and_nothing_is_stored_or_sent(api: ApiClient) -> None:
    org = make_org("Nearly broke", credits=Decimal("0.005"))
    services.business_number_add(organization=org, number="+12125550101")
    AiConfig.objects.filter(pk=services.ai_config_for(organization=org).pk).update(
        sms_quiet_hours_start=datetime.time(0), sms_quiet_hours_end=datetime.time(0)
    )
    set_plan_terms(org, sms_segments_free=0, sms_segment_price=str(PRICE))

    response = ApiClient(make_key(org)).post("/messages", HI)

    assert response.status_code == 402
    assert response.body["success"] is False and response.body["error"]["code"] == "INSUFFICIENT_CREDITS"
    assert local.outbox == []
    assert not Message.objects.filter(organization=org).exists()
    assert _sms_entries(org) == []
    assert _balance(org) == Decimal("0.005")
    assert not MonthlyUsage.objects.filter(organization=org, metric="sms_segments", quantity__gt=0).exists()


def test_test_mode_never_touches_the_wallet(test_api: ApiClient, paid_sms: Organization) -> None:
    Wallet.objects.filter(organization=paid_sms).update(balance=0)  # would refuse a live send
    LedgerEntry.objects.filter(wallet__organization=paid_sms).delete()

    assert test_api.post("/messages", HI).status_code == 201

    assert not LedgerEntry.objects.filter(wallet__organization=paid_sms).exists()
    assert Wallet.objects.get(organization=paid_sms).balance == 0
    assert not MonthlyUsage.objects.filter(organization=paid_sms, metric="sms_segments").exists()


def test_segments_within_the_free_allowance_cost_nothing_and_a_refused_one_is_given_back(
    api: ApiClient, org: Organization, sms_ready: BusinessNumber
) -> None:
    set_plan_terms(org, sms_segments_free=3, sms_segment_price=str(PRICE))

    assert api.post("/messages", HI).status_code == 201  # free
    with _refusing():
        assert api.post("/messages", HI).status_code == 422  # would have been free: nothing to refund
    assert api.post("/messages", HI).status_code == 201  # the refused one's free segment is back
    assert _sms_entries(org) == []
    body = api.post("/messages", {"to": "+14155552671", "body": "x" * 200})  # 2 segments, 1 beyond the allowance
    assert body.status_code == 201

    assert _sms_entries(org) == [(-PRICE, f"sms:{body.body['data']['id']}")]
    assert _balance(org) == Decimal("50") - PRICE
    counter = MonthlyUsage.objects.get(organization=org, metric="sms_segments")
    assert (counter.quantity, counter.billed_units) == (4, 1)


def test_a_released_charge_is_billed_again_by_the_next_segment_beyond_the_allowance(
    api: ApiClient, org: Organization, sms_ready: BusinessNumber
) -> None:
    set_plan_terms(org, sms_segments_free=1, sms_segment_price=str(PRICE))
    api.post("/messages", HI)  # the free one
    with _refusing():
        api.post("/messages", HI)  # charged, then refunded
    api.post("/messages", HI)

    assert [amount for amount, _ in _sms_entries(org)] == [-PRICE, PRICE, -PRICE]
    assert _balance(org) == Decimal("50") - PRICE
    counter = MonthlyUsage.objects.get(organization=org, metric="sms_segments")
    assert (counter.quantity, counter.billed_units) == (2, 1)


def test_the_metering_flush_never_charges_sent_segments_again(api: ApiClient, paid_sms: Organization) -> None:
    for _ in range(3):
        assert api.post("/messages", HI).status_code == 201
    charged = _sms_entries(paid_sms)
    key = ApiKey.objects.get(organization=paid_sms, mode="live")
    field = encode_counter_field(
        epoch_hour=epoch_hours(UsageRollup.objects.get(metric="sms_segments").hour),
        organization_id=paid_sms.pk,
        api_key_id=key.pk,
        mode="live",
    )

    assert apply_api_counts(batch_id="after-sms", counts={field: 5}, source="test")

    assert _sms_entries(paid_sms) == charged and len(charged) == 3
    assert _balance(paid_sms) == Decimal("50") - 3 * PRICE
    assert sum(UsageRecord.objects.filter(metric="sms_segments").values_list("amount", flat=True)) == 3 * PRICE
    rollup = UsageRollup.objects.get(organization=paid_sms, metric="sms_segments")
    assert (rollup.quantity, rollup.amount) == (3, 3 * PRICE)


def test_post_paid_usage_can_still_take_the_wallet_below_zero_but_a_live_sms_cannot(
    api: ApiClient, paid_sms: Organization
) -> None:
    wallet_debit(
        organization=paid_sms, amount=Decimal("50.01"), reason="API blocks", reference="owed", allow_negative=True
    )
    assert _balance(paid_sms) == Decimal("-0.01")

    assert api.post("/messages", HI).status_code == 402
    assert local.outbox == [] and _sms_entries(paid_sms) == []
