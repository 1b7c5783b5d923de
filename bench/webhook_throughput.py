"""Webhook throughput: N events fanned out to M endpoints through real Celery workers to a local receiver.

    .venv/bin/python bench/webhook_throughput.py [--events 600] [--endpoints 4] [--processes 2]
        [--concurrency 32] [--emitters 4] [--emit-batch 1] [--timeline]

Uses PostgreSQL and Redis (DATABASE_URL / REDIS_URL / CELERY_BROKER_URL, defaults from bench/_server.py).
A figure to read, not a test.

The platform side, end to end: --emitters processes (the application) call the real ``emit()``, one
transaction per --emit-batch events, all starting together after a warm-up; the Procfile's
``webhooks`` worker, --processes of them (default one per core) with --concurrency threads each,
claims, signs, POSTs and records; the receiver (a process of its own, ThreadingHTTPServer, backlog
1024, ``Connection: close``) checks every signature. The rate is the deliveries (event, endpoint)
divided by the time from the emitters' start to the moment every one of them has its successful
attempt recorded in the database (polled every 20 ms), so emitting, sending and recording all count.

The baseline, measured just before the platform run and again just after (the machine may be
shared; the two are averaged and both printed): a plain ``httpx.Client`` loop, one request at a time,
POSTing the same bodies (before: rendered exactly as the events are; after: the events' stored
bodies), each once per endpoint, to the same receiver. That single loop is the ratio's denominator,
as in issue 14 (0.30 then). Also printed, with its ratio: --processes such loops at once, each in a
process of its own, i.e. the worker processes' budget spent on a plain sender — on a 2-core machine
that also runs the database, the emitters and the receiver, the harder comparison.

Also printed: emit→receipt latency (p50/p95), the rate when the same number of events is committed
at once (the engine alone, no emitters), CPU per delivery by process, and whether every pair arrived
once with a valid signature (exit 1 otherwise)."""

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


def _post_loop(url: str, bodies: list[bytes], reports: Any) -> None:
    """One plain sender: an httpx.Client (keep-alive pool; the receiver closes each connection, as it
    does for the platform) POSTing each body in turn and waiting for its answer."""
    import httpx

    started = time.perf_counter()
    with httpx.Client() as client:
        for body in bodies:
            client.post(url, content=body, headers={"Content-Type": "application/json"}).raise_for_status()
    reports.put((len(bodies), time.perf_counter() - started))


def ceiling(url: str, bodies: list[bytes], *, loops: int) -> float:
    """Requests/s of ``loops`` plain httpx loops (each in a process of its own, started together)
    sending ``bodies`` between them to the same receiver: no queue, no database, no signing."""
    context = multiprocessing.get_context("fork")  # nothing but httpx runs in the children
    reports = context.Queue()
    shares = [bodies[n::loops] for n in range(loops)]
    senders = [context.Process(target=_post_loop, args=(url, share, reports)) for share in shares]
    for sender in senders:
        sender.start()
    results = [reports.get(timeout=300) for _ in senders]
    for sender in senders:
        sender.join()
    # Each loop's own rate, summed: process start-up is not the receiver's work.
    return sum(count / seconds for count, seconds in results)


def _emitter(
    index: int, events: int, batch: int, organization_id: int, mode: str, go: Any, stop: Any, out: Any
) -> None:
    """An emitting process: the application's side, calling the real ``emit()`` (one transaction per
    ``batch`` events, as ``batch`` API requests or one service call announcing several changes would).
    Reports each event's public id and the time its transaction committed, then stays up until ``stop``:
    an application's processes do not exit after their requests, and an interpreter's teardown would be
    charged to the emitters and compete with the workers inside the measured window."""
    import django

    django.setup()
    from django.db import transaction

    from accounts.models import Organization
    from core.queue import enqueue
    from webhooks.dispatch import FAST, LANE_QUEUES
    from webhooks.events import emit

    organization = Organization.objects.get(pk=organization_id)
    # Warm-up: this process's connections (database, cache, broker) are open before the clock starts.
    emit(organization=organization, type="call.started", data={"warmup": index}, mode=mode)
    # Its wake-up may have been gathered into another emitter's turn, so this process may have sent no
    # task yet: a turn of its own opens its broker connection (the first send in a process costs tens of
    # milliseconds of CPU, which a long-running application has long since paid).
    enqueue("webhooks.turn", organization.pk, FAST, queue=LANE_QUEUES[FAST])
    out.put(("ready", index))
    go.wait()
    emitted: list[tuple[str, float]] = []
    for first in range(0, events, batch):
        with transaction.atomic():
            ids = [
                emit(organization=organization, type="call.completed", data={"callId": f"call_{index}_{n}"}, mode=mode)
                for n in range(first, min(events, first + batch))
            ]
        committed = time.time()
        emitted += [(event.public_id, committed) for event in ids]
    out.put(("done", emitted))
    stop.wait()


def _wait_recorded(queryset: Any, expected: int, timeout: float) -> float | None:
    """The time (polled every 20 ms) at which ``expected`` deliveries of ``queryset`` had their successful
    attempt recorded, or None."""
    from webhooks.models import Delivery

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queryset.filter(status=Delivery.Status.SUCCEEDED).count() >= expected:
            return time.time()
        time.sleep(0.02)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600)
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
    parser.add_argument("--emitters", type=int, default=4, help="processes calling emit() at once")
    parser.add_argument("--emit-batch", type=int, default=1, help="events per emitting transaction")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--timeline", action="store_true", help="print events committed and deliveries received per 250 ms"
    )
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

    from django.db import connection

    # What autovacuum does on a production server, and this machine's PostgreSQL (autovacuum = off)
    # never does: without statistics the planner takes every lookup by id for a scan of the whole
    # partition, so each run's leftover rows would slow the next one's claim and record.
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE webhooks_delivery, webhooks_attempt, webhooks_event, webhooks_endpoint")
    connection.close()

    from django.db import connections, transaction
    from django.utils import timezone

    from billing.services import addon_grant, organization_create, subscription_set
    from billing.wallet import wallet_credit
    from webhooks.events import emit, render_body
    from webhooks.models import Delivery, Event
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

    # The emitting processes start from a fresh interpreter (spawn): nothing of this one's connections.
    connections.close_all()
    spawn = multiprocessing.get_context("spawn")
    go, stop, out = spawn.Event(), spawn.Event(), spawn.Queue()
    shares = [args.events // args.emitters + (n < args.events % args.emitters) for n in range(args.emitters)]
    emitters = [
        spawn.Process(
            target=_emitter, args=(n, share, max(1, args.emit_batch), org.pk, args.mode, go, stop, out), daemon=True
        )
        for n, share in enumerate(shares)
    ]

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
        # Warm-up: one event from here and one from each emitter through the whole path, so start-up
        # (workers, emitters' connections) is not measured.
        receipts.expected = args.endpoints * (1 + args.emitters)
        emit(organization=org, type="call.started", data={"warmup": True}, mode="live")
        for emitter in emitters:
            emitter.start()
        for _ in emitters:
            if out.get(timeout=120)[0] != "ready":
                raise SystemExit("an emitter failed to start")
        if not receipts.all_arrived.wait(120):
            raise SystemExit("the worker never delivered the warm-up events")
        with receipts.lock:
            receipts.first_seen.clear()
            receipts.total = 0
            receipts.all_arrived.clear()
            receipts.expected = args.events * args.endpoints
        time.sleep(1)  # the warm-up's results recorded before the clock starts

        # The baseline before: bodies rendered as the events' will be (same fields, same sizes). The machine
        # may be shared, so it is measured again after with the real bodies, and the two are averaged.
        def baselines(bodies: list[bytes]) -> tuple[float, float]:
            return ceiling(f"{base}/ceiling", bodies, loops=1), ceiling(f"{base}/ceiling", bodies, loops=args.processes)

        one_before, parallel_before = baselines(
            [
                render_body(
                    event=Event(organization=org, type="call.completed", mode=args.mode, created_at=timezone.now()),
                    organization=org,
                    data={"callId": f"call_{n % args.emitters}_{n // args.emitters}"},
                ).encode()
                for n in range(args.events)
                for _ in range(args.endpoints)
            ]
        )

        self_cpu, pg_cpu = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)), postgres_cpu_seconds()
        worker_cpu = sum(tree_cpu_seconds(w.pid) for w in workers)
        emitter_cpu = sum(tree_cpu_seconds(e.pid or 0) for e in emitters)
        receiver_cpu = tree_cpu_seconds(server.process.pid or 0)
        wall_start = time.time()
        started = time.perf_counter()
        go.set()
        emitted_at: dict[str, float] = {}
        for _ in emitters:
            _, emitted = out.get(timeout=args.timeout)
            emitted_at.update(emitted)
        emit_seconds = time.perf_counter() - started
        arrived = receipts.all_arrived.wait(args.timeout)
        measured = Delivery.objects.filter(organization=org, event__public_id__in=list(emitted_at))
        recorded = _wait_recorded(measured, args.events * args.endpoints, args.timeout) if arrived else None
        pg_cpu = postgres_cpu_seconds() - pg_cpu
        worker_cpu = sum(tree_cpu_seconds(w.pid) for w in workers) - worker_cpu
        emitter_cpu = sum(tree_cpu_seconds(e.pid or 0) for e in emitters) - emitter_cpu
        receiver_cpu = tree_cpu_seconds(server.process.pid or 0) - receiver_cpu
        self_cpu = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)) - self_cpu
        stop.set()
        for emitter in emitters:
            emitter.join(30)

        with receipts.lock:
            seen = dict(receipts.first_seen)
            total = receipts.total
        # The same events committed at once (one transaction): the engine's own rate, without the emitters.
        drain_rate = None
        if recorded:
            with receipts.lock:
                receipts.first_seen.clear()
                receipts.all_arrived.clear()
            with transaction.atomic():
                drained = [
                    emit(organization=org, type="call.completed", data={"callId": f"drain_{n}"}, mode=args.mode)
                    for n in range(args.events)
                ]
            committed = time.time()
            drained_rows = Delivery.objects.filter(organization=org, event__in=drained)
            if receipts.all_arrived.wait(args.timeout):
                done = _wait_recorded(drained_rows, len(drained) * args.endpoints, args.timeout)
                if done:
                    drain_rate = len(drained) * args.endpoints / (done - committed)
    finally:
        for worker in workers:
            worker.terminate()  # warm shutdown: running tasks finish and record their results
        for worker in workers:
            worker.wait(60)
        for emitter in emitters:
            if emitter.is_alive():
                emitter.terminate()

    with receipts.lock:
        bad = receipts.bad_signatures  # the drain's requests are checked too
    expected_pairs = {(event_id, f"/hook/{i}") for event_id in emitted_at for i in range(args.endpoints)}
    missing = expected_pairs - set(seen)
    deliveries = len(expected_pairs) - len(missing)
    # End to end: from the emitters' start to the last attempt recorded (or, if some never arrived,
    # to the last receipt).
    elapsed = (recorded or max(seen.values(), default=time.time())) - wall_start
    latencies = [seen[pair] - emitted_at[pair[0]] for pair in expected_pairs if pair in seen]
    rate = deliveries / elapsed
    succeeded = measured.filter(status=Delivery.Status.SUCCEEDED).count()

    # The baseline after: the very bodies the platform sent, each once per endpoint.
    bodies = [
        body.encode() for body in Event.objects.filter(public_id__in=list(emitted_at)).values_list("body", flat=True)
    ]
    one_after, parallel_after = baselines([body for body in bodies for _ in range(args.endpoints)])
    one_loop, parallel = (one_before + one_after) / 2, (parallel_before + parallel_after) / 2

    print(
        f"events={args.events} endpoints={args.endpoints} deliveries={len(expected_pairs)} mode={args.mode} "
        f"webhooks workers={args.processes} × {args.concurrency} threads emitters={args.emitters} "
        f"× {args.emit_batch} event(s)/transaction db={env['DATABASE_URL'].split('@')[-1]} "
        f"broker={env['CELERY_BROKER_URL']}"
    )
    print(
        f"emitters:          {args.events / emit_seconds:8.1f} events/s ({emit_seconds:.2f} s, "
        f"{len(expected_pairs) / emit_seconds:.1f} deliveries written/s)"
    )
    print(f"pipeline:          {rate:8.1f} deliveries/s over {elapsed:.2f} s (first emit → last attempt recorded)")
    if latencies:
        print(
            f"emit→receipt:      p50 {statistics.median(latencies) * 1000:7.1f} ms   "
            f"p95 {percentile(latencies, 95) * 1000:7.1f} ms   max {max(latencies) * 1000:7.1f} ms"
        )
    print(
        f"httpx POST loop:   {one_loop:8.1f} requests/s (one plain loop, same bodies, same receiver; "
        f"{one_before:.0f} before, {one_after:.0f} after)"
    )
    print(
        f"httpx × {args.processes} loops:   {parallel:8.1f} requests/s ({args.processes} loops at once, one per worker "
        f"process; {parallel_before:.0f} before, {parallel_after:.0f} after)"
    )
    per = 1000 / len(expected_pairs)
    print(
        f"CPU per delivery:  emitters {emitter_cpu * per:.2f} ms, bench process {self_cpu * per:.2f} ms, "
        f"receiver {receiver_cpu * per:.2f} ms, postgres {pg_cpu * per:.2f} ms, workers {worker_cpu * per:.2f} ms"
    )
    print(
        f"ratio:             {rate / one_loop:8.2f}  (target >= 0.5; vs {args.processes} loops {rate / parallel:.2f})"
    )
    if drain_rate is not None:
        print(
            f"drain:             {drain_rate:8.1f} deliveries/s from one commit of {args.events} events to the last "
            f"attempt recorded, ratio {drain_rate / one_loop:.2f}"
        )
    if args.timeline:
        print("timeline:          events committed and deliveries first received, per 250 ms from the start")
        for step in range(int(elapsed / 0.25) + 1):
            print(
                f"  {step * 0.25:5.2f} s   emitted {sum(int((t - wall_start) / 0.25) == step for t in emitted_at.values()):4d}"
                f"   received {sum(int((t - wall_start) / 0.25) == step for t in seen.values()):5d}"
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
