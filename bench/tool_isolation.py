"""Tool-call isolation: do slow customer tool endpoints slow down ordinary API requests?

Ten custom tools point at endpoints that take 9 s to answer. While ten invocations are always in
flight, wrk measures GET /api/public/v1/tools?limit=10 (an ordinary authenticated API request)
and the p95 is compared with runs without tool traffic. Target: p95 grows by at most 20 %.

Worker layout measured here (the production layout, see Procfile and agents/tasks.py):

* web: gunicorn, 2 workers × 4 threads. Web workers never call a customer's endpoint; anything
  that starts a tool call from a web request (the dashboard's Test tool) only queues it.
* tools: a dedicated Celery worker consuming only the ``tools`` queue with a thread pool
  (``--pool threads --concurrency 20``): tool calls wait on the network, not the CPU, so a
  thread per in-flight call is cheap, and a slow endpoint can only ever occupy this pool —
  never web threads, never the default queue's workers (webhooks, metering flushes).
* Each call has a hard deadline (the tool's timeout, at most 10 s), so a stuck endpoint frees
  its thread within 10 s whatever it does.

    python bench/tool_isolation.py [--seconds 20] [--rounds 3]

Needs PostgreSQL and Redis on 127.0.0.1 (DATABASE_URL / REDIS_URL override) and `wrk`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import PYTHON, ROOT, bench_env, gunicorn, prepare_database, provision

TOOLS = 10
SLOW_SECONDS = 9.0
P95_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("P95_US %d\\nP50_US %d\\nREQS %d\\nERRS %d\\n", latency:percentile(95.0),
    latency:percentile(50.0), summary.requests, summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""

# Runs inside `manage.py shell`: keeps at least TOOLS invocations in flight by queueing one per tool
# every PERIOD seconds (a little less than a call lasts), exactly as a web request would
# (tool_invoke_enqueue → the tools queue).
DRIVER = """
import time, sys
from agents.models import CustomTool
from agents.services import tool_invoke_enqueue
tools = list(CustomTool.objects.filter(organization__public_id=ORG))
deadline = time.monotonic() + DURATION
batch = 0
while time.monotonic() < deadline:
    started = time.monotonic()
    for tool in tools:
        tool_invoke_enqueue(tool=tool, arguments={"orderNumber": f"B-{batch}"}, call_session_id=f"bench_{batch}",
                            mode="live", source="voice")
    batch += 1
    time.sleep(max(0.0, PERIOD - (time.monotonic() - started)))
print(batch, flush=True)
"""


class SlowEndpoints:
    """Ten tool endpoints on one local server; each request is answered after SLOW_SECONDS."""

    def __init__(self) -> None:
        self.active = 0
        self.served = 0
        self.lock = threading.Lock()
        endpoints = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with endpoints.lock:
                    endpoints.active += 1
                try:
                    time.sleep(SLOW_SECONDS)
                    body = json.dumps({"status": "shipped", "path": self.path}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with endpoints.lock:
                        endpoints.active -= 1
                        endpoints.served += 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()


def wrk_p95(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(P95_LUA)
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", script.name]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    values = {k: int(v) for k, v in re.findall(r"^(P95_US|P50_US|REQS|ERRS) (\d+)$", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "p95_ms": values["P95_US"] / 1000,
        "p50_ms": values["P50_US"] / 1000,
        "requests": values["REQS"],
        "rps": values["REQS"] / seconds,
        "errors": values["ERRS"] + (int(non2xx.group(1)) if non2xx else 0),
    }


def api(base: str, secret: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{base}/api/public/v1{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc), a figure the machine's noise cannot skew."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample_in_flight(endpoints: SlowEndpoints, stop: threading.Event, samples: list[int]) -> None:
    while not stop.wait(0.25):
        samples.append(endpoints.active)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="quiet/loaded pairs")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()

    env = bench_env(OUTBOUND_ALLOW_LOOPBACK="true", METERING_ENABLED="true")
    prepare_database(env)
    org, secret = provision(env)
    endpoints = SlowEndpoints()
    worker = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--queues=tools",
            "--pool=threads",
            "--concurrency=20",
            "--loglevel=WARNING",
            "--hostname=tools-bench@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    results: dict[str, list[dict[str, float]]] = {"quiet": [], "loaded": []}
    in_flight: list[int] = []
    worker_cpu: list[float] = []
    try:
        with gunicorn(env, workers=2, threads=4) as base:
            for i in range(TOOLS):
                api(
                    base,
                    secret,
                    "POST",
                    "/tools",
                    {
                        "name": f"slow_tool_{i}",
                        "description": "Answers after 9 seconds.",
                        "inputSchema": {"type": "object", "properties": {"orderNumber": {"type": "string"}}},
                        "endpointUrl": f"http://127.0.0.1:{endpoints.port}/slow/{i}",
                        "timeoutSeconds": 10,
                    },
                )
            url = f"{base}/api/public/v1/tools?limit=10"
            auth = {"Authorization": f"Bearer {secret}"}
            wrk_p95(url, auth, 3, args.connections)  # warm connections and caches
            for _ in range(args.rounds):
                results["quiet"].append(wrk_p95(url, auth, args.seconds, args.connections))
                duration = args.seconds + 2 * SLOW_SECONDS
                driver = subprocess.Popen(
                    [
                        PYTHON,
                        "manage.py",
                        "shell",
                        "-v0",
                        "-c",
                        f"ORG={org['id']!r}; DURATION={duration}; PERIOD={SLOW_SECONDS - 0.5}\n" + DRIVER,
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                deadline = time.monotonic() + 30
                while endpoints.active < TOOLS and time.monotonic() < deadline:
                    time.sleep(0.1)
                stop = threading.Event()
                sampler = threading.Thread(target=sample_in_flight, args=(endpoints, stop, in_flight))
                sampler.start()
                cpu_before = cpu_seconds(worker.pid)
                results["loaded"].append(wrk_p95(url, auth, args.seconds, args.connections))
                worker_cpu.append(cpu_seconds(worker.pid) - cpu_before)
                stop.set()
                sampler.join()
                driver.wait(duration + 30)
                while endpoints.active:  # let the last batch finish before the next quiet run
                    time.sleep(0.2)
            stats = api(base, secret, "GET", "/tools?limit=10")
    finally:
        worker.terminate()
        worker.wait(15)

    quiet = statistics.median(r["p95_ms"] for r in results["quiet"])
    loaded = statistics.median(r["p95_ms"] for r in results["loaded"])
    # Each loaded run follows its own quiet run, so the pair shares the machine's background load.
    pair_growth = [
        (ld["p95_ms"] / q["p95_ms"] - 1) * 100 for q, ld in zip(results["quiet"], results["loaded"], strict=True)
    ]
    print(
        f"ordinary request: GET /api/public/v1/tools?limit=10, wrk {args.connections} connections, "
        f"{args.seconds} s per run; gunicorn 2×4 threads; tools worker: Celery --pool threads --concurrency 20"
    )
    for name in ("quiet", "loaded"):
        for r in results[name]:
            print(
                f"  {name:6}  p50 {r['p50_ms']:7.2f} ms   p95 {r['p95_ms']:7.2f} ms   {r['rps']:7.1f} req/s"
                f"   errors {int(r['errors'])}"
            )
    print(
        f"tool calls in flight while loaded: min {min(in_flight)}, median {statistics.median(in_flight):.0f}, "
        f"max {max(in_flight)} (each takes {SLOW_SECONDS:.0f} s); endpoint requests served: {endpoints.served}"
    )
    print(
        f"tools worker CPU while loaded: {statistics.mean(worker_cpu):.2f} s per {args.seconds} s run "
        f"({statistics.mean(worker_cpu) / args.seconds * 100:.1f} % of one core)"
    )
    print(
        f"last invocation status per tool: "
        f"{sorted({t['lastInvocationStatus'] for t in stats['data']} - {None}) or ['none']}"
    )
    growth = (loaded / quiet - 1) * 100
    print(
        f"p95 growth per quiet→loaded pair: {', '.join(f'{g:+.1f} %' for g in pair_growth)}; "
        f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"median p95 quiet {quiet:.2f} ms → loaded {loaded:.2f} ms: {growth:+.1f} %  (target ≤ +20 %)  "
        f"{'OK' if growth <= 20 else 'OVER TARGET'}"
    )


if __name__ == "__main__":
    main()
