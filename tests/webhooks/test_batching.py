"""Batches: a worker task drains its organisation's due backlog; a waiting task absorbs new events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from accounts.models import Organization
from billing.models import UsageRecord
from tests.conftest import make_org
from webhooks import delivery, tasks
from webhooks.delivery import deliveries_attempt
from webhooks.events import emit
from webhooks.models import Attempt, Delivery
from webhooks.services import endpoint_create

from .receiver import Receiver

pytestmark = pytest.mark.django_db


def emitted(org: Organization, count: int) -> list[int]:
    """``count`` events, each with one delivery per endpoint; their delivery ids, oldest first."""
    events = [emit(organization=org, type="call.completed", data={"n": n}, mode="live") for n in range(count)]
    return list(Delivery.objects.filter(event__in=events).order_by("created_at", "id").values_list("pk", flat=True))


def test_a_task_drains_its_organisations_due_backlog_in_capped_batches_oldest_first(
    org: Organization, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint_create(organization=org, url=receiver.url + "/a", events=["*"], actor=None)
    other = make_org()
    endpoint_create(organization=other, url=receiver.url + "/other", events=["*"], actor=None)
    ids = emitted(org, 12)
    (foreign,) = emitted(other, 1)
    later = emit(organization=org, type="call.completed", data={"n": "later"}, mode="live")
    Delivery.objects.filter(event=later).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    helpers: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.deliver_batch, "apply_async", lambda args, **options: helpers.append(args))

    attempts = deliveries_attempt(delivery_ids=[ids[0]], with_backlog=True)

    # All twelve went, to one endpoint one after another, oldest first.
    assert [a.delivery_id for a in attempts] == ids
    assert [r.json["data"]["n"] for r in receiver.requests] == list(range(12))
    assert Delivery.objects.filter(pk__in=ids, status="succeeded").count() == 12
    # In batches of at most PER_ENDPOINT_BATCH per endpoint, one usage record each.
    usage = UsageRecord.objects.filter(organization=org, metric="webhook_attempts").order_by("id")
    assert [u.quantity for u in usage] == [5, 5, 2]
    # More than one batch was due, so it asked once for a helper (here not run) to share the work.
    assert helpers == [([], org.pk)]
    # Another organisation's deliveries and deliveries not yet due are left alone.
    assert Delivery.objects.get(pk=foreign).status == "pending" and not Attempt.objects.filter(delivery=foreign)
    assert Delivery.objects.get(event=later).attempt_count == 0


def test_without_backlog_only_the_given_ids_are_attempted_and_ids_that_do_not_fit_follow(
    org: Organization, receiver: Receiver
) -> None:
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    ids = emitted(org, 8)

    attempts = deliveries_attempt(delivery_ids=ids[:7])

    assert [a.delivery_id for a in attempts] == ids[:7]  # 5 in a first batch, 2 in the next
    assert Delivery.objects.get(pk=ids[7]).status == "pending"
    assert [u.quantity for u in UsageRecord.objects.filter(organization=org).order_by("id")] == [5, 2]


def test_given_ids_that_are_not_due_or_are_claimed_are_skipped(org: Organization, receiver: Receiver) -> None:
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    due, future, claimed, done = emitted(org, 4)
    now = timezone.now()
    Delivery.objects.filter(pk=future).update(next_attempt_at=now + timedelta(minutes=5))
    Delivery.objects.filter(pk=claimed).update(claimed_until=now + timedelta(minutes=1))
    Delivery.objects.filter(pk=done).update(status="succeeded")

    attempts = deliveries_attempt(delivery_ids=[due, future, claimed, done])

    assert [a.delivery_id for a in attempts] == [due] and len(receiver.requests) == 1


def test_a_batch_spans_at_most_max_parallel_requests_endpoints(
    org: Organization, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "MAX_PARALLEL_REQUESTS", 2)
    for name in "abc":
        endpoint_create(organization=org, url=f"{receiver.url}/{name}", events=["*"], actor=None)
    ids = emitted(org, 1)

    attempts = deliveries_attempt(delivery_ids=ids)

    assert sorted(a.delivery_id for a in attempts) == sorted(ids)
    assert [u.quantity for u in UsageRecord.objects.filter(organization=org).order_by("id")] == [2, 1]


class FanOutTests(TestCase):
    """Real commits, so the after-commit hook that wakes the worker runs (tasks are not eager here)."""

    def setUp(self) -> None:
        from django.core.cache import cache

        cache.clear()
        self.org = make_org()
        endpoint_create(organization=self.org, url="https://hooks.example.com/in", events=["*"], actor=None)
        self.sent: list[tuple[Any, ...]] = []
        patcher = pytest.MonkeyPatch()
        self.countdowns: list[Any] = []

        def apply_async(args: tuple[Any, ...], **options: Any) -> None:
            self.sent.append(args)
            self.countdowns.append(options["countdown"])

        patcher.setattr(tasks.deliver_batch, "apply_async", apply_async)
        self.addCleanup(patcher.undo)

    def emit_one(self) -> list[int]:
        with self.captureOnCommitCallbacks(execute=True):
            event = emit(organization=self.org, type="call.completed", data={}, mode="live")
        return [d.pk for d in event.deliveries.all()]

    def test_events_committed_while_a_task_waits_send_no_task_of_their_own(self) -> None:
        first = self.emit_one()
        self.emit_one()
        self.emit_one()
        assert self.sent == [(first, self.org.pk)]

        # The task starts: from then on the next event wakes a worker again.
        with pytest.MonkeyPatch.context() as patch:
            seen: list[dict[str, Any]] = []
            patch.setattr(delivery, "deliveries_attempt", lambda **kwargs: seen.append(kwargs))
            tasks.deliver_batch(first, self.org.pk)
        assert seen == [{"delivery_ids": first, "with_backlog": True, "organization_ids": [self.org.pk]}]
        fourth = self.emit_one()
        assert self.sent == [(first, self.org.pk), (fourth, self.org.pk)]
        assert self.countdowns == [0.1, 0.1]  # each waits a moment to gather the next events

    def test_a_broker_outage_clears_the_flag_so_the_next_event_tries_again(self) -> None:
        def down(args: Any, **options: Any) -> None:
            raise ConnectionError("broker down")

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(tasks.deliver_batch, "apply_async", down)
            self.emit_one()  # the delivery stays pending for the sweep; the commit is not failed
        assert Delivery.objects.filter(organization=self.org, status="pending").count() == 1
        second = self.emit_one()
        assert self.sent == [(second, self.org.pk)]


def test_a_long_backlog_is_handed_to_a_fresh_task_after_max_rounds(
    org: Organization, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    ids = emitted(org, 12)
    monkeypatch.setattr(delivery, "MAX_ROUNDS", 1)
    handed: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.deliver_batch, "apply_async", lambda args, **options: handed.append(args))

    attempts = deliveries_attempt(delivery_ids=[ids[0]], with_backlog=True)

    assert [a.delivery_id for a in attempts] == ids[:5]  # one round, then the helper task takes the rest
    assert handed == [([], org.pk)]
    tasks.deliver_batch(*handed[0])
    assert Delivery.objects.filter(pk__in=ids, status="succeeded").count() == 10
    assert len(handed) == 2  # and so on until the backlog is empty
