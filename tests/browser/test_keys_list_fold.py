"""Issue 17 point 7 in real Chromium: a rotated key's predecessors fold under it in a <details> and stay
revocable; revoked and expired keys sit behind a "Show revoked and expired" link — with and without JavaScript."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from developer import services
from developer.models import ApiKey
from tests.conftest import make_key

from .conftest import screenshot

PASSWORD = "correct-horse-battery"


@pytest.fixture
def chain(org: Any, owner: Any) -> list[ApiKey]:
    """Billing sync rotated twice (24 h grace), plus a revoked key and an expired one."""
    make_key(org, name="Billing sync")
    keys = [ApiKey.objects.get(name="Billing sync")]
    for _ in range(2):
        keys.append(services.api_key_rotate(key=keys[-1], grace="24h", actor=None)[0])
    make_key(org, name="Retired integration")
    services.api_key_revoke(key=ApiKey.objects.get(name="Retired integration"), actor=None)
    make_key(org, name="Pilot", mode="test")
    ApiKey.objects.filter(name="Pilot").update(expires_at=timezone.now() - timedelta(days=2))
    return keys


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_predecessors_fold_under_the_new_key_stay_revocable_and_ended_keys_hide_behind_a_filter(
    browser: Any, live_server: Any, chain: list[ApiKey], javascript: bool
) -> None:
    first, second, newest = chain
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=javascript)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill("owner@acme.test")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="API keys").wait_for()

        table = page.get_by_role("table", name="API keys")
        assert table.locator("tbody > tr").count() == 1  # the chain is one row; the ended keys are hidden
        assert "Retired integration" not in table.inner_text() and "Pilot" not in table.inner_text()
        fold = page.locator(f"tr#key-row-{newest.public_id}").get_by_test_id("key-previous")
        summary = fold.locator("summary")
        assert summary.inner_text() == "2 previous, expire within 24 h"
        assert not page.locator(f"li#key-row-{first.public_id}").is_visible()  # folded
        summary.click()  # a native <details>: opens with JavaScript off too
        assert page.locator(f"li#key-row-{second.public_id}").is_visible()
        assert page.locator(f"li#key-row-{first.public_id}").is_visible()
        screenshot(page, f"keys-fold-open-{'js' if javascript else 'nojs'}")

        # Revoke the oldest from inside the fold: the dialog with JavaScript, the standalone page without.
        page.get_by_role("link", name=f"Revoke the previous key {first.masked}").click()
        page.get_by_text(f"Revoking Billing sync ({first.masked}, live)").wait_for()
        page.get_by_role("button", name="Revoke Billing sync").click()
        page.get_by_text(f"Revoked Billing sync ({first.masked})").wait_for()
        first.refresh_from_db()
        assert first.revoked_at is not None
        second.refresh_from_db()
        newest.refresh_from_db()
        assert second.revoked_at is None and newest.revoked_at is None
        assert page.locator(f"tr#key-row-{newest.public_id} summary").inner_text() == "1 previous, expires within 24 h"

        # The filter: a plain link to ?show=all and back.
        page.get_by_role("link", name="Show revoked and expired").click()
        page.wait_for_url("**show=all**")
        text = table.inner_text()
        assert "Retired integration" in text and "Pilot" in text
        assert "Revoked" in text and "Expired" in text
        assert (
            page.locator(f"tr#key-row-{newest.public_id} summary").inner_text()
            == "2 previous, 1 expires within 24 h, 1 revoked or expired"
        )
        screenshot(page, f"keys-show-all-{'js' if javascript else 'nojs'}")
        page.get_by_role("link", name="Test").click()
        page.wait_for_url("**mode=test**")
        assert "show=all" in page.url and "Pilot" in table.inner_text()
        page.get_by_role("link", name="Hide revoked and expired").click()
        page.get_by_role("heading", name="No test keys in use").wait_for()
        assert "mode=test" in page.url and "show=all" not in page.url
    finally:
        context.close()
