"""The "Viewing test data" switch in real headless Chromium: it turns on a banner that stays on every
dashboard page (and after signing in again), the tools list follows it, and Copy to live takes a test tool
live from the page."""

from __future__ import annotations

from typing import Any

from accounts.models import AuditEntry, Membership
from agents.models import CustomTool
from agents.services import tool_create

from .conftest import screenshot

PASSWORD = "correct-horse-battery"


def _tool(org: Any, name: str, mode: str) -> CustomTool:
    return tool_create(
        organization=org,
        actor=None,
        mode=mode,
        name=name,
        description=f"The {mode} one.",
        input_schema={"type": "object", "properties": {}},
        endpoint_url="https://tools.example.com/orders",
    )


def test_the_switch_shows_a_banner_everywhere_and_the_tools_list_follows_it(
    page: Any, browser: Any, live_server: Any, login_as: Any, org: Any, owner: Any
) -> None:
    _tool(org, "live_lookup", "live")
    _tool(org, "sandbox_lookup", "test")
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/tools/")
    tools = page.get_by_role("table", name="Custom tools")
    tools.get_by_text("live_lookup").wait_for()
    assert tools.get_by_text("sandbox_lookup").count() == 0
    banner = page.get_by_test_id("test-data-banner")
    assert banner.count() == 0
    switch = page.get_by_role("switch", name="Viewing test data")
    assert switch.get_attribute("aria-checked") == "false"

    switch.click()
    page.wait_for_url(f"{live_server.url}/settings/developer/tools/")
    banner.wait_for()
    assert "You are viewing test data" in banner.inner_text()
    assert page.get_by_role("switch", name="Viewing test data").get_attribute("aria-checked") == "true"
    tools.get_by_text("sandbox_lookup").wait_for()
    assert tools.get_by_text("live_lookup").count() == 0
    # Unmistakable: a strong colour band across the page, above the content.
    colour = banner.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(232, 135, 30)"
    screenshot(page, "viewing-test-data-tools")

    # Every dashboard page carries the banner while the switch is on.
    for link in ("Agents", "Webhooks", "Request logs", "Usage", "API keys"):
        page.get_by_role("navigation", name="Settings").get_by_role("link", name=link).click()
        page.get_by_test_id("test-data-banner").wait_for()

    # Remembered for the person: a fresh browser context (a new sign-in) still views test data.
    assert Membership.objects.get(user=owner).viewing_mode == "test"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        other = context.new_page()
        login_as(other, live_server.url, "owner@acme.test", PASSWORD)
        other.goto(f"{live_server.url}/settings/developer/tools/")
        other.get_by_test_id("test-data-banner").wait_for()
        other.get_by_role("table", name="Custom tools").get_by_text("sandbox_lookup").wait_for()
    finally:
        context.close()

    # Off again: no banner, live tools.
    page.goto(f"{live_server.url}/settings/developer/tools/")
    page.get_by_role("switch", name="Viewing test data").click()
    page.wait_for_url(f"{live_server.url}/settings/developer/tools/")
    tools.get_by_text("live_lookup").wait_for()
    assert page.get_by_test_id("test-data-banner").count() == 0


def test_copy_to_live_from_the_tool_page(page: Any, live_server: Any, login_as: Any, org: Any, owner: Any) -> None:
    sandbox = _tool(org, "sandbox_lookup", "test")
    Membership.objects.filter(user=owner).update(viewing_mode="test")
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/tools/{sandbox.public_id}/")
    page.get_by_test_id("copy-to-live").click()
    page.get_by_text("Copied the tool sandbox_lookup to live.").wait_for()
    live = CustomTool.objects.get(organization=org, mode="live")
    assert live.name == "sandbox_lookup" and live.description == "The test one."
    assert AuditEntry.objects.filter(action="tool.copied_to_live", actor_user=owner).exists()

    # A second copy clashes with the live tool of that name: said on the page, nothing duplicated.
    page.get_by_test_id("copy-to-live").click()
    page.get_by_text("A live tool named sandbox_lookup already exists").wait_for()
    assert CustomTool.objects.filter(organization=org, mode="live").count() == 1

    # Switching to live data on the test tool's page lands on the live tools list (the live mode has no
    # such tool), where the copy is.
    page.get_by_role("switch", name="Viewing test data").click()
    page.wait_for_url(f"{live_server.url}/settings/developer/tools/")
    assert page.get_by_test_id("test-data-banner").count() == 0
    page.get_by_role("table", name="Custom tools").get_by_text("sandbox_lookup").wait_for()
