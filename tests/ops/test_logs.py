"""LOG_FORMAT=json: one object per line with the request id, organisation and key id, carried into Celery tasks."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from accounts.models import Organization
from developer.logging import RedactSecretsFilter
from developer.models import ApiKey
from ops import logs
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """Every log line, formatted as LOG_FORMAT=json formats it (the same filters as the console handler)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    # On the tests' own logger: a worker started in a test reconfigures the root logger's handlers.
    logger = logging.getLogger("tests.ops")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(previous)


def entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_log_line_of_an_api_request_carries_its_request_id_organisation_and_key_but_no_secret(
    lines: io.StringIO, org: Organization, live_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from developer.public_api import base

    original = base.PublicApiView.initial

    def initial(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        original(self, request, *args, **kwargs)
        logging.getLogger("tests.ops").warning("handling with key %s", live_key)

    monkeypatch.setattr(base.PublicApiView, "initial", initial)
    response = ApiClient(live_key).get("/keys")
    assert response.status_code == 200
    (entry,) = [e for e in entries(lines) if e["logger"] == "tests.ops"]
    key = ApiKey.objects.get(organization=org)
    assert entry["request_id"] == response["X-Request-Id"]
    assert entry["organization_id"] == org.pk
    assert entry["key_id"] == key.public_id
    assert entry["level"] == "WARNING" and entry["time"].endswith("Z")
    assert entry["message"] == "handling with key aip_live_[REDACTED]"
    assert live_key not in lines.getvalue() and live_key[9:] not in lines.getvalue()


def test_exceptions_are_one_json_line_too(lines: io.StringIO) -> None:
    try:
        raise ValueError("bad whsec_abcdefghijklmnop")
    except ValueError:
        logging.getLogger("tests.ops").exception("failed")
    (entry,) = entries(lines)
    assert "ValueError" in entry["exception"] and "whsec_[REDACTED]" in entry["exception"]
    assert "abcdefghijklmnop" not in lines.getvalue()


# Run in a process of its own: Celery's in-thread test worker never starts under pytest-xdist's workers.
ROUND_TRIP = """
import io, json, logging
import django
django.setup()
from celery import Celery
from celery.contrib.testing.worker import start_worker
from ops import logs

stream = io.StringIO()
handler = logging.StreamHandler(stream)
handler.addFilter(logs.ContextFilter())
handler.setFormatter(logs.JsonFormatter())
task_logger = logging.getLogger("tests.ops.task")
task_logger.addHandler(handler)
task_logger.setLevel(logging.INFO)

app = Celery("ops-log-test", broker="memory://", set_as_current=False)
app.conf.update(task_always_eager=False, worker_hijack_root_logger=False, result_backend="cache+memory://")

@app.task(name="tests.ops.log_something")
def log_something():
    task_logger.info("inside the task")
    return "done"

with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
    token = logs.current.set(logs.LogContext(request_id="req_0123456789abcdef01234567", organization_id=7))
    try:
        result = log_something.delay()
    finally:
        logs.current.reset(token)
    assert result.get(timeout=10) == "done"
print(json.dumps({"task_id": result.id, "lines": stream.getvalue().splitlines()}))
"""


def test_a_request_id_travels_in_the_message_into_the_task_a_request_starts() -> None:
    # A real broker round trip (kombu's in-memory transport) and a real worker consumer: the id goes in
    # a message header on publish and comes back into the log context when the worker runs the task.
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PYTEST", "CELERY"))}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    done = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    output = json.loads(done.stdout.strip().splitlines()[-1])
    (line,) = output["lines"]
    entry = json.loads(line)
    assert entry["request_id"] == "req_0123456789abcdef01234567" and entry["message"] == "inside the task"
    assert entry["task"] == "tests.ops.log_something" and entry["task_id"] == output["task_id"]
    assert "organization_id" not in entry  # only the request id travels: it is the join key


def test_log_format_json_configures_the_console_handler() -> None:
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('x').warning('hello %s', 'Bearer abcdefghijklmnopqrstuvwxyz')"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_FORMAT": "json",
        "SECRET_KEY": "s",
        "FIELD_ENCRYPTION_KEY": "f",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, check=True
    )
    entry = json.loads(done.stderr.strip().splitlines()[-1])
    assert entry["message"] == "hello Bearer [REDACTED]" and entry["logger"] == "x"


def test_outside_a_request_or_task_a_line_has_no_context(lines: io.StringIO) -> None:
    logging.getLogger("tests.ops").info("idle")
    (entry,) = entries(lines)
    assert set(entry) == {"time", "level", "logger", "message"}
