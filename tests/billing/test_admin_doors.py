"""Django admin is a door too: plan and subscription changes go through the billing services, leave an
audit entry, and the API gate answers the new terms on the very next request (no cached old plan)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.forms.models import model_to_dict
from django.test import Client

from accounts.models import AuditEntry, Membership, Organization
from billing.metering import record_usage
from billing.models import LedgerEntry, Metric, Plan, Subscription
from tests.conftest import ApiClient, make_key, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model) -> Client:
    user = django_user_model.objects.create_superuser("staff@aiphone360.test", "staff@aiphone360.test", "pw")
    client = Client()
    client.force_login(user)
    return client


def _plan_form(plan: Plan, **changes: Any) -> dict[str, Any]:
    data = {name: value for name, value in model_to_dict(plan).items() if name != "id"}
    return {**data, **changes}


def test_a_plan_change_on_the_organisation_page_is_audited_and_the_gate_answers_the_new_plan_at_once(staff):
    org = make_org("Acme", plan="PRO")
    api = ApiClient(make_key(org))
    assert api.get("/keys")["X-RateLimit-Limit"] == "300"  # the gate state is now cached
    basic = Plan.objects.get(code="BASIC")

    response = staff.post(
        "/admin/accounts/organization/",
        {
            "action": "change_plan",
            "index": 0,
            "_selected_action": [org.pk],
            "plan": basic.pk,
            "status": "active",
            "confirm": "yes",
        },
    )

    assert response.status_code == 302
    assert Subscription.objects.get(organization=org).plan == basic
    entry = AuditEntry.objects.get(organization=org, action="subscription.updated", actor_label="staff@aiphone360.test")
    assert entry.metadata == {"plan": "BASIC", "status": "active"}
    assert api.get("/keys")["X-RateLimit-Limit"] == str(basic.rate_limit_per_minute)


def test_a_cancelled_subscription_closes_the_gate_on_the_next_request(staff):
    org = make_org("Acme")
    api = ApiClient(make_key(org))
    assert api.get("/keys").status_code == 200
    pro = Plan.objects.get(code="PRO")

    staff.post(
        "/admin/accounts/organization/",
        {
            "action": "change_plan",
            "index": 0,
            "_selected_action": [org.pk],
            "plan": pro.pk,
            "status": "canceled",
            "confirm": "yes",
        },
    )

    assert AuditEntry.objects.filter(organization=org, action="subscription.updated").count() == 2  # make_org's + ours
    refused = api.get("/keys")
    assert (refused.status_code, refused.body["error"]["code"]) == (402, "SUBSCRIPTION_REQUIRED")


def test_staff_see_a_plan_changes_effect_on_this_month_before_confirming(staff):
    from billing.metering import record_usage

    org = make_org("Acme", plan="PRO")
    Plan.objects.filter(code="BASIC").update(webhook_attempts_free=1_000)
    Plan.objects.filter(code="PRO").update(webhook_attempts_free=5_000)
    record_usage(organization=org, metric="webhook_attempts", quantity=3_000, mode="live", reference="used")
    basic = Plan.objects.get(code="BASIC")

    preview = staff.post(
        "/admin/accounts/organization/",
        {"action": "change_plan", "index": 0, "_selected_action": [org.pk], "plan": basic.pk, "status": "active"},
    )

    assert preview.status_code == 200
    assert Subscription.objects.get(organization=org).plan.code == "PRO"  # nothing changed yet
    html = preview.content.decode()
    assert "Nothing is charged" in html and "minus what was already used" in html
    row = html.split("Webhook delivery attempts</td>", 1)[1].split("</tr>", 1)[0]
    assert [cell.split("<", 1)[0] for cell in row.split("<td>")[1:4]] == ["3,000", "2,000", "0"]
    assert 'name="confirm" value="yes"' in html

    confirmed = staff.post(
        "/admin/accounts/organization/",
        {
            "action": "change_plan",
            "index": 0,
            "_selected_action": [org.pk],
            "plan": basic.pk,
            "status": "active",
            "confirm": "yes",
        },
    )
    assert confirmed.status_code == 302
    assert Subscription.objects.get(organization=org).plan.code == "BASIC"


def test_change_plan_without_a_plan_changes_nothing(staff):
    org = make_org("Acme")
    response = staff.post(
        "/admin/accounts/organization/", {"action": "change_plan", "index": 0, "_selected_action": [org.pk], "plan": ""}
    )
    assert response.status_code == 302
    assert Subscription.objects.get(organization=org).plan.code == "PRO"
    assert AuditEntry.objects.filter(organization=org, action="subscription.updated").count() == 1


def test_the_organisation_page_is_read_only_its_subscription_wallet_and_members_too(staff):
    org = make_org("Acme")
    page = staff.get(f"/admin/accounts/organization/{org.pk}/change/")
    assert page.status_code == 200
    assert 'name="subscription-0-plan"' not in page.content.decode()
    assert 'name="name"' not in page.content.decode()
    posted = staff.post(f"/admin/accounts/organization/{org.pk}/change/", {"name": "Renamed"})
    assert posted.status_code == 403
    assert Organization.objects.get(pk=org.pk).name == "Acme"
    assert staff.get("/admin/accounts/organization/add/").status_code == 403
    assert staff.post(f"/admin/accounts/organization/{org.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Membership.objects.filter(organization=org).count() == 0  # nothing was added either


def test_a_plan_rate_limit_edit_is_audited_and_every_subscriber_gets_it_on_the_next_request(staff):
    org = make_org("Acme", plan="PRO")
    api = ApiClient(make_key(org))
    assert api.get("/keys")["X-RateLimit-Limit"] == "300"
    pro = Plan.objects.get(code="PRO")

    response = staff.post(f"/admin/billing/plan/{pro.pk}/change/", _plan_form(pro, rate_limit_per_minute=42))

    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="plan.updated")
    assert entry.organization is None
    assert entry.actor_label == "staff@aiphone360.test"
    assert entry.metadata == {"code": "PRO", "fields": ["rate_limit_per_minute"]}
    assert api.get("/keys")["X-RateLimit-Limit"] == "42"


def test_a_plan_price_edit_never_re_prices_past_charges(staff):
    org = make_org("Acme", plan="PRO")
    pro = Plan.objects.get(code="PRO")
    pro.sms_segments_free = 0
    pro.save()
    record_usage(organization=org, metric=Metric.SMS_SEGMENTS, quantity=1, mode="live", reference="before")
    before = LedgerEntry.objects.get(wallet__organization=org, metric=Metric.SMS_SEGMENTS)

    staff.post(f"/admin/billing/plan/{pro.pk}/change/", _plan_form(pro, sms_segment_price="9.99"))

    assert Plan.objects.get(pk=pro.pk).sms_segment_price == Decimal("9.99")
    again = LedgerEntry.objects.get(pk=before.pk)
    assert (again.amount, again.unit_price) == (before.amount, before.unit_price)
    assert before.unit_price != Decimal("9.99")
    assert AuditEntry.objects.get(action="plan.updated").metadata["fields"] == ["sms_segment_price"]


def test_an_invalid_plan_edit_is_a_form_error_and_saves_nothing(staff):
    make_org("Acme")
    pro = Plan.objects.get(code="PRO")
    response = staff.post(f"/admin/billing/plan/{pro.pk}/change/", _plan_form(pro, rate_limit_per_minute=-5))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["rate_limit_per_minute"]
    assert Plan.objects.get(pk=pro.pk).rate_limit_per_minute == 300
    assert not AuditEntry.objects.filter(action="plan.updated").exists()
