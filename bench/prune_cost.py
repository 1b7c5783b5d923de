"""What a retention prune costs at two volumes, on the week-partitioned tables (PostgreSQL).

    .venv/bin/python bench/prune_cost.py [--volumes 100000 1000000]

PostgreSQL only (DATABASE_URL, default from bench/_server.py). For each volume N, the request log
gets N rows and the webhook log N finished deliveries (N events, 1.3 N attempts) 40 days back, in
a week wholly past the 30-day retention, plus N/10 of each today; then the maintenance tasks' prunes
(``request_log.prune``, ``deliveries_prune``) run and are timed; for comparison, at volumes up to
``--delete-up-to`` the same prunes are timed again on the DELETE path (SQLite's, and PostgreSQL's
before partitioning) over the same rows. Rows are cloned from one real
row with ``INSERT … SELECT`` over the table's own columns, so the script follows column changes.
Each prune runs beside an inserter on its own connection that writes into this week of every table
in a loop: its longest wait is what the prune's locks cost other work. The time is also split into
making partitions, the checks, the detaches (the only step that locks a parent) and the drops of the
detached tables (the file system freeing the files, which PostgreSQL does after releasing the locks).
A figure to read, not a test: the lock the prune holds should not grow with the volume.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import bench_env, prepare_database  # noqa: E402

ATTEMPTS_PER_DELIVERY = 1.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--delete-up-to", type=int, default=100_000, help="also time the row-by-row DELETE path up to this volume"
    )
    args = parser.parse_args()

    env = bench_env(CELERY_TASK_ALWAYS_EAGER="true", ROOT_URLCONF="config.urls")
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    prepare_database(env)

    import django

    django.setup()
    from decimal import Decimal

    from django.db import connection
    from django.utils import timezone

    from billing.services import addon_grant, organization_create, subscription_set
    from billing.wallet import wallet_credit
    from core import partitions
    from developer.public_api import request_log
    from webhooks import events
    from webhooks.delivery import deliveries_prune
    from webhooks.models import Attempt, Delivery
    from webhooks.services import endpoint_create

    if not partitions.is_partitioned("webhooks_delivery"):
        raise SystemExit("PostgreSQL with the partitioned tables is needed (DATABASE_URL)")
    tables = ("developer_requestlog", "webhooks_attempt", "webhooks_delivery", "webhooks_event")
    time_column = {"webhooks_attempt": "started_at"}

    org = organization_create(name=f"Prune bench {time.time():.0f}")
    subscription_set(organization=org, plan_code="ENTERPRISE", actor=None)
    addon_grant(organization=org, actor=None)
    wallet_credit(organization=org, amount=Decimal("100000"), reason="Bench credit", actor=None)
    events.enqueue_fanout = lambda **kwargs: None  # nothing is sent: the rows are what is measured

    def execute(sql: str, params: list[Any] | None = None) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, params or [])
            return cursor.fetchall() if cursor.description else None

    def columns(table: str) -> list[str]:
        rows = execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            [table],
        )
        return [name for (name,) in rows]

    def clone(table: str, template_id: int, count: int, overrides: dict[str, str], at: Any) -> None:
        """``count`` copies of one row, ``g`` running 1…count, every other column as the template's."""
        overrides = {**overrides, time_column.get(table, "created_at"): "%(at)s"}
        select = ", ".join(overrides.get(name, f't."{name}"') for name in columns(table))
        quoted = ", ".join(f'"{name}"' for name in columns(table))
        sql = (
            f"INSERT INTO {table} ({quoted}) SELECT {select} FROM {table} t, generate_series(1, %(n)s) g "
            "WHERE t.id = %(template)s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, {"at": at, "n": count, "template": template_id})

    # One real row of each kind, the templates.
    endpoint_create(organization=org, url="https://example.com/hook", events=["*"], actor=None)
    request_log.insert_entries(
        [
            {
                "request_id": "req_template",
                "org_id": org.pk,
                "mode": "live",
                "method": "GET",
                "path": "/api/public/v1/calls",
                "query": "limit=20",
                "status": 200,
                "latency_ms": 12.5,
                "ip": "203.0.113.7",
                "ua": "aiphone360-python/1.0",
                "at": timezone.now().isoformat(),
            }
        ]
    )
    template_delivery = Delivery.objects.get(
        event=events.emit(organization=org, type="call.completed", data={"callId": "call_" + "x" * 24}, mode="live")
    )
    Attempt.objects.create(delivery=template_delivery, number=1, response_status=200, succeeded=True, duration_ms=85)
    templates = {
        "developer_requestlog": execute("SELECT id FROM developer_requestlog WHERE request_id = 'req_template'")[0][0],
        "webhooks_event": template_delivery.event_id,
        "webhooks_delivery": template_delivery.pk,
        "webhooks_attempt": execute("SELECT id FROM webhooks_attempt WHERE delivery_id = %s", [template_delivery.pk])[
            0
        ][0],
    }
    execute(
        "UPDATE webhooks_delivery SET status = 'succeeded', next_attempt_at = NULL WHERE id = %s",
        [templates["webhooks_delivery"]],
    )

    def fill(n: int, at: Any, tag: str) -> None:
        base = execute("SELECT coalesce(max(id), 0) + 1000000000 FROM webhooks_event")[0][0]
        clone(
            "developer_requestlog",
            templates["developer_requestlog"],
            n,
            {"id": "nextval(pg_get_serial_sequence('developer_requestlog', 'id'))", "request_id": f"'req_{tag}_' || g"},
            at,
        )
        clone(
            "webhooks_event",
            templates["webhooks_event"],
            n,
            {"id": f"{base} + g", "public_id": f"'evt_{tag}_' || g"},
            at,
        )
        clone(
            "webhooks_delivery",
            templates["webhooks_delivery"],
            n,
            {"id": f"{base} + g", "public_id": f"'del_{tag}_' || g", "event_id": f"{base} + g"},
            at,
        )
        attempts = int(n * ATTEMPTS_PER_DELIVERY)
        clone(
            "webhooks_attempt",
            templates["webhooks_attempt"],
            attempts,
            {
                "id": "nextval(pg_get_serial_sequence('webhooks_attempt', 'id'))",
                "public_id": f"'att_{tag}_' || g",
                "delivery_id": f"{base} + 1 + mod(g - 1, {n})",
                "number": f"1 + (g - 1) / {n}",
            },
            at,
        )
        for table in tables:
            execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")

    # Where a prune's time goes: partitions made, the checks that decide which webhook weeks stay,
    # the detaches (the only step that locks a parent table), the drops of the detached tables (the
    # file system freeing their files, after PostgreSQL released the locks); the rest is row deletes.
    from webhooks import retention

    steps: dict[str, float] = {}

    def timed_step(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                steps[name] = steps.get(name, 0.0) + (time.perf_counter() - started) * 1000
                steps[f"{name} max"] = max(steps.get(f"{name} max", 0.0), (time.perf_counter() - started) * 1000)

        return wrapper

    partitions.ensure_partitions = timed_step("make", partitions.ensure_partitions)
    partitions._detach = timed_step("detach", partitions._detach)
    partitions._drop_detached = timed_step("files", partitions._drop_detached)
    retention._delivery_week_kept = timed_step("checks", retention._delivery_week_kept)
    retention._event_week_kept = timed_step("checks", retention._event_week_kept)

    # What other work feels: an inserter on its own connection writes a row into this week of each
    # table (and reads the organisation, which a foreign key's drop would lock) in a loop; its longest
    # wait during the prune, against its longest in as long a time before it, is the lock the prune held.
    def unique_column(table: str) -> str:
        return {"developer_requestlog": "request_id"}.get(table, "public_id")

    probe_sql = []
    for table in tables:
        unique = unique_column(table)
        names = [name for name in columns(table) if name != "id"]
        select = ", ".join(
            "clock_timestamp()"
            if name == time_column.get(table, "created_at")
            else "'probe_' || txid_current()"
            if name == unique
            else f't."{name}"'
            for name in names
        )
        quoted = ", ".join(f'"{name}"' for name in names)
        probe_sql.append(
            f"INSERT INTO {table} ({quoted}) SELECT {select} FROM {table} t WHERE t.id = {templates[table]}"
        )
    probe_sql.append(f"SELECT name FROM accounts_organization WHERE id = {org.pk}")

    def inserter(stop: threading.Event, waits: list[float]) -> None:
        import psycopg

        settings = connection.settings_dict
        with psycopg.connect(
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
            user=settings["USER"],
            password=settings["PASSWORD"],
            dbname=settings["NAME"],
            autocommit=True,
        ) as probe:
            while not stop.is_set():
                for sql in probe_sql:
                    started = time.perf_counter()
                    probe.execute(sql)
                    waits.append((time.perf_counter() - started) * 1000)
                time.sleep(0.005)

    def longest_wait(work: Any) -> tuple[float, int]:
        stop, waits = threading.Event(), list[float]()
        thread = threading.Thread(target=inserter, args=(stop, waits))
        thread.start()
        try:
            work()
        finally:
            stop.set()
            thread.join()
        return max(waits, default=0.0), len(waits)

    def measure(n: int, *, by_rows: bool) -> None:
        for table in tables:
            execute(f"DELETE FROM {table} WHERE id <> %s", [templates[table]])
        now = timezone.now()
        request_log.prune(now=now)  # untimed: what earlier runs left past retention goes first
        deliveries_prune(now=now)
        old = now - timedelta(days=40)
        for table in tables:
            partitions.ensure_partitions(table, time_column.get(table, "created_at"), now=old, ahead=0)
        fill(n, old, f"old{n}{by_rows}")
        fill(n // 10, now, f"new{n}{by_rows}")
        execute("ANALYZE")
        # The fill wrote gigabytes of WAL: flush them now, or the checkpoint they trigger would run
        # during the prune and charge it for the fill's writes (superuser, as the bench database is).
        execute("CHECKPOINT")
        before = {table: execute(f"SELECT count(*) FROM {table}")[0][0] for table in tables}

        real_is_partitioned = partitions.is_partitioned
        if by_rows:  # the DELETE path SQLite takes, on the same tables: today's cost, for comparison
            partitions.is_partitioned = lambda table, cursor=None: False
        timings: dict[str, float] = {}

        def prunes() -> None:
            started = time.perf_counter()
            request_log.prune(now=now)
            timings["request log"] = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            deliveries_prune(now=now)
            timings["webhooks"] = (time.perf_counter() - started) * 1000

        steps.clear()
        try:
            idle_wait, _ = longest_wait(lambda: time.sleep(3))
            load = os.getloadavg()[0]
            prune_wait, probes = longest_wait(prunes)
        finally:
            partitions.is_partitioned = real_is_partitioned
        request_log_ms, webhooks_ms = timings["request log"], timings["webhooks"]

        for table in tables:  # the inserter's rows, so the counts compare
            execute(f"DELETE FROM {table} WHERE {unique_column(table)} LIKE 'probe\\_%%'")
        after = {table: execute(f"SELECT count(*) FROM {table}")[0][0] for table in tables}
        gone = {table: before[table] - after[table] for table in tables}
        assert all(gone[table] >= n for table in tables), gone
        how = "rows (DELETE)" if by_rows else "whole weeks"
        print(
            f"{n:>12,} | {how:>14} | {request_log_ms:>15.1f} ms | {webhooks_ms:>11.1f} ms | "
            + ", ".join(f"{table} {after[table]:,}" for table in tables)
        )
        print(
            f"{'':>12}   concurrent inserter ({probes} statements): longest wait {prune_wait:.1f} ms during the "
            f"prunes, {idle_wait:.1f} ms in 3 s before them; load {load:.2f}"
        )
        if not by_rows:
            measured = sum(steps.get(name, 0.0) for name in ("make", "detach", "files", "checks"))
            print(
                f"{'':>12}   both prunes: make {steps.get('make', 0.0):.1f} ms, checks {steps.get('checks', 0.0):.1f} ms, "
                f"detach (parent locked) {steps.get('detach', 0.0):.1f} ms (longest {steps.get('detach max', 0.0):.1f}), "
                f"drop of the detached tables (file removal) {steps.get('files', 0.0):.1f} ms "
                f"(longest {steps.get('files max', 0.0):.1f}), the rest (row deletes, queries) "
                f"{request_log_ms + webhooks_ms - measured:.1f} ms"
            )

    print(f"{'rows past':>12} | {'pruned by':>14} | {'request-log prune':>18} | {'webhook prune':>14} | rows left")
    for n in args.volumes:
        measure(n, by_rows=False)
    for n in args.volumes:
        if n <= args.delete_up_to:
            measure(n, by_rows=True)


if __name__ == "__main__":
    main()
