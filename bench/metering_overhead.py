"""Cost and exactness of API-request metering.

1. Throughput of GET /api/public/v1/keys?limit=1 under gunicorn (2 workers each) on PostgreSQL +
   Redis, one server with metering on and one with METERING_ENABLED=false, side by side, with short
   wrk runs alternating between them. Target: on / off ≥ 0.9.
2. Exactness: exactly 100,000 requests on a fresh key from several client processes while this
   process flushes the Redis counters every half second (as the beat task would, racing the load);
   then the rollups must hold exactly 100,000 for that key, the month's counter must equal the sum
   of the organisation's live rollups, and the 1,000-request blocks past the free quota must be
   charged exactly once each with the balance equal to the ledger sum.

    python bench/metering_overhead.py [--seconds 5] [--rounds 6] [--requests 100000]

Needs PostgreSQL and Redis on 127.0.0.1 (DATABASE_URL / REDIS_URL override) and `wrk`.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import bench_env, gunicorn, prepare_database, provision, wrk

PATH = "/api/public/v1/keys?limit=1"
BENCH_FREE_QUOTA = 10_000  # small, so the exactness run also charges blocks


def _send(port: int, secret: str, count: int) -> dict[int, int]:
    """One client process: `count` keep-alive requests in a row; returns {status: responses}."""
    statuses: dict[int, int] = {}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {secret}"}
    for _ in range(count):
        try:
            connection.request("GET", PATH, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        except (OSError, http.client.HTTPException):
            # A failed exchange is reported, never retried: a retry could double-count on the server.
            status = -1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        statuses[status] = statuses.get(status, 0) + 1
    connection.close()
    return statuses


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="length of each throughput run")
    parser.add_argument("--rounds", type=int, default=6, help="off/on pairs of throughput runs")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--requests", type=int, default=100_000, help="requests in the exactness run")
    parser.add_argument("--clients", type=int, default=4, help="client processes in the exactness run")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    env_on = bench_env(METERING_ENABLED="true")
    env_off = bench_env(METERING_ENABLED="false")
    prepare_database(env_on)
    org_json, secret = provision(env_on)
    _setup_django(env_on)

    from django.db.models import Sum

    from accounts.models import Organization
    from billing.models import (
        LedgerEntry,
        Metric,
        MonthlyUsage,
        Plan,
        UsageRollup,
        Wallet,
    )
    from developer.public_api.apicount import api_counter, flush_api_usage
    from developer.services import api_key_create

    organization = Organization.objects.get(public_id=org_json["id"])
    plan = Plan.objects.get(pk=organization.subscription.plan_id)
    saved_free = plan.api_requests_free
    plan.api_requests_free = BENCH_FREE_QUOTA
    plan.save(update_fields=["api_requests_free"])
    try:
        # --- 1. throughput, metering off vs on ---------------------------------------------------
        # Both servers run side by side and short runs alternate between them (off/on, then on/off),
        # so load from anything else on the machine hits both alike; the ratio is taken per pair.
        auth = {"Authorization": f"Bearer {secret}"}
        results: dict[str, list[float]] = {"off": [], "on": []}
        with (
            gunicorn(env_off, workers=2, threads=args.threads, port=args.port) as base_off,
            gunicorn(env_on, workers=2, threads=args.threads, port=args.port + 1) as base_on,
        ):
            bases = {"off": base_off, "on": base_on}
            for base in bases.values():
                wrk(base + PATH, headers=auth, seconds=2, connections=args.connections)  # warm up
            for round_number in range(1, args.rounds + 1):
                order = ("off", "on") if round_number % 2 else ("on", "off")
                for label in order:
                    run = wrk(bases[label] + PATH, headers=auth, seconds=args.seconds, connections=args.connections)
                    if run["non2xx"]:
                        sys.exit(f"metering {label}: {run['non2xx']} non-2xx responses; the run is not comparable")
                    results[label].append(run["rps"])
                print(
                    f"round {round_number:2}  off {results['off'][-1]:8.1f} req/s   on {results['on'][-1]:8.1f} req/s"
                    f"   ratio {results['on'][-1] / results['off'][-1]:.3f}",
                    flush=True,
                )
        flush_api_usage()
        ratios = [on / off for on, off in zip(results["on"], results["off"], strict=True)]
        print(f"median      metering off: {statistics.median(results['off']):8.1f} req/s")
        print(f"median      metering on : {statistics.median(results['on']):8.1f} req/s")
        print(
            f"ratio on/off            : median of pairs {statistics.median(ratios):.3f}, of totals "
            f"{sum(results['on']) / sum(results['off']):.3f}  (target ≥ 0.90)",
            flush=True,
        )

        # The request path's whole metering cost, timed in this process: one HINCRBY per request.
        field = f"0:{organization.pk}:0:live"
        counter = api_counter()
        started = time.perf_counter()
        for _ in range(5000):
            counter.incr(field)
        per_call_us = (time.perf_counter() - started) / 5000 * 1e6
        counter.reset()
        print(f"counting cost           : {per_call_us:.0f} µs per request (one Redis HINCRBY)", flush=True)

        # --- 2. exactness after N requests, with flushes racing the load --------------------------
        key, key_secret = api_key_create(
            organization=organization, name="Exactness", mode="live", scopes=["read:usage"], actor=None
        )
        stop = threading.Event()
        flushes = {"runs": 0, "applied": 0}

        def flusher() -> None:
            while not stop.wait(0.5):
                flushes["applied"] += flush_api_usage()
                flushes["runs"] += 1

        per_client = [args.requests // args.clients] * args.clients
        per_client[0] += args.requests - sum(per_client)
        statuses: dict[int, int] = {}
        with gunicorn(env_on, workers=2, threads=args.threads, port=args.port):
            thread = threading.Thread(target=flusher, daemon=True)
            thread.start()
            started = time.monotonic()
            with ProcessPoolExecutor(args.clients) as pool:
                for result in pool.map(_send, [args.port] * args.clients, [key_secret] * args.clients, per_client):
                    for status, count in result.items():
                        statuses[status] = statuses.get(status, 0) + count
            elapsed = time.monotonic() - started
            stop.set()
            thread.join()
        flushes["applied"] += flush_api_usage()
        pending = sum(api_counter().pending().values())

        counted = UsageRollup.objects.filter(api_key=key).aggregate(s=Sum("quantity"))["s"] or 0
        org_live = (
            UsageRollup.objects.filter(organization=organization, metric=Metric.API_REQUESTS, mode="live").aggregate(
                s=Sum("quantity")
            )["s"]
            or 0
        )
        month = MonthlyUsage.objects.get(organization=organization, metric=Metric.API_REQUESTS)
        blocks = (
            LedgerEntry.objects.filter(wallet__organization=organization, metric=Metric.API_REQUESTS).aggregate(
                s=Sum("quantity")
            )["s"]
            or 0
        )
        expected_blocks = max(0, month.quantity - BENCH_FREE_QUOTA) // 1000
        balance = Wallet.objects.get(organization=organization).balance
        ledger = LedgerEntry.objects.filter(wallet__organization=organization).aggregate(s=Sum("amount"))["s"]
        ok_responses = statuses.get(200, 0)
        print(
            f"exactness run           : {args.requests:,} requests in {elapsed:.1f} s "
            f"({args.requests / elapsed:.0f} req/s, {args.clients} client processes), responses {statuses}"
        )
        print(f"flushes during the run  : {flushes['runs']} (applied {flushes['applied']:,} requests in total)")
        print(f"rollups for the key     : {counted:,}  (200 responses {ok_responses:,}; pending in Redis {pending})")
        print(f"month counter vs rollups: {month.quantity:,} vs {org_live:,}")
        print(f"blocks charged          : {blocks} (expected {expected_blocks} past {BENCH_FREE_QUOTA:,} free)")
        print(f"balance vs ledger sum   : {balance} vs {ledger}")
        exact = (
            counted == ok_responses == args.requests
            and month.quantity == org_live
            and blocks == expected_blocks == month.billed_units
            and balance == ledger
            and pending == 0
        )
        print("EXACT" if exact else "NOT EXACT")
        if not exact:
            sys.exit(1)
    finally:
        Plan.objects.filter(pk=plan.pk).update(api_requests_free=saved_free)


if __name__ == "__main__":
    main()
