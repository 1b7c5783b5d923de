"""The API reference page in real headless Chromium: Redoc renders the OpenAPI document (operations,
envelopes, webhook events) from assets this app serves, and nothing is fetched from another origin
(Redoc's footer logo points at a CDN; the page's Content-Security-Policy blocks it)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery"


def test_reference_renders_every_section_from_local_assets(
    page: Any, live_server: Any, login_as: Any, owner: Any
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    fetched: list[str] = []  # requests that got a response: they reached a server
    page.on("response", lambda response: fetched.append(response.url))
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="API reference").click()
    page.wait_for_url(f"{live_server.url}/settings/developer/docs/")
    page.get_by_role("heading", name="API reference", exact=True).wait_for()
    page.locator("#redoc[aria-busy=false]").wait_for(timeout=30_000)

    redoc = page.locator("#redoc")
    # Operations, their scopes and errors, and the webhook events all come from the document.
    redoc.get_by_role("heading", name="Send an SMS from the business's number").wait_for()
    assert redoc.get_by_role("heading", name="List calls (newest first)").is_visible()
    assert redoc.get_by_text("Requires the `write:sms` scope.").count() == 0  # markdown rendered, not raw
    assert redoc.get_by_text("write:sms").count() >= 1, redoc.inner_text()[:2000]
    assert redoc.get_by_role("heading", name="A call ends and post-call processing finishes (incl. summary).").count()
    assert redoc.get_by_text("Idempotency-Key", exact=True).count() >= 1
    screenshot(page, "api-docs", full_page=False)
    redoc.get_by_role("heading", name="Send an SMS from the business's number").scroll_into_view_if_needed()
    screenshot(page, "api-docs-send-sms", full_page=False)

    assert errors == []
    local = (live_server.url, "blob:", "data:")
    assert [url for url in fetched if not url.startswith(local)] == [], "something was fetched from elsewhere"
    # The only other origin asked for is Redoc's logo, and the browser refused it without a request.
    assert [url for url in failed if url.startswith(local)] == []
    assert {url for url in requested if not url.startswith(local)} <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
    assert any(url.endswith("/api/public/v1/openapi.json") for url in requested)
    assert any("/static/drf_spectacular_sidecar/redoc/" in url for url in requested)
