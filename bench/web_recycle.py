"""What recycling a web worker costs: the Procfile's gunicorn line with and without `--preload`.

    .venv/bin/python bench/web_recycle.py [--rounds 2]

Starts the Procfile's `web` line with one worker (PostgreSQL + Redis, as bench/_server.py sets them up),
SIGKILLs the worker as `--max-requests` would retire it, and prints the CPU its replacement spent
until it answered and one second after, and the time until it answered `/healthz`; then the same
line without `--preload` (each worker imports Django itself). A figure to read, not a test.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import ROOT, bench_env, prepare_database, procfile_command

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def workers(master: int) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(env: dict[str, str], *, preload: bool) -> str:
    port = free_port()
    args = procfile_command("web", {**env, "PORT": str(port), "WEB_CONCURRENCY": "1"})
    if not preload:
        args = [arg for arg in args if arg != "--preload"]
    server = subprocess.Popen(
        [*args, "--log-level", "warning"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        while not (workers(server.pid) and answers(url)):
            if server.poll() is not None:
                sys.exit("gunicorn exited")
            time.sleep(0.05)
        time.sleep(1)
        (old,) = workers(server.pid)
        started = time.monotonic()
        os.kill(old, signal.SIGKILL)
        while not ((new := [pid for pid in workers(server.pid) if pid != old]) and answers(url)):
            time.sleep(0.005)
        serving = time.monotonic() - started
        at_first_answer = cpu_seconds(new[0])
        time.sleep(1)
        return (
            f"{'--preload' if preload else 'no preload'}: the replacement answered after {serving * 1000:.0f} ms, "
            f"having used {at_first_answer * 1000:.0f} ms of CPU ({cpu_seconds(new[0]) * 1000:.0f} ms one second later)"
        )
    finally:
        server.terminate()
        server.wait(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    env = bench_env()
    prepare_database(env)
    if "--preload" not in procfile_command("web", env):
        print("(the Procfile's web line has no --preload: both lines below run without it)")
    for _ in range(args.rounds):
        for preload in (True, False):
            print(measure(env, preload=preload), flush=True)


if __name__ == "__main__":
    main()
