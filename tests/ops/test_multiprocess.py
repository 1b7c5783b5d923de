"""Multiprocess metrics: values written by several processes are summed by whichever one is scraped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from celery import current_app
from django.conf import settings
from prometheus_client import generate_latest

from ops import heartbeat
from ops.metrics import build_registry
from tests.conftest import redis_available
from tests.procfile import procfile_arguments

from .metrics_helpers import TOKEN, Scrape, parse

pytestmark = pytest.mark.django_db

WRITER = """
from core.metrics import HTTP_REQUESTS, WEBHOOK_ATTEMPTS, webhook_request_in_flight
import sys
n = int(sys.argv[1])
for _ in range(n):
    HTTP_REQUESTS.labels(route="/api/public/v1/calls", method="GET", status="200", mode="live").inc()
WEBHOOK_ATTEMPTS.labels(outcome="succeeded").inc(n)
with webhook_request_in_flight("whk_ended"):
    pass
"""


def test_counters_written_by_separate_processes_are_summed(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (3, 5, 7):
        subprocess.run([sys.executable, "-c", WRITER, str(n)], env=env, cwd=settings.BASE_DIR, check=True)
    assert len(list(tmp_path.glob("counter_*.db"))) == 3  # one file per process

    found = Scrape(parse(generate_latest(build_registry(str(tmp_path))).decode()))
    assert (
        found.value("aip_http_requests_total", route="/api/public/v1/calls", method="GET", status="200", mode="live")
        == 15
    )
    assert found.value("aip_webhook_attempts_total", outcome="succeeded") == 15
    # The database-backed families are still there, next to the summed ones.
    assert found.value("aip_webhook_deliveries", status="pending") == 0
    assert found.value("aip_metrics_collector_errors", collector="webhooks") == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gunicorn_env(tmp_path: Path) -> dict[str, str]:
    """A gunicorn of this project on an empty SQLite file (`tmp_path/empty.sqlite3`), no Redis, writing
    its metrics to `tmp_path/metrics` (made here)."""
    (tmp_path / "metrics").mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "gunicorn-test-secret",
        "FIELD_ENCRYPTION_KEY": "gunicorn-test-field-key",
        "ALLOWED_HOSTS": "*",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "CACHE_URL": "locmemcache://",
        "CELERY_BROKER_URL": "memory://",
        "REQUEST_LOG_ENABLED": "false",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    }
    env.pop("REDIS_URL", None)
    return env


@pytest.mark.slow
def test_gunicorn_with_two_workers_reports_the_same_totals_whichever_worker_is_scraped(tmp_path: Path) -> None:
    env = _gunicorn_env(tmp_path)
    metrics_dir = tmp_path / "metrics"
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "--config",
            "python:config.gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

        def call(_: int) -> int:
            # No key: refused before any database work, by whichever worker accepts the connection.
            return httpx.get(f"{base}/api/public/v1/keys", headers={"Connection": "close"}).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(call, range(60))) == {401}
        assert len(list(metrics_dir.glob("counter_*.db"))) == 2  # both workers answered some

        totals = set()
        for _ in range(6):
            response = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}", "Connection": "close"})
            assert response.status_code == 200
            found = Scrape(parse(response.text))
            totals.add(
                (
                    found.value(
                        "aip_http_requests_total", route="/api/public/v1/keys", method="GET", status="401", mode=""
                    ),
                    found.value("aip_api_refusals_total", code="API_KEY_REQUIRED"),
                )
            )
        assert totals == {(60.0, 60.0)}
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.skipif(not redis_available(), reason="needs Redis (REDIS_URL) as the broker and cache a worker shares")
def test_a_real_celery_worker_beats_and_its_task_metrics_are_summed_from_its_child_process(tmp_path: Path) -> None:
    heartbeat.forget_throttle()
    hostname = f"opstest-{os.getpid()}@localhost"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--queues=default",
            f"--hostname={hostname}",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 40
        while hostname not in heartbeat.heartbeats():  # written by the worker's own signal, into the shared cache
            assert time.monotonic() < deadline, "the worker never beat"
            time.sleep(0.2)
        current_app.send_task("ops.beat_heartbeat", queue="default")
        found = Scrape({})
        while found.value("aip_celery_tasks_total", task="ops.beat_heartbeat", state="SUCCESS") < 1:
            assert time.monotonic() < deadline, "the task's metric never appeared"
            time.sleep(0.2)
            found = Scrape(parse(generate_latest(build_registry(str(tmp_path))).decode()))
        assert found.value("aip_celery_task_duration_seconds_count", task="ops.beat_heartbeat") == 1
        assert heartbeat.BEAT in heartbeat.heartbeats()  # the task itself: beat's proof of life
    finally:
        worker.terminate()
        worker.wait(timeout=20)


def _workers(master: int) -> set[int]:
    return {int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()}


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from /proc (Linux)")
def test_the_procfile_web_line_preloads_and_a_replaced_worker_serves_and_keeps_the_totals(tmp_path: Path) -> None:
    """The Procfile's web line, as deployed: Django is loaded once in the master and each worker is a fork
    of it. Nothing the master loaded may be shared by its workers (no database connection opened before
    the fork), a worker forked to replace one (as after --max-requests) serves, and its metrics add up
    with the others'."""
    env = _gunicorn_env(tmp_path)
    metrics_dir = tmp_path / "metrics"
    database = tmp_path / "empty.sqlite3"
    port = _free_port()
    arguments = procfile_arguments("web", WEB_CONCURRENCY="2", PORT=str(port))
    assert arguments[0] == "gunicorn" and "--preload" in arguments
    command = [str(Path(sys.executable).parent / "gunicorn"), *arguments[1:], "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def call(_: int) -> int:
        # No key: refused before any database work, by whichever worker accepts the connection.
        return httpx.get(f"{base}/api/public/v1/keys", headers={"Connection": "close"}).status_code

    try:
        deadline = time.monotonic() + 30
        while len(_workers(server.pid)) < 2 or not _answers(f"{base}/healthz"):
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        # The master loaded Django and the app, but opened no database connection its forks would share.
        assert not any(os.path.realpath(fd).startswith(str(database)) for fd in _open_files(server.pid)), (
            "the master holds the database open"
        )

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(call, range(40))) == {401}
        first = _workers(server.pid)
        killed = min(first)
        os.kill(killed, signal.SIGKILL)  # as a crash, or --max-requests without the grace
        while len(_workers(server.pid) - {killed}) < 2:
            assert server.poll() is None and time.monotonic() < deadline + 30
            time.sleep(0.05)
        (replacement,) = _workers(server.pid) - first
        calls = 40
        with ThreadPoolExecutor(max_workers=8) as pool:
            while not (metrics_dir / f"counter_{replacement}.db").exists():  # until the new worker has answered
                assert set(pool.map(call, range(10))) == {401}
                calls += 10
                assert calls < 2000, "the replacement worker never answered"

        totals = set()
        for _ in range(6):
            response = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}", "Connection": "close"})
            assert response.status_code == 200
            found = Scrape(parse(response.text))
            totals.add(found.value("aip_api_refusals_total", code="API_KEY_REQUIRED"))
        # Every refusal counted once: the killed worker's, its replacement's and the other's.
        assert totals == {float(calls)}
    finally:
        server.terminate()
        server.wait(timeout=40)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, headers={"Connection": "close"}).status_code == 200
    except httpx.TransportError:
        return False


def _open_files(pid: int) -> list[str]:
    return [str(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
