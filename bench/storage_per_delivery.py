"""Bytes on disk per webhook delivery (event, delivery, attempts, with indexes) and per request-log row.

    .venv/bin/python bench/storage_per_delivery.py [--deliveries 3000] [--requests 20000]

PostgreSQL only (DATABASE_URL, default from bench/_server.py). One funded organisation with one
endpoint on a local receiver; ``--deliveries`` `call.completed` events (about 1.3 KB of JSON each,
a summary in English) go through the real engine (`deliveries_attempt`): the receiver answers 500 to
about 30 % of first attempts, so there are about 1.3 attempts per delivery. ``--requests`` request-log
entries (a mix of reads and writes, a handful of SDK user agents) go through the flush's writer
(`insert_entries`). Sizes are `pg_total_relation_size` (table, TOAST and indexes, every partition summed) of every
``webhooks_*`` table and of the request log with its user-agent table, after ANALYZE, minus what they held before the run, per
delivery and per request; then again after VACUUM FULL (the live rows alone, without the dead row
versions the updates left). A long transaction elsewhere on the server keeps dead versions through
VACUUM FULL: if the second figures are close to the first, run it again on a quieter server. A
figure to read, not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import threading
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import bench_env, prepare_database  # noqa: E402

FAIL_SHARE = 0.3  # of first attempts the receiver answers 500 to

_SENTENCES = [
    "The caller asked about the opening hours on Saturday and whether walk-ins are accepted.",
    "Booked a haircut and beard trim for Thursday at 14:30 with Sam; confirmation sent by SMS.",
    "The customer wanted to move their appointment to next week because of a work trip.",
    "Asked for the price of a full colour treatment; quoted from the price list, no booking made.",
    "Caller reported that the online booking page showed no free slots for the coming weekend.",
    "A returning client confirmed their address and asked for the invoice to be e-mailed again.",
    "The agent transferred the call to the front desk after the caller asked for the manager.",
    "Left a message for the stylist to call back about a product the client had a reaction to.",
    "Cancelled Friday's appointment; the caller will book again once their schedule is clear.",
    "Asked whether gift cards can be bought by phone; the agent explained the in-store process.",
]
_AGENTS = [  # what the SDKs send (sdks/python, sdks/typescript), and a few other clients
    "aiphone360-python/1.4.0 (python 3.12.1; httpx 0.27.0)",
    "aiphone360-python/1.4.0 (python 3.11.7; httpx 0.27.0)",
    "aiphone360-node/1.4.0 (node 20.11.1)",
    "Zapier",
    "curl/8.5.0",
]


def _call_data(n: int, rng: random.Random) -> dict[str, Any]:
    started = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=n * 37)
    ended = started + timedelta(seconds=rng.randint(30, 900))
    return {
        "id": f"call_{uuid.UUID(int=rng.getrandbits(128)).hex[:22]}",
        "direction": rng.choice(["inbound", "outbound"]),
        "from": f"+4420{rng.randint(10_000_000, 99_999_999)}",
        "to": "+442071234567",
        "status": "completed",
        "startedAt": started.isoformat().replace("+00:00", "Z"),
        "endedAt": ended.isoformat().replace("+00:00", "Z"),
        "durationSeconds": int((ended - started).total_seconds()),
        "summary": " ".join(rng.sample(_SENTENCES, 8)),
        "outcome": rng.choice(["appointment_booked", "question_answered", "transferred", "message_taken"]),
        "contact": {"id": f"con_{uuid.UUID(int=rng.getrandbits(128)).hex[:22]}", "name": "Alex Morgan"},
        "agent": {"id": f"agt_{uuid.UUID(int=rng.getrandbits(128)).hex[:22]}", "name": "Front desk"},
        "hasTranscript": True,
        "hasRecording": rng.random() < 0.7,
    }


class _Receiver:
    """Answers 500 to a share of first attempts (chosen by the delivery id), 200 to everything else."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                first = self.headers.get("X-AIP-Attempt") == "1"
                fails = (
                    first and zlib.crc32(self.headers.get("X-AIP-Delivery-Id", "").encode()) % 100 < FAIL_SHARE * 100
                )
                body = b'{"error":"upstream unavailable"}' if fails else b'{"received":true}'
                self.send_response(500 if fails else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/aiphone"


def _sizes(connection: Any, tables: list[str]) -> dict[str, int]:
    from core.partitions import table_bytes  # a partitioned table's size is its partitions' (PostgreSQL)

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")
        return {table: table_bytes(table, cursor) for table in tables}


def _vacuum_full(connection: Any, tables: list[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM FULL {table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()

    env = bench_env(CELERY_TASK_ALWAYS_EAGER="true", ROOT_URLCONF="config.urls", OUTBOUND_ALLOW_LOOPBACK="true")
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
    from developer.models import RequestLog, UserAgent
    from developer.public_api.request_log import insert_entries
    from developer.services import api_key_create
    from webhooks import delivery, events
    from webhooks.models import Delivery
    from webhooks.services import endpoint_create

    rng = random.Random(22)
    delivery.enqueue_turn = lambda **kwargs: True  # this process sends everything itself
    events.enqueue_fanout = lambda **kwargs: None

    receiver = _Receiver()
    org = organization_create(name=f"Storage {time.time():.0f}")
    subscription_set(organization=org, plan_code="ENTERPRISE", actor=None)
    addon_grant(organization=org, actor=None)
    wallet_credit(organization=org, amount=Decimal("1000000"), reason="Bench credit", actor=None)
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)

    with connection.cursor() as cursor:
        # Top-level tables only: a partitioned table's size already sums its partitions (table_bytes).
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND NOT relispartition "
            "AND relnamespace = 'public'::regnamespace AND relname LIKE 'webhooks\\_%%'"
        )
        webhook_tables = sorted(row[0] for row in cursor.fetchall())
    log_table, agent_table = RequestLog._meta.db_table, UserAgent._meta.db_table
    log_tables = [log_table, agent_table]  # a request's user agent is stored once, in its own table
    _vacuum_full(connection, [*webhook_tables, *log_tables])  # earlier runs' rows, compacted as they will be below
    before = _sizes(connection, [*webhook_tables, *log_tables])

    started = time.perf_counter()
    for n in range(args.deliveries):
        events.emit(organization=org, type="call.completed", data=_call_data(n, rng), mode="live")
    while pending := list(
        Delivery.objects.filter(organization=org, status=Delivery.Status.PENDING).values_list("pk", flat=True)
    ):
        Delivery.objects.filter(pk__in=pending).update(next_attempt_at=timezone.now())  # retries due now
        for i in range(0, len(pending), 200):
            delivery.deliveries_attempt(delivery_ids=pending[i : i + 200])
    attempts = sum(Delivery.objects.filter(organization=org).values_list("attempt_count", flat=True))
    body = events.Event.objects.filter(organization=org).latest("pk").body
    print(
        f"{args.deliveries:,} deliveries, {attempts:,} attempts ({attempts / args.deliveries:.2f} per delivery) "
        f"in {time.perf_counter() - started:.1f} s; a body is {len(body):,} bytes"
    )

    key, _ = api_key_create(organization=org, name="bench", mode="live", scopes=["read:calls"], actor=None)
    now = timezone.now()
    entries = []
    for n in range(args.requests):
        write = rng.random() < 0.3
        entries.append(
            {
                "request_id": "req_" + secrets.token_hex(12),  # new ids each run: a re-run is not deduped
                "key_id": key.pk,
                "org_id": org.pk,
                "mode": key.mode,
                "key_masked": key.masked,
                "method": "POST" if write else "GET",
                "path": "/api/public/v1/messages" if write else f"/api/public/v1/calls/call_{rng.getrandbits(88):022x}",
                "query": "" if write or rng.random() < 0.6 else "limit=20&status=completed",
                "status": rng.choice([200] * 18 + [404, 429]),
                "error_code": "",
                "latency_ms": rng.uniform(4, 120),
                "ip": f"203.0.113.{rng.randint(1, 254)}",
                "ua": rng.choice(_AGENTS),
                "at": (now - timedelta(milliseconds=(args.requests - n) * 11)).isoformat(),
            }
        )
    for i in range(0, len(entries), 500):
        insert_entries(entries[i : i + 500])

    def report(label: str, sizes: dict[str, int]) -> None:
        grown = {table: sizes[table] - before.get(table, 0) for table in sizes}
        per_delivery = sum(grown[t] for t in webhook_tables) / args.deliveries
        parts = ", ".join(f"{t.removeprefix('webhooks_')} {grown[t] / args.deliveries:,.0f}" for t in webhook_tables)
        print(f"{label:<18} webhooks {per_delivery:7,.0f} bytes per delivery ({parts})")
        per_request = sum(grown[t] for t in log_tables) / args.requests
        print(
            f"{'':<18} request log {per_request:7,.0f} bytes per request "
            f"(rows {grown[log_table] / args.requests:,.0f}, user agents {grown[agent_table] / args.requests:,.0f})"
        )

    report("after ANALYZE:", _sizes(connection, [*webhook_tables, *log_tables]))
    _vacuum_full(connection, [*webhook_tables, *log_tables])
    report("after VACUUM FULL:", _sizes(connection, [*webhook_tables, *log_tables]))
    receiver.server.shutdown()


if __name__ == "__main__":
    main()
