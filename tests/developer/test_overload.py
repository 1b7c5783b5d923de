"""Load shedding: a web process holding its bound of requests answers the next ones 503 at once."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from email.message import Message
from pathlib import Path

import pytest
from django.conf import settings

from developer.overload import refusal

SHEDDING_WORKER = "config.gunicorn_worker.SheddingWorker"


def _parse(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    return status, dict(line.split(": ", 1) for line in lines), body


def test_an_api_refusal_is_the_envelope_with_retry_after() -> None:
    status, headers, body = _parse(refusal(b"/api/public/v1/calls?limit=5"))

    assert status == "HTTP/1.1 503 Service Unavailable"
    assert headers["Retry-After"] == "1"
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)
    assert headers["Connection"] == "close"
    error = json.loads(body)["error"]
    assert json.loads(body)["success"] is False
    assert (error["code"], error["status"]) == ("SERVICE_UNAVAILABLE", 503)
    assert error["requestId"] == headers["X-Request-Id"] and error["requestId"].startswith("req_")


def test_a_dashboard_refusal_is_a_page() -> None:
    status, headers, body = _parse(refusal(b"/settings/developer/"))

    assert status.startswith("HTTP/1.1 503")
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Retry-After"] == "1"
    assert int(headers["Content-Length"]) == len(body)
    assert b"We are busy right now" in body


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, Message, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def gunicorn_server(tmp_path: Path):
    """One process, two threads, a bound of two in flight; requests wait at `tmp_path / "gate"`."""
    port = _free_port()
    env = dict(
        os.environ,
        WEB_MAX_IN_FLIGHT="2",
        OVERLOAD_TEST_GATE=str(tmp_path / "gate"),
        PYTHONPATH=str(settings.BASE_DIR),
    )
    command = [sys.executable, "-m", "gunicorn", "tests.developer.overload_app:application"]
    command += ["--workers", "1", "--threads", "2", "--worker-class", SHEDDING_WORKER]
    command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stderr=log)
    try:
        # Its own answer, not a 200 from another test's server that took the port first.
        while _get_or_none(f"http://127.0.0.1:{port}/healthz") != (200, b"served"):
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        (tmp_path / "gate").touch()
        process.terminate()
        process.wait(30)
        log.close()


def _get_or_none(url: str) -> tuple[int, bytes] | None:
    try:
        status, _, body = _get(url)
        return status, body
    except OSError:
        return None


def _started(tmp_path: Path) -> int:
    return len(list(tmp_path.glob("started-*")))


def _wait_until_held(held: list[Future[tuple[int, Message, bytes]]], tmp_path: Path) -> None:
    while _started(tmp_path) < 2:
        # A held request answered already never reached the gate: fail with its answer, not hang.
        assert not any(future.done() for future in held), [future.result()[:1] for future in held if future.done()]
        time.sleep(0.02)


def test_requests_beyond_the_bound_are_refused_at_once_and_the_others_served(gunicorn_server) -> None:
    base, tmp_path = gunicorn_server
    with ThreadPoolExecutor(3) as pool:
        held: list[Future[tuple[int, Message, bytes]]] = [
            pool.submit(_get, f"{base}/api/public/v1/calls"),
            pool.submit(_get, f"{base}/settings/developer/"),
        ]
        _wait_until_held(held, tmp_path)  # both threads are now held at the gate: the process is full

        # These answer while the gate is still shut, so nothing waited for the held requests.
        refused_api = [_get(f"{base}/api/public/v1/keys?limit=1") for _ in range(3)]
        refused_page = _get(f"{base}/settings/developer/")
        assert not (tmp_path / "gate").exists() and all(not future.done() for future in held)
        # A health probe is never refused: it waits for a thread like any request within the bound.
        probe = pool.submit(_get, f"{base}/healthz")

        (tmp_path / "gate").touch()
        assert [future.result()[0] for future in held] == [200, 200]
        assert probe.result()[0] == 200

    for status, headers, body in refused_api:
        assert status == 503
        assert headers["Retry-After"] == "1"
        envelope = json.loads(body)
        assert envelope["success"] is False
        assert envelope["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert envelope["error"]["requestId"] == headers["X-Request-Id"]
    status, headers, body = refused_page
    assert status == 503 and headers["Retry-After"] == "1"
    assert headers["Content-Type"].startswith("text/html") and b"We are busy right now" in body
    assert _started(tmp_path) == 2  # no refused request reached the app

    # With room again, the next request is served.
    assert _get(f"{base}/api/public/v1/keys")[0] == 200


def _read_to_close(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_request_sent_after_its_connection_was_accepted_by_a_full_process_is_refused(gunicorn_server) -> None:
    base, tmp_path = gunicorn_server
    port = int(base.rsplit(":", 1)[1])
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(_get, f"{base}/api/public/v1/calls") for _ in range(2)]
        _wait_until_held(held, tmp_path)

        # The full process accepts this connection with nothing to read yet, so it waits for the request.
        with socket.create_connection(("127.0.0.1", port), timeout=30) as quiet:
            # One process takes connections in order: once a later one's refusal is back, this one was accepted.
            assert _get(f"{base}/api/public/v1/keys")[0] == 503
            quiet.sendall(b"GET /api/public/v1/keys?limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status, headers, body = _parse(_read_to_close(quiet))

        assert not (tmp_path / "gate").exists()
        (tmp_path / "gate").touch()
        assert [future.result()[0] for future in held] == [200, 200]

    assert status == "HTTP/1.1 503 Service Unavailable"
    assert headers["Retry-After"] == "1" and headers["Connection"] == "close"
    assert json.loads(body)["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert _started(tmp_path) == 2  # neither refused request reached the app


def test_the_procfile_recycles_web_workers_rarely_and_never_all_at_once() -> None:
    from gunicorn.config import Config  # type: ignore[import-untyped]

    line = next(line for line in (settings.BASE_DIR / "Procfile").read_text().splitlines() if line.startswith("web:"))
    cfg = Config()
    arguments = cfg.parser().parse_args(shlex.split(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", line))[3:])
    # A restart costs a worker about a second of CPU (Django's import and first requests): at 2,000
    # requests a busy worker restarted every few seconds under overload, eating the capacity it needed.
    assert arguments.max_requests >= 10_000
    assert arguments.max_requests_jitter >= arguments.max_requests // 20
    assert arguments.worker_class == SHEDDING_WORKER
