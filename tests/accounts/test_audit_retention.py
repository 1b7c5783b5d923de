"""Audit entries are kept AUDIT_RETENTION_DAYS (365 by default), then pruned in chunks by a beat task on the
maintenance queue; the dashboard's audit page says how long they are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from accounts.models import AuditEntry
from accounts.services import audit_prune, audit_record
from accounts.tasks import prune_audit_entries
from config.celery import app

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def _entry(org: Any, at: datetime, action: str) -> AuditEntry:
    with mock.patch("django.utils.timezone.now", autospec=True, return_value=at):
        return audit_record(organization=org, actor=None, action=action)


def test_entries_older_than_365_days_are_pruned_and_nothing_younger(org: Any, other_org: Any, settings: Any) -> None:
    assert settings.AUDIT_RETENTION_DAYS == 365
    AuditEntry.objects.all().delete()  # the fixtures' own entries, made at the real time
    year_ago = NOW - timedelta(days=365)
    for i in range(5):
        _entry(org, year_ago - timedelta(days=i, microseconds=1), f"old.{i}")
    _entry(other_org, year_ago - timedelta(days=30), "old.other")  # every organisation's, staff actions too
    _entry(None, year_ago - timedelta(days=2), "old.staff")
    _entry(org, year_ago, "kept.exactly_a_year")
    _entry(other_org, NOW - timedelta(days=1), "kept.recent")

    assert audit_prune(now=NOW, batch=2) == 7
    assert set(AuditEntry.objects.values_list("action", flat=True)) == {"kept.exactly_a_year", "kept.recent"}
    assert audit_prune(now=NOW) == 0


def test_the_retention_is_a_setting(org: Any, settings: Any) -> None:
    settings.AUDIT_RETENTION_DAYS = 90
    AuditEntry.objects.all().delete()
    _entry(org, NOW - timedelta(days=91), "older")
    _entry(org, NOW - timedelta(days=89), "younger")
    assert audit_prune(now=NOW) == 1
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["younger"]


def test_the_beat_task_prunes_on_the_maintenance_queue(org: Any, settings: Any) -> None:
    _entry(org, datetime(2020, 1, 1, tzinfo=UTC), "ancient")
    assert prune_audit_entries() == 1
    assert not AuditEntry.objects.filter(action="ancient").exists()
    app.loader.import_default_modules()
    assert app.amqp.router.route({}, "accounts.prune_audit_entries")["queue"].name == "maintenance"
    assert "accounts.prune_audit_entries" in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def test_the_audit_page_says_how_long_entries_are_kept(owner: Any, settings: Any) -> None:
    client = Client()
    client.force_login(owner)
    html = client.get("/settings/developer/audit/").content.decode()
    assert "Entries are kept for 365 days, then deleted." in html
    settings.AUDIT_RETENTION_DAYS = 730
    assert "Entries are kept for 730 days" in client.get("/settings/developer/audit/").content.decode()
