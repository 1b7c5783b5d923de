"""The Content-Security-Policy in real headless Chromium: every dashboard page, the API reference and
the admin sign-in load with no CSP violation (no inline script or style, no eval, nothing from
elsewhere), and htmx still works under the policy: dialogs, form posts and polling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from tests.accounts.totp import totp_code
from tests.webhooks.receiver import Receiver
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery"

# Reports every violation to Python, including those the console does not show (eval refused inside
# a try/catch, a blocked style attribute). Playwright's init scripts are not subject to the page's CSP.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolation(
    [e.effectiveDirective, e.blockedURI, e.sourceFile + ":" + e.lineNumber, e.sample].join(" | ")));
"""

# Redoc's footer asks for its logo from a CDN; the policy refusing it is the point (no third-party fetch).
EXPECTED_ON_API_REFERENCE = "img-src | https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def violations(page: Any) -> Iterator[list[str]]:
    found: list[str] = []
    page.expose_function("__cspViolation", lambda text: found.append(text))
    page.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda message: found.append("console: " + message.text) if "Content Security Policy" in message.text else None,
    )
    yield found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def visit(page: Any, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")


def test_dashboard_pages_load_without_a_single_csp_violation(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any, violations: list[str], receiver: Receiver
) -> None:
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    for path in (
        "keys/",
        "webhooks/",
        f"webhooks/{endpoint.public_id}/",
        "tools/",
        "tools/new/",
        "tools/invocations/",
        "agents/",
        "agents/new/",
        "usage/",
        "logs/",
        "audit/",
        "security/",
    ):
        visit(page, f"{live_server.url}/settings/developer/{path}")
        assert violations == [], path
    # htmx read its configuration: no injected <style>, no eval.
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    assert page.evaluate("htmx.config.allowEval") is False
    assert page.locator("head style").count() == 0
    # allauth's account pages: two-factor, its enrolment (the QR code is a data: image), sessions, password.
    for path in ("2fa/", "2fa/totp/activate/", "sessions/", "password/change/", "reauthenticate/"):
        visit(page, f"{live_server.url}/accounts/{path}")
        assert violations == [], path


def test_api_reference_renders_with_only_the_cdn_logo_refused(
    page: Any, live_server: Any, login_as: Any, owner: Any, violations: list[str]
) -> None:
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    visit(page, f"{live_server.url}/settings/developer/docs/")
    page.locator("#redoc[aria-busy=false]").wait_for(timeout=30_000)
    page.locator("#redoc").get_by_role("heading", name="List calls (newest first)").wait_for()
    page.wait_for_load_state("networkidle")
    unexpected = [v for v in violations if not v.startswith(EXPECTED_ON_API_REFERENCE) and "logo-mini.svg" not in v]
    assert unexpected == []


def test_admin_sign_in_and_pages_work_under_the_policy(
    page: Any, live_server: Any, django_user_model: Any, violations: list[str], settings: Any
) -> None:
    settings.ADMIN_REQUIRE_TWO_FACTOR = True
    staff = django_user_model.objects.create_superuser("staff@acme.test", "staff@acme.test", PASSWORD)
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    # The admin signs in through allauth: password, then the authenticator's code.
    visit(page, f"{live_server.url}/admin/login/")
    page.get_by_label("Email").fill("staff@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Two-Factor Authentication").wait_for()
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Site administration").wait_for()
    for path in ("auth/user/", "auth/user/add/", "auth/group/add/"):
        visit(page, f"{live_server.url}/admin/{path}")
    # The admin's JavaScript runs (a static file): the theme toggle and the select-all checkbox.
    visit(page, f"{live_server.url}/admin/auth/user/")
    page.locator("#action-toggle").check()
    assert page.locator("input.action-select").first.is_checked()
    assert violations == []


def test_htmx_dialogs_posts_and_polling_work_under_the_policy(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any, violations: list[str], receiver: Receiver
) -> None:
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    # A dialog loaded by hx-get, a form posted by htmx, the list refreshed by an HX-Trigger event.
    page.get_by_role("link", name="+ Create key").first.click()
    dialog = page.locator("dialog#dialog")
    dialog.get_by_role("heading", name="Create an API key").wait_for()
    dialog.get_by_label("Name").fill("CSP check")
    with page.expect_request(lambda r: r.method == "POST" and r.headers.get("hx-request") == "true"):
        dialog.get_by_role("button", name="Create key").click()
    assert dialog.locator("#new-secret").input_value().startswith("aip_")
    dialog.get_by_role("link", name="Done").click()
    page.locator("table").get_by_text("CSP check").wait_for()

    # Polling ("every 5s", no eval filter) still refreshes the endpoint's health while the tab is visible.
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    visit(page, f"{live_server.url}/settings/developer/webhooks/{endpoint.public_id}/")
    with page.expect_request(
        lambda r: r.headers.get("hx-request") == "true" and endpoint.public_id in r.url, timeout=8000
    ):
        pass
    assert violations == []
