"""`make run`'s last step (`manage.py demo_banner`): it waits for the web server and every worker that
started in this run, then prints how to reach the demo as the last block on the screen."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

import demo.seed
from demo.startup import Waited, wait_until_up
from developer.public_api.authentication import lookup_principal
from ops import heartbeat


class _Healthz(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def web() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_it_returns_once_the_server_answers_and_every_worker_started_in_this_run(web: str) -> None:
    heartbeat.forget_throttle()
    started = time.time()
    heartbeat.beat("celery@old", now=started - 600, force=True)  # a worker of an earlier run
    heartbeat.beat("beat", now=started + 1, force=True)  # beat is not a worker
    for name in ("celery@box", "tools@box"):
        heartbeat.beat(name, now=started + 1, force=True)
    clock = FakeClock()
    waited = wait_until_up(
        health_url=f"{web}/healthz", workers=3, since=started, timeout=5, clock=clock, sleep=clock.sleep
    )
    assert waited == Waited(web=True, workers=2) and clock.now >= 5  # gave up: the third never started

    heartbeat.beat("webhooks@box", now=started + 2, force=True)
    clock = FakeClock()
    waited = wait_until_up(
        health_url=f"{web}/healthz", workers=3, since=started, timeout=5, clock=clock, sleep=clock.sleep
    )
    assert waited == Waited(web=True, workers=3) and clock.now == 0  # at once


def test_a_server_that_does_not_answer_is_not_up() -> None:
    clock = FakeClock()
    waited = wait_until_up(
        health_url="http://127.0.0.1:9/healthz", workers=0, since=0, timeout=1, clock=clock, sleep=clock.sleep
    )
    assert waited.web is False


def test_demo_banner_prints_the_login_and_a_working_test_key_last_and_says_what_is_missing(
    db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo.seed, "DEMO_KEY_FILE", tmp_path / "demo-key.txt")
    out, err = io.StringIO(), io.StringIO()
    call_command("demo_banner", "--port", "9", "--timeout", "0", "--since", str(time.time()), stdout=out, stderr=err)
    lines = out.getvalue().strip().splitlines()
    assert lines[0].strip() == "AI Phone 360 developer platform is running on http://127.0.0.1:9/"
    assert "login demo@aiphone360.test / demo-password-360" in lines[1]
    secret = lines[2].split("Demo test key: ")[1]
    principal = lookup_principal(secret)
    assert principal is not None and principal.mode == "test"
    assert lines[3].strip() == f"Try: curl -H 'Authorization: Bearer {secret}' http://127.0.0.1:9/api/public/v1/keys"
    assert "did not answer on http://127.0.0.1:9" in err.getvalue()
    assert "0 of 3 Celery workers started" in err.getvalue() and "var/log/" in err.getvalue()
