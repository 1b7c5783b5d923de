"""The custom tools dashboard in real headless Chromium: the editor's inline schema check, a real test-mode
call against a local HTTP endpoint, the invocation log's filters, the signing secret, viewers, no-JS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from accounts.models import AuditEntry
from agents.models import CustomTool, ToolInvocation
from agents.services import signing_secret_for, tool_create
from tests.webhooks.receiver import Receiver, Reply

from .conftest import screenshot

PASSWORD = "correct-horse-battery"
TOKEN = "tok_browser_0123456789abcd"


@pytest.fixture
def endpoint() -> Any:
    server = Receiver()
    server.default = Reply(
        status=200, body=b'{"status": "shipped", "eta": "2026-07-02"}', headers={"Content-Type": "application/json"}
    )
    yield server
    server.close()


def _tool(org: Any, url: str, **overrides: Any) -> CustomTool:
    fields = {
        "name": "lookup_order",
        "description": "Looks up an order by its number.",
        "endpoint_url": url,
        "input_schema": {
            "type": "object",
            "properties": {"orderNumber": {"type": "string", "minLength": 3}, "express": {"type": "boolean"}},
            "required": ["orderNumber"],
            "additionalProperties": False,
        },
        "auth": {"type": "bearer", "token": TOKEN},
        **overrides,
    }
    return tool_create(organization=org, actor=None, **fields)


def test_owner_writes_a_tool_checks_its_schema_inline_and_tests_it_for_real(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any, endpoint: Receiver
) -> None:
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/tools/")
    page.get_by_role("heading", name="No custom tools yet").wait_for()
    screenshot(page, "tools-empty")
    page.get_by_role("link", name="+ New tool").first.click()
    page.get_by_role("heading", name="New custom tool").wait_for()

    page.get_by_label("Name", exact=True).fill("lookup_order")
    page.get_by_label("Description").fill("Looks up an order by its number and returns its status.")
    schema = page.get_by_label("Input schema (JSON Schema)")
    schema.fill('{"type": "object", "properties": {"orderNumber": {"type": "strin"}}}')
    feedback = page.locator("#schema-feedback")
    feedback.get_by_text("properties.orderNumber.type").wait_for()  # inline, before saving
    schema.fill(
        json.dumps(
            {
                "type": "object",
                "properties": {"orderNumber": {"type": "string"}, "express": {"type": "boolean"}},
                "required": ["orderNumber"],
            }
        )
    )
    feedback.get_by_text("Valid schema — 2 inputs").wait_for()
    page.get_by_label("Endpoint URL").fill(endpoint.url)

    # Only the chosen auth type's inputs are shown.
    assert not page.get_by_label("Bearer token").is_visible()
    page.get_by_label("Send with every call").select_option("bearer")
    page.get_by_label("Bearer token").fill(TOKEN)
    assert not page.get_by_label("Header name").is_visible()
    page.get_by_label("Timeout").select_option("5")
    screenshot(page, "tool-editor")
    page.get_by_role("button", name="Create tool").click()

    page.get_by_text("Created the tool lookup_order.").wait_for()
    tool = CustomTool.objects.get(organization=org)
    assert tool.timeout_seconds == 5 and tool.auth_secret == TOKEN
    assert TOKEN not in page.content() and "Leave blank to keep ••••abcd" in page.content()

    # The test form comes from the schema; it makes a real call in test mode.
    test_form = page.locator("#test-form")
    test_form.get_by_label("orderNumber (required)").fill("A-1042")
    test_form.get_by_label("express").select_option("true")
    test_form.get_by_role("button", name="Run test").click()
    result = page.locator("#test-result")
    result.get_by_text("The tool answered.").wait_for()
    assert "Latency:" in result.inner_text()
    assert result.get_by_test_id("response-status").inner_text() == "200"
    assert '"shipped"' in result.get_by_test_id("response-body").inner_text()
    headers = result.get_by_test_id("request-headers").inner_text()
    assert "Bearer ••••abcd" in headers and TOKEN not in page.content()
    assert '"trusted": false' in result.get_by_test_id("ai-message").inner_text()
    screenshot(page, "tool-test-result")

    (request,) = endpoint.requests
    assert request.json == {
        "arguments": {"orderNumber": "A-1042", "express": True},
        "callSessionId": f"test_{tool.public_id}",
        "tool": "lookup_order",
    }
    assert request.headers["authorization"] == f"Bearer {TOKEN}" and request.headers["x-aip-mode"] == "test"
    invocation = ToolInvocation.objects.get()
    assert invocation.mode == "test" and invocation.status == "succeeded" and invocation.source == "dashboard"

    # Arguments that break the schema never reach the endpoint.
    page.get_by_text("Or send raw JSON arguments").click()
    test_form.get_by_label("Arguments (JSON)").fill('{"orderNumber": 42}')
    test_form.get_by_role("button", name="Run test").click()
    result.get_by_text("Arguments rejected — the endpoint was not called.").wait_for()
    assert "orderNumber" in result.get_by_test_id("response-body").inner_text()
    assert len(endpoint.requests) == 1

    # The list shows the last invocation's status.
    page.get_by_role("link", name="← Custom tools").click()
    row = page.locator(f"#tool-row-{tool.public_id}")
    assert "Rejected" in row.get_by_test_id("last-invoked").inner_text()
    screenshot(page, "tools-list")
    actions = set(AuditEntry.objects.filter(organization=org).values_list("action", flat=True))
    assert {"tool.created", "tool.tested"} <= actions


def test_the_invocation_log_filters_and_failures_are_explained(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any, endpoint: Receiver
) -> None:
    from agents.services import tool_invoke

    tool = _tool(org, endpoint.url)
    endpoint.reply(Reply(status=503, body=b"down for maintenance"))
    tool_invoke(tool=tool, arguments={"orderNumber": "A-1"}, call_session_id="call_1", mode="live")
    tool_invoke(tool=tool, arguments={"orderNumber": "A-2"}, call_session_id="call_2", mode="live")
    tool_invoke(tool=tool, arguments={"orderNumber": "A-3"}, call_session_id="call_3", mode="test")

    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/tools/invocations/")
    rows = page.get_by_test_id("invocation-row")
    rows.nth(1).wait_for()
    assert rows.count() == 2  # live data: the test-mode call shows while "Viewing test data" is on
    page.get_by_label("Status").select_option("failed")  # htmx swaps the table
    page.wait_for_url("**status=failed**")
    rows.first.wait_for()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=invocation-row]').length === 1")
    assert "http_error" in rows.first.inner_text()
    screenshot(page, "tool-invocations-filtered")
    rows.first.get_by_role("link").click()
    page.get_by_text("The call failed.").wait_for()
    assert "HTTP 503" in page.content() and "down for maintenance" in page.content()


def test_owner_reveals_and_rotates_the_signing_secret(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any
) -> None:
    secret = signing_secret_for(organization=org).secret
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/tools/")
    assert secret not in page.content()
    page.get_by_test_id("masked-signing-secret").wait_for()
    page.get_by_role("button", name="Reveal").click()
    assert page.locator("#tool-signing-secret").input_value() == secret
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate").click()
    page.get_by_text("Secret rotated.").wait_for()
    new = page.locator("#tool-signing-secret").input_value()
    assert new.startswith("whsec_") and new != secret and signing_secret_for(organization=org).secret == new
    assert AuditEntry.objects.filter(organization=org, action="tool.signing_secret_rotated").exists()


def test_viewers_see_tools_but_cannot_change_or_test_them(
    page: Any, live_server: Any, login_as: Any, org: Any, viewer: Any, endpoint: Receiver
) -> None:
    tool = _tool(org, endpoint.url)
    login_as(page, live_server.url, "viewer@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/tools/")
    page.get_by_role("link", name="lookup_order").click()
    page.get_by_role("heading", name="lookup_order").wait_for()
    assert page.get_by_label("Name", exact=True).is_disabled()
    assert page.get_by_role("button", name="Save tool").count() == 0
    assert page.get_by_role("button", name="Run test").count() == 0
    assert "Only owners and admins can run test calls." in page.content()
    assert page.get_by_role("button", name="Reveal").count() == 0
    assert tool.public_id in page.url


def test_the_test_form_works_without_javascript(
    browser: Any, live_server: Any, login_as: Any, org: Any, owner: Any, endpoint: Receiver
) -> None:
    tool = _tool(org, endpoint.url)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        login_as(page, live_server.url, "owner@acme.test", PASSWORD)
        page.goto(f"{live_server.url}/settings/developer/tools/{tool.public_id}/")
        page.locator("#test-form").get_by_label("orderNumber (required)").fill("A-555")
        page.locator("#test-form").get_by_role("button", name="Run test").click()
        page.get_by_text("The tool answered.").wait_for()
        assert "/settings/developer/tools/invocations/" in page.url
        assert endpoint.requests[0].json["arguments"] == {"orderNumber": "A-555"}
    finally:
        context.close()
