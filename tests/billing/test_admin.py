"""Django admin: staff add funds (audited); "Usage reviewers" view, filter and export usage but change nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import AuditEntry
from accounts.services import user_get_or_create
from billing.metering import record_usage
from billing.models import LedgerEntry, Metric, Plan, UsageRollup, Wallet
from developer.models import ApiKey
from tests.conftest import ApiClient, make_key, make_org

from .conftest import set_plan_terms

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    user = user_get_or_create(email="reviewer@aiphone360.test", password="pw")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="Usage reviewers"))
    return user


@pytest.fixture
def staff_admin(django_user_model):
    return django_user_model.objects.create_superuser("staff@aiphone360.test", "staff@aiphone360.test", "pw")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def two_orgs(clock):
    acme, other = make_org("Acme"), make_org("Other")
    for org in (acme, other):
        set_plan_terms(org, webhook_attempts_free=0, webhook_attempt_price="0.0004")
        make_key(org, name=f"{org.name} key")
    acme_key = ApiKey.objects.get(organization=acme)
    record_usage(
        organization=acme,
        metric=Metric.WEBHOOK_ATTEMPTS,
        quantity=3,
        mode="live",
        reference="a",
        api_key_id=acme_key.pk,
    )
    now = clock.return_value
    clock.return_value = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)  # last month
    record_usage(organization=other, metric=Metric.SMS_SEGMENTS, quantity=2, mode="test", reference="o")
    clock.return_value = now
    return acme, other


def test_staff_add_funds_through_wallet_credit_with_an_audit_entry(staff_admin, django_capture_on_commit_callbacks):
    org = make_org("Broke", credits=None)
    live = ApiClient(make_key(org))
    assert live.get("/keys").status_code == 402
    wallet = Wallet.objects.get(organization=org)
    client = _client(staff_admin)
    url = f"/admin/billing/wallet/{wallet.pk}/add-funds/"
    assert url in client.get("/admin/billing/wallet/").content.decode()
    assert "Add funds to Broke" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"amount": "25.00", "reason": "Wire transfer", "reference": "wire-77"})
    assert response.status_code == 302
    entry = LedgerEntry.objects.get(wallet=wallet)
    assert (entry.amount, entry.reason, entry.reference, entry.actor_label) == (
        Decimal("25.00"),
        "Wire transfer",
        "wire-77",
        "staff@aiphone360.test",
    )
    audit = AuditEntry.objects.get(organization=org, action="wallet.credited")
    assert audit.actor_user == staff_admin and audit.metadata["amount"] == "25.00"
    assert live.get("/keys").status_code == 200  # the gate lifts at once
    client.post(url, {"amount": "25.00", "reason": "Wire transfer", "reference": "wire-77"})  # double submit
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("25.00")


def test_add_funds_refuses_a_non_positive_amount(staff_admin):
    wallet = Wallet.objects.get(organization=make_org("Z", credits=None))
    response = _client(staff_admin).post(
        f"/admin/billing/wallet/{wallet.pk}/add-funds/", {"amount": "0", "reason": "x"}
    )
    assert (
        response.status_code == 200
        and "Ensure this value is greater than or equal to 0.01" in response.content.decode()
    )
    assert not LedgerEntry.objects.filter(wallet=wallet).exists()


def test_reviewers_list_usage_across_organisations(two_orgs, reviewer):
    client = _client(reviewer)
    for path in ("usagerollup", "usagerecord", "ledgerentry", "platformaddon", "wallet", "monthlyusage"):
        response = client.get(f"/admin/billing/{path}/")
        assert response.status_code == 200, path
    page = client.get("/admin/billing/usagerollup/").content.decode()
    assert "Acme" in page and "Other" in page


def test_reviewers_filter_by_organisation_key_metric_and_period(two_orgs, reviewer):
    acme, _ = two_orgs
    key = ApiKey.objects.get(organization=acme)
    client = _client(reviewer)
    base = "/admin/billing/usagerollup/"
    for query in (
        f"organization__id__exact={acme.pk}",
        f"api_key__id__exact={key.pk}",
        "metric__exact=webhook_attempts",
        "period=month",
    ):
        response = client.get(f"{base}?{query}")
        assert response.status_code == 200, query
        assert response.context["cl"].result_count == 1, query
    last_month = client.get(f"{base}?period=last_month").context["cl"]
    assert [row.organization.name for row in last_month.result_list] == ["Other"]


def test_reviewers_export_the_selected_rows_as_csv(two_orgs, reviewer):
    acme, _ = two_orgs
    client = _client(reviewer)
    ids = list(UsageRollup.objects.values_list("pk", flat=True))
    response = client.post("/admin/billing/usagerollup/", {"action": "export_csv", "_selected_action": ids})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {(r["organization"], r["metric"], r["mode"], r["quantity"], r["charges_usd"]) for r in rows} == {
        ("Acme", "webhook_attempts", "live", "3", "0.0012"),
        ("Other", "sms_segments", "test", "2", "0.00"),
    }

    ledger_ids = list(LedgerEntry.objects.filter(wallet__organization=acme).values_list("pk", flat=True))
    response = client.post("/admin/billing/ledgerentry/", {"action": "export_csv", "_selected_action": ledger_ids})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    charge = next(r for r in rows if r["metric"])
    assert (charge["amount_usd"], charge["unit_price_usd"], charge["quantity"]) == ("-0.0012", "0.0004", "3")


def test_reviewers_can_change_nothing(two_orgs, reviewer):
    client = _client(reviewer)
    rollup = UsageRollup.objects.first()
    wallet = Wallet.objects.first()
    plan = Plan.objects.first()
    assert rollup is not None and wallet is not None and plan is not None
    assert client.get(f"/admin/billing/usagerollup/{rollup.pk}/change/").status_code == 200  # view only
    response = client.post(f"/admin/billing/usagerollup/{rollup.pk}/change/", {"quantity": "1"})
    assert response.status_code == 403
    assert client.get("/admin/billing/usagerollup/add/").status_code == 403
    assert client.post(f"/admin/billing/usagerollup/{rollup.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"/admin/billing/wallet/{wallet.pk}/add-funds/").status_code == 403
    assert "Add funds" not in client.get("/admin/billing/wallet/").content.decode()
    assert client.get(f"/admin/billing/plan/{plan.pk}/change/").status_code == 403
    rollup.refresh_from_db()
    assert rollup.quantity != 1


def test_the_reviewer_group_holds_view_permissions_only():
    codenames = set(Group.objects.get(name="Usage reviewers").permissions.values_list("codename", flat=True))
    assert codenames == {
        "view_usagerollup",
        "view_usagerecord",
        "view_ledgerentry",
        "view_wallet",
        "view_monthlyusage",
        "view_platformaddon",
    }


def test_staff_edit_plan_prices_in_admin(staff_admin, two_orgs):
    plan = Plan.objects.get(code="BASIC")
    client = _client(staff_admin)
    page = client.get(f"/admin/billing/plan/{plan.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data["webhook_attempt_price"] = "0.0009"
    response = client.post(f"/admin/billing/plan/{plan.pk}/change/", {k: v for k, v in data.items() if v is not None})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.webhook_attempt_price == Decimal("0.0009")


@pytest.mark.parametrize("price", ["0.0000005", "0.00040001", "1.1234567"])
def test_a_unit_price_beyond_six_decimals_is_refused_with_a_clear_message(staff_admin, two_orgs, price):
    plan = Plan.objects.get(code="BASIC")
    before = plan.webhook_attempt_price
    client = _client(staff_admin)
    page = client.get(f"/admin/billing/plan/{plan.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data["webhook_attempt_price"] = price
    response = client.post(f"/admin/billing/plan/{plan.pk}/change/", {k: v for k, v in data.items() if v is not None})
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors["webhook_attempt_price"]
    assert errors == [
        f"Prices are kept to 6 decimal places ($0.000001); {price} has more. Enter it with at most 6 decimals: "
        "nothing is rounded."
    ]
    plan.refresh_from_db()
    assert plan.webhook_attempt_price == before
