"""Load shedding: the web worker refuses what it cannot start soon, and Django answers 503 at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

from developer.overload import SHED_KEY, OverloadMiddleware

pytestmark = pytest.mark.django_db


def _never_called(request):
    raise AssertionError("a shed request must not reach the view")


def test_a_shed_api_request_gets_the_envelope_with_retry_after() -> None:
    response = Client().get("/api/public/v1/calls", **{SHED_KEY: "busy"})  # type: ignore[arg-type]

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["error"]["status"] == 503
    assert body["error"]["requestId"] == response["X-Request-Id"]


def test_a_shed_dashboard_request_gets_a_page() -> None:
    response = Client().get("/settings/developer/", **{SHED_KEY: "queued"})  # type: ignore[arg-type]

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"We are busy right now" in response.content


def test_requests_the_worker_kept_and_health_probes_are_served() -> None:
    middleware = OverloadMiddleware(_never_called)
    assert Client().get("/api/public/v1/calls").status_code == 401  # not shed: the API answers as usual
    for path in ("/healthz", "/readyz", "/metrics"):
        request = RequestFactory().get(path, **{SHED_KEY: "busy"})  # type: ignore[arg-type]
        with pytest.raises(AssertionError, match="must not reach"):
            middleware(request)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SHEDDING_WORKER = "config.gunicorn_worker.SheddingWorker"


def _get(url: str) -> tuple[int, str, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), time.monotonic() - started


@pytest.fixture
def gunicorn_app():
    def start(*, worker_class: str) -> str:
        port = _free_port()
        env = dict(os.environ, WEB_MAX_IN_FLIGHT="4", WEB_MAX_QUEUE_MS="250", PYTHONPATH=str(settings.BASE_DIR))
        command = [sys.executable, "-m", "gunicorn", "tests.developer.overload_app:application"]
        command += ["--workers", "1", "--threads", "2", "--worker-class", worker_class]
        command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stderr=subprocess.PIPE)
        processes.append(process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return f"http://127.0.0.1:{port}/"
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(process.stderr.read().decode() if process.stderr else "gunicorn did not start")

    processes: list[subprocess.Popen[bytes]] = []
    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def _burst(url: str, count: int) -> list[tuple[int, str, float]]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: _get(url), range(count)))


def test_the_shedding_worker_sheds_a_burst_instead_of_queueing_it(gunicorn_app) -> None:
    url = gunicorn_app(worker_class=SHEDDING_WORKER)
    _get(url)  # warm

    answers = _burst(url, 16)

    served = [seconds for status, _, seconds in answers if status == 200]
    shed = [(body, seconds) for status, body, seconds in answers if status == 503]
    assert len(served) + len(shed) == 16
    # Two threads, a cap of four in flight and 250 ms of queueing: a few are served, the rest refused.
    assert 2 <= len(served) <= 8
    assert {body.split()[0] for body, _ in shed} <= {"busy", "queued"}
    assert any(body.startswith("busy") for body, _ in shed)
    # Served requests waited at most the queue limit before their 200 ms of work.
    assert max(served) < 0.25 + 0.2 + 0.5
    # A refusal never waited behind more than the cap: it answers well before the queue would drain.
    assert max(seconds for _, seconds in shed) < 16 * 0.2 / 2


def test_the_stock_worker_queues_the_same_burst(gunicorn_app) -> None:
    """The control: without shedding every request waits its turn, the last for the whole burst."""
    url = gunicorn_app(worker_class="gthread")
    _get(url)

    answers = _burst(url, 16)

    assert [status for status, _, _ in answers] == [200] * 16
    assert max(seconds for _, _, seconds in answers) >= 16 * 0.2 / 2 * 0.9


def test_a_refusal_carries_its_length_so_the_connection_stays_usable() -> None:
    response = Client().get("/api/public/v1/calls", **{SHED_KEY: "busy"})  # type: ignore[arg-type]

    assert int(response["Content-Length"]) == len(response.content) > 0
