"""Load shedding: a web process holding its bound of requests answers the next ones 503 at once."""

from __future__ import annotations

import json
import os
import re
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
from tests.procfile import procfile_arguments

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


def _hold(pool: ThreadPoolExecutor, urls: list[str], tmp_path: Path) -> list[Future[tuple[int, Message, bytes]]]:
    """Send the requests one by one, each once the one before waits at the gate: the process is then full.

    A request's thread counts until gthread collects it, a moment after its response went out, so a
    request sent right after the fixture's probe can find the bound reached and be refused: that one is
    sent again. Any other answer before the gate opens fails the test, rather than hanging it.
    """
    held: list[Future[tuple[int, Message, bytes]]] = []
    deadline = time.monotonic() + 20
    for url in urls:
        future = pool.submit(_get, url)
        while _started(tmp_path) <= len(held):
            if future.done():
                status = future.result()[0]
                assert status == 503 and time.monotonic() < deadline, status
                future = pool.submit(_get, url)
            time.sleep(0.02)
        held.append(future)
    return held


def test_requests_beyond_the_bound_are_refused_at_once_and_the_others_served(gunicorn_server) -> None:
    base, tmp_path = gunicorn_server
    with ThreadPoolExecutor(3) as pool:
        held = _hold(pool, [f"{base}/api/public/v1/calls", f"{base}/settings/developer/"], tmp_path)

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


def _read_response(sock: socket.socket) -> bytes:
    """One response off a connection that stays open: its head, then Content-Length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_refused_request_keeps_its_connection_in_step_for_the_next_one(gunicorn_server) -> None:
    """Also: a request sent after a full process accepted its connection is refused, not queued."""
    base, tmp_path = gunicorn_server
    port = int(base.rsplit(":", 1)[1])
    with ThreadPoolExecutor(2) as pool:
        held = _hold(pool, [f"{base}/api/public/v1/calls"] * 2, tmp_path)

        # The full process accepts this connection with nothing to read yet, so it waits for the request.
        with socket.create_connection(("127.0.0.1", port), timeout=30) as kept:
            # One process takes connections in order: once a later one's refusal is back, this one was accepted.
            assert _get(f"{base}/api/public/v1/keys")[0] == 503
            kept.sendall(b"GET /api/public/v1/keys?limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status, headers, body = _parse(_read_response(kept))
            # Refused on the same connection again while the process is still full.
            kept.sendall(b"GET /api/public/v1/keys?limit=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            again, again_headers, _ = _parse(_read_response(kept))
            assert not (tmp_path / "gate").exists()

            (tmp_path / "gate").touch()
            assert [future.result()[0] for future in held] == [200, 200]
            # With room again, the same connection's next request is served: it stayed in step.
            kept.sendall(b"GET /api/public/v1/keys?limit=3 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            served, _, served_body = _parse(_read_response(kept))

    assert status == again == "HTTP/1.1 503 Service Unavailable"
    assert headers["Connection"] == again_headers["Connection"] == "keep-alive"
    assert headers["Retry-After"] == "1"
    assert json.loads(body)["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert (served, served_body) == ("HTTP/1.1 200 OK", b"served")
    assert _started(tmp_path) == 3  # the two held requests and the last one; no refused request reached the app


def test_a_refused_request_with_a_body_closes_its_connection(gunicorn_server) -> None:
    base, tmp_path = gunicorn_server
    port = int(base.rsplit(":", 1)[1])
    with ThreadPoolExecutor(2) as pool:
        held = _hold(pool, [f"{base}/api/public/v1/calls"] * 2, tmp_path)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as posted:
            body = b'{"name": "Ada"}'
            posted.sendall(
                b"POST /api/public/v1/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            status, headers, _ = _parse(_read_to_close(posted))  # returns: the server closed it
        (tmp_path / "gate").touch()
        assert [future.result()[0] for future in held] == [200, 200]
    assert status == "HTTP/1.1 503 Service Unavailable" and headers["Connection"] == "close"
    assert _started(tmp_path) == 2


@pytest.mark.parametrize(
    ("request_bytes", "reusable"),
    [
        (b"GET /api/public/v1/calls HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"DELETE /api/public/v1/contacts/con_1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", True),
        (b"POST /api/public/v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", False),
        (b"POST /api/public/v1/contacts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", False),
        (b"GET /api/public/v1/calls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", False),
        (b"GET /api/public/v1/calls HTTP/1.0\r\nHost: x\r\n\r\n", False),
        (b"GET /api/public/v1/calls HTTP/1.1\r\nHost: x\r\n", False),  # the head is not whole yet
        (b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n", False),  # a pipelined second request
    ],
)
def test_only_a_whole_request_without_a_body_keeps_its_connection(request_bytes: bytes, reusable: bool) -> None:
    from config.gunicorn_worker import reusable_after

    assert reusable_after(request_bytes) is reusable


def test_the_procfile_recycles_web_workers_rarely_and_never_all_at_once() -> None:
    from gunicorn.config import Config  # type: ignore[import-untyped]

    arguments = Config().parser().parse_args(procfile_arguments("web")[2:])  # past "gunicorn config.wsgi"
    # A restart costs a worker about a second of CPU (Django's import and first requests): at 2,000
    # requests a busy worker restarted every few seconds under overload, eating the capacity it needed.
    assert arguments.max_requests >= 10_000
    assert arguments.max_requests_jitter >= arguments.max_requests // 20
    assert arguments.worker_class == SHEDDING_WORKER
    # Loaded once in the master, so a recycled worker is a fork (a few ms of CPU), not Django's import
    # again (0.75 s of CPU, and a second without that worker); tests/ops/test_multiprocess.py runs it.
    assert arguments.preload_app is True
