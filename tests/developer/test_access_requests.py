"""Getting access: the beta add-on request, staff review in Django admin, e-mails, and the access state
every Settings → Developer page shows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEntry, Role
from accounts.services import membership_set, user_get_or_create
from billing.access import access_state
from billing.models import Metric, PlatformAddon, Subscription, UsageRollup
from billing.services import addon_grant, addon_revoke, organization_suspend, subscription_set
from billing.wallet import wallet_debit
from core.errors import NotPermitted, ServiceError
from developer import services
from developer.access_status import Step, access_step, needs_request_lookup, plan_list
from developer.context_processors import access_banner_for
from developer.models import AccessRequest, ApiKey
from tests.conftest import is_postgres, make_org

PASSWORD = "correct-horse-battery"
ACCESS = "/settings/developer/access/"
KEYS = "/settings/developer/keys/"
KEY_NEW = "/settings/developer/keys/new/"
ADMIN_LIST = "/admin/developer/accessrequest/"
STAFF_INBOX = ["beta-desk@aiphone360.test", "ops@aiphone360.test"]
USE = "Sync calls and contacts into our CRM and text appointment reminders."


@pytest.fixture(autouse=True)
def _staff_inbox(settings: Any) -> None:
    settings.ACCESS_REQUEST_NOTIFY_EMAILS = STAFF_INBOX
    settings.SITE_URL = "https://app.aiphone360.test"


@pytest.fixture
def waiting_org(db: Any) -> Any:
    """Subscribed (PRO) and funded, but without the Developer Platform add-on."""
    return make_org("Bright Smile Dental", addon=False)


@pytest.fixture
def admin_user(waiting_org: Any) -> Any:
    user = user_get_or_create(email="admin@brightsmile.test", password=PASSWORD)
    membership_set(organization=waiting_org, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def viewer_user(waiting_org: Any) -> Any:
    user = user_get_or_create(email="viewer@brightsmile.test", password=PASSWORD)
    membership_set(organization=waiting_org, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def staff(db: Any) -> Any:
    return get_user_model().objects.create_superuser("staff@aiphone360.test", "staff@aiphone360.test", PASSWORD)


def signed_in(email: str) -> Client:
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


def submit(org: Any, actor: Any, **overrides: Any) -> AccessRequest:
    fields = {
        "intended_use": USE,
        "expected_monthly_volume": "10k_100k",
        "contact_email": "dev@brightsmile.test",
        **overrides,
    }
    return services.access_request_submit(organization=org, actor=actor, **fields)


def actions(org: Any) -> list[str]:
    return list(AuditEntry.objects.filter(organization=org).order_by("id").values_list("action", flat=True))


# --- the pure step logic ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "latest", "step"),
    [
        (
            {"suspended": True, "subscription_active": True, "addon_active": True, "has_credits": True},
            None,
            Step.SUSPENDED,
        ),
        (
            {"suspended": False, "subscription_active": False, "addon_active": False, "has_credits": False},
            "pending",
            Step.NO_SUBSCRIPTION,
        ),
        (
            {"suspended": False, "subscription_active": True, "addon_active": False, "has_credits": True},
            None,
            Step.REQUEST_ACCESS,
        ),
        (
            {"suspended": False, "subscription_active": True, "addon_active": False, "has_credits": True},
            "withdrawn",
            Step.REQUEST_ACCESS,
        ),
        (
            {"suspended": False, "subscription_active": True, "addon_active": False, "has_credits": True},
            "approved",
            Step.REQUEST_ACCESS,
        ),
        (
            {"suspended": False, "subscription_active": True, "addon_active": False, "has_credits": False},
            "pending",
            Step.REQUEST_PENDING,
        ),
        (
            {"suspended": False, "subscription_active": True, "addon_active": False, "has_credits": True},
            "denied",
            Step.REQUEST_DENIED,
        ),
        (
            {"suspended": False, "subscription_active": True, "addon_active": True, "has_credits": False},
            None,
            Step.WALLET_EMPTY,
        ),
        (
            {"suspended": False, "subscription_active": True, "addon_active": True, "has_credits": True},
            "denied",
            Step.GRANTED,
        ),
    ],
)
def test_access_step_names_the_first_requirement_still_missing(state: dict, latest: str | None, step: Step) -> None:
    assert access_step(**state, latest_request_status=latest) == step


def test_request_table_is_read_only_while_waiting_for_the_addon() -> None:
    assert needs_request_lookup(suspended=False, subscription_active=True, addon_active=False)
    assert not needs_request_lookup(suspended=False, subscription_active=True, addon_active=True)
    assert not needs_request_lookup(suspended=False, subscription_active=False, addon_active=False)
    assert not needs_request_lookup(suspended=True, subscription_active=True, addon_active=False)


def test_qualifying_plans_read_as_a_sentence() -> None:
    assert plan_list() == "BASIC, PRO or ENTERPRISE"
    assert plan_list(("PRO",)) == "PRO"


# --- services ---------------------------------------------------------------------------------------------


def test_submit_records_a_pending_request_audits_it_and_emails_staff(
    waiting_org: Any, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(waiting_org, admin_user)
    request.refresh_from_db()
    assert request.status == "pending" and request.public_id.startswith("acr_")
    assert request.requested_by == admin_user and request.intended_use == USE
    assert request.expected_monthly_volume == "10k_100k" and request.contact_email == "dev@brightsmile.test"
    entry = AuditEntry.objects.get(organization=waiting_org, action="access_request.submitted")
    assert entry.actor_user == admin_user and entry.target_id == request.public_id
    assert entry.metadata == {"expectedMonthlyVolume": "10k_100k", "contactEmail": "dev@brightsmile.test"}

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == STAFF_INBOX
    assert message.subject == "Developer Platform access requested: Bright Smile Dental"
    assert USE in message.body and "10,000–100,000 requests a month" in message.body
    assert f"https://app.aiphone360.test/admin/developer/accessrequest/{request.pk}/change/" in message.body
    assert "&amp;" not in message.body and "&#x27;" not in message.body  # plain text, not HTML-escaped


def test_no_staff_email_when_no_addresses_are_configured(
    waiting_org: Any, admin_user: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ACCESS_REQUEST_NOTIFY_EMAILS = []
    with django_capture_on_commit_callbacks(execute=True):
        submit(waiting_org, admin_user)
    assert mail.outbox == []


def test_staff_email_waits_for_the_commit(
    waiting_org: Any, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submit(waiting_org, admin_user)
    assert mail.outbox == [] and len(callbacks) == 1


def test_submit_names_each_bad_field_and_writes_nothing(waiting_org: Any, admin_user: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        submit(
            waiting_org,
            admin_user,
            intended_use="  api ",
            expected_monthly_volume="lots",
            contact_email="not-an-address",
        )
    assert set(caught.value.message_dict) == {"intendedUse", "expectedMonthlyVolume", "contactEmail"}
    with pytest.raises(ValidationError) as caught:
        submit(waiting_org, admin_user, intended_use="x" * 2001)
    assert caught.value.message_dict == {"intendedUse": ["At most 2,000 characters."]}
    assert not AccessRequest.objects.exists()
    assert not [a for a in actions(waiting_org) if a.startswith("access_request.")]


def test_only_one_open_request_per_organisation(waiting_org: Any, admin_user: Any) -> None:
    first = submit(waiting_org, admin_user)
    with pytest.raises(ServiceError) as caught:
        submit(waiting_org, admin_user)
    assert caught.value.status == 409 and caught.value.code == "CONFLICT"
    assert "already pending" in caught.value.message
    # The database holds the line too, whatever a racing writer skipped.
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessRequest.objects.create(
            organization=waiting_org,
            intended_use=USE,
            expected_monthly_volume="under_10k",
            contact_email="x@brightsmile.test",
        )
    assert list(AccessRequest.objects.filter(organization=waiting_org)) == [first]


def test_a_racing_submit_that_hits_the_constraint_gets_the_same_conflict(waiting_org: Any, admin_user: Any) -> None:
    submit(waiting_org, admin_user)
    with mock.patch.object(AccessRequest.objects, "open", return_value=AccessRequest.objects.none()):
        with pytest.raises(ServiceError) as caught:
            submit(waiting_org, admin_user)
    assert caught.value.status == 409 and "already pending" in caught.value.message
    assert AccessRequest.objects.filter(organization=waiting_org).count() == 1


def test_viewer_cannot_submit_or_withdraw(waiting_org: Any, admin_user: Any, viewer_user: Any) -> None:
    with pytest.raises(NotPermitted):
        submit(waiting_org, viewer_user)
    request = submit(waiting_org, admin_user)
    with pytest.raises(NotPermitted):
        services.access_request_withdraw(access_request=request, actor=viewer_user)
    stranger = user_get_or_create(email="stranger@elsewhere.test", password=PASSWORD)
    with pytest.raises(NotPermitted):
        submit(waiting_org, stranger)
    assert AccessRequest.objects.get().status == "pending"


def test_submit_is_refused_with_the_addon_or_without_a_subscription(waiting_org: Any, admin_user: Any) -> None:
    addon_grant(organization=waiting_org, actor=None)
    with pytest.raises(ServiceError) as caught:
        submit(waiting_org, admin_user)
    assert caught.value.status == 409 and "already has" in caught.value.message
    addon_revoke(organization=waiting_org, actor=None)
    subscription_set(organization=waiting_org, plan_code="PRO", actor=None, status=Subscription.Status.CANCELED)
    with pytest.raises(ServiceError) as caught:
        submit(waiting_org, admin_user)
    assert caught.value.code == "SUBSCRIPTION_REQUIRED"
    assert "BASIC, PRO or ENTERPRISE" in caught.value.message
    assert not AccessRequest.objects.exists()


def test_withdraw_closes_the_request_once_and_allows_a_new_one(waiting_org: Any, admin_user: Any) -> None:
    request = submit(waiting_org, admin_user)
    withdrawn = services.access_request_withdraw(access_request=request, actor=admin_user)
    assert withdrawn.status == "withdrawn" and withdrawn.decided_by == admin_user and withdrawn.decided_at
    services.access_request_withdraw(access_request=request, actor=admin_user)  # no-op
    assert actions(waiting_org).count("access_request.withdrawn") == 1
    second = submit(waiting_org, admin_user)
    assert second.status == "pending" and second != request


def test_approve_grants_the_addon_through_the_one_grant_service(
    waiting_org: Any, admin_user: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request = submit(waiting_org, admin_user, contact_email="cto@brightsmile.test")
    assert access_state(waiting_org.pk).addon_active is False  # cached now
    with mock.patch("developer.services.addon_grant", wraps=addon_grant) as grant:
        with django_capture_on_commit_callbacks(execute=True):
            approved = services.access_request_approve(access_request=request, actor=staff, message="Welcome aboard!")
    grant.assert_called_once_with(organization=request.organization, actor=staff)
    assert approved.status == "approved" and approved.decided_by == staff
    assert approved.decision_message == "Welcome aboard!" and approved.decided_at is not None
    addon = PlatformAddon.objects.get(organization=waiting_org)
    assert addon.is_active and addon.granted_by == staff
    assert access_state(waiting_org.pk).addon_active is True  # the gate sees it on the very next request
    assert actions(waiting_org)[-2:] == ["addon.granted", "access_request.approved"]
    decision = AuditEntry.objects.get(action="access_request.approved")
    assert decision.actor_user == staff and decision.metadata == {"message": "Welcome aboard!"}

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["cto@brightsmile.test", "admin@brightsmile.test"]
    assert message.subject == "Your Developer Platform access is approved"
    assert "Welcome aboard!" in message.body
    assert "https://app.aiphone360.test/settings/developer/keys/" in message.body


def test_approving_twice_changes_nothing_and_sends_nothing(
    waiting_org: Any, admin_user: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request = submit(waiting_org, admin_user)
    services.access_request_approve(access_request=request, actor=staff, message="First")
    before = actions(waiting_org)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.access_request_approve(access_request=request, actor=None, message="Second")
    assert again.status == "approved" and again.decision_message == "First" and again.decided_by == staff
    assert actions(waiting_org) == before and mail.outbox == []


def test_deny_records_the_reason_and_tells_the_requester(
    waiting_org: Any, admin_user: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request = submit(waiting_org, admin_user, contact_email="admin@brightsmile.test")
    with django_capture_on_commit_callbacks(execute=True):
        denied = services.access_request_deny(
            access_request=request, actor=staff, message="  We need a live website first.  "
        )
        services.access_request_deny(access_request=request, actor=staff, message="ignored")  # idempotent
    assert denied.status == "denied" and denied.decision_message == "We need a live website first."
    assert not PlatformAddon.objects.get(organization=waiting_org).is_active
    assert actions(waiting_org).count("access_request.denied") == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["admin@brightsmile.test"]  # the same address once
    assert message.subject == "Your Developer Platform access request was declined"
    assert "Reason: We need a live website first." in message.body
    assert "https://app.aiphone360.test/settings/developer/access/" in message.body


def test_a_decided_request_cannot_be_decided_the_other_way(waiting_org: Any, admin_user: Any, staff: Any) -> None:
    request = submit(waiting_org, admin_user)
    services.access_request_deny(access_request=request, actor=staff)
    with pytest.raises(ServiceError) as caught:
        services.access_request_approve(access_request=request, actor=staff)
    assert caught.value.status == 409 and "already denied" in caught.value.message
    assert not PlatformAddon.objects.get(organization=waiting_org).is_active

    second = submit(waiting_org, admin_user)
    services.access_request_approve(access_request=second, actor=staff)
    with pytest.raises(ServiceError) as caught:
        services.access_request_deny(access_request=second, actor=staff)
    assert "Revoke the add-on" in caught.value.message
    with pytest.raises(ServiceError):
        services.access_request_withdraw(access_request=second, actor=admin_user)


def test_decision_message_is_limited(waiting_org: Any, admin_user: Any, staff: Any) -> None:
    request = submit(waiting_org, admin_user)
    with pytest.raises(ValidationError) as caught:
        services.access_request_deny(access_request=request, actor=staff, message="x" * 2001)
    assert "message" in caught.value.message_dict
    request.refresh_from_db()
    assert request.status == "pending"


def test_a_failing_mail_server_does_not_undo_the_decision(
    waiting_org: Any, admin_user: Any, staff: Any, django_capture_on_commit_callbacks: Any, caplog: Any
) -> None:
    request = submit(waiting_org, admin_user)
    with mock.patch("developer.services.send_mail", autospec=True, side_effect=OSError("SMTP down")):
        with django_capture_on_commit_callbacks(execute=True):
            services.access_request_approve(access_request=request, actor=staff)
    request.refresh_from_db()
    assert request.status == "approved" and PlatformAddon.objects.get(organization=waiting_org).is_active
    assert "Could not send" in caplog.text


# --- the banner's cost --------------------------------------------------------------------------------------


def test_banner_of_an_organisation_with_access_costs_no_query_when_warm(
    org: Any, django_assert_num_queries: Any
) -> None:
    assert access_banner_for(org).step == "granted"
    with django_assert_num_queries(0):
        banner = access_banner_for(org)
    assert banner.step == "granted" and not banner.blocked


def test_banner_reads_the_latest_request_only_while_waiting(
    waiting_org: Any, admin_user: Any, django_assert_num_queries: Any
) -> None:
    request = submit(waiting_org, admin_user)
    access_banner_for(waiting_org)
    with django_assert_num_queries(1):
        banner = access_banner_for(waiting_org)
    assert banner.step == "request_pending" and banner.latest_request == request


# --- dashboard: the access page and the banner on every page --------------------------------------------


def banner_step(response: Any) -> str | None:
    marker = b'data-testid="access-banner" data-step="'
    content = response.content
    if marker not in content:
        return None
    start = content.index(marker) + len(marker)
    return content[start : content.index(b'"', start)].decode()


def test_admin_without_the_addon_sees_the_form_and_cannot_create_keys(waiting_org: Any, admin_user: Any) -> None:
    client = signed_in("admin@brightsmile.test")
    page = client.get(ACCESS)
    assert page.status_code == 200 and banner_step(page) == "request_access"
    html = page.content.decode()
    assert "The Developer Platform add-on is not enabled." in html
    assert '<form id="request-form"' in html and 'value="admin@brightsmile.test"' in html
    assert "PRO plan, active." in html and "BASIC, PRO or ENTERPRISE" in html

    keys = client.get(KEYS)
    assert banner_step(keys) == "request_access"
    keys_html = keys.content.decode()
    assert 'disabled aria-describedby="access-banner">+ Create key</button>' in keys_html
    # One warning, not two: the banner, no second callout.
    assert keys_html.count("The Developer Platform add-on is not enabled.") == 1
    assert "You can create API keys once our team has granted" not in keys_html
    assert f'href="{KEY_NEW}"' not in keys_html

    # Refused server-side too, whatever the page showed.
    assert client.get(KEY_NEW).status_code == 409
    response = client.post(KEY_NEW, {"name": "Sneaky", "mode": "test", "access": "full", "expires": "never"})
    assert response.status_code == 409 and b"API keys need the Developer Platform add-on" in response.content
    htmx = client.post(
        KEY_NEW,
        {"name": "Sneaky", "mode": "live", "access": "full", "expires": "never"},
        headers={"HX-Request": "true"},
    )
    assert htmx.status_code == 409 and b'data-testid="addon-required"' in htmx.content
    assert b"<html" not in htmx.content
    assert not ApiKey.objects.filter(organization=waiting_org).exists()


def test_every_developer_page_shows_the_access_state(waiting_org: Any, admin_user: Any) -> None:
    client = signed_in("admin@brightsmile.test")
    pages = [
        KEYS,
        "/settings/developer/logs/",
        "/settings/developer/audit/",
        ACCESS,
        "/settings/developer/usage/",
        "/settings/developer/webhooks/",
        "/settings/developer/tools/",
        "/settings/developer/agents/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert banner_step(response) == "request_access", path


def test_submitting_from_the_dashboard_shows_the_pending_request_everywhere(
    waiting_org: Any, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in("admin@brightsmile.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ACCESS,
            {"intended_use": USE, "expected_monthly_volume": "under_10k", "contact_email": "dev@brightsmile.test"},
            follow=True,
        )
    assert response.redirect_chain == [(ACCESS, 302)]
    request = AccessRequest.objects.get(organization=waiting_org)
    assert request.status == "pending" and request.requested_by == admin_user
    html = response.content.decode()
    assert "Request sent. Our team will review it and e-mail dev@brightsmile.test" in html
    assert banner_step(response) == "request_pending"
    assert "Access requested — waiting for our team." in html
    sent = request.created_at.astimezone(ZoneInfo("America/New_York"))  # the business's timezone
    # The time component: the business's zone without JavaScript, UTC on hover.
    assert f'data-moment="datetime">{sent:%b} {sent.day}, {sent:%Y}, {sent:%H:%M}' in html
    assert "Withdraw request" in html and USE in html
    assert len(mail.outbox) == 1 and mail.outbox[0].to == STAFF_INBOX

    assert banner_step(client.get(KEYS)) == "request_pending"
    again = client.post(
        ACCESS, {"intended_use": USE, "expected_monthly_volume": "under_10k", "contact_email": "dev@brightsmile.test"}
    )
    assert again.status_code == 409 and b"already pending" in again.content
    assert AccessRequest.objects.count() == 1


def test_htmx_submit_with_errors_returns_the_form_partial(waiting_org: Any, admin_user: Any) -> None:
    client = signed_in("admin@brightsmile.test")
    response = client.post(
        ACCESS,
        {"intended_use": "", "expected_monthly_volume": "", "contact_email": "nope"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="request-form"') and "<html" not in html
    assert "Tell us in a sentence or two" in html and "Enter an e-mail address" in html
    assert 'value="nope"' in html
    ok = client.post(
        ACCESS,
        {"intended_use": USE, "expected_monthly_volume": "over_1m", "contact_email": "dev@brightsmile.test"},
        headers={"HX-Request": "true"},
    )
    assert ok.status_code == 200 and ok["HX-Redirect"] == ACCESS
    assert AccessRequest.objects.get().expected_monthly_volume == "over_1m"


def test_viewer_sees_the_state_but_cannot_submit_or_withdraw(
    waiting_org: Any, admin_user: Any, viewer_user: Any
) -> None:
    client = signed_in("viewer@brightsmile.test")
    page = client.get(ACCESS)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Only owners and admins can request access." in html and '<form id="request-form"' not in html
    assert "ask an owner or admin of Bright Smile Dental to request access" in html
    response = client.post(
        ACCESS,
        {"intended_use": USE, "expected_monthly_volume": "under_10k", "contact_email": "viewer@brightsmile.test"},
    )
    assert response.status_code == 403 and not AccessRequest.objects.exists()

    request = submit(waiting_org, admin_user)
    page = client.get(ACCESS)
    assert b"Withdraw request" not in page.content
    assert client.post(f"{ACCESS}{request.public_id}/withdraw/").status_code == 403
    request.refresh_from_db()
    assert request.status == "pending"


def test_withdraw_from_the_dashboard(waiting_org: Any, admin_user: Any) -> None:
    request = submit(waiting_org, admin_user)
    client = signed_in("admin@brightsmile.test")
    assert client.get(f"{ACCESS}{request.public_id}/withdraw/").status_code == 405
    response = client.post(f"{ACCESS}{request.public_id}/withdraw/", follow=True)
    assert response.redirect_chain == [(ACCESS, 302)]
    request.refresh_from_db()
    assert request.status == "withdrawn"
    assert b"Request withdrawn." in response.content and banner_step(response) == "request_access"
    assert b'<form id="request-form"' in response.content  # a new one can be sent
    assert b"Withdrawn" in response.content  # and the old one is in the history


def test_another_organisations_request_is_a_404(waiting_org: Any, admin_user: Any) -> None:
    other = make_org("Other Practice", addon=False)
    owner = user_get_or_create(email="owner@other.test", password=PASSWORD)
    membership_set(organization=other, user=owner, role=Role.OWNER)
    theirs = submit(other, owner)
    response = signed_in("admin@brightsmile.test").post(f"{ACCESS}{theirs.public_id}/withdraw/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "pending"


def test_denied_request_shows_its_reason_and_allows_a_new_one(
    waiting_org: Any, admin_user: Any, staff: Any, viewer_user: Any
) -> None:
    request = submit(waiting_org, admin_user)
    services.access_request_deny(access_request=request, actor=staff, message="Please tell us more about your CRM.")
    client = signed_in("admin@brightsmile.test")
    for path in (KEYS, ACCESS):
        response = client.get(path)
        assert banner_step(response) == "request_denied"
        assert b"Your access request was declined." in response.content
        assert b"Reason: Please tell us more about your CRM." in response.content
    page = client.get(ACCESS).content.decode()
    assert 'data-testid="denied-reason"' in page and '<form id="request-form"' in page
    assert "Send a new request" in page
    viewer_page = signed_in("viewer@brightsmile.test").get(ACCESS).content.decode()
    assert "ask an owner or admin of Bright Smile Dental to send a new request" in viewer_page


def test_approved_request_unlocks_keys_and_shows_the_decision(waiting_org: Any, admin_user: Any, staff: Any) -> None:
    request = submit(waiting_org, admin_user)
    services.access_request_approve(access_request=request, actor=staff, message="Enjoy the beta.")
    client = signed_in("admin@brightsmile.test")
    keys = client.get(KEYS)
    assert banner_step(keys) == "granted" and b"Access granted." in keys.content
    assert b'data-testid="keys-blocked"' not in keys.content and f'href="{KEY_NEW}"'.encode() in keys.content
    assert client.get(KEY_NEW).status_code == 200
    response = client.post(KEY_NEW, {"name": "CRM", "mode": "test", "access": "full", "expires": "never"})
    assert response.status_code == 201 and ApiKey.objects.filter(organization=waiting_org, name="CRM").exists()
    page = client.get(ACCESS).content.decode()
    assert "Access granted" in page and "Enjoy the beta." in page and "Our team approved your request" in page


def test_banner_wording_for_each_blocking_state(waiting_org: Any, admin_user: Any, staff: Any) -> None:
    client = signed_in("admin@brightsmile.test")
    subscription_set(organization=waiting_org, plan_code="BASIC", actor=None, status=Subscription.Status.PAST_DUE)
    response = client.get(KEYS)
    assert banner_step(response) == "no_subscription"
    html = response.content.decode()
    assert "No active subscription." in html and "BASIC, PRO or ENTERPRISE" in html
    assert "Your BASIC subscription is not active" in html and "SUBSCRIPTION_REQUIRED" in html
    access_page = client.get(ACCESS).content.decode()
    assert "can be requested once Bright Smile Dental has an active" in access_page
    assert '<form id="request-form"' not in access_page

    subscription_set(organization=waiting_org, plan_code="PRO", actor=None)
    addon_grant(organization=waiting_org, actor=staff)
    wallet_debit(organization=waiting_org, amount=Decimal("50"), reason="Usage", reference="drain")
    response = client.get(KEYS)
    assert banner_step(response) == "wallet_empty"
    html = response.content.decode()
    assert "Your wallet is empty." in html
    assert "Live keys answer 402 INSUFFICIENT_CREDITS and live webhooks are held" in html
    assert "Test keys keep working." in html

    organization_suspend(organization=waiting_org, actor=staff, reason="Abuse")
    response = client.get(KEYS)
    assert banner_step(response) == "suspended" and b"BUSINESS_SUSPENDED" in response.content


def test_htmx_partials_do_not_render_the_banner(org: Any, owner: Any) -> None:
    client = signed_in("owner@acme.test")
    response = client.get(KEYS, headers={"HX-Request": "true", "HX-Target": "key-table"})
    assert response.status_code == 200 and banner_step(response) is None


# --- Django admin -------------------------------------------------------------------------------------------


def test_admin_lists_requests_with_the_organisation_at_a_glance(waiting_org: Any, admin_user: Any, staff: Any) -> None:
    request = submit(waiting_org, admin_user)
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    UsageRollup.objects.create(
        organization=waiting_org,
        metric=Metric.API_REQUESTS,
        mode="live",
        hour=start,
        quantity=12_345,
        amount=Decimal("1.25"),
    )
    UsageRollup.objects.create(
        organization=waiting_org,
        metric=Metric.WEBHOOK_ATTEMPTS,
        mode="live",
        hour=start,
        quantity=7,
        amount=Decimal("0.07"),
    )
    client = signed_in("staff@aiphone360.test")
    page = client.get(ADMIN_LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Bright Smile Dental" in html and "PRO (active)" in html and "$50.00" in html
    assert "12,345 requests · $1.32" in html and "10k–100k/mo" in html
    assert "Approve selected requests (grants the add-on)" in html and "Message to the business (optional)" in html

    detail = client.get(f"{ADMIN_LIST}{request.pk}/change/").content.decode()
    assert USE in detail and "Webhook delivery attempts" in detail and "12,345" in detail and "$1.250000" not in detail


def test_admin_filters_by_status_plan_and_age(waiting_org: Any, admin_user: Any, staff: Any) -> None:
    fresh = submit(waiting_org, admin_user)
    basic = make_org("Basic Bakery", plan="BASIC", addon=False)
    baker = user_get_or_create(email="owner@bakery.test", password=PASSWORD)
    membership_set(organization=basic, user=baker, role=Role.OWNER)
    old = submit(basic, baker)
    AccessRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=45))
    services.access_request_deny(access_request=old, actor=staff)
    client = signed_in("staff@aiphone360.test")

    def listed(query: str) -> set[str]:
        html = client.get(f"{ADMIN_LIST}?{query}").content.decode()
        return {name for name in ("Bright Smile Dental", "Basic Bakery") if name in html.split("result_list")[-1]}

    assert listed("status__exact=pending") == {"Bright Smile Dental"}
    assert listed("status__exact=denied") == {"Basic Bakery"}
    assert listed("plan=BASIC") == {"Basic Bakery"}
    assert listed("plan=PRO") == {"Bright Smile Dental"}
    assert listed("submitted=today") == {"Bright Smile Dental"}
    assert listed("submitted=7d") == {"Bright Smile Dental"}
    assert listed("submitted=older") == {"Basic Bakery"}
    subscription_set(organization=basic, plan_code="BASIC", actor=None, status=Subscription.Status.CANCELED)
    assert listed("plan=inactive") == {"Basic Bakery"}
    assert fresh.status == "pending"


def _run_action(client: Client, action: str, requests: list[AccessRequest], message: str = "") -> Any:
    return client.post(
        ADMIN_LIST,
        {"action": action, "_selected_action": [r.pk for r in requests], "message": message, "index": 0},
        follow=True,
    )


def test_admin_approve_action_grants_and_is_idempotent(
    waiting_org: Any, admin_user: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request = submit(waiting_org, admin_user)
    client = signed_in("staff@aiphone360.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = _run_action(client, "approve", [request], "Welcome!")
    assert b"1 request(s) approved; the requesters were e-mailed." in response.content
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by == staff and request.decision_message == "Welcome!"
    addon = PlatformAddon.objects.get(organization=waiting_org)
    assert addon.is_active and addon.granted_by == staff
    assert len(mail.outbox) == 1 and "Welcome!" in mail.outbox[0].body

    audits = actions(waiting_org)
    with django_capture_on_commit_callbacks(execute=True):
        again = _run_action(client, "approve", [request], "Twice")
    assert b"1 request(s) were already approved; nothing changed." in again.content
    assert actions(waiting_org) == audits and len(mail.outbox) == 1


def test_admin_deny_action_records_the_reason_and_skips_decided_ones(
    waiting_org: Any, admin_user: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request = submit(waiting_org, admin_user)
    other = make_org("Granted Grocer", addon=False)
    grocer = user_get_or_create(email="owner@grocer.test", password=PASSWORD)
    membership_set(organization=other, user=grocer, role=Role.OWNER)
    approved = submit(other, grocer)
    services.access_request_approve(access_request=approved, actor=staff)
    client = signed_in("staff@aiphone360.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = _run_action(client, "deny", [request, approved], "Not a fit for the beta yet.")
    html = response.content.decode()
    assert "1 request(s) denied" in html and "Granted Grocer: This request was already approved." in html
    request.refresh_from_db()
    approved.refresh_from_db()
    assert request.status == "denied" and request.decision_message == "Not a fit for the beta yet."
    assert approved.status == "approved" and PlatformAddon.objects.get(organization=other).is_active
    entry = AuditEntry.objects.get(action="access_request.denied")
    assert entry.actor_user == staff and entry.metadata == {"message": "Not a fit for the beta yet."}
    assert [m.subject for m in mail.outbox] == ["Your Developer Platform access request was declined"]


def test_admin_cannot_add_or_delete_requests(waiting_org: Any, admin_user: Any, staff: Any) -> None:
    request = submit(waiting_org, admin_user)
    client = signed_in("staff@aiphone360.test")
    assert client.get(f"{ADMIN_LIST}add/").status_code == 403
    assert client.get(f"{ADMIN_LIST}{request.pk}/delete/").status_code == 403


def test_staff_without_change_permission_gets_no_decision_actions(waiting_org: Any, admin_user: Any) -> None:
    from django.contrib.auth.models import Permission

    submit(waiting_org, admin_user)
    reviewer = get_user_model().objects.create_user(
        "reviewer@aiphone360.test", "reviewer@aiphone360.test", PASSWORD, is_staff=True
    )
    reviewer.user_permissions.add(Permission.objects.get(codename="view_accessrequest"))
    page = signed_in("reviewer@aiphone360.test").get(ADMIN_LIST)
    assert page.status_code == 200 and b"Bright Smile Dental" in page.content
    assert b"Approve selected requests" not in page.content


# --- PostgreSQL: concurrent submits and approvals ------------------------------------------------------------


def _run_together(count: int, work: Any) -> list[Any]:
    import threading

    from django.db import close_old_connections, connection

    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # asserted below
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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL: set DATABASE_URL (SQLite serialises writers)")
def test_concurrent_submits_leave_one_open_request_and_concurrent_approvals_grant_once() -> None:
    org = make_org("Racing Radiology", addon=False)
    admins = [user_get_or_create(email=f"admin{i}@racing.test", password=PASSWORD) for i in range(6)]
    for user in admins:
        membership_set(organization=org, user=user, role=Role.ADMIN)
    results = _run_together(6, lambda i: submit(org, admins[i]))
    created = [r for r in results if isinstance(r, AccessRequest)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(created) == 1 and len(refused) == 5, results
    assert all(r.status == 409 and "already pending" in r.message for r in refused)
    assert AccessRequest.objects.filter(organization=org).count() == 1

    staff = get_user_model().objects.create_superuser("staff@aiphone360.test", "staff@aiphone360.test", PASSWORD)
    request = created[0]
    results = _run_together(4, lambda i: services.access_request_approve(access_request=request, actor=staff))
    assert all(isinstance(r, AccessRequest) and r.status == "approved" for r in results), results
    assert actions(org).count("access_request.approved") == 1 and actions(org).count("addon.granted") == 1


# --- issue 17 point 10: decide on the request's own page, the admin link, the banner shown once -----------


def test_staff_approve_and_deny_on_the_requests_own_admin_page(
    waiting_org: Any, admin_user: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request = submit(waiting_org, admin_user)
    client = Client()
    client.force_login(staff)
    page = client.get(f"{ADMIN_LIST}{request.pk}/change/").content.decode()
    assert "Approve (grants the add-on)" in page and 'value="deny"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{ADMIN_LIST}{request.pk}/decide/", {"decision": "approve", "message": "Welcome aboard."}
        )
    assert response.status_code == 302 and response["Location"] == f"{ADMIN_LIST}{request.pk}/change/"
    request.refresh_from_db()
    assert request.status == "approved" and request.decision_message == "Welcome aboard."
    assert PlatformAddon.objects.get(organization=waiting_org).is_active
    assert "access_request.approved" in actions(waiting_org)
    assert "Welcome aboard." in mail.outbox[-1].body
    # A GET does nothing; a member without admin rights cannot decide.
    assert client.get(f"{ADMIN_LIST}{request.pk}/decide/").status_code == 405
    member = signed_in("admin@brightsmile.test")
    assert member.post(f"{ADMIN_LIST}{request.pk}/decide/", {"decision": "deny"}).status_code == 302  # to login
    request.refresh_from_db()
    assert request.status == "approved"


def test_admin_link_for_staff_only_and_access_granted_banner_shown_once(
    waiting_org: Any, admin_user: Any, staff: Any
) -> None:
    services.access_request_approve(access_request=submit(waiting_org, admin_user), actor=staff, message="")
    client = signed_in("admin@brightsmile.test")
    first = client.get(KEYS)
    assert banner_step(first) == "granted" and b"Access granted." in first.content
    assert b'data-testid="admin-link"' not in first.content
    second = client.get(KEYS)
    assert banner_step(second) is None and b"Access granted." not in second.content
    membership_set(organization=waiting_org, user=staff, role=Role.OWNER)
    staff_page = Client()
    staff_page.force_login(staff)
    assert b'data-testid="admin-link"' in staff_page.get(KEYS).content
