"""Webhook throughput: N events fanned out to M endpoints through real Celery workers to a local receiver.

    .venv/bin/python bench/webhook_throughput.py [--events 300] [--endpoints 4] [--processes 2] [--concurrency 32]

Uses PostgreSQL and Redis (DATABASE_URL / REDIS_URL / CELERY_BROKER_URL, defaults from bench/_server.py).
Runs the Procfile's `webhooks` worker, --processes of them (default one per core), and a receiver in a
process of its own. Prints deliveries/s and emit-to-receipt latency (p50/p95) while the events are
emitted one by one, a plain httpx POST loop to the same receiver as the ceiling, their ratio (target
>= 0.5), the rate when the same number of events is committed at once (the engine's own rate: the
first figure cannot exceed the emitting loop's) and whether every (event, endpoint) pair arrived with
a valid signature. A figure to read, not a test."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import bench_env, prepare_database, procfile_command  # noqa: E402


class Receipts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first_seen: dict[tuple[str, str], float] = {}
        self.total = 0
        self.bad_signatures = 0
        self.secrets: dict[str, str] = {}  # path -> secret
        self.all_arrived = threading.Event()
        self.expected = 0


class ReceiverProcess:
    """The receiver runs in a process of its own, as a real one would: answering requests must not
    take the emitting loop's interpreter lock. It reports each request (event id, path, time,
    signature header, body) over a pipe; a thread here records them and checks the signatures."""

    def __init__(self, receipts: Receipts) -> None:
        from django.db import connections

        connections.close_all()  # nothing shared with the forked child
        context = multiprocessing.get_context("fork")
        self.reports = context.Queue()
        ready = context.Queue()
        self.process = context.Process(target=_serve, args=(self.reports, ready), daemon=True)
        self.process.start()
        self.base = f"http://127.0.0.1:{ready.get(timeout=30)}"
        self.reader = threading.Thread(target=self._record, args=(receipts,), daemon=True)
        self.reader.start()

    def _record(self, receipts: Receipts) -> None:
        from core.signing import SignatureError, verify

        while (report := self.reports.get()) is not None:
            event_id, path, at, header, body = report
            secret = receipts.secrets.get(path)
            ok = True
            if secret is not None:
                try:
                    verify(header=header, body=body, secret=secret)
                except SignatureError:
                    ok = False
            with receipts.lock:
                receipts.total += 1
                receipts.bad_signatures += not ok
                receipts.first_seen.setdefault((event_id, path), at)
                if receipts.expected and len(receipts.first_seen) >= receipts.expected:
                    receipts.all_arrived.set()

    def shutdown(self) -> None:
        self.process.terminate()
        self.process.join(10)


def _serve(reports: Any, ready: Any) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/ceiling":  # the plain httpx loop is answered the same way, not counted
                reports.put(
                    (
                        self.headers.get("X-AIP-Event-Id", ""),
                        self.path,
                        time.time(),
                        self.headers.get("X-AIP-Signature", ""),
                        body,
                    )
                )
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        # Read by the constructor's listen(): the default backlog of 5 drops the SYNs of concurrent
        # senders, and each dropped one costs the sender a 1-second retransmission.
        request_queue_size = 1024
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    ready.put(server.server_address[1])
    server.serve_forever(poll_interval=0.01)


def _processes() -> list[tuple[int, str, int, int]]:
    """(pid, name, parent pid, user + system CPU ticks including reaped children) of every process."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        found.append((int(pid), name, int(fields[1]), sum(int(v) for v in fields[11:15])))
    return found


def postgres_cpu_seconds() -> float:
    """CPU of every postgres process on this machine (the bench's database work)."""
    return sum(ticks for _, name, _, ticks in _processes() if name.startswith("postgres")) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU of a process and its children (the Celery worker and its pool)."""
    return sum(ticks for pid, _, parent, ticks in _processes() if root in (pid, parent)) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def ceiling(url: str, count: int) -> float:
    """A plain httpx POST loop to the same receiver: what one process does with no queue or database."""
    import httpx

    body = b'{"id":"evt_ceiling","type":"call.completed","data":{}}'
    started = time.perf_counter()
    with httpx.Client() as client:
        for _ in range(count):
            client.post(url, content=body, headers={"Content-Type": "application/json"}).raise_for_status()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--endpoints", type=int, default=4)
    parser.add_argument(
        "--processes", type=int, default=os.cpu_count() or 1, help="webhooks worker processes (default: one per core)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="the webhooks worker's threads (turns at once); the Procfile's default",
    )
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--mode",
        choices=["live", "test"],
        default="live",
        help="live attempts are metered and charged beyond the free quota; test ones only counted",
    )
    args = parser.parse_args()

    env = bench_env(OUTBOUND_ALLOW_LOOPBACK="true", CELERY_TASK_ALWAYS_EAGER="false", ROOT_URLCONF="config.urls")
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    prepare_database(env)

    import django

    django.setup()
    from decimal import Decimal

    from django.db import transaction

    from billing.services import (
        addon_grant,
        organization_create,
        subscription_set,
        wallet_credit,
    )
    from webhooks.events import emit
    from webhooks.models import Delivery
    from webhooks.services import endpoint_create

    receipts = Receipts()
    server = ReceiverProcess(receipts)
    base = server.base

    org = organization_create(name=f"Webhook bench {time.time():.0f}")
    subscription_set(organization=org, plan_code="ENTERPRISE", actor=None)
    addon_grant(organization=org, actor=None)
    wallet_credit(organization=org, amount=Decimal("100000"), reason="Bench credit", actor=None)
    for i in range(args.endpoints):
        _, secret = endpoint_create(organization=org, url=f"{base}/hook/{i}", events=["*"], actor=None)
        receipts.secrets[f"/hook/{i}"] = secret

    # The Procfile's webhooks worker (threads), as in production: --processes of them (one per core, as
    # `webhooks` is scaled), each its own interpreter, sharing the queue.
    worker_env = {**env, "WEBHOOK_WORKER_CONCURRENCY": str(args.concurrency)}
    workers = [
        subprocess.Popen(
            [
                *(
                    f"--hostname=webhooks{n}@%h" if part.startswith("--hostname") else part
                    for part in procfile_command("webhooks", worker_env)
                ),
                "--without-gossip",
                "--without-mingle",
                f"--loglevel={os.environ.get('BENCH_WORKER_LOGLEVEL', 'WARNING')}",
            ],
            cwd=ROOT,
            env=worker_env,
            stdout=subprocess.DEVNULL,
            stderr=open(os.environ.get("BENCH_WORKER_LOG", os.devnull), "a"),  # noqa: SIM115 - open while it runs
        )
        for n in range(args.processes)
    ]
    try:
        # Warm-up: one event through the whole path, so worker start-up is not measured.
        receipts.expected = args.endpoints
        emit(organization=org, type="call.started", data={"warmup": True}, mode="live")
        if not receipts.all_arrived.wait(120):
            raise SystemExit("the worker never delivered the warm-up event")
        with receipts.lock:
            receipts.first_seen.clear()
            receipts.total = 0
            receipts.all_arrived.clear()
            receipts.expected = args.events * args.endpoints

        # The machine may be shared: measure the ceiling just before and just after, and use the mean.
        ceiling_count = min(2000, max(500, args.events * args.endpoints))
        loop_before = ceiling(f"{base}/ceiling", ceiling_count)
        emitted_at: dict[str, float] = {}
        self_cpu, pg_cpu = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)), postgres_cpu_seconds()
        worker_cpu = sum(tree_cpu_seconds(w.pid) for w in workers)
        receiver_cpu = tree_cpu_seconds(server.process.pid or 0)
        started = time.perf_counter()
        wall_start = time.time()
        for n in range(args.events):
            event = emit(organization=org, type="call.completed", data={"callId": f"call_{n}"}, mode=args.mode)
            emitted_at[event.public_id] = time.time()
        emit_seconds = time.perf_counter() - started
        emit_cpu = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)) - self_cpu
        arrived = receipts.all_arrived.wait(args.timeout)
        elapsed = time.perf_counter() - started
        self_cpu = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)) - self_cpu
        pg_cpu = postgres_cpu_seconds() - pg_cpu
        worker_cpu = sum(tree_cpu_seconds(w.pid) for w in workers) - worker_cpu
        receiver_cpu = tree_cpu_seconds(server.process.pid or 0) - receiver_cpu

        # The same events committed at once (one transaction): the engine's own rate, which the loop above
        # cannot show once the worker keeps up with it (its deliveries/s is then the emit loop's).
        drain_rate = None
        with receipts.lock:
            seen = dict(receipts.first_seen)
            total = receipts.total
            bad = receipts.bad_signatures
        if arrived:
            with receipts.lock:
                receipts.first_seen.clear()
                receipts.all_arrived.clear()
            with transaction.atomic():
                drained = [
                    emit(organization=org, type="call.completed", data={"callId": f"drain_{n}"}, mode=args.mode)
                    for n in range(args.events)
                ]
            committed = time.time()
            if receipts.all_arrived.wait(args.timeout):
                with receipts.lock:
                    last = max(receipts.first_seen.values())
                drain_rate = len(drained) * args.endpoints / (last - committed)
    finally:
        for worker in workers:
            worker.terminate()  # warm shutdown: running tasks finish and record their results
        for worker in workers:
            worker.wait(60)

    with receipts.lock:
        bad = receipts.bad_signatures  # the drain's requests are checked too
    expected_pairs = {(event_id, f"/hook/{i}") for event_id in emitted_at for i in range(args.endpoints)}
    missing = expected_pairs - set(seen)
    if arrived:
        elapsed = max(seen.values()) - wall_start
    latencies = [seen[pair] - emitted_at[pair[0]] for pair in expected_pairs if pair in seen]
    deliveries = len(expected_pairs) - len(missing)
    rate = deliveries / elapsed
    measured = Delivery.objects.filter(organization=org, event__public_id__in=list(emitted_at))
    settle = time.monotonic() + 30  # the last results are written just after their requests arrive
    while measured.filter(status=Delivery.Status.SUCCEEDED).count() < deliveries and time.monotonic() < settle:
        time.sleep(0.2)
    succeeded = measured.filter(status=Delivery.Status.SUCCEEDED).count()
    loop_after = ceiling(f"{base}/ceiling", ceiling_count)
    loop_rate = (loop_before + loop_after) / 2

    print(
        f"events={args.events} endpoints={args.endpoints} deliveries={len(expected_pairs)} mode={args.mode} "
        f"webhooks workers={args.processes} × {args.concurrency} threads db={env['DATABASE_URL'].split('@')[-1]} "
        f"broker={env['CELERY_BROKER_URL']}"
    )
    print(
        f"emit loop:         {args.events / emit_seconds:8.1f} events/s ({emit_seconds:.2f} s, "
        f"{len(expected_pairs) / emit_seconds:.1f} deliveries written/s)"
    )
    print(f"pipeline:          {rate:8.1f} deliveries/s over {elapsed:.2f} s")
    if latencies:
        print(
            f"emit→receipt:      p50 {statistics.median(latencies) * 1000:7.1f} ms   "
            f"p95 {percentile(latencies, 95) * 1000:7.1f} ms   max {max(latencies) * 1000:7.1f} ms"
        )
    print(
        f"httpx POST loop:   {loop_rate:8.1f} requests/s (ceiling, same receiver; {loop_before:.0f} before, "
        f"{loop_after:.0f} after)"
    )
    per = 1000 / len(expected_pairs)
    print(
        f"CPU per delivery:  emit {emit_cpu * per:.2f} ms, bench process {self_cpu * per:.2f} ms, "
        f"receiver {receiver_cpu * per:.2f} ms, "
        f"postgres {pg_cpu * per:.2f} ms, worker {worker_cpu * per:.2f} ms"
    )
    print(f"ratio:             {rate / loop_rate:8.2f}  (target >= 0.5)")
    if drain_rate is not None:
        print(
            f"drain:             {drain_rate:8.1f} deliveries/s from one commit of {args.events} events to the last "
            f"receipt, ratio {drain_rate / loop_rate:.2f}"
        )
    print(
        f"arrived:           {deliveries}/{len(expected_pairs)} pairs, {total} requests "
        f"({total - deliveries} duplicates), {bad} bad signatures, {succeeded} rows succeeded"
        + ("  — ALL ARRIVED" if not missing else f"  — {len(missing)} MISSING")
    )
    server.shutdown()
    if missing or bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
