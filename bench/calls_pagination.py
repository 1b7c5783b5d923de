"""Keyset pagination of GET /api/public/v1/calls over 1,000,000 calls on PostgreSQL.

Measures, through gunicorn and the full public-API stack (auth, gate, rate limiter, envelope):
- p50 latency of page 1 and of a page 100,000 rows deep (its cursor taken from row 100,000), requests
  alternating on one connection so the figure is latency, not queueing; the ratio deep / first
  (target ≤ 1.5);
- list requests per second on page 1 with several concurrent connections.

    python bench/calls_pagination.py [--rows 1000000] [--depth 100000] [--limit 100] [--requests 400]

Uses its own database (BENCH_CALLS_DATABASE_URL, default .../aiphone360_bench_calls) so the million
rows are generated once (with generate_series, in SQL) and reused by later runs. Needs PostgreSQL
and Redis on 127.0.0.1 and `wrk`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import bench_env, gunicorn, manage, prepare_database, wrk

ORG_NAME = "Bench calls"

# One statement: a million calls for one business, one every 2 seconds going back ~23 days (one in ten
# a test-mode call, which the live key's pages skip through the (organization, mode, …) index), with
# distinct opaque ids. Text columns are realistic in width so rows are not unrealistically small.
_INSERT = """
INSERT INTO phone_call (public_id, organization_id, mode, direction, from_number, to_number, status, started_at,
                        ended_at, duration_seconds, summary, outcome, contact_id, agent_public_id, agent_name,
                        created_at)
SELECT 'call_' || substr(md5('bench' || g::text), 1, 22),
       %(org)s,
       CASE WHEN g %% 10 = 0 THEN 'test' ELSE 'live' END,
       CASE WHEN g %% 7 = 0 THEN 'outbound' ELSE 'inbound' END,
       '+1415555' || lpad((g %% 10000)::text, 4, '0'),
       '+12125550100',
       'completed',
       now() - g * interval '2 seconds',
       now() - g * interval '2 seconds' + interval '95 seconds',
       95,
       'Caller asked about opening hours and booked a cleaning for next week. Simulated call ' || g,
       'question_answered', NULL, '', 'Receptionist', now()
FROM generate_series(1, %(rows)s) AS g
"""


def _shell(env: dict[str, str], code: str) -> str:
    return manage(env, "shell", "-v0", "-c", code).strip()


def ensure_calls(env: dict[str, str], rows: int) -> str:
    """The bench organisation's public id, with exactly `rows` calls (generated on the first run)."""
    out = _shell(
        env,
        f"""
import json
from django.db import connection, transaction
from accounts.models import Organization
from billing.services import organization_create
from billing.services import addon_grant, subscription_set
from billing.wallet import wallet_credit
from billing.models import Plan
from decimal import Decimal
from phone.models import Call
Plan.objects.filter(code='ENTERPRISE').update(rate_limit_per_minute=10_000_000)
org = Organization.objects.filter(name={ORG_NAME!r}).first()
if org is None:
    with transaction.atomic():
        org = organization_create(name={ORG_NAME!r})
        subscription_set(organization=org, plan_code='ENTERPRISE', actor=None)
        addon_grant(organization=org, actor=None)
        wallet_credit(organization=org, amount=Decimal('1000'), reason='Bench', actor=None)
count = Call.objects.filter(organization=org).count()
if count != {rows}:
    Call.objects.filter(organization=org).delete()
    with connection.cursor() as cursor:
        cursor.execute({_INSERT!r}, {{'org': org.pk, 'rows': {rows}}})
        cursor.execute('ANALYZE phone_call')
print(json.dumps({{'id': org.public_id, 'generated': count != {rows}}}))
""",
    )
    result = json.loads(out.splitlines()[-1])
    print(f"calls: {rows:,} for {result['id']} ({'generated now' if result['generated'] else 'reused'})")
    return result["id"]


def deep_cursor(env: dict[str, str], org_id: str, depth: int) -> tuple[str, str]:
    """The cursor the API returns after row `depth`, and the query plan of the page it opens."""
    out = _shell(
        env,
        f"""
import json
from django.db import connection
from accounts.models import Organization
from core.cursor import encode_cursor
from phone.models import Call
org = Organization.objects.get(public_id={org_id!r})
row = Call.objects.filter(organization=org, mode='live').order_by('-started_at', '-public_id').values_list(
    'started_at', 'public_id')[{depth} - 1]
cursor = encode_cursor(row[0], row[1])
with connection.cursor() as c:
    c.execute('''EXPLAIN (ANALYZE, BUFFERS) SELECT id FROM phone_call WHERE organization_id = %s AND mode = 'live'
                 AND started_at <= %s AND (started_at < %s OR (started_at = %s AND public_id < %s))
                 ORDER BY started_at DESC, public_id DESC LIMIT 101''', [org.pk, row[0], row[0], row[0], row[1]])
    plan = '\\n'.join(r[0] for r in c.fetchall())
print(json.dumps({{'cursor': cursor, 'plan': plan}}))
""",
    )
    result = json.loads(out.splitlines()[-1])
    return result["cursor"], result["plan"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--depth", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--requests", type=int, default=400, help="latency samples per page")
    parser.add_argument("--seconds", type=int, default=10, help="length of each throughput run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--port", type=int, default=8794)
    args = parser.parse_args()

    env = bench_env(
        DATABASE_URL=os.environ.get(
            "BENCH_CALLS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aiphone360_bench_calls"
        )
    )
    prepare_database(env)
    org_id = ensure_calls(env, args.rows)
    key = json.loads(
        manage(
            env,
            "create_api_key",
            "--org",
            org_id,
            "--mode",
            "live",
            "--scopes",
            "read:calls",
            "--name",
            "Bench",
            "--json",
        )
    )["secret"]
    cursor, plan = deep_cursor(env, org_id, args.depth)
    auth = {"Authorization": f"Bearer {key}"}

    with gunicorn(env, workers=2, threads=4, port=args.port) as base:
        first_url = f"{base}/api/public/v1/calls?limit={args.limit}"
        deep_url = f"{first_url}&cursor={cursor}"
        _check_pages(first_url, deep_url, auth, args.limit)
        wrk(first_url, headers=auth, seconds=2, connections=2)  # warm connections and caches
        wrk(deep_url, headers=auth, seconds=2, connections=2)
        # Requests to the two pages alternate on one keep-alive connection, so whatever else loads the
        # machine during the run weighs on both pages alike.
        first_ms, deep_ms = _interleaved_latency(first_url, deep_url, auth, args.requests)
        load = wrk(first_url, headers=auth, seconds=args.seconds, connections=args.connections)
        deep_load = wrk(deep_url, headers=auth, seconds=args.seconds, connections=args.connections)

    print(f"\nGET /calls?limit={args.limit} over {args.rows:,} calls (gunicorn 2x4, PostgreSQL, Redis)")
    first_p50, deep_p50 = statistics.median(first_ms), statistics.median(deep_ms)
    print(
        f"page 1                       p50 {first_p50:7.2f} ms   p90 {_p90(first_ms):6.2f} ms  "
        f"({len(first_ms)} requests, interleaved, 1 connection)"
    )
    print(
        f"page {args.depth:,} rows deep     p50 {deep_p50:7.2f} ms   p90 {_p90(deep_ms):6.2f} ms  "
        f"({len(deep_ms)} requests)"
    )
    print(f"ratio deep / first           {deep_p50 / first_p50:7.2f}      (target ≤ 1.5)")
    print(
        f"list throughput, page 1      {load['rps']:7.1f} req/s  ({args.connections} connections, "
        f"p50 {load['p50_ms']:.1f} ms, non-2xx {load['non2xx']})"
    )
    print(
        f"list throughput, deep page   {deep_load['rps']:7.1f} req/s  ({args.connections} connections, "
        f"p50 {deep_load['p50_ms']:.1f} ms, non-2xx {deep_load['non2xx']})"
    )
    print("\nplan of the deep page's query:\n  " + plan.replace("\n", "\n  "))
    if load["non2xx"] or deep_load["non2xx"]:
        print("warning: some responses were not 2xx — the figures are not comparable")


def _interleaved_latency(
    first_url: str, deep_url: str, auth: dict[str, str], count: int
) -> tuple[list[float], list[float]]:
    parts = urllib.parse.urlsplit(first_url)
    assert parts.hostname is not None, f"no host in {first_url!r}"
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    samples: dict[str, list[float]] = {first_url: [], deep_url: []}
    for _ in range(count):
        for url in (first_url, deep_url):
            target = urllib.parse.urlsplit(url)
            started = time.perf_counter()
            connection.request("GET", f"{target.path}?{target.query}", headers=auth)
            response = connection.getresponse()
            response.read()
            samples[url].append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                sys.exit(f"{url} answered {response.status}")
    connection.close()
    return samples[first_url], samples[deep_url]


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def _check_pages(first_url: str, deep_url: str, auth: dict[str, str], limit: int) -> None:
    """Both URLs answer a full page, and the deep one really starts past the cursor."""
    for url in (first_url, deep_url):
        request = urllib.request.Request(url, headers=auth)
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.loads(response.read())
        assert body["success"] and len(body["data"]) == limit, body.get("error")
    print(f"checked: both pages return {limit} calls")


if __name__ == "__main__":
    main()
