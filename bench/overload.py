"""Overload: offered twice what the web tier sustains, the Procfile's gunicorn sheds instead of collapsing.

Starts the Procfile's `web` line (4 workers × 4 threads, the shedding worker; on a free port, its log in
a file) on PostgreSQL + Redis
and drives it open-loop, as real clients do: request i leaves at t0 + i/rate whether or not earlier
ones were answered, and latency counts from that planned instant (no coordinated omission).

1. **Sustainable rate**: the highest offered rate with ≥ 99 % answered 2xx and p99 < 500 ms. The
   search steps up by 50 % until a rate misses, then bisects between the last rate that passed and the
   first that missed until they are within 6 % (a step that misses is tried once more before it counts).
   The rate found must then hold for --confirm-seconds (30) in one piece; if it does not, the search
   steps down by that 6 % and confirms again. A short step above capacity can pass (the queue has not
   grown far enough yet, and a miss gets a second try); a rate the server only kept up for 8 s is not
   one it sustains.
2. **Overload**: twice that rate for --seconds (60). Printed: goodput (2xx per second) as a share of
   the sustainable rate found in the same run (target ≥ 90 %), p99 of the accepted requests (target
   ≤ 1 s), and how many were refused with 503 and how fast.

Before the search, before each step and before the overload the bench waits for the machine to settle
(CPU ≥ 85 % idle over a second, so a busy neighbour or the previous step's tail does not count against
the next one) and prints the load average and idle share it started from; a phase that could not wait
long enough says so. The overload line also says where the CPU went: the web processes, the client, and
the rest of the machine (PostgreSQL, Redis, and anything else running).

    python bench/overload.py [--seconds 60] [--no-shed]

`--no-shed` runs the same offer against gunicorn's stock gthread worker, for comparison. The
offer is split over `--clients` processes (2) so the client is not what saturates first. Needs PostgreSQL
and Redis on 127.0.0.1 (DATABASE_URL / REDIS_URL override). The load generator shares the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import ROOT, bench_env, prepare_database, procfile_command, provision

PATH = "/api/public/v1/keys?limit=1"
CLIENT_TIMEOUT = 10.0  # seconds
SETTLED_IDLE = 0.85  # the machine's CPU share idle over a second before a phase starts
SEARCH_GROWTH = 1.5  # the search's step up, until a rate misses
SEARCH_PRECISION = 1.06  # then it bisects until the rates that passed and missed are this close
CONFIRMATIONS = 4  # how many times the search may step down before it gives up confirming
TICKS = os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> tuple[int, int]:
    """(idle, total) CPU clock ticks of the whole machine since boot, from /proc/stat."""
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return idle + iowait, user + nice + system + idle + iowait + irq + softirq + steal


def settle(phase: str, *, patience: float) -> str:
    """Wait up to `patience` seconds for the machine to be SETTLED_IDLE; say how it was when the phase starts."""
    began = time.monotonic()
    while True:
        idle_before, total_before = _machine_ticks()
        time.sleep(1.0)
        idle_after, total_after = _machine_ticks()
        idle = (idle_after - idle_before) / max(1, total_after - total_before)
        if idle >= SETTLED_IDLE or time.monotonic() - began >= patience:
            break
    one, five, _ = os.getloadavg()
    waited = time.monotonic() - began - 1.0
    state = "" if idle >= SETTLED_IDLE else f", NOT settled after {patience:.0f} s: this phase shared the CPU"
    return f"[{phase}: load {one:.1f}/{five:.1f} (1/5 min), CPU {idle:.0%} idle, waited {waited:.0f} s{state}]"


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used by process `pid`, its live children and the children it has reaped (Linux /proc)."""

    def stat(pid: int) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    fields = stat(pid)
    ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # exited: its time moves to cutime once reaped
            ticks += sum(int(value) for value in stat(int(child))[11:13])
    return ticks / TICKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Web:
    base: str
    pid: int


@contextmanager
def procfile_web(env: dict[str, str], *, shed: bool) -> Iterator[Web]:
    port = free_port()  # never a fixed one: another bench may be listening there, and would be measured
    args = procfile_command("web", {**env, "PORT": str(port)})
    if not shed:
        args += ["--worker-class", "gthread"]  # the last one given wins
    # Its log goes to a file: a pipe nobody reads fills up (64 KiB) and blocks every process that logs.
    log = tempfile.NamedTemporaryFile(prefix="overload-web-", suffix=".log", delete=False)  # noqa: SIM115
    print(f"web log: {log.name}", flush=True)
    proc = subprocess.Popen([*args, "--log-level", "warning"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            if proc.poll() is not None:
                sys.exit(f"gunicorn exited: see {log.name}")
            try:
                urllib.request.urlopen(base + "/api/public/v1/ready-probe", timeout=1)
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.1)
        yield Web(base, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(40)  # gunicorn's graceful timeout is 30 s
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Tally:
    ok: list[float] = field(default_factory=list)
    shed: list[float] = field(default_factory=list)
    other: dict[int, int] = field(default_factory=dict)  # status (0: connection failed, -1: timed out) → count
    late: list[float] = field(default_factory=list)  # how late the client sent each request: its own lag
    seconds: float = 0.0
    client_cpu: float = 0.0  # CPU seconds the client processes used

    def p(self, values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def total(self) -> int:
        return len(self.ok) + len(self.shed) + sum(self.other.values())


class Connections:
    """Keep-alive HTTP/1.1 connections to one host, opened as the open-loop load needs them."""

    def __init__(self, host: str, port: int, headers: str) -> None:
        self.host, self.port, self.headers = host, port, headers
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str) -> int:
        return await self.request("GET", path)

    async def request(self, method: str, path: str, *, headers: str = "", body: bytes = b"") -> int:
        """The response's status (0: connection failed); `headers` are "Name: value\\r\\n" lines."""
        reused = bool(self.idle)
        try:
            reader, writer = self.idle.pop() if reused else await asyncio.open_connection(self.host, self.port)
        except OSError:
            return 0
        lines = self.headers + headers
        if body:
            lines += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        try:
            writer.write(f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{lines}\r\n".encode() + body)
            head = await reader.readuntil(b"\r\n\r\n")
        except (OSError, asyncio.IncompleteReadError):
            writer.close()
            # The server closes idle keep-alive connections; a client retries those on a new one.
            return await self.request(method, path, headers=headers, body=body) if reused else 0
        try:
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if length:
                await reader.readexactly(int(length.group(1)))
            elif re.search(rb"(?i)\r\ntransfer-encoding:\s*chunked", head):
                while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                    await reader.readexactly(size + 2)
                await reader.readuntil(b"\r\n")
        except (OSError, asyncio.IncompleteReadError, ValueError):
            writer.close()
            return 0
        if re.search(rb"(?i)\r\nconnection:\s*close", head):
            writer.close()
        else:
            self.idle.append((reader, writer))
        return status


async def offer(base: str, secret: str, *, rate: float, seconds: float, start: float, part: int, parts: int) -> Tally:
    """This process's share of the offer: requests part, part + parts, … of `rate` × `seconds`, from `start` (epoch)."""
    host, port = base.removeprefix("http://").split(":")
    connections = Connections(host, int(port), f"Authorization: Bearer {secret}\r\n")
    tally = Tally()
    loop = asyncio.get_running_loop()
    cpu_before = time.process_time()

    async def one(planned: float) -> None:
        tally.late.append(loop.time() - planned)
        try:
            status = await asyncio.wait_for(connections.get(PATH), CLIENT_TIMEOUT)
        except TimeoutError:
            status = -1  # the client gave up, as real ones do: counted apart, never as goodput
        latency = loop.time() - planned
        if status == 200:
            tally.ok.append(latency)
        elif status == 503:
            tally.shed.append(latency)
        else:
            tally.other[status] = tally.other.get(status, 0) + 1

    begin = loop.time() + (start - time.time())
    tasks = []
    for i in range(part, int(rate * seconds), parts):
        planned = begin + i / rate
        delay = planned - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(planned)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 120)
    tally.seconds = seconds
    tally.client_cpu = time.process_time() - cpu_before
    return tally


def _offer_part(base: str, secret: str, rate: float, seconds: float, start: float, part: int, parts: int) -> Tally:
    return asyncio.run(offer(base, secret, rate=rate, seconds=seconds, start=start, part=part, parts=parts))


def offer_from(pool: ProcessPoolExecutor, parts: int, base: str, secret: str, *, rate: float, seconds: float) -> Tally:
    """The offer split over `parts` client processes, so the client is not what saturates first."""
    start = time.time() + 0.5
    shares = [pool.submit(_offer_part, base, secret, rate, seconds, start, part, parts) for part in range(parts)]
    tally = Tally(seconds=seconds)
    for share in shares:
        result = share.result()
        tally.ok += result.ok
        tally.shed += result.shed
        tally.late += result.late
        tally.client_cpu += result.client_cpu
        for status, count in result.other.items():
            tally.other[status] = tally.other.get(status, 0) + count
    return tally


def describe(tally: Tally) -> str:
    return (
        f"2xx {len(tally.ok) / tally.seconds:6.1f}/s p50 {tally.p(tally.ok, 0.5) * 1000:6.0f} ms "
        f"p99 {tally.p(tally.ok, 0.99) * 1000:6.0f} ms | 503 {len(tally.shed):5d} "
        f"(p99 {tally.p(tally.shed, 0.99) * 1000:4.0f} ms) | other {tally.other or 0} "
        f"| client sent late p99 {tally.p(tally.late, 0.99) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--step-seconds", type=float, default=8)
    parser.add_argument("--start-rate", type=float, default=40)
    parser.add_argument("--confirm-seconds", type=float, default=30, help="how long the rate found must hold")
    parser.add_argument("--no-shed", action="store_true", help="the stock gthread worker, for comparison")
    parser.add_argument("--sustainable", type=float, help="skip the search and use this rate")
    parser.add_argument("--clients", type=int, default=2, help="client processes sharing the offer")
    parser.add_argument("--patience", type=float, default=180, help="seconds to wait for the machine to settle")
    args = parser.parse_args()
    # Open-loop clients hold a connection per request in flight: more than the default 1,024 descriptors.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    env = bench_env()
    prepare_database(env)
    _, secret = provision(env)
    with procfile_web(env, shed=not args.no_shed) as web, ProcessPoolExecutor(args.clients) as pool:

        def run(rate: float, seconds: float) -> Tally:
            return offer_from(pool, args.clients, web.base, secret, rate=rate, seconds=seconds)

        def passes(rate: float, *, seconds: float | None = None, tries: int = 2) -> bool:
            """One search step (and, if it misses, a second try: one burst next door must not decide it)."""
            label = "step" if seconds is None else "confirm"
            for _ in range(tries):
                before = settle(f"{label} {rate:.1f}/s", patience=30)
                tally = run(rate, seconds or args.step_seconds)
                good = len(tally.ok) >= 0.99 * tally.total and tally.p(tally.ok, 0.99) < 0.5
                print(f"{label} {rate:6.1f}/s: {describe(tally)}{'' if good else '  <- over'} {before}", flush=True)
                if good:
                    return True
            return False

        run(20, 3)  # warm every worker's connections and caches
        sustainable = args.sustainable
        if sustainable is None:
            print(settle("search", patience=args.patience), flush=True)
            passed, missed = 0.0, args.start_rate
            while passes(missed):  # up by half until a rate misses …
                passed, missed = missed, round(missed * SEARCH_GROWTH, 1)
            while passed and missed / passed > SEARCH_PRECISION:  # … then bisect (geometrically) between them
                middle = round((passed * missed) ** 0.5, 1)
                if passes(middle):
                    passed = middle
                else:
                    missed = middle
            # The bisection's steps are short and a miss gets a second try, so its figure can sit above
            # what the server keeps up: the rate must also hold for a long run, or it steps down.
            for _ in range(CONFIRMATIONS):
                if not passed or passes(passed, seconds=args.confirm_seconds, tries=1):
                    break
                missed, passed = passed, round(passed / SEARCH_PRECISION, 1)
            else:
                sys.exit(f"no rate held for {args.confirm_seconds:.0f} s down to {missed:.1f}/s (is the machine busy?)")
            sustainable = passed
            print(
                f"sustainable rate: {sustainable:.1f} req/s (p99 < 500 ms, ≥ 99 % 2xx, held for "
                f"{args.confirm_seconds:.0f} s; {missed:.1f} missed)"
            )
        else:
            print(f"sustainable rate: {sustainable:.1f} req/s (given)")
        if not sustainable:
            sys.exit("no step met the target: lower --start-rate (is the machine busy?)")
        offered = 2 * sustainable
        print(settle("overload", patience=args.patience), flush=True)
        idle_before, total_before = _machine_ticks()
        web_before = _tree_cpu_seconds(web.pid)
        tally = run(offered, args.seconds)
        idle_after, total_after = _machine_ticks()
        machine_busy = ((total_after - total_before) - (idle_after - idle_before)) / TICKS
        web_cpu = _tree_cpu_seconds(web.pid) - web_before
        print(f"offered {offered:.1f}/s for {args.seconds:.0f} s: {describe(tally)}")
        goodput = len(tally.ok) / tally.seconds
        print(
            f"goodput {goodput / sustainable * 100:.1f} % of sustainable (target ≥ 90 %), "
            f"p99 accepted {tally.p(tally.ok, 0.99) * 1000:.0f} ms (target ≤ 1000 ms), "
            f"refused {len(tally.shed)} with median {statistics.median(tally.shed) * 1000 if tally.shed else 0:.0f} ms"
        )
        # The phase's wall time is longer than --seconds by the tail of the last answers; close enough.
        print(
            f"CPU during the overload, in cores of {os.cpu_count()}: web {web_cpu / args.seconds:.2f}, "
            f"client {tally.client_cpu / args.seconds:.2f}, "
            f"the rest (PostgreSQL, Redis, anything else) {(machine_busy - web_cpu - tally.client_cpu) / args.seconds:.2f}; "
            f"web CPU per 2xx {web_cpu / max(1, len(tally.ok)) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
