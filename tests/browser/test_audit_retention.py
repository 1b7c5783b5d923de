"""The audit log page, in a real browser, after a prune: says how long entries are kept and shows only those."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import AuditEntry
from accounts.services import audit_prune, audit_record

from .conftest import screenshot

PASSWORD = "correct-horse-battery"


def test_the_audit_page_says_entries_are_kept_a_year_and_shows_none_older(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any
) -> None:
    old = audit_record(organization=org, actor=None, action="key.from_long_ago")
    recent = audit_record(organization=org, actor=None, action="key.from_last_month")
    AuditEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=366))
    AuditEntry.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=30))
    assert audit_prune() == 1

    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/audit/")
    page.get_by_role("heading", name="Audit log").wait_for()
    page.get_by_text("Entries are kept for 365 days, then deleted.").wait_for()
    assert page.locator("table.data").get_by_text("key.from_last_month").count() == 1
    assert "key.from_long_ago" not in page.content()
    screenshot(page, "audit-retention")
