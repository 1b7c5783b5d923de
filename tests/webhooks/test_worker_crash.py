"""The Procfile's threaded webhooks worker, for real, on Redis and PostgreSQL: killed mid-delivery it
loses nothing and resumes within seconds; a hanging endpoint delays no other business and stays under
its cap; a turn message delivered twice sends once."""

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
from tests.conftest import is_postgres, make_org, redis_available
from webhooks.delivery import CLAIM_LEASE, deliveries_sweep
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
    """The Procfile's `webhooks` worker (threads) in its own process group, on the test database and broker."""

    def __init__(self, **extra_env: str) -> None:
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
            **extra_env,
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--queues=webhooks,webhooks_slow",
                "--pool=threads",
                "--concurrency=8",
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


def _sweep_until(predicate: Any, timeout: float) -> float:
    """Run the sweep once a second, as beat does (every 5 s in production), until ``predicate``; seconds taken."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("timed out waiting for the worker")
        deliveries_sweep()
        time.sleep(1)
    return time.monotonic() - started


def test_a_worker_killed_mid_delivery_resumes_within_seconds_of_a_healthy_worker(
    real_broker: None, org: Organization, receiver: Receiver
) -> None:
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

        workers.append(Worker())
        took = _sweep_until(lambda: Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.SUCCEEDED, 60)
    finally:
        stuck.set()
        for worker in workers:
            worker.stop()

    # The lease (10 s) ran out, the sweep freed it and woke the turn: seconds, not minutes.
    assert took < CLAIM_LEASE.total_seconds() + 15
    first, second = receiver.requests
    assert first.headers["x-aip-event-id"] == second.headers["x-aip-event-id"] == event.public_id
    assert first.body == second.body == event.body.encode()
    assert [first.headers["x-aip-attempt"], second.headers["x-aip-attempt"]] == ["1", "2"]
    attempts = {a.number: a for a in Attempt.objects.filter(delivery=delivery)}
    assert attempts[1].error_class == "worker_lost"
    assert attempts[2].succeeded and attempts[2].response_status == 200
    # Two attempts shown; the one lost with its worker (its result never recorded) is not charged (issue 21),
    # the re-send is charged once.
    (record,) = UsageRecord.objects.filter(metric="webhook_attempts", organization=org)
    assert record.quantity == 1


def test_a_hanging_endpoint_neither_delays_another_business_nor_exceeds_its_cap(
    real_broker: None, org: Organization, receiver: Receiver
) -> None:
    other = make_org("Other Business")
    endpoint_create(organization=org, url=receiver.url + "/a", events=["*"], actor=None)
    endpoint_create(organization=other, url=receiver.url + "/b", events=["*"], actor=None)
    hanging = threading.Event()
    receiver.routes["/hooks/a"] = Reply(200, wait_for=hanging)
    worker = Worker(WEBHOOK_ENDPOINT_MAX_IN_FLIGHT="3")
    try:
        for n in range(10):
            emit(organization=org, type="call.completed", data={"n": n}, mode="live")
        receiver.wait_for_requests(3, timeout=60)  # the hanging endpoint's cap is in flight

        emitted_at = time.monotonic()
        event = emit(organization=other, type="call.completed", data={"n": "b"}, mode="live")
        _wait_for(lambda: any(r.path == "/hooks/b" for r in receiver.requests), timeout=30)
        waited = time.monotonic() - emitted_at
        time.sleep(1)  # room for a request over the cap to show up
        to_a = [r for r in receiver.requests if r.path == "/hooks/a"]
    finally:
        hanging.set()
        worker.stop()

    assert waited < 3  # the other business's event is not queued behind the hanging requests
    to_b = next(r for r in receiver.requests if r.path == "/hooks/b")
    assert to_b.headers["x-aip-event-id"] == event.public_id
    assert len(to_a) == 3  # never more than the cap in flight to one endpoint


def test_a_turn_message_delivered_twice_sends_each_delivery_once(
    real_broker: None, org: Organization, receiver: Receiver
) -> None:
    from webhooks import tasks

    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    slow = threading.Event()
    receiver.default = Reply(200, wait_for=slow)  # every request is held, so the claims stay leased
    worker = Worker()
    try:
        events = [emit(organization=org, type="call.completed", data={"n": n}, mode="live") for n in range(3)]
        receiver.wait_for_requests(3, timeout=60)
        # The broker hands the same turn out again (a redelivery after a crash or a visibility timeout).
        for _ in range(3):
            tasks.turn.apply_async(args=(org.pk, "fast"), queue="webhooks")
        time.sleep(2)
        slow.set()
        _wait_for(lambda: Delivery.objects.filter(organization=org, status="succeeded").count() == 3)
        tasks.turn.apply_async(args=(org.pk, "fast"), queue="webhooks")  # and once more after the work is done
        time.sleep(2)
    finally:
        slow.set()
        worker.stop()

    assert sorted(r.headers["x-aip-event-id"] for r in receiver.requests) == sorted(e.public_id for e in events)
    assert Attempt.objects.filter(delivery__organization=org).count() == 3


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
