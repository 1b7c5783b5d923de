"""Issue 17 B1/B2: every dialog keeps the page when the server answers a form with its errors (400), with
DEBUG on as under `make run` and off, and the standalone page of every dialog (opened in its own tab)
works with JavaScript on and off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from developer.models import ApiKey
from tests.conftest import make_key
from tests.webhooks.receiver import Receiver
from webhooks.models import Endpoint
from webhooks.services import endpoint_create

from .conftest import screenshot

PASSWORD = "correct-horse-battery"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(params=[True, False], ids=["debug-on", "debug-off"])
def debug(request: Any) -> Iterator[bool]:
    with override_settings(DEBUG=request.param):
        yield request.param


def test_dialog_errors_stay_in_the_dialog(
    debug: bool, page: Any, live_server: Any, login_as: Any, org: Any, owner: Any
) -> None:
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    # The debug script that replaces the page on 4xx answers is never loaded.
    assert page.locator("script[src*='django-htmx.js']").count() == 0

    # Create key with an empty name: the dialog shows the error, the page behind it is still the keys page.
    page.get_by_role("link", name="+ Create key").first.click()
    dialog = page.locator("dialog#dialog")
    dialog.get_by_role("button", name="Create key").click()
    dialog.get_by_text("Check the fields marked below.").wait_for()
    assert dialog.locator(".error-text").count() >= 1
    assert page.get_by_role("heading", name="API keys", exact=True).is_visible()
    assert page.get_by_role("navigation", name="Settings").is_visible()
    screenshot(page, f"b1-key-dialog-error-{'debug' if debug else 'nodebug'}", full_page=False)
    dialog.get_by_label("Name").fill("Fixed")
    dialog.get_by_role("button", name="Create key").click()
    dialog.locator("#new-secret").wait_for()
    assert ApiKey.objects.filter(organization=org, name="Fixed").count() == 1
    dialog.get_by_role("button", name="Done").or_(dialog.get_by_role("link", name="Done")).first.click()

    # Add endpoint with an empty URL.
    page.goto(f"{live_server.url}/settings/developer/webhooks/")
    page.get_by_role("link", name="+ Add endpoint").first.click()
    dialog.get_by_role("button", name="Add endpoint").click()
    dialog.get_by_text("Give the public https URL").wait_for()
    assert page.get_by_role("heading", name="Webhooks", exact=True).is_visible()
    assert Endpoint.objects.filter(organization=org).count() == 0

    # The data-field form on the agents page (swapped in place, no dialog): same.
    page.goto(f"{live_server.url}/settings/developer/agents/")
    form = page.get_by_role("form", name="Add a field").first
    form.get_by_role("button", name="Add field").click()
    page.locator("[data-testid=data-fields] .error-text").first.wait_for()
    assert page.get_by_role("navigation", name="Settings").is_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_standalone_pages_work(
    javascript: bool, browser: Any, live_server: Any, login_as: Any, org: Any, owner: Any, receiver: Receiver
) -> None:
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login_as(page, live_server.url, "owner@acme.test", PASSWORD)
        base = f"{live_server.url}/settings/developer"

        # keys/new in its own tab: an error, then the key and its secret on the keys page.
        page.goto(f"{base}/keys/new/")
        page.get_by_role("button", name="Create key").click()
        page.get_by_text("Check the fields marked below.").wait_for()
        page.get_by_label("Name").fill("Standalone")
        page.get_by_role("button", name="Create key").click()
        page.locator("#new-secret").wait_for()
        assert ApiKey.objects.filter(organization=org, name="Standalone").count() == 1

        # The rotate page.
        make_key(org, mode="test", name="Old one")
        old = ApiKey.objects.get(organization=org, name="Old one")
        page.goto(f"{base}/keys/{old.public_id}/rotate/")
        page.get_by_role("button", name="Rotate key").click()
        page.locator("#new-secret").wait_for()
        old.refresh_from_db()
        assert old.expires_at is not None

        # The endpoint form: an error, then the endpoint.
        page.goto(f"{base}/webhooks/new/")
        page.get_by_role("button", name="Add endpoint").click()
        page.get_by_text("Give the public https URL").wait_for()
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_text("All events", exact=True).click()
        page.get_by_role("button", name="Add endpoint").click()
        page.get_by_role("heading", name="Endpoint added — copy its signing secret").wait_for()
        assert Endpoint.objects.filter(organization=org, url=receiver.url).count() == 1

        # The webhook actions: rotate the secret, then delete.
        endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
        page.goto(f"{base}/webhooks/{endpoint.public_id}/rotate/")
        page.get_by_role("button", name="Rotate secret").click()
        page.get_by_role("heading", name="Secret rotated — copy the new secret").wait_for()
        page.goto(f"{base}/webhooks/{endpoint.public_id}/delete/")
        page.get_by_role("button", name="Delete endpoint").click()
        page.wait_for_url(lambda url: "/delete/" not in url)
        assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
        screenshot(page, f"b2-after-delete-{'js' if javascript else 'nojs'}")
    finally:
        context.close()
