"""One time component (issue 17 point 2): `<time datetime>` in the viewer's zone with its abbreviation and
UTC on hover; without JavaScript the organisation's zone, still labelled; admin says its zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from developer.models import ApiKey
from tests.conftest import make_key

from .conftest import screenshot

PASSWORD = "correct-horse-battery"
CREATED = datetime(2026, 7, 1, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_times_read_in_the_viewers_zone_with_utc_on_hover(
    javascript: bool, browser: Any, live_server: Any, login_as: Any, org: Any, owner: Any
) -> None:
    make_key(org, mode="test", name="Clock")
    ApiKey.objects.filter(organization=org, name="Clock").update(created_at=CREATED)
    context = browser.new_context(
        java_script_enabled=javascript,
        timezone_id="Asia/Tokyo",
        locale="en-US",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login_as(page, live_server.url, "owner@acme.test", PASSWORD)
        page.goto(f"{live_server.url}/settings/developer/audit/")
        moment = page.locator("time[data-moment]").first
        moment.wait_for()
        assert moment.get_attribute("datetime").endswith("Z")
        assert moment.get_attribute("title").endswith(" UTC")
        text = moment.inner_text()
        if javascript:
            assert "GMT+9" in text or "JST" in text, text  # the viewer's zone (Tokyo), labelled
        else:
            assert text.endswith(("EST", "EDT")), text  # the organisation's zone (New York), labelled
        page.goto(f"{live_server.url}/settings/developer/keys/")
        created = page.locator("tr", has_text="Clock").locator("time[data-moment]").first
        assert created.get_attribute("datetime") == "2026-07-01T12:30:00Z"
        assert created.get_attribute("title") == "2026-07-01 12:30:00 UTC"
        assert created.inner_text() == "Jul 1, 2026"
        screenshot(page, f"time-keys-{'js' if javascript else 'nojs'}")
    finally:
        context.close()


def test_admin_labels_its_zone(page: Any, live_server: Any, login_as: Any, django_user_model: Any) -> None:
    django_user_model.objects.create_superuser("staff@aiphone360.test", "staff@aiphone360.test", PASSWORD)
    login_as(page, live_server.url, "staff@aiphone360.test", PASSWORD)
    page.goto(f"{live_server.url}/admin/")
    assert page.get_by_test_id("admin-time-zone").inner_text() == "All times in UTC"
