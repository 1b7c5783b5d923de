"""The claim and the sweep with 1,000,000 finished deliveries in the outbox, against an empty one.

    .venv/bin/python bench/webhook_claim_cost.py [--finished 1000000] [--pending 200]

PostgreSQL only (DATABASE_URL, default from bench/_server.py). One business with four endpoints and
``--pending`` due deliveries; a turn's claim (rolled back after each run, so every run claims the
same rows) and a sweep (its wakes not sent) are timed, median of 50 runs, before and after
``--finished`` succeeded deliveries are inserted; then the plans of their queries are printed.
A figure to read, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import bench_env, prepare_database  # noqa: E402


def timed(function: Any, runs: int = 50) -> float:
    """Median milliseconds of ``function`` over ``runs`` runs (after two warm-up runs)."""
    samples = []
    for n in range(runs + 2):
        started = time.perf_counter()
        function()
        if n >= 2:
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _delete_finished(connection: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM webhooks_attempt WHERE delivery_id IN "
            "(SELECT id FROM webhooks_delivery WHERE public_id LIKE 'del_fin%%')"
        )
        cursor.execute("DELETE FROM webhooks_delivery WHERE public_id LIKE 'del_fin%%'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finished", type=int, default=1_000_000)
    parser.add_argument("--pending", type=int, default=200)
    args = parser.parse_args()

    env = bench_env(CELERY_TASK_ALWAYS_EAGER="true", ROOT_URLCONF="config.urls")
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    prepare_database(env)

    import django

    django.setup()
    from decimal import Decimal

    from django.db import connection, transaction
    from django.utils import timezone

    from billing.services import addon_grant, organization_create, subscription_set
    from billing.wallet import wallet_credit
    from core.sql import ARRAY_PARAMETER, prepared_cursor
    from webhooks import delivery, events
    from webhooks.models import Delivery
    from webhooks.services import endpoint_create

    # The sweep's wakes are counted, not sent: this measures its queries.
    woken: list[tuple[int, str]] = []

    def count_wake(*, organization_id: int, lane: str, **kwargs: Any) -> bool:
        woken.append((organization_id, lane))
        return True

    delivery.enqueue_turn = count_wake

    org = organization_create(name=f"Claim cost {time.time():.0f}")
    subscription_set(organization=org, plan_code="ENTERPRISE", actor=None)
    addon_grant(organization=org, actor=None)
    wallet_credit(organization=org, amount=Decimal("100000"), reason="Bench credit", actor=None)
    for i in range(4):
        endpoint_create(organization=org, url=f"https://hooks.example.com/{i}", events=["*"], actor=None)
    events.enqueue_fanout = lambda **kwargs: None  # the rows stay pending, unsent
    for n in range(args.pending // 4):
        events.emit(organization=org, type="call.completed", data={"n": n}, mode="live")
    Delivery.objects.filter(organization=org).update(next_attempt_at=timezone.now() - timedelta(seconds=30))

    _delete_finished(connection)  # what an earlier, interrupted run left

    def claim() -> None:
        with transaction.atomic():
            batch = delivery._claim(organization_id=org.pk, lane="fast", now=timezone.now())
            assert batch.claims, "nothing was claimed"
            transaction.set_rollback(True)

    def sweep() -> None:
        with transaction.atomic():
            delivery.deliveries_sweep()
            transaction.set_rollback(True)

    def measure(label: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE webhooks_delivery")
        total = Delivery.objects.count()
        print(
            f"{label:<34} rows in the outbox {total:>9,}   claim {timed(claim):6.2f} ms   sweep {timed(sweep):6.2f} ms"
        )

    measure(f"{args.pending} pending:")

    started = time.perf_counter()
    event_id = Delivery.objects.filter(organization=org).values_list("event_id", flat=True).first()
    endpoint_ids = list(org.webhook_endpoints.values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO webhooks_delivery (public_id, organization_id, endpoint_id, event_id, status, status_reason,
                attempt_count, created_at, completed_at, next_attempt_at, last_status, source)
            SELECT 'del_fin' || n, %s, (%s::bigint[])[1 + n %% 4], %s, 'succeeded', '', 1,
                   now() - (n || ' seconds')::interval, now() - (n || ' seconds')::interval, NULL, 200, 'system'
            FROM generate_series(1, %s) AS n
            """,
            [org.pk, endpoint_ids, event_id, args.finished],
        )
    print(f"(inserted {args.finished:,} succeeded deliveries in {time.perf_counter() - started:.1f} s)")
    measure(f"{args.pending} pending, +{args.finished:,} finished:")

    now = timezone.now()
    # The claim's statements as the code runs them (prepared, the ids as arrays); the sweep's are ORM queries.
    statements: dict[str, tuple[str, list[Any]]] = {
        "claim: each endpoint's oldest due rows (delivery._DUE_SQL)": (
            delivery._DUE_SQL.format(only="", array=ARRAY_PARAMETER),
            [endpoint_ids, [11] * len(endpoint_ids), now, now],
        ),
        "claim: requests in flight per endpoint (delivery._IN_FLIGHT_SQL)": (
            delivery._IN_FLIGHT_SQL.format(array=ARRAY_PARAMETER),
            [endpoint_ids, now],
        ),
    }
    for label, (sql, params) in statements.items():
        with prepared_cursor(connection) as cursor:
            cursor.execute("EXPLAIN ANALYZE " + sql, params)
            print(f"\n-- {label}\n" + "\n".join(row[0] for row in cursor.fetchall()))
    plans = {
        "sweep: leases run out": Delivery.objects.filter(claimed_until__lte=now)
        .order_by()
        .values_list("pk", flat=True)[:500],
        "sweep: organisations with due work": Delivery.objects.filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=now, claimed_until__isnull=True
        )
        .values_list("organization_id", "endpoint__slow_since")
        .order_by()
        .distinct(),
    }
    for label, queryset in plans.items():
        print(f"\n-- {label}")
        print(queryset.explain(analyze=True))
    _delete_finished(connection)


if __name__ == "__main__":
    main()
