"""Shared plumbing for benchmarks: a PostgreSQL + Redis environment, gunicorn, and wrk."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def bench_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aiphone360_bench")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
    env.setdefault("CELERY_BROKER_URL", env["REDIS_URL"])
    env.update(
        {
            "SECRET_KEY": "bench-secret-key-bench-secret-key-bench-secret-key",
            "FIELD_ENCRYPTION_KEY": "bench-field-encryption-key-bench-field-encryption-key",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "ROOT_URLCONF": "bench.urls",
            "LOG_LEVEL": "WARNING",
            "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        }
    )
    env.update(extra)
    return env


def procfile_command(name: str, env: dict[str, str]) -> list[str]:
    """The Procfile's command for process ``name``, its ``${VAR:-default}`` filled from ``env``, run by this Python."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        process, _, command = line.partition(":")
        if process.strip() == name:
            command = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1)) or m.group(2), command.strip())
            words = shlex.split(command)
            if words[0] in ("celery", "gunicorn"):
                words = [PYTHON, "-m", *words]
            return words
    raise KeyError(f"no {name!r} process in the Procfile")


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def prepare_database(env: dict[str, str]) -> None:
    name = env["DATABASE_URL"].rsplit("/", 1)[-1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True)
    manage(env, "migrate", "--noinput", "-v0")
    subprocess.run(["redis-cli", "-u", env["REDIS_URL"], "flushdb"], capture_output=True)


def provision(env: dict[str, str], *, plan: str = "ENTERPRISE", rate_limit: int = 10_000_000) -> tuple[dict, str]:
    """A funded organisation and a full-scope live key. The bench database's plan limit is raised so
    the load measures the limiter's cost without being cut off by it."""
    manage(
        env,
        "shell",
        "-v0",
        "-c",
        "from billing.models import Plan; "
        f"Plan.objects.filter(code='{plan}').update(rate_limit_per_minute={rate_limit})",
    )
    org = json.loads(
        manage(
            env,
            "create_organization",
            "--name",
            f"Bench {time.time()}",
            "--plan",
            plan,
            "--addon",
            "--credits",
            "1000",
            "--json",
        )
    )
    key = json.loads(manage(env, "create_api_key", "--org", org["id"], "--mode", "live", "--json"))
    return org, key["secret"]


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 2, port: int = 8765, threads: int = 1) -> Iterator[str]:
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # a pipe nobody reads would fill up and block the workers that log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/public/v1/ping-ready", timeout=1)
            except urllib.error.HTTPError:
                break  # any HTTP answer means it is serving
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def wrk(
    url: str, *, headers: dict[str, str] | None = None, seconds: int = 10, connections: int = 8, threads: int = 2
) -> dict[str, float]:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed for benchmarks: apt-get install -y wrk")
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    requests = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if requests is None:
        raise RuntimeError(f"wrk printed no Requests/sec line:\n{out}")
    rps = float(requests.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    return {
        "rps": rps,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else float("nan"),
    }
