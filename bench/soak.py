"""Soak: the Procfile layout under a steady mixed workload, watched for drift, growth and lost deliveries.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 80]

Starts the Procfile's `web`, `worker`, `webhooks`, `webhooks_slow`, `maintenance` and `beat` on
PostgreSQL + Redis (DATABASE_URL / REDIS_URL, defaults from bench/_server.py) and 5 businesses, each
with a live and a test key and a webhook endpoint on a local receiver (all events, both modes). Then
offers --rate requests per second, open-loop (bench/overload.py's client, split over processes),
spread over the businesses:

- 55 % reads: contacts, calls, events, keys and the endpoint's deliveries (live key);
- 20 % writes: a new contact (live key; emits `contact.created`, so a webhook), or an update;
- 25 % test SMS: POST /messages with the test key (a synthetic send; emits `sms.sent`, a webhook).

Printed: req/s, latency percentiles and errors (each minute, to see drift, and overall); webhook
delivery lag (event created → first receipt) p50/p99, and whether every delivery arrived exactly
once; database growth per hour by table (pg_total_relation_size after − before, partitions summed
into their table, scaled to an hour); RSS growth per hour of every process (after a warm-up of a
tenth of the run, at most a minute; a process replaced meanwhile, e.g. by --max-requests, is
listed as such); and, per minute, the CPU each process kind used (in cores: web, each worker line,
PostgreSQL, Redis, the load generator) beside the machine's busy share, so a drift in latency can be
told apart from a machine that filled up. A figure to read, not a test. The load generator shares the
machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import bench_env, prepare_database  # noqa: E402
from bench.overload import Connections, free_port  # noqa: E402
from bench.webhook_isolation import Processes, Receiver, percentile, wait_until  # noqa: E402

PROCESSES = ("web", "worker", "webhooks", "webhooks_slow", "maintenance", "beat")
CLIENT_TIMEOUT = 10.0  # seconds
TO_NUMBER = "+14155550100"


@dataclass
class Business:
    live: str  # API key secrets
    test: str
    webhook_id: str
    contact_ids: list[str]


def provision(count: int, receiver_base: str) -> list[Business]:
    """`count` funded businesses through the services the API and the dashboard use."""
    import datetime
    from decimal import Decimal

    from billing.services import addon_grant, organization_create, subscription_set
    from billing.wallet import wallet_credit
    from developer.scopes import ALL_SCOPES
    from developer.services import api_key_create
    from phone import services as phone
    from phone.models import AiConfig
    from webhooks.services import endpoint_create

    businesses = []
    for n in range(count):
        org = organization_create(name=f"Soak {n} {time.time():.0f}")
        subscription_set(organization=org, plan_code="ENTERPRISE", actor=None)
        addon_grant(organization=org, actor=None)
        wallet_credit(organization=org, amount=Decimal("100000"), reason="Bench credit", actor=None)
        phone.business_number_add(organization=org, number=f"+1415{random.randrange(10**7):07d}")
        for mode in ("live", "test"):
            phone.ai_config_for(organization=org, mode=mode)
        # Texts at any hour: the soak must not depend on the time of day.
        AiConfig.objects.filter(organization=org).update(
            sms_quiet_hours_start=datetime.time(0), sms_quiet_hours_end=datetime.time(0)
        )
        _, live = api_key_create(organization=org, name="Soak live", mode="live", scopes=list(ALL_SCOPES), actor=None)
        _, test = api_key_create(organization=org, name="Soak test", mode="test", scopes=list(ALL_SCOPES), actor=None)
        endpoint, _ = endpoint_create(organization=org, url=f"{receiver_base}/{n}", events=["*"], actor=None)
        contacts = [
            phone.contact_create(organization=org, phone_number=f"+1212555{i:04d}", name=f"Seed {i}", mode="live")
            for i in range(20)
        ]
        businesses.append(Business(live, test, endpoint.public_id, [c.public_id for c in contacts]))
    return businesses


def pick(rng: random.Random, business: Business, n: int) -> tuple[str, str, str, bytes]:
    """One request of the mix: (key secret, method, path, JSON body)."""
    roll = rng.random()
    if roll < 0.55:
        path = rng.choice(
            [
                "/api/public/v1/contacts?limit=10",
                "/api/public/v1/calls?limit=10",
                "/api/public/v1/events?limit=10",
                "/api/public/v1/keys?limit=5",
                f"/api/public/v1/webhooks/{business.webhook_id}/deliveries?limit=10",
            ]
        )
        return business.live, "GET", path, b""
    if roll < 0.65:
        body = {"phoneNumber": f"+1646{rng.randrange(10**7):07d}", "name": f"Soak {n}"}
        return business.live, "POST", "/api/public/v1/contacts", json.dumps(body).encode()
    if roll < 0.75:
        contact = rng.choice(business.contact_ids)
        body = {"company": f"Soak {n}"}
        return business.live, "PATCH", f"/api/public/v1/contacts/{contact}", json.dumps(body).encode()
    body = {"to": TO_NUMBER, "body": f"Soak text {n}"}
    return business.test, "POST", "/api/public/v1/messages", json.dumps(body).encode()


async def offer(
    base: str, businesses: list[Business], *, rate: float, seconds: float, start: float, part: int, parts: int
) -> list[tuple[float, float, int]]:
    """This process's share: requests part, part + parts, …; returns (planned epoch, latency, status)."""
    host, port = base.removeprefix("http://").split(":")
    connections = Connections(host, int(port), "")
    loop = asyncio.get_running_loop()
    rng = random.Random(part)
    results: list[tuple[float, float, int]] = []

    async def one(planned: float, request: tuple[str, str, str, bytes]) -> None:
        secret, method, path, body = request
        try:
            status = await asyncio.wait_for(
                connections.request(method, path, headers=f"Authorization: Bearer {secret}\r\n", body=body),
                CLIENT_TIMEOUT,
            )
        except TimeoutError:
            status = -1
        results.append((planned - begin + start, loop.time() - planned, status))

    begin = loop.time() + (start - time.time())
    tasks = []
    for i in range(part, int(rate * seconds), parts):
        planned = begin + i / rate
        if (delay := planned - loop.time()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(planned, pick(rng, businesses[i % len(businesses)], i))))
    await asyncio.gather(*tasks)
    return results


def _offer_part(*args: Any) -> list[tuple[float, float, int]]:
    base, businesses, rate, seconds, start, part, parts = args
    return asyncio.run(offer(base, businesses, rate=rate, seconds=seconds, start=start, part=part, parts=parts))


def rss_by_process(processes: Processes) -> dict[tuple[str, int], int]:
    """RSS in bytes of every process in each Procfile process's group (its children included)."""
    groups = {process.pid: name for name, process in processes.running.items()}
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            group = int(fields[2])  # pgrp
            if group in groups:
                rss = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("VmRSS:"))
                found[(groups[group], int(entry.name))] = int(rss.split()[1]) * 1024
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    return found


def table_sizes() -> dict[str, int]:
    """Bytes per table, indexes and TOAST included; a partition counts in its partitioned table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COALESCE(pg_partition_root(c.oid), c.oid)::regclass::text, SUM(pg_total_relation_size(c.oid))
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
            GROUP BY 1
            """
        )
        return {name: int(size) for name, size in cursor.fetchall()}


def deliveries_since(started: float, endpoint_ids: list[str]) -> list[tuple[str, str, float]]:
    """(event id, endpoint path suffix, event created epoch) of each delivery made for the bench's endpoints."""
    from webhooks.models import Delivery

    rows = Delivery.objects.filter(endpoint__public_id__in=endpoint_ids, event__created_at__gte=_aware(started))
    return [
        (event_id, f"/{endpoint_ids.index(endpoint_id)}", created.timestamp())
        for event_id, endpoint_id, created in rows.values_list(
            "event__public_id", "endpoint__public_id", "event__created_at"
        )
    ]


def _aware(epoch: float) -> Any:
    import datetime

    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:6.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=80, help="requests per second offered")
    parser.add_argument("--businesses", type=int, default=5)
    parser.add_argument("--clients", type=int, default=2, help="client processes sharing the offer")
    args = parser.parse_args()
    seconds = args.minutes * 60

    env = bench_env(
        OUTBOUND_ALLOW_LOOPBACK="true",
        CELERY_TASK_ALWAYS_EAGER="false",
        ROOT_URLCONF="config.urls",
        PORT=str(free_port()),
    )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    prepare_database(env)
    import django

    django.setup()

    receiver = Receiver()
    businesses = provision(args.businesses, receiver.base)
    endpoint_ids = [b.webhook_id for b in businesses]
    base = f"http://127.0.0.1:{env['PORT']}"
    log_dir = tempfile.mkdtemp(prefix="soak-")
    processes = Processes(env, log_dir)
    try:
        for name in PROCESSES:
            processes.start(name)
        if not wait_until(lambda: web_answers(base), 120):
            raise SystemExit(f"the web process never answered (logs in {log_dir})")

        cpu = CpuSampler(processes, env["DATABASE_URL"].rsplit("/", 1)[-1])
        with ProcessPoolExecutor(args.clients) as pool:
            print(
                f"offering {args.rate:g} req/s for {args.minutes:g} min over {args.businesses} businesses", flush=True
            )
            sizes_before = table_sizes()
            started = time.time()
            start = started + 0.5
            cpu.begin(start)
            shares = [
                pool.submit(_offer_part, base, businesses, args.rate, seconds, start, part, args.clients)
                for part in range(args.clients)
            ]
            warm = min(60.0, seconds / 10)
            time.sleep(warm)
            rss_before, rss_at = rss_by_process(processes), time.time()
            results = [row for share in shares for row in share.result()]
            rss_after, rss_end = rss_by_process(processes), time.time()
            cpu.stop()

        # Let the workers finish what was emitted, then compare with what arrived.
        expected = deliveries_since(started, endpoint_ids)
        wait_until(lambda: all((e, p) in receiver.seen() for e, p, _ in expected), 120)
        expected = deliveries_since(started, endpoint_ids)
        sizes_after = table_sizes()
        elapsed = time.time() - started
        report(results, expected, receiver, start, seconds)
        cpu.report()
        report_growth(sizes_before, sizes_after, elapsed)
        report_rss(rss_before, rss_after, rss_end - rss_at)
    finally:
        processes.stop_all()
        receiver.server.shutdown()
        print(f"process logs: {log_dir}")


def web_answers(base: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(base + "/healthz", timeout=2)
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _cpu_by_pid() -> dict[int, tuple[int, str, float]]:
    """(process group, command, CPU seconds used) of every process."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, _, rest = (entry / "stat").read_text().rpartition(")")
            fields = rest.split()
            # utime and stime only: a reaped child's CPU lands in its parent's cutime/cstime, and each
            # process here is counted on its own while it lives (a recycled one loses its last minute).
            used = sum(int(value) for value in fields[11:13]) / tick
            found[int(entry.name)] = (int(fields[2]), head.partition("(")[2], used)
        except (OSError, IndexError, ValueError):
            continue
    return found


def _busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (not idle or waiting for I/O), all cores summed."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """Each minute of the offer, the CPU (in cores) each kind of process used: a Procfile process and its
    children, PostgreSQL, Redis, this bench with its client processes, and the whole machine."""

    def __init__(self, processes: Processes, database: str) -> None:
        self.processes = processes
        self.database = database
        self.minutes: list[dict[str, float]] = []
        self.stopped = threading.Event()

    def _kind(self, pid: int, group: int, command: str, groups: dict[int, str]) -> str:
        if group in groups:
            return groups[group]
        if command.startswith("postgres"):
            # A backend's title names its database: another database's sessions are not this bench's.
            try:
                title = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                return "other"
            backend = any(mark in title for mark in (" 127.0.0.1(", "[local]", "autovacuum worker"))
            return "postgres" if not backend or f" {self.database} " in title else "other"
        if command.startswith("redis"):
            return "redis"
        if group == os.getpgrp():
            return "load generator"
        return "other"

    def _sample(self) -> tuple[dict[int, tuple[str, float]], float]:
        groups = {process.pid: name for name, process in self.processes.running.items()}
        return {
            pid: (self._kind(pid, group, command, groups), used)
            for pid, (group, command, used) in _cpu_by_pid().items()
        }, _busy_seconds()

    def begin(self, start: float) -> None:
        threading.Thread(target=self._run, args=(start,), daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()

    def _run(self, start: float) -> None:
        time.sleep(max(0.0, start - time.time()))
        before, busy_before = self._sample()
        at = time.time()
        while True:
            stopped = self.stopped.wait(max(0.0, at + 60 - time.time()))
            after, busy_after = self._sample()
            now = time.time()
            if stopped and now - at < 5:  # the offer's last moments: too short to read
                return
            used: dict[str, float] = defaultdict(float)
            for pid, (kind, seconds) in after.items():
                used[kind] += seconds - before.get(pid, (kind, 0.0))[1]  # a new process counts from zero
            minute = {kind: value / (now - at) for kind, value in used.items()}
            minute["machine busy"] = (busy_after - busy_before) / (now - at)
            self.minutes.append(minute)
            if stopped:
                return
            before, busy_before, at = after, busy_after, now

    def report(self) -> None:
        kinds = (*PROCESSES, "postgres", "redis", "load generator")
        print(f"CPU per minute, in cores ({os.cpu_count()} on this machine):")
        print("minute " + " ".join(f"{kind[:13]:>13}" for kind in (*kinds, "machine busy")))
        for number, minute in enumerate(self.minutes, 1):
            print(f"{number:6d} " + " ".join(f"{minute.get(kind, 0.0):13.2f}" for kind in (*kinds, "machine busy")))


def report(
    results: list[tuple[float, float, int]],
    expected: list[tuple[str, str, float]],
    receiver: Receiver,
    start: float,
    seconds: float,
) -> None:
    by_minute: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for planned, latency, status in results:
        by_minute[int((planned - start) // 60)].append((latency, status))
    for minute, rows in sorted(by_minute.items()):
        latencies = [latency for latency, status in rows if 200 <= status < 300]
        errors = sum(1 for _, status in rows if not 200 <= status < 300)
        span = min(60.0, seconds - minute * 60)
        print(
            f"minute {minute + 1:3d}: {len(latencies) / span:6.1f} 2xx/s  p50 {ms(percentile(latencies, 50))}  "
            f"p99 {ms(percentile(latencies, 99))}  errors {errors}"
        )
    ok = [latency for _, latency, status in results if 200 <= status < 300]
    statuses = Counter(status for _, _, status in results if not 200 <= status < 300)
    print(
        f"requests: {len(results):,} in {seconds:.0f} s ({len(ok) / seconds:.1f} 2xx/s); "
        f"p50 {ms(percentile(ok, 50))} p90 {ms(percentile(ok, 90))} p99 {ms(percentile(ok, 99))} "
        f"max {ms(max(ok))}; errors {sum(statuses.values())} {dict(statuses) or ''} "
        "(status 0: connection failed, -1: client timeout)"
    )
    seen = receiver.seen()
    lags = [seen[(event, path)] - created for event, path, created in expected if (event, path) in seen]
    missing = sum(1 for event, path, _ in expected if (event, path) not in seen)
    duplicates = receiver.requests - len(seen)
    print(
        f"webhooks: {len(expected):,} deliveries, lag (event created → receipt) p50 {ms(statistics.median(lags))} "
        f"p99 {ms(percentile(lags, 99))}; missing {missing}, duplicates {duplicates}: "
        + ("each delivered exactly once" if not missing and not duplicates else "NOT exactly once")
    )


def report_growth(before: dict[str, int], after: dict[str, int], elapsed: float) -> None:
    growth = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    total = sum(growth.values()) * 3600 / elapsed
    print(f"database growth: {total / 1e6:,.1f} MB per hour (tables with indexes and TOAST)")
    for name, grown in sorted(growth.items(), key=lambda item: -item[1])[:12]:
        if grown > 0:
            print(f"  {name:<40} {grown * 3600 / elapsed / 1e6:9.1f} MB/h")


def report_rss(before: dict[tuple[str, int], int], after: dict[tuple[str, int], int], elapsed: float) -> None:
    print(f"RSS growth per process, per hour (measured over the last {elapsed / 60:.1f} min):")
    for key in sorted(before.keys() | after.keys()):
        name, pid = key
        if key in before and key in after:
            growth = (after[key] - before[key]) * 3600 / elapsed
            print(f"  {name:<14} pid {pid:<8} {after[key] / 1e6:7.1f} MB now  {growth / 1e6:+7.1f} MB/h")
        elif key in after:
            print(f"  {name:<14} pid {pid:<8} {after[key] / 1e6:7.1f} MB now  (started during the run)")
        else:
            print(f"  {name:<14} pid {pid:<8} exited during the run (recycled)")


if __name__ == "__main__":
    main()
