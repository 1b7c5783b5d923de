"""Getting access in real headless Chromium: an admin of a subscribed organisation without the add-on
requests access, staff approve it in Django admin, and the admin creates a key that works against the
API; a denied request shows its reason; a viewer cannot submit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from accounts.models import AuditEntry, Role
from accounts.services import membership_set, user_get_or_create
from billing.models import PlatformAddon
from developer.keys import hash_secret
from developer.models import AccessRequest, ApiKey
from tests.conftest import make_org

from .conftest import screenshot
from .test_keys_dashboard import assert_no_sideways_scroll

pytestmark = pytest.mark.django_db(transaction=True)  # the live server thread must see committed rows

PASSWORD = "correct-horse-battery"
USE = "Push every call summary into our practice-management system and text appointment reminders."


@pytest.fixture(autouse=True)
def _staff_inbox(settings: Any) -> None:
    settings.ACCESS_REQUEST_NOTIFY_EMAILS = ["beta-desk@aiphone360.test"]


@pytest.fixture
def waiting_org(transactional_db: Any) -> Any:
    """A PRO organisation with credit in its wallet and no Developer Platform add-on."""
    return make_org("Bright Smile Dental", addon=False)


def member(org: Any, email: str, role: str) -> Any:
    user = user_get_or_create(email=email, password=PASSWORD)
    membership_set(organization=org, user=user, role=role)
    return user


@pytest.fixture
def staff_page(browser: Any, live_server: Any, transactional_db: Any) -> Iterator[Any]:
    """A second browser, signed in to Django admin as AI Phone 360 staff."""
    get_user_model().objects.create_superuser("staff@aiphone360.test", "staff@aiphone360.test", PASSWORD)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/")  # the admin signs in through allauth's page
    page.fill("#id_login", "staff@aiphone360.test")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Site administration").wait_for()
    yield page
    context.close()


def banner(page: Any) -> Any:
    return page.get_by_test_id("access-banner")


def request_access(page: Any, contact: str) -> None:
    """From the banner's button: fill the request form and send it."""
    banner(page).get_by_role("link", name="Request access").click()
    page.get_by_role("heading", name="Developer Platform access", exact=True).wait_for()
    page.get_by_label("Intended use").fill(USE)
    page.get_by_label("Expected monthly volume").select_option("10k_100k")
    page.get_by_label("Contact e-mail").fill(contact)
    page.get_by_role("button", name="Request access").click()
    page.get_by_text("Request sent. Our team will review it").wait_for()


def decide_in_admin(staff_page: Any, live_server: Any, organization: str, action: str, message: str) -> None:
    """Staff tick the organisation's pending request, type the message and run the action."""
    staff_page.goto(f"{live_server.url}/admin/developer/accessrequest/?status__exact=pending")
    row = staff_page.locator("#result_list tbody tr", has_text=organization)
    row.locator("input.action-select").check()
    staff_page.locator("select[name=action]").select_option(action)
    staff_page.locator("input[name=message]").fill(message)
    staff_page.get_by_role("button", name="Go").click()
    staff_page.locator("ul.messagelist").wait_for()


def test_admin_requests_access_staff_approve_and_the_new_key_works(
    page: Any, staff_page: Any, live_server: Any, login_as: Any, waiting_org: Any
) -> None:
    admin = member(waiting_org, "admin@brightsmile.test", Role.ADMIN)
    login_as(page, live_server.url, "admin@brightsmile.test", PASSWORD)

    # The keys page says why no key can be created, with the next step.
    assert page.url.endswith("/settings/developer/keys/")
    assert banner(page).get_attribute("data-step") == "request_access"
    banner(page).get_by_text("The Developer Platform add-on is not enabled.").wait_for()
    assert page.get_by_role("button", name="+ Create key").is_disabled()
    assert page.get_by_text("The Developer Platform add-on is not enabled.").count() == 1  # one warning
    screenshot(page, "access-keys-blocked")

    # The request page: requirements checklist and the form.
    request_access_link = banner(page).get_by_role("link", name="Request access")
    request_access_link.click()
    page.get_by_role("heading", name="Requirements").wait_for()
    assert "PRO plan, active." in page.content()
    assert page.get_by_label("Contact e-mail").input_value() == "admin@brightsmile.test"
    screenshot(page, "access-request-form")

    # Errors come back inline (htmx swap), then the request is sent.
    page.get_by_role("button", name="Request access").click()
    page.get_by_text("Tell us in a sentence or two what you will build").wait_for()
    screenshot(page, "access-request-errors")
    page.get_by_label("Intended use").fill(USE)
    page.get_by_label("Expected monthly volume").select_option("10k_100k")
    page.get_by_label("Contact e-mail").fill("dev@brightsmile.test")
    page.get_by_role("button", name="Request access").click()
    page.get_by_text("Request sent. Our team will review it and e-mail dev@brightsmile.test").wait_for()
    assert banner(page).get_attribute("data-step") == "request_pending"
    banner(page).get_by_text("Access requested — waiting for our team.").wait_for()
    page.get_by_role("heading", name="Request pending").wait_for()
    screenshot(page, "access-request-pending")
    access_request = AccessRequest.objects.get(organization=waiting_org)
    assert access_request.status == "pending" and access_request.requested_by == admin
    assert [m.to for m in mail.outbox] == [["beta-desk@aiphone360.test"]]

    # Staff review it in Django admin: the organisation at a glance, then approve with a message.
    staff_page.goto(f"{live_server.url}/admin/developer/accessrequest/")
    row = staff_page.locator("#result_list tbody tr", has_text="Bright Smile Dental")
    assert "PRO (active)" in row.inner_text() and "$50.00" in row.inner_text()
    assert "0 requests · $0.00" in row.inner_text()
    screenshot(staff_page, "access-admin-list")
    decide_in_admin(staff_page, live_server, "Bright Smile Dental", "approve", "Welcome to the beta!")
    staff_page.get_by_text("1 request(s) approved; the requesters were e-mailed.").wait_for()
    screenshot(staff_page, "access-admin-approved")
    access_request.refresh_from_db()
    assert access_request.status == "approved" and access_request.decision_message == "Welcome to the beta!"
    addon = PlatformAddon.objects.get(organization=waiting_org)
    assert addon.is_active and addon.granted_by is not None and addon.granted_by.username == "staff@aiphone360.test"
    assert mail.outbox[-1].to == ["dev@brightsmile.test", "admin@brightsmile.test"]
    assert "Welcome to the beta!" in mail.outbox[-1].body

    # Back on the dashboard: access granted, the decision shown, and keys can be created.
    page.reload()
    assert banner(page).get_attribute("data-step") == "granted"
    page.get_by_role("heading", name="Access granted").wait_for()
    page.get_by_test_id("decision-message").get_by_text("Welcome to the beta!").wait_for()
    screenshot(page, "access-granted")
    page.get_by_role("link", name="Go to API keys").click()
    page.get_by_role("heading", name="API keys", exact=True).wait_for()
    assert page.get_by_test_id("keys-blocked").count() == 0
    page.get_by_role("link", name="+ Create key").first.click()
    dialog = page.locator("dialog#dialog")
    dialog.get_by_label("Name").fill("Practice sync")
    dialog.get_by_text("Live", exact=True).click()
    dialog.get_by_role("button", name="Create key").click()
    secret = dialog.locator("#new-secret").input_value()
    assert re.fullmatch(r"aip_live_[A-Za-z0-9_\-]{43}", secret)
    screenshot(page, "access-first-key", full_page=False)
    key = ApiKey.objects.get(organization=waiting_org, name="Practice sync")
    assert key.key_hash == hash_secret(secret)

    # The key answers from the live server like any client would call it.
    response = httpx.get(f"{live_server.url}/api/public/v1/keys", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and [k["id"] for k in body["data"]] == [key.public_id]

    trail = list(AuditEntry.objects.filter(organization=waiting_org).values_list("action", "actor_label"))
    assert ("access_request.submitted", "admin@brightsmile.test") in trail
    assert ("addon.granted", "staff@aiphone360.test") in trail
    assert ("access_request.approved", "staff@aiphone360.test") in trail
    assert ("api_key.created", "admin@brightsmile.test") in trail


def test_denied_request_shows_its_reason(
    page: Any, staff_page: Any, live_server: Any, login_as: Any, waiting_org: Any
) -> None:
    member(waiting_org, "owner@brightsmile.test", Role.OWNER)
    login_as(page, live_server.url, "owner@brightsmile.test", PASSWORD)
    request_access(page, "owner@brightsmile.test")

    decide_in_admin(
        staff_page, live_server, "Bright Smile Dental", "deny", "We need to see your practice's website first."
    )
    staff_page.get_by_text("1 request(s) denied").wait_for()
    assert AccessRequest.objects.get(organization=waiting_org).status == "denied"

    page.reload()
    assert banner(page).get_attribute("data-step") == "request_denied"
    banner(page).get_by_text("Reason: We need to see your practice's website first.").wait_for()
    page.get_by_test_id("denied-reason").get_by_text("We need to see your practice's website first.").wait_for()
    page.get_by_role("heading", name="Send a new request").wait_for()
    screenshot(page, "access-denied")
    assert "declined" in mail.outbox[-1].subject

    # The banner follows to every other page.
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Request logs").click()
    page.get_by_role("heading", name="Request logs").wait_for()
    assert banner(page).get_attribute("data-step") == "request_denied"


def test_viewer_sees_the_state_but_cannot_submit(
    browser: Any, page: Any, live_server: Any, login_as: Any, waiting_org: Any
) -> None:
    member(waiting_org, "viewer@brightsmile.test", Role.VIEWER)
    login_as(page, live_server.url, "viewer@brightsmile.test", PASSWORD)
    banner(page).get_by_text("ask an owner or admin of Bright Smile Dental to request access").wait_for()
    assert banner(page).get_by_role("link", name="Request access").count() == 0
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Access").click()
    page.get_by_text("Only owners and admins can request access.").wait_for()
    assert page.locator("#request-form").count() == 0
    screenshot(page, "access-viewer")

    # Posting the form anyway (as a crafted request would) is refused by the server.
    status = page.evaluate("""async () => {
        const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
        const body = new URLSearchParams({intended_use: 'Let me in please, I am a viewer.',
            expected_monthly_volume: 'under_10k', contact_email: 'viewer@brightsmile.test'});
        const r = await fetch('/settings/developer/access/', {method: 'POST', body,
            headers: {'X-CSRFToken': token}});
        return r.status;
    }""")
    assert status == 403
    assert not AccessRequest.objects.exists()


def test_access_page_at_phone_width_and_without_javascript(browser: Any, live_server: Any, waiting_org: Any) -> None:
    member(waiting_org, "admin@brightsmile.test", Role.ADMIN)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, java_script_enabled=False
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill("admin@brightsmile.test")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live_server.url}/settings/developer/access/")
        assert_no_sideways_scroll(page)
        screenshot(page, "access-phone")
        # Without JavaScript the form posts and redirects; withdrawing is a plain form too.
        page.get_by_label("Intended use").fill(USE)
        page.get_by_label("Expected monthly volume").select_option("under_10k")
        page.get_by_role("button", name="Request access").click()
        page.get_by_role("heading", name="Request pending").wait_for()
        assert_no_sideways_scroll(page)
        screenshot(page, "access-phone-pending")
        page.get_by_role("button", name="Withdraw request").click()
        page.get_by_text("Request withdrawn.").wait_for()
        assert AccessRequest.objects.get(organization=waiting_org).status == "withdrawn"
    finally:
        context.close()
