"""402 gating: an empty wallet blocks live keys, holds live webhooks and refuses paid tool calls; funds lift it all."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billing.access import access_state, can_pay
from billing.metering import record_usage
from billing.models import Metric
from billing.wallet import wallet_credit, wallet_debit
from tests.conftest import ApiClient, make_key, make_org
from tests.webhooks.receiver import Receiver
from webhooks.events import emit
from webhooks.models import Delivery
from webhooks.services import endpoint_create

from .conftest import set_plan_terms

pytestmark = pytest.mark.django_db


def _code(response: Any) -> str | None:
    return response.body["error"]["code"] if not response.body["success"] else None


def test_spending_the_last_credit_flips_live_keys_to_402_and_funds_flip_them_back(django_capture_on_commit_callbacks):
    org = make_org("Tight budget", credits=Decimal("0.0030"))
    set_plan_terms(org, tool_invocations_free=0, tool_invocation_price="0.0015")
    live, test = ApiClient(make_key(org)), ApiClient(make_key(org, mode="test"))
    assert live.get("/keys?limit=1").status_code == 200
    assert can_pay(org.pk)

    record_usage(organization=org, metric=Metric.TOOL_INVOCATIONS, quantity=1, mode="live", reference="t1")
    assert live.get("/keys?limit=1").status_code == 200  # $0.0015 left
    record_usage(organization=org, metric=Metric.TOOL_INVOCATIONS, quantity=1, mode="live", reference="t2")

    blocked = live.get("/keys?limit=1")  # exactly zero: blocked
    assert blocked.status_code == 402
    assert blocked.body["error"]["code"] == "INSUFFICIENT_CREDITS"
    assert blocked.body["error"]["requestId"] == blocked["X-Request-Id"]
    assert test.get("/keys?limit=1").status_code == 200  # test keys never block
    assert not can_pay(org.pk)

    with django_capture_on_commit_callbacks(execute=True):
        wallet_credit(organization=org, amount=Decimal("5"), reason="Top-up", actor=None)
    assert live.get("/keys?limit=1").status_code == 200  # at once, not after a cache expiry
    assert can_pay(org.pk)


def test_a_balance_below_zero_also_blocks_until_funds_bring_it_above_zero(django_capture_on_commit_callbacks):
    org = make_org("In debt", credits=Decimal("1"))
    live = ApiClient(make_key(org))
    wallet_debit(organization=org, amount=Decimal("3"), reason="Owed usage", reference="owed", allow_negative=True)
    assert _code(live.get("/keys")) == "INSUFFICIENT_CREDITS"
    with django_capture_on_commit_callbacks(execute=True):
        wallet_credit(organization=org, amount=Decimal("2"), reason="Not enough", actor=None)
    assert _code(live.get("/keys")) == "INSUFFICIENT_CREDITS"  # balance 0: still blocked
    with django_capture_on_commit_callbacks(execute=True):
        wallet_credit(organization=org, amount=Decimal("0.01"), reason="Enough", actor=None)
    assert live.get("/keys").status_code == 200


def test_the_cached_gate_state_follows_every_zero_crossing():
    org = make_org("Cache Co", credits=Decimal("1"))
    assert access_state(org.pk).has_credits  # cached now
    wallet_debit(organization=org, amount=Decimal("1"), reason="x", reference="to-zero")
    assert not access_state(org.pk).has_credits
    wallet_credit(organization=org, amount=Decimal("1"), reason="y", actor=None)
    assert access_state(org.pk).has_credits


def test_adding_funds_releases_the_live_webhooks_held_while_the_wallet_was_empty(
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    org = make_org("Held Co", credits=None)
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        held = emit(organization=org, type="call.completed", data={"callId": "call_1"}, mode="live")
    delivery = Delivery.objects.get(event=held)
    assert delivery.status == Delivery.Status.HELD
    assert receiver.requests == []

    # Billing alone releases them: nobody calls the webhooks app here.
    with django_capture_on_commit_callbacks(execute=True):
        wallet_credit(organization=org, amount=Decimal("10"), reason="Top-up", actor=None)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert [r.json["id"] for r in receiver.requests] == [held.public_id]


def test_a_credit_that_leaves_the_wallet_empty_releases_nothing(django_capture_on_commit_callbacks):
    org = make_org("Still broke", credits=Decimal("1"))
    wallet_debit(organization=org, amount=Decimal("5"), reason="Owed", reference="owed", allow_negative=True)
    from unittest import mock

    with (
        mock.patch("webhooks.delivery.deliveries_release_held", autospec=True) as release,
        django_capture_on_commit_callbacks(execute=True),
    ):
        wallet_credit(organization=org, amount=Decimal("1"), reason="Partial", actor=None)
    release.assert_not_called()
    with (
        mock.patch("webhooks.delivery.deliveries_release_held", autospec=True) as release,
        django_capture_on_commit_callbacks(execute=True),
    ):
        wallet_credit(organization=org, amount=Decimal("4"), reason="Enough", actor=None)
    release.assert_called_once()
    assert release.call_args.kwargs["organization"].pk == org.pk
