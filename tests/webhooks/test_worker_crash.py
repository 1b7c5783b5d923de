"""A real Celery worker on Redis, killed mid-delivery, loses nothing: the sweep re-sends the same event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Organization
from billing.models import UsageRecord
from tests.conftest import is_postgres, redis_available
from webhooks.delivery import CLAIM_LEASE, REQUEUE_AFTER, deliveries_sweep
from webhooks.events import emit
from webhooks.models import Attempt, Delivery
from webhooks.services import endpoint_create

from .receiver import Receiver, Reply

ROOT = Path(__file__).resolve().parents[2]


def _skip_reason() -> str | None:
    if not redis_available() or not settings.CELERY_BROKER_URL.startswith("redis://"):
        return "needs Redis as the Celery broker (set REDIS_URL and CELERY_BROKER_URL)"
    if not is_postgres():
        return "needs PostgreSQL: the worker subprocess must share the test database (set DATABASE_URL)"
    return None


# Skipped at collection, before a transactional database is set up for nothing.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or ""),
]


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """`celery worker` in its own process group, pointed at the test database and broker."""

    def __init__(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "SECRET_KEY": settings.SECRET_KEY,
            "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,  # decrypts the endpoint's signing secret
            "OUTBOUND_ALLOW_LOOPBACK": "true",
            "CACHE_URL": "locmemcache://",
            "REDIS_URL": "",
            "DEBUG": "false",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # no warm shutdown, no ack, no cleanup
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def real_broker() -> Iterator[None]:
    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # this process enqueues to Redis like the web server does
    app.control.purge()
    try:
        yield
    finally:
        app.control.purge()
        app.conf.task_always_eager = eager


def _wait_for(predicate: Any, timeout: float = 60) -> None:
    """Poll the database while a separate process works (this waits for a process, not a clock)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.1)


def test_a_worker_killed_mid_delivery_loses_nothing(real_broker: None, org: Organization, receiver: Receiver) -> None:
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    stuck = threading.Event()
    receiver.reply(Reply(200, wait_for=stuck))  # the first request hangs until the worker is dead
    workers: list[Worker] = []
    try:
        workers.append(Worker())
        event = emit(organization=org, type="call.completed", data={"callId": "call_1"}, mode="live")
        delivery = Delivery.objects.get(event=event)

        receiver.wait_for_requests(1, timeout=60)
        workers[0].kill()
        stuck.set()

        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.PENDING and delivery.claimed_until is not None
        # Time passes (the clock is driven): the claim expires and the sweep re-sends the task.
        later = timezone.now() + CLAIM_LEASE + REQUEUE_AFTER
        result = deliveries_sweep(now=later)
        assert result.requeued == 1 and result.lost_attempts == 1

        workers.append(Worker())
        first, second = receiver.wait_for_requests(2, timeout=60)
        _wait_for(lambda: Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.SUCCEEDED)
    finally:
        stuck.set()
        for worker in workers:
            worker.stop()

    assert first.headers["x-aip-event-id"] == second.headers["x-aip-event-id"] == event.public_id
    assert first.body == second.body == event.body.encode()
    assert [first.headers["x-aip-attempt"], second.headers["x-aip-attempt"]] == ["1", "2"]
    attempts = {a.number: a for a in Attempt.objects.filter(delivery=delivery)}
    assert attempts[1].error_class == "worker_lost"
    assert attempts[2].succeeded and attempts[2].response_status == 200
    assert UsageRecord.objects.filter(metric="webhook_attempts", organization=org).count() == 2
    assert len(receiver.requests) == 2


def test_the_same_path_without_a_crash_delivers_once_through_the_worker(
    real_broker: None, org: Organization, receiver: Receiver
) -> None:
    endpoint_create(organization=org, url=receiver.url, events=["sms.sent"], actor=None)
    worker = Worker()
    try:
        event = emit(organization=org, type="sms.sent", data={"messageId": "msg_1"}, mode="test")
        (request,) = receiver.wait_for_requests(1, timeout=60)
        _wait_for(lambda: Delivery.objects.get(event=event).status == Delivery.Status.SUCCEEDED)
    finally:
        worker.stop()

    assert request.headers["x-aip-event-id"] == event.public_id
    assert request.headers["x-aip-mode"] == "test"
    assert timezone.now() - Delivery.objects.get(event=event).created_at < timedelta(minutes=1)
