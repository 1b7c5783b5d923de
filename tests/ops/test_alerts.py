"""Business alerts: found from the database, e-mailed once per condition to owners and admins who did not
opt out, shown as a dashboard notice, cleared when the condition ends."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.utils import timezone

from accounts.models import Membership, Organization, Role
from accounts.services import membership_set, user_get_or_create
from billing.models import Wallet
from billing.wallet import wallet_credit, wallet_debit
from developer.models import ApiKey
from developer.services import api_key_revoke
from ops import alerts
from ops.alerts import EvaluateResult
from ops.models import Alert, AlertKind, AlertOptOut, AlertSettings
from tests.conftest import make_key
from tests.webhooks.receiver import Receiver, Reply
from webhooks.events import emit
from webhooks.models import Delivery, Endpoint
from webhooks.services import AUTO_DISABLE_AFTER, delivery_attempt, endpoint_create, endpoint_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(org: Organization, owner: Any, viewer: Any) -> dict[str, Any]:
    admin = user_get_or_create(email="admin@acme.test", password="correct-horse-battery")
    membership_set(organization=org, user=admin, role=Role.ADMIN)
    quiet = user_get_or_create(email="quiet@acme.test", password="correct-horse-battery")
    membership_set(organization=org, user=quiet, role=Role.ADMIN)
    AlertOptOut.objects.create(membership=Membership.objects.get(user=quiet), kind=AlertKind.ENDPOINT_FAILING)
    return {"owner": owner, "admin": admin, "viewer": viewer, "quiet": quiet}


def fail_once(org: Organization, receiver: Receiver, *, at: Any) -> Endpoint:
    """A real delivery attempt, answered 500, made at `at` (the engine's own clock argument)."""
    receiver.reply(Reply(status=500, body=b"down for maintenance"))
    event = emit(organization=org, type="call.completed", data={"callId": "call_1"}, mode="test")
    delivery = Delivery.objects.get(event=event)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=at)  # due at that moment
    attempt = delivery_attempt(delivery_id=delivery.pk, now=at)
    assert attempt is not None and attempt.response_status == 500
    return Endpoint.objects.get(organization=org)


def alerts_evaluate(**kwargs: Any) -> EvaluateResult:
    """The beat task's service, with the e-mails it sends after its commit actually sent."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return alerts.alerts_evaluate(**kwargs)


def recipients_of_outbox() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_an_endpoint_failing_for_a_day_is_emailed_once_to_owners_and_admins_and_cleared_by_a_success(
    org: Organization, team: dict[str, Any], receiver: Receiver
) -> None:
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    now = timezone.now()
    fail_once(org, receiver, at=now - timedelta(hours=2))
    assert alerts_evaluate(now=now).opened == 0  # failing, but not for a day yet
    assert mail.outbox == []

    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
    fail_once(org, receiver, at=now - timedelta(hours=25))
    failing_since = Endpoint.objects.get(pk=endpoint.pk).failing_since
    assert failing_since is not None and abs(failing_since - (now - timedelta(hours=25))) < timedelta(seconds=2)
    result = alerts_evaluate(now=now)
    assert (result.opened, result.cleared) == (1, 0)
    alert = Alert.objects.get(organization=org)
    assert alert.kind == AlertKind.ENDPOINT_FAILING and alert.subject == endpoint.public_id
    assert alert.cleared_at is None and alert.emailed_to == 2
    # Owners and admins, one message each; not the viewer, not the admin who opted out of this kind.
    assert recipients_of_outbox() == ["admin@acme.test", "owner@acme.test"]
    assert all(len(message.to) == 1 for message in mail.outbox)
    message = mail.outbox[0]
    assert message.subject == f"[AI Phone 360] Acme Dental: {alert.title}"
    assert receiver.url in message.subject
    assert "has failed since" in message.body and "down for maintenance" not in message.body  # no body excerpt
    assert f"/settings/developer/webhooks/{endpoint.public_id}/" in message.body
    assert "/settings/developer/alerts/" in message.body
    assert f"disabled on {(failing_since + AUTO_DISABLE_AFTER):%Y-%m-%d %H:%M} UTC" in message.body

    # Still failing: evaluated again and again, nothing more is sent.
    for _ in range(3):
        assert alerts_evaluate(now=now + timedelta(minutes=5)).opened == 0
    assert len(mail.outbox) == 2

    # A delivery succeeds: the condition ends, the alert is cleared, no e-mail.
    receiver.reply(Reply(status=200))
    event = emit(organization=org, type="call.completed", data={"callId": "call_2"}, mode="test")
    delivery_attempt(delivery_id=Delivery.objects.get(event=event).pk)
    assert alerts_evaluate().cleared == 1
    alert.refresh_from_db()
    assert alert.cleared_at is not None and len(mail.outbox) == 2

    # Failing again a day later is a new condition: a new alert and a new e-mail.
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=2))
    assert alerts_evaluate().opened == 1
    assert len(mail.outbox) == 4 and Alert.objects.filter(organization=org).count() == 2


def test_failing_escalates_to_the_day_before_the_disable_then_to_disabled(
    org: Organization, team: dict[str, Any], receiver: Receiver
) -> None:
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    now = timezone.now()
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=now - timedelta(days=2))
    alerts_evaluate(now=now)
    assert list(Alert.objects.filter(cleared_at__isnull=True).values_list("kind", flat=True)) == ["endpoint_failing"]

    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=now - AUTO_DISABLE_AFTER + timedelta(hours=20))
    result = alerts_evaluate(now=now)
    assert (result.opened, result.cleared) == (1, 1)
    disabling = Alert.objects.get(cleared_at__isnull=True)
    assert disabling.kind == AlertKind.ENDPOINT_DISABLING and "will be disabled on" in disabling.title
    # The opted-out admin chose only to skip "failing": the warning before the disable reaches them.
    assert "quiet@acme.test" in [m.to[0] for m in mail.outbox if "will be disabled" in m.subject]

    # The engine disables it after the last failed attempt past the deadline (a real attempt).
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=now - AUTO_DISABLE_AFTER - timedelta(minutes=1))
    fail_once(org, receiver, at=now)
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    result = alerts_evaluate(now=now)
    assert (result.opened, result.cleared) == (1, 1)
    disabled = Alert.objects.get(cleared_at__isnull=True)
    assert disabled.kind == AlertKind.ENDPOINT_DISABLED
    assert "Every attempt since" in disabled.message  # the engine's own reason

    # Enabled again by a member: the condition is over.
    endpoint_update(endpoint=endpoint, enabled=True, actor=team["owner"])
    assert alerts_evaluate().cleared == 1
    assert not Alert.objects.filter(cleared_at__isnull=True).exists()


def test_an_endpoint_a_member_disabled_raises_no_alert(
    org: Organization, team: dict[str, Any], receiver: Receiver
) -> None:
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    endpoint_update(endpoint=endpoint, enabled=False, actor=team["owner"])
    assert alerts_evaluate().opened == 0 and mail.outbox == []


def test_low_balance_then_out_of_credits_then_funded(org: Organization, team: dict[str, Any]) -> None:
    make_key(org, mode="live")
    owner = Membership.objects.get(user=team["owner"])
    alerts.low_balance_threshold_set(organization=org, membership=owner, threshold="60")
    balance = Wallet.objects.get(organization=org).balance
    assert balance == Decimal("50")

    assert alerts_evaluate().opened == 1
    low = Alert.objects.get(cleared_at__isnull=True)
    assert (
        low.kind == AlertKind.LOW_BALANCE and low.title == "Wallet balance $50.00 is below your $60.00 alert threshold"
    )
    assert recipients_of_outbox() == ["admin@acme.test", "owner@acme.test", "quiet@acme.test"]

    wallet_debit(organization=org, amount=balance, reason="Spent", reference="test:spent")
    result = alerts_evaluate()
    assert (result.opened, result.cleared) == (1, 1)
    out = Alert.objects.get(cleared_at__isnull=True)
    assert out.kind == AlertKind.OUT_OF_CREDITS and "held" in out.title
    assert "live webhook deliveries are held" in mail.outbox[-1].body

    wallet_credit(organization=org, amount=Decimal("100"), reason="Top-up", actor=None)
    assert alerts_evaluate().cleared == 1
    assert not Alert.objects.filter(cleared_at__isnull=True).exists()
    assert len(mail.outbox) == 6


def test_an_organisation_that_does_not_use_the_platform_gets_no_wallet_alert(
    org: Organization, team: dict[str, Any]
) -> None:
    wallet_debit(organization=org, amount=Decimal("50"), reason="Spent", reference="test:spent")
    make_key(org, mode="test")  # test keys never spend credits
    assert alerts_evaluate().opened == 0


def test_a_key_unused_for_90_days_suggests_revoking_it_and_clears_when_used_or_revoked(
    org: Organization, team: dict[str, Any]
) -> None:
    make_key(org, mode="test", name="Old integration")
    key = ApiKey.objects.get(organization=org)
    ApiKey.objects.filter(pk=key.pk).update(created_at=timezone.now() - timedelta(days=120))
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(days=89))
    assert alerts_evaluate().opened == 0

    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(days=91))
    assert alerts_evaluate().opened == 1
    alert = Alert.objects.get(cleared_at__isnull=True)
    assert alert.kind == AlertKind.KEY_UNUSED and alert.subject == key.public_id
    assert "revoke it" in alert.message and key.masked in alert.title
    assert "aip_test_" not in mail.outbox[0].body.replace(key.masked, "")  # only the masked form

    api_key_revoke(key=key, actor=team["owner"])
    assert alerts_evaluate().cleared == 1


def test_a_concurrent_run_cannot_open_or_send_twice(org: Organization, team: dict[str, Any]) -> None:
    make_key(org, mode="test")
    ApiKey.objects.update(created_at=timezone.now() - timedelta(days=100))
    (condition,) = alerts.conditions(timezone.now())
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert alerts._open(condition, now=timezone.now()) is True
        assert alerts._open(condition, now=timezone.now()) is False  # the unique open row refuses the second
    assert Alert.objects.count() == 1 and len(mail.outbox) == 3


def test_the_dashboard_shows_open_alerts_to_owners_and_admins_only(org: Organization, team: dict[str, Any]) -> None:
    make_key(org, mode="test")
    ApiKey.objects.update(created_at=timezone.now() - timedelta(days=100))
    alerts_evaluate()

    def page(user: Any) -> str:
        client = Client()
        client.force_login(user)
        response = client.get("/settings/developer/keys/")
        assert response.status_code == 200
        return response.content.decode()

    assert "unused for 90 days" in page(team["owner"]) and 'data-alert-kind="key_unused"' in page(team["admin"])
    assert "unused for 90 days" not in page(team["viewer"])
    AlertOptOut.objects.create(membership=Membership.objects.get(user=team["admin"]), kind=AlertKind.KEY_UNUSED)
    assert "unused for 90 days" not in page(team["admin"])

    ApiKey.objects.update(last_used_at=timezone.now())
    alerts_evaluate()
    assert "unused for 90 days" not in page(team["owner"])


def test_alert_settings_page_opt_outs_and_the_owners_threshold(org: Organization, team: dict[str, Any]) -> None:
    owner, admin = Client(), Client()
    owner.force_login(team["owner"])
    admin.force_login(team["admin"])
    url = "/settings/developer/alerts/"

    response = owner.post(url, {"kinds": ["endpoint_disabled", "out_of_credits"], "threshold": "25.5"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=team["owner"])
    assert set(AlertOptOut.objects.filter(membership=membership).values_list("kind", flat=True)) == {
        "endpoint_failing",
        "endpoint_disabling",
        "low_balance",
        "key_unused",
    }
    assert AlertSettings.objects.get(organization=org).low_balance_threshold == Decimal("25.50")

    response = owner.post(url, {"kinds": list(AlertKind.values), "threshold": "lots"})
    assert response.status_code == 400 and b"Enter an amount in dollars" in response.content
    assert AlertOptOut.objects.filter(membership=membership).count() == 4  # nothing of a refused form is saved
    assert AlertSettings.objects.get(organization=org).low_balance_threshold == Decimal("25.50")

    # An admin chooses their own alerts; the threshold field is the owner's and is ignored for them.
    assert admin.post(url, {"kinds": list(AlertKind.values), "threshold": "1"}).status_code == 302
    assert AlertSettings.objects.get(organization=org).low_balance_threshold == Decimal("25.50")
    page = admin.get(url).content.decode()
    assert "$25.50" in page and 'name="threshold"' not in page

    viewer = Client()
    viewer.force_login(team["viewer"])
    assert viewer.get(url).status_code == 403
