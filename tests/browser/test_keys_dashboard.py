"""The API keys dashboard in real headless Chromium: create, secret once, masked on reload, rotate,
revoke, viewers read-only, the same flows without JavaScript, and screenshots of every page."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from accounts.models import AuditEntry, Role
from accounts.services import membership_set
from developer.keys import hash_secret
from developer.models import ApiKey, RequestLog
from developer.public_api import request_log
from developer.scopes import READ_ONLY_SCOPES
from tests.conftest import make_key, make_org

from .conftest import screenshot, wait_until_gone

pytestmark = pytest.mark.django_db(transaction=True)  # the live server thread must see committed rows

PASSWORD = "correct-horse-battery"
SECRET_RE = re.compile(r"^aip_(live|test)_[A-Za-z0-9_\-]{43}$")


def nav(page: Any) -> Any:
    return page.get_by_role("navigation", name="Settings")


def assert_no_sideways_scroll(page: Any) -> None:
    """At phone width only tables may scroll sideways, inside their own wrapper."""
    overflow = page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const scrolls = el => { for (let p = el.parentElement; p; p = p.parentElement) {
            if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true; } return false; };
        return [...document.querySelectorAll('body *')]
            .filter(el => !scrolls(el) && el.getBoundingClientRect().right > width + 1)
            .map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right));
    }""")
    assert overflow == [], overflow
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def _api_get(live_server: Any, path: str, secret: str) -> httpx.Response:
    return httpx.get(f"{live_server.url}/api/public/v1{path}", headers={"Authorization": f"Bearer {secret}"})


def test_owner_creates_sees_secret_once_rotates_and_revokes(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any
) -> None:
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    assert page.url.endswith("/settings/developer/keys/")
    page.get_by_role("heading", name="No API keys yet").wait_for()
    screenshot(page, "keys-empty")

    # Create: the dialog, the read-only preset, the secret shown once.
    page.get_by_role("link", name="+ Create key").first.click()
    dialog = page.locator("dialog#dialog")
    dialog.get_by_role("heading", name="Create an API key").wait_for()
    dialog.get_by_label("Name").fill("CRM sync")
    dialog.get_by_text("Live", exact=True).click()
    dialog.get_by_text("Read-only", exact=True).click()
    assert dialog.locator("input[name=scopes][value='read:calls']").is_checked()
    assert not dialog.locator("input[name=scopes][value='write:sms']").is_checked()
    screenshot(page, "key-create-dialog", full_page=False)
    dialog.get_by_role("button", name="Create key").click()

    secret_input = dialog.locator("#new-secret")
    secret_input.wait_for()
    secret = secret_input.input_value()
    assert SECRET_RE.match(secret) and secret.startswith("aip_live_")
    dialog.get_by_text("This is the only time the secret is shown").wait_for()
    dialog.get_by_role("button", name="Copy").click()
    dialog.get_by_text("Copied to clipboard.").wait_for()
    screenshot(page, "key-created-secret", full_page=False)

    key = ApiKey.objects.get(organization=org, name="CRM sync")
    assert key.key_hash == hash_secret(secret)
    assert key.mode == "live" and sorted(key.scopes) == sorted(READ_ONLY_SCOPES)

    # The table behind the dialog refreshed itself with the new, masked key.
    dialog.get_by_role("link", name="I've stored it — done").click()
    assert not dialog.is_visible()
    row = page.locator(f"#key-row-{key.public_id}")
    row.get_by_text(key.masked).wait_for()
    wait_until_gone(page, secret)
    assert secret not in page.content()

    # Reload: masked, never the secret again.
    page.reload()
    page.locator(f"#key-row-{key.public_id}").get_by_text(key.masked).wait_for()
    assert secret not in page.content()
    screenshot(page, "keys-list")

    # The key works against the API; the request shows up in the logs.
    assert _api_get(live_server, "/keys", secret).status_code == 200
    assert _api_get(live_server, "/nope?api_key=" + secret, secret).status_code == 404
    request_log.flush()
    assert RequestLog.objects.filter(organization=org, api_key=key).count() == 2

    # Rotate with a one-hour grace period.
    page.locator(f"#key-row-{key.public_id}").get_by_role("link", name="Rotate CRM sync").click()
    dialog.get_by_role("heading", name="Rotate “CRM sync”").wait_for()
    dialog.get_by_text("In 1 hour").click()
    screenshot(page, "key-rotate-dialog", full_page=False)
    dialog.get_by_role("button", name="Rotate key").click()
    new_secret = dialog.locator("#new-secret").input_value()
    assert SECRET_RE.match(new_secret) and new_secret != secret
    dialog.get_by_text(f"The old key {key.masked} keeps working until").wait_for()
    dialog.get_by_role("link", name="I've stored it — done").click()
    new_key = ApiKey.objects.get(rotated_from=key)
    assert new_key.key_hash == hash_secret(new_secret)
    page.locator(f"#key-row-{new_key.public_id}").wait_for()
    # The old key folds under its replacement: one line, opened to show it still working.
    page.locator(f"#key-row-{new_key.public_id}").get_by_text("1 previous, expires within 1 h").click()
    assert "Expiring" in page.locator(f"#key-row-{key.public_id}").inner_text()
    assert _api_get(live_server, "/keys", secret).status_code == 200  # still inside the grace period

    # Revoke the new key; the confirmation names it.
    page.locator(f"#key-row-{new_key.public_id}").get_by_role("link", name="Revoke CRM sync").click()
    dialog.get_by_text(f"Revoking CRM sync ({new_key.masked}, live) takes effect immediately").wait_for()
    screenshot(page, "key-revoke-dialog", full_page=False)
    dialog.get_by_role("button", name="Revoke CRM sync").click()
    # Revoked keys leave the list (the old key, still in its grace hour, is a row again) until the filter shows them.
    page.get_by_text(f"Revoked CRM sync ({new_key.masked})").wait_for()
    assert not dialog.is_visible()
    assert page.locator(f"#key-row-{new_key.public_id}").count() == 0
    page.locator(f"tr#key-row-{key.public_id}").wait_for()
    page.get_by_role("link", name="Show revoked and expired").click()
    page.locator(f"#key-row-{new_key.public_id}").get_by_text("Revoked").wait_for()
    assert "show=all" in page.url
    new_key.refresh_from_db()
    assert new_key.revoked_at is not None
    response = _api_get(live_server, "/keys", new_secret)
    assert response.status_code == 401 and response.json()["error"]["code"] == "INVALID_API_KEY"
    screenshot(page, "keys-after-revoke")

    actions = list(AuditEntry.objects.filter(organization=org).values_list("action", "actor_label"))
    assert ("api_key.created", "owner@acme.test") in actions
    assert ("api_key.rotated", "owner@acme.test") in actions
    assert ("api_key.revoked", "owner@acme.test") in actions

    # Request logs, one entry's detail, and the audit log.
    request_log.flush()
    nav(page).get_by_role("link", name="Request logs").click()
    page.get_by_role("heading", name="Request logs").wait_for()
    assert "INVALID_API_KEY" in page.content() and "RESOURCE_NOT_FOUND" in page.content()
    assert secret not in page.content() and "api_key=[REDACTED]" in page.content()
    screenshot(page, "logs")
    page.locator("table.data tbody tr").first.get_by_role("link").click()
    page.get_by_text("Request id").wait_for()
    screenshot(page, "log-detail")
    nav(page).get_by_role("link", name="Audit log").click()
    page.get_by_role("heading", name="Audit log").wait_for()
    assert "api_key.revoked" in page.content()
    screenshot(page, "audit")


def test_viewer_sees_keys_but_cannot_manage(page: Any, live_server: Any, login_as: Any, org: Any, viewer: Any) -> None:
    make_key(org, mode="test", name="Website")
    key = ApiKey.objects.get(organization=org, name="Website")
    login_as(page, live_server.url, "viewer@acme.test", PASSWORD)
    page.locator(f"#key-row-{key.public_id}").get_by_text(key.masked).wait_for()
    assert page.get_by_role("link", name="+ Create key").count() == 0
    assert page.get_by_role("link", name="Rotate Website").count() == 0
    assert page.get_by_role("link", name="Revoke Website").count() == 0
    assert page.get_by_role("link", name="Audit log").count() == 0
    screenshot(page, "keys-viewer")

    # The server refuses a hand-made POST, with a valid CSRF token, whatever the page showed.
    status = page.evaluate(
        """async (url) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const r = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}});
            return [r.status, await r.text()];
        }""",
        f"/settings/developer/keys/{key.public_id}/revoke/",
    )
    assert status[0] == 403 and "Only owners and admins can change this." in status[1]
    key.refresh_from_db()
    assert key.revoked_at is None
    page.goto(f"{live_server.url}/settings/developer/keys/new/")
    page.get_by_role("heading", name="You can't do that here").wait_for()
    screenshot(page, "forbidden")


def test_keys_pages_work_without_javascript(
    browser: Any, live_server: Any, login_as: Any, org: Any, owner: Any
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        login_as(page, live_server.url, "owner@acme.test", PASSWORD)
        page.get_by_role("link", name="+ Create key").first.click()
        assert page.url.endswith("/settings/developer/keys/new/")
        screenshot(page, "key-create-page")
        page.get_by_label("Name").fill("Cron job")
        page.get_by_text("Custom", exact=True).click()
        # Custom keeps only the ticked boxes: Full access was the default, so untick all but one.
        for box in page.locator("input[name=scopes]").all():
            box.set_checked(box.get_attribute("value") == "write:contacts")
        page.get_by_role("button", name="Create key").click()
        secret = page.locator("#new-secret").input_value()
        key = ApiKey.objects.get(organization=org, name="Cron job")
        assert key.key_hash == hash_secret(secret) and key.scopes == ["write:contacts"] and key.mode == "test"
        screenshot(page, "key-created-nojs")

        page.goto(f"{live_server.url}/settings/developer/keys/")
        assert secret not in page.content() and key.masked in page.content()

        page.get_by_role("link", name="Revoke Cron job").click()
        page.get_by_role("button", name="Revoke Cron job").click()
        page.get_by_text("Revoked Cron job").wait_for()
        key.refresh_from_db()
        assert key.revoked_at is not None
    finally:
        context.close()


def test_pages_at_phone_width_and_login_and_org_picker(browser: Any, live_server: Any, org: Any, owner: Any) -> None:
    second = make_org("Bayside Clinic")
    membership_set(organization=second, user=owner, role=Role.ADMIN)
    secret = make_key(org, mode="live", name="Production server")
    make_key(org, mode="test", name="Staging", scopes=list(READ_ONLY_SCOPES))
    for path in ("/keys?limit=2", "/calls/call_missing", "/keys"):
        _api_get(live_server, path, secret)
    request_log.flush()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        screenshot(page, "login-phone")
        page.get_by_label("Email").fill("owner@acme.test")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("alert").wait_for()
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        page.get_by_role("heading", name="Choose an organisation").wait_for()
        screenshot(page, "org-picker-phone")
        page.get_by_text("Acme Dental").click()
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("heading", name="API keys").wait_for()
        assert "Production server" in page.content()
        screenshot(page, "keys-phone")
        assert_no_sideways_scroll(page)

        page.get_by_role("link", name="+ Create key").first.click()
        page.locator("dialog#dialog").get_by_label("Name").wait_for()
        screenshot(page, "key-create-dialog-phone", full_page=False)
        page.keyboard.press("Escape")

        nav(page).get_by_role("link", name="Request logs").click()
        page.get_by_role("heading", name="Request logs").wait_for()
        screenshot(page, "logs-phone")
        assert_no_sideways_scroll(page)
        page.locator("table.data tbody tr").first.get_by_role("link").click()
        page.get_by_text("Request id").wait_for()
        screenshot(page, "log-detail-phone")
        assert_no_sideways_scroll(page)
        nav(page).get_by_role("link", name="Audit log").click()
        page.get_by_role("heading", name="Audit log").wait_for()
        screenshot(page, "audit-phone")
        assert_no_sideways_scroll(page)

        page.get_by_role("link", name="Switch").click()
        page.get_by_text("Bayside Clinic").click()
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("heading", name="No API keys yet").wait_for()
        assert "Production server" not in page.content()
        nav(page).get_by_role("link", name="Request logs").click()
        page.get_by_role("heading", name="No requests yet").wait_for()
        screenshot(page, "logs-empty-phone")
    finally:
        context.close()
