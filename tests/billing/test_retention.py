"""Retention of raw usage records: test-mode ones go after 30 days, live ones once their month is settled
(35 days after it ends); every report gives the same figures before and after; a late duplicate within the
window still charges nothing; the prune runs on the maintenance queue."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from billing.metering import apply_api_counts, record_usage, usage_records_prune, usage_settled_before
from billing.models import LedgerEntry, Metric, UsageRecord, UsageRollup, Wallet
from billing.quota import encode_counter_field, epoch_hours
from billing.tasks import prune_usage_records
from config.celery import app
from developer.models import ApiKey
from tests.conftest import ApiClient, make_key

from .conftest import set_plan_terms

pytestmark = pytest.mark.django_db

OCT_5 = datetime(2026, 10, 5, 9, 15, tzinfo=UTC)
OCT_LAST_MINUTE = datetime(2026, 10, 31, 23, 59, 30, tzinfo=UTC)
NOV_FIRST_MINUTE = datetime(2026, 11, 1, 0, 0, 30, tzinfo=UTC)
NOV_20 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
# October ends at Nov 1 00:00 UTC; it is settled 35 days later.
OCT_SETTLED = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.fixture
def priced(org: Any, clock: Any) -> dict[str, Any]:
    """Priced webhook attempts and API requests (no free quota), a live and a test key, a reviewer."""
    set_plan_terms(
        org,
        webhook_attempts_free=0,
        webhook_attempt_price="0.0004",
        tool_invocations_free=0,
        tool_invocation_price="0.002",
        api_requests_free=0,
        api_request_block_price="0.40",
    )
    live_secret = make_key(org, name="Server")
    make_key(org, mode="test", name="Sandbox")
    return {
        "live": ApiKey.objects.get(organization=org, name="Server"),
        "test": ApiKey.objects.get(organization=org, name="Sandbox"),
        "api": ApiClient(live_secret),
    }


def _record(org: Any, clock: Any, at: datetime, reference: str, *, mode: str = "live", key: Any = None, **kw: Any):
    clock.return_value = at
    return record_usage(
        organization=org,
        metric=kw.get("metric", Metric.WEBHOOK_ATTEMPTS),
        quantity=kw.get("quantity", 1),
        mode=mode,
        reference=reference,
        api_key_id=key.pk if key else None,
    )


def _api_requests(org: Any, clock: Any, at: datetime, key: Any, count: int, mode: str = "live") -> None:
    clock.return_value = at
    field = encode_counter_field(epoch_hour=epoch_hours(at), organization_id=org.pk, api_key_id=key.pk, mode=mode)
    apply_api_counts(batch_id=f"{at.isoformat()}-{mode}", counts={field: count}, source="test")


def _reports(org: Any, priced: dict[str, Any], owner: Any, staff: Any, start: str, end: str) -> dict[str, Any]:
    """Every usage report there is, for the same range: GET /usage, the dashboard page's CSV, the dashboard's
    per-key CSV, and the reviewers' exports of rollups and ledger in admin."""
    api = priced["api"].get(f"/usage?from={start}&to={end}")
    assert api.status_code == 200, api.body
    dashboard = Client()
    dashboard.force_login(owner)
    query = f"range=custom&from={start}&to={end}"
    page_csv = dashboard.get(f"/settings/developer/usage/export.csv?{query}")
    key_csv = dashboard.get(f"/settings/developer/usage/export.csv?{query}&key={priced['live'].public_id}")
    assert page_csv.status_code == key_csv.status_code == 200
    admin = Client()
    admin.force_login(staff)
    rollup_ids = [str(pk) for pk in UsageRollup.objects.filter(organization=org).values_list("pk", flat=True)]
    ledger_ids = [str(pk) for pk in LedgerEntry.objects.filter(wallet__organization=org).values_list("pk", flat=True)]
    rollups = admin.post("/admin/billing/usagerollup/", {"action": "export_csv", "_selected_action": rollup_ids})
    ledger = admin.post("/admin/billing/ledgerentry/", {"action": "export_csv", "_selected_action": ledger_ids})
    assert rollups.status_code == ledger.status_code == 200
    return {
        "api": api.body["data"],
        "page_csv": _rows(page_csv.content),
        "key_csv": _rows(key_csv.content),
        "rollups_csv": _rows(rollups.content),
        "ledger_csv": _rows(ledger.content),
    }


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("staff@aiphone360.test", "staff@aiphone360.test", "pw")


def test_a_month_is_settled_35_days_after_it_ends_in_utc(settings: Any) -> None:
    assert settings.USAGE_RECORD_RETENTION_DAYS == 35
    assert usage_settled_before(OCT_SETTLED - timedelta(microseconds=1)) == datetime(2026, 10, 1, tzinfo=UTC)
    assert usage_settled_before(OCT_SETTLED) == datetime(2026, 11, 1, tzinfo=UTC)
    # Across a year end: December 2026 ends at Jan 1 and is settled on Feb 5, 2027.
    assert usage_settled_before(datetime(2027, 2, 4, 23, 59, tzinfo=UTC)) == datetime(2026, 12, 1, tzinfo=UTC)
    assert usage_settled_before(datetime(2027, 2, 5, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)


def test_live_records_of_a_settled_month_are_dropped_and_every_report_stays_the_same(
    org: Any, priced: dict[str, Any], owner: Any, staff: Any, clock: Any
) -> None:
    live, sandbox = priced["live"], priced["test"]
    _record(org, clock, OCT_5, "oct-first", key=live, quantity=3)
    _record(org, clock, OCT_5, "oct-tool", key=live, metric=Metric.TOOL_INVOCATIONS)
    _record(org, clock, OCT_5, "oct-system")  # caused by no key
    _api_requests(org, clock, OCT_5, live, 2500)
    _record(org, clock, OCT_LAST_MINUTE, "oct-last", key=live)
    _record(org, clock, NOV_FIRST_MINUTE, "nov-first", key=live)
    _record(org, clock, NOV_20, "nov-test", mode="test", key=sandbox, quantity=4)
    _api_requests(org, clock, NOV_20, sandbox, 300, mode="test")
    balance = Wallet.objects.get(organization=org).balance
    # 6 attempts × $0.0004 + 1 tool call × $0.002 + 2 blocks × $0.40
    assert balance == Decimal("50") - Decimal("0.0024") - Decimal("0.002") - Decimal("0.80")

    # One moment before October is settled nothing of it goes.
    clock.return_value = OCT_SETTLED - timedelta(microseconds=1)
    assert usage_records_prune() == 0

    clock.return_value = OCT_SETTLED
    before = _reports(org, priced, owner, staff, "2026-10-01", "2026-11-30")
    assert {r["metric"] for r in before["page_csv"]} >= {"webhook_attempts", "tool_invocations", "api_requests"}

    assert usage_records_prune(batch=2) == 4  # in chunks of two: exactly October's four records
    assert set(UsageRecord.objects.values_list("reference", flat=True)) == {"nov-first", "nov-test"}

    assert _reports(org, priced, owner, staff, "2026-10-01", "2026-11-30") == before
    assert Wallet.objects.get(organization=org).balance == balance
    assert usage_records_prune() == 0  # a re-run finds nothing more


def test_test_mode_records_go_after_30_days_and_every_report_stays_the_same(
    org: Any, priced: dict[str, Any], owner: Any, staff: Any, clock: Any
) -> None:
    live, sandbox = priced["live"], priced["test"]
    made = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    _record(org, clock, made, "test-old", mode="test", key=sandbox, quantity=2)
    _record(org, clock, made + timedelta(seconds=1), "test-newer", mode="test", key=sandbox)
    _record(org, clock, made, "test-by-system", mode="test", metric=Metric.SMS_SEGMENTS, quantity=3)
    _record(org, clock, made, "live-same-day", key=live)
    _api_requests(org, clock, made, sandbox, 900, mode="test")

    clock.return_value = made + timedelta(days=30)  # exactly 30 days: still kept
    assert usage_records_prune() == 0

    clock.return_value = made + timedelta(days=30, microseconds=500_000)
    before = _reports(org, priced, owner, staff, "2026-11-01", "2026-12-02")
    assert any(r["mode"] == "test" and r["metric"] == "sms_segments" for r in before["page_csv"])

    assert usage_records_prune() == 2
    # The one a second younger stays, and so does the live record of the same day (November is not settled).
    assert set(UsageRecord.objects.values_list("reference", flat=True)) == {"test-newer", "live-same-day"}
    assert _reports(org, priced, owner, staff, "2026-11-01", "2026-12-02") == before


def test_a_late_duplicate_within_the_window_charges_and_counts_nothing(org: Any, priced: dict[str, Any], clock: Any):
    live, sandbox = priced["live"], priced["test"]
    _record(org, clock, OCT_LAST_MINUTE, "attempt-oct", key=live)
    _record(org, clock, OCT_LAST_MINUTE, "attempt-test", mode="test", key=sandbox)
    ledger, rollups = LedgerEntry.objects.count(), list(UsageRollup.objects.values_list("quantity", "amount"))
    balance = Wallet.objects.get(organization=org).balance

    # The last moment each raw row is kept, after a prune: a duplicate still finds it.
    clock.return_value = OCT_LAST_MINUTE + timedelta(days=30)
    usage_records_prune()
    _, created = _record(org, clock, clock.return_value, "attempt-test", mode="test", key=sandbox)
    assert created is False
    clock.return_value = OCT_SETTLED - timedelta(seconds=1)
    usage_records_prune()
    _, created = _record(org, clock, clock.return_value, "attempt-oct", key=live)
    assert created is False

    assert LedgerEntry.objects.count() == ledger
    assert list(UsageRollup.objects.values_list("quantity", "amount")) == rollups
    assert Wallet.objects.get(organization=org).balance == balance


def test_the_beat_task_prunes_on_the_maintenance_queue(org: Any, priced: dict[str, Any], clock: Any, settings: Any):
    _record(org, clock, OCT_5, "old", key=priced["live"])
    clock.return_value = OCT_SETTLED
    assert prune_usage_records() == 1
    assert not UsageRecord.objects.exists()
    app.loader.import_default_modules()
    assert app.amqp.router.route({}, "billing.prune_usage_records")["queue"].name == "maintenance"
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "billing.prune_usage_records" in scheduled


def test_retention_settings_below_their_floor_are_refused() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEBUG": "true", "TEST_USAGE_RETENTION_DAYS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "TEST_USAGE_RETENTION_DAYS must be at least 7 days." in result.stderr
