"""Signing in, in real Chromium: the allauth sign-in page, lockout after repeated failures, setting up an
authenticator app and its challenge at the next sign-in (codes computed here from the secret, as an app
would), and the password confirmation ("sudo") before revealing a webhook secret or creating a live key."""

from __future__ import annotations

import time
from typing import Any

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.sessions.backends.db import SessionStore

from accounts.models import Membership, Role
from accounts.services import membership_set, user_get_or_create
from accounts.signin import SIGNED_IN_AT_SESSION_KEY
from developer.models import ApiKey
from tests.accounts.totp import totp_code
from tests.browser.conftest import screenshot
from webhooks.services import endpoint_create

PASSWORD = "correct-horse-battery"
# A short TOTP step, so the challenge need not wait long for a code other than the enrolment's (each code is
# single-use). The tolerance accepts codes up to 10 steps (30 s) old or ahead: a loaded CI machine may take
# more than one step between computing a code and the server checking it, which made this test time out.
PERIOD = 3
TOLERANCE = 10


def window_codes(secret: str) -> set[str]:
    """Every code the server accepts right now."""
    now = time.time()
    return {totp_code(secret, period=PERIOD, at=now + step * PERIOD) for step in range(-TOLERANCE - 1, TOLERANCE + 2)}


def fill_sign_in(page: Any, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def age_session(page: Any) -> None:
    """Move this browser's sign-in an hour into the past: outside the sudo window."""
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=cookie["value"])
    session[SIGNED_IN_AT_SESSION_KEY] = time.time() - 3600
    session["account_authentication_methods"] = [
        {**record, "at": time.time() - 3600} for record in session.get("account_authentication_methods", [])
    ]
    session.save()


def test_sign_in_lands_on_the_dashboard_and_sign_out_ends_it(page: Any, live_server: Any, org: Any, owner: Any) -> None:
    page.goto(f"{live_server.url}/settings/developer/keys/")
    page.get_by_role("heading", name="Sign in").wait_for()  # sent to sign in first
    screenshot(page, "signin")
    fill_sign_in(page, "owner@acme.test", PASSWORD)
    page.get_by_role("heading", name="API keys", exact=True).wait_for()
    assert page.url.endswith("/settings/developer/keys/")
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    page.goto(f"{live_server.url}/settings/developer/keys/")
    page.get_by_role("heading", name="Sign in").wait_for()


def test_repeated_failures_lock_the_account(page: Any, live_server: Any, org: Any, owner: Any) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    for _ in range(5):
        fill_sign_in(page, "owner@acme.test", "not-the-password")
        page.get_by_role("alert").get_by_text("not correct").wait_for()
    # Locked: even the right password is refused now.
    fill_sign_in(page, "owner@acme.test", PASSWORD)
    page.get_by_role("alert").get_by_text("Too many failed login attempts").wait_for()
    screenshot(page, "signin-locked")
    page.goto(f"{live_server.url}/settings/developer/keys/")
    page.get_by_role("heading", name="Sign in").wait_for()


def test_member_sets_up_totp_and_is_challenged_at_the_next_sign_in(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any, settings: Any
) -> None:
    settings.MFA_TOTP_PERIOD = PERIOD
    settings.MFA_TOTP_TOLERANCE = TOLERANCE
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.get_by_role("link", name="Sign-in & security").first.click()
    page.get_by_role("heading", name="Sign-in & security").wait_for()
    page.get_by_role("link", name="Set up two-factor authentication").click()
    page.get_by_role("link", name="Activate").click()

    # The enrolment page: a QR code and the secret it encodes; the app's code confirms it.
    page.get_by_role("heading", name="Activate Authenticator App").wait_for()
    assert page.locator("img[src^='data:image/svg+xml']").count() == 1
    secret = page.locator("#authenticator_secret").input_value()
    screenshot(page, "totp-enrol")
    enrolment_code = totp_code(secret, period=PERIOD)
    page.get_by_label("Authenticator code").fill(enrolment_code)
    page.get_by_role("button", name="Activate").click()
    page.get_by_role("heading", name="Recovery Codes").wait_for()
    assert page.get_by_text("There are 10 out of 10 recovery codes available.").count() == 1
    screenshot(page, "totp-recovery-codes")

    page.get_by_role("button", name="Log out").click()
    page.goto(f"{live_server.url}/accounts/login/")
    fill_sign_in(page, "owner@acme.test", PASSWORD)
    page.get_by_role("heading", name="Two-Factor Authentication").wait_for()
    screenshot(page, "totp-challenge")
    wrong = next(code for code in ("000000", "111111", "222222") if code not in window_codes(secret))
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Incorrect code.").wait_for()
    # The enrolment's code is spent: wait for a step whose code differs from it.
    while (code := totp_code(secret, period=PERIOD)) == enrolment_code:
        time.sleep(PERIOD - time.time() % PERIOD + 0.05)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="API keys", exact=True).wait_for()


def test_revealing_a_webhook_secret_asks_for_the_password_when_the_sign_in_is_old(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any, receiver: Any
) -> None:
    endpoint, secret = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    age_session(page)
    endpoint_url = f"{live_server.url}/settings/developer/webhooks/{endpoint.public_id}/"
    page.goto(endpoint_url)
    page.get_by_role("button", name="Reveal secret").click()

    # htmx was told to leave for the confirmation page; nothing secret reached the browser.
    page.get_by_role("heading", name="Confirm Access").wait_for()
    assert secret not in page.content()
    screenshot(page, "reauthenticate")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("alert").wait_for()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    # Back on the endpoint's page, inside the window: the secret shows.
    page.wait_for_url(endpoint_url)
    page.get_by_role("button", name="Reveal secret").click()
    assert page.locator("#endpoint-secret").input_value() == secret


def test_creating_a_live_key_asks_for_the_password_when_the_sign_in_is_old(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any
) -> None:
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    age_session(page)
    keys_url = f"{live_server.url}/settings/developer/keys/"

    def create_live_key() -> None:
        page.get_by_role("link", name="+ Create key").first.click()
        dialog = page.locator("dialog#dialog")
        dialog.get_by_role("heading", name="Create an API key").wait_for()
        dialog.get_by_label("Name").fill("Production")
        dialog.get_by_text("Live", exact=True).click()
        dialog.get_by_role("button", name="Create key").click()

    create_live_key()
    page.get_by_role("heading", name="Confirm Access").wait_for()
    assert not ApiKey.objects.filter(organization=org).exists()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(keys_url)

    create_live_key()
    secret = page.locator("dialog#dialog #new-secret").input_value()
    assert secret.startswith("aip_live_")
    assert ApiKey.objects.get(organization=org, name="Production").mode == "live"


def test_owner_requires_two_factor_and_a_member_without_it_is_sent_to_set_it_up(
    browser: Any, page: Any, live_server: Any, org: Any, owner: Any
) -> None:
    secret = generate_totp_secret()
    TOTP.activate(owner, secret)
    member = user_get_or_create(email="admin@acme.test", password=PASSWORD)
    membership_set(organization=org, user=member, role=Role.ADMIN)

    page.goto(f"{live_server.url}/accounts/login/")
    fill_sign_in(page, "owner@acme.test", PASSWORD)
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="API keys", exact=True).wait_for()
    page.goto(f"{live_server.url}/settings/developer/security/")
    page.get_by_role("button", name="Require two-factor authentication").click()
    page.get_by_text("Every member now needs an authenticator app").wait_for()
    screenshot(page, "security-owner")
    # The owner changes the member's role on the Members page (signed in moments ago: inside the sudo window).
    page.get_by_role("link", name="Members", exact=True).first.click()
    page.get_by_label("Role of admin@acme.test").select_option("viewer")
    page.locator("tr[data-member='admin@acme.test']").get_by_role("button", name="Change role").click()
    page.get_by_text("admin@acme.test is now Viewer.").wait_for()
    org.refresh_from_db()
    assert org.require_two_factor
    assert Membership.objects.get(organization=org, user=member).role == Role.VIEWER

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    other = context.new_page()
    try:
        other.goto(f"{live_server.url}/accounts/login/")
        fill_sign_in(other, "admin@acme.test", PASSWORD)
        other.get_by_role("heading", name="Activate Authenticator App").wait_for()
        other.get_by_text("Acme Dental requires two-factor authentication").wait_for()
        other.goto(f"{live_server.url}/settings/developer/keys/")
        other.get_by_role("heading", name="Activate Authenticator App").wait_for()  # no way round it
    finally:
        context.close()
