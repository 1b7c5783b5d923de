"""Business alerts in real headless Chromium: the notice on top of the dashboard, its link to the alert
settings, and a member opting out of that kind (the notice goes away for them, not for the others)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct-horse-battery"


def test_an_owner_sees_the_notice_follows_it_and_opts_out(
    page: Any, live_server: Any, login_as: Callable[[Any, str, str, str], None]
) -> None:
    from accounts.models import Role
    from accounts.services import membership_set, user_get_or_create
    from developer.models import ApiKey
    from ops.alerts import alerts_evaluate
    from ops.models import Alert, AlertOptOut
    from tests.conftest import make_key, make_org

    org = make_org("Acme Dental")
    owner = user_get_or_create(email="owner@acme.test", password=PASSWORD)
    membership_set(organization=org, user=owner, role=Role.OWNER)
    make_key(org, mode="test", name="Old integration")
    ApiKey.objects.update(created_at=timezone.now() - timedelta(days=120))
    assert alerts_evaluate().opened == 1

    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/keys/")
    notice = page.get_by_role("alert").filter(has_text="unused for 90 days")
    notice.wait_for()
    assert "Old integration" in notice.inner_text()
    screenshot(page, "alerts-notice")

    notice.get_by_role("link", name="Alert settings").click()
    page.wait_for_url("**/settings/developer/alerts/")
    assert page.get_by_role("heading", name="Alerts", exact=True).is_visible()
    box = page.get_by_label("An API key unused for 90 days")
    assert box.is_checked()
    box.uncheck()
    page.get_by_label("Low-balance threshold (USD)").fill("20")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/settings/developer/alerts/")
    assert page.get_by_text("Alert settings saved.").is_visible()
    assert not page.get_by_label("An API key unused for 90 days").is_checked()
    assert page.get_by_label("Low-balance threshold (USD)").input_value() == "20.00"
    assert page.get_by_role("alert").filter(has_text="unused for 90 days").count() == 0
    # The alert is still open (the owner only chose not to see it) and listed in the history.
    assert Alert.objects.filter(cleared_at__isnull=True).count() == 1
    assert AlertOptOut.objects.filter(kind="key_unused").count() == 1
    assert page.get_by_role("table", name="Recent alerts").get_by_text("Open", exact=True).is_visible()
