"""Cost of the usage-record and audit-entry prunes (README "Retention") on PostgreSQL, and that no report moves.

Writes `--rows` raw usage records past retention (half test mode older than 30 days, half live in a settled
month) plus as many kept ones, and `--rows` audit entries older than a year plus as many younger; then runs
the two prunes as beat would and prints rows deleted, seconds, rows per second and the mean time of one
1,000-row chunk (each chunk is its own transaction: the longest any row lock is held). Checks that exactly
the rows past retention went and that the usage rollups (what every report reads) are untouched.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> python bench/usage_retention.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import bench_env, prepare_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000, help="rows past retention, per table")
    args = parser.parse_args()
    env = bench_env()
    prepare_database(env)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.db.models import Sum

    from accounts.models import AuditEntry
    from accounts.services import audit_prune
    from billing.metering import usage_records_prune
    from billing.models import UsageRecord, UsageRollup
    from billing.services import organization_create
    from core.prune import PRUNE_BATCH

    now = datetime.now(UTC)
    org = organization_create(name=f"Retention bench {now.isoformat()}")
    UsageRollup.objects.create(
        organization=org, metric="webhook_attempts", mode="test", hour=now.replace(minute=0, second=0), quantity=7
    )
    rollups_before = UsageRollup.objects.aggregate(q=Sum("quantity"), a=Sum("amount"))
    settled = (now.replace(day=1) - timedelta(days=70)).replace(day=3)  # a month settled long ago
    rows = []
    for i in range(args.rows * 2):
        old = i < args.rows
        test = i % 2 == 0
        if old:
            at = now - timedelta(days=31, seconds=i) if test else settled + timedelta(seconds=i % 86_400)
        else:
            at = now - timedelta(days=29, seconds=i % 86_400) if test else now - timedelta(seconds=i % 3600)
        rows.append(
            UsageRecord(
                organization=org,
                metric="webhook_attempts",
                quantity=1,
                mode="test" if test else "live",
                reference=f"bench:{now.timestamp()}:{i}",
                created_at=at,
            )
        )
    started = time.monotonic()
    # The bench writes history: the times above, not auto_now_add's "now".
    UsageRecord._meta.get_field("created_at").auto_now_add = False
    AuditEntry._meta.get_field("created_at").auto_now_add = False
    UsageRecord.objects.bulk_create(rows, batch_size=5000)
    audit = [
        AuditEntry(
            organization=org,
            actor_type="system",
            actor_label="bench",
            action="bench",
            created_at=now - timedelta(days=400 if i < args.rows else 300),
        )
        for i in range(len(rows))
    ]
    AuditEntry.objects.bulk_create(audit, batch_size=5000)
    print(f"wrote {len(rows):,} usage records and {len(audit):,} audit entries in {time.monotonic() - started:.1f} s")

    for name, prune, model in (
        ("usage records", lambda: usage_records_prune(now=now), UsageRecord),
        ("audit entries", lambda: audit_prune(now=now), AuditEntry),
    ):
        before = model.objects.filter(organization=org).count()
        started = time.monotonic()
        deleted = prune()
        took = time.monotonic() - started
        chunks = max(1, -(-deleted // PRUNE_BATCH))
        left = model.objects.filter(organization=org).count()
        print(
            f"{name}: deleted {deleted:,} of {before:,} in {took:.2f} s ({deleted / took:,.0f} rows/s), "
            f"{chunks} chunks of {PRUNE_BATCH:,}, {took / chunks * 1000:.1f} ms per chunk; {left:,} kept"
        )
        assert deleted == args.rows and left == before - args.rows, (deleted, left)
    assert UsageRollup.objects.aggregate(q=Sum("quantity"), a=Sum("amount")) == rollups_before
    print(f"usage rollups unchanged ({rollups_before['q']} units): every report reads the same figures")
    UsageRecord.objects.filter(organization=org).delete()
    AuditEntry.objects.filter(organization=org).delete()


if __name__ == "__main__":
    main()
