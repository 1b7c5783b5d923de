"""Organisation turns: what one turn claims (per-endpoint cap, oldest first), how turns hand on, fair
turns between businesses through a FIFO queue, the slow lane, and the flag that keeps one turn waiting."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from accounts.models import Organization
from billing.models import UsageRecord
from tests.conftest import make_org
from webhooks import delivery as engine
from webhooks import tasks
from webhooks.delivery import deliveries_attempt, deliveries_turn
from webhooks.events import emit
from webhooks.models import Attempt, Delivery, Endpoint
from webhooks.services import endpoint_create

from .receiver import Receiver, Reply

pytestmark = pytest.mark.django_db


def emitted(org: Organization, count: int) -> list[int]:
    """``count`` events, each with one delivery per endpoint; their delivery ids, oldest first."""
    events = [emit(organization=org, type="call.completed", data={"n": n}, mode="live") for n in range(count)]
    return list(Delivery.objects.filter(event__in=events).order_by("created_at", "id").values_list("pk", flat=True))


class Queue:
    """The broker as a FIFO list of (organisation, lane, queue, countdown) turns; nothing runs by itself."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[tuple[int, str, str, Any]] = []
        monkeypatch.setattr(tasks.turn, "apply_async", self.apply_async)

    def apply_async(self, args: tuple[int, str], **options: Any) -> None:
        self.sent.append((*args, options["queue"], options.get("countdown")))

    def run_next(self) -> tuple[int, str]:
        organization_id, lane, _, _ = self.sent.pop(0)
        tasks.turn(organization_id, lane)
        return organization_id, lane


def test_a_turn_takes_each_endpoints_oldest_due_deliveries_up_to_half_the_cap_and_hands_on(
    org: Organization, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT = 4
    endpoint_create(organization=org, url=receiver.url + "/a", events=["*"], actor=None)
    other = make_org("Other Business")
    endpoint_create(organization=other, url=receiver.url + "/other", events=["*"], actor=None)
    ids = emitted(org, 5)
    (foreign,) = emitted(other, 1)
    later = emit(organization=org, type="call.completed", data={"n": "later"}, mode="live")
    Delivery.objects.filter(event=later).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    queue = Queue(monkeypatch)

    attempts = deliveries_turn(organization_id=org.pk)

    # Two (half the cap of 4), the oldest, in one batch with one usage record.
    assert [a.delivery_id for a in attempts] == ids[:2]
    assert sorted(r.json["data"]["n"] for r in receiver.requests) == [0, 1]  # sent at once: no order between them
    assert [u.quantity for u in UsageRecord.objects.filter(organization=org, metric="webhook_attempts")] == [2]
    # More was due: a helper turn was asked for at once, and another when the answers were in (the
    # flag keeps it to one waiting turn), to the fast lane's queue, without a gather delay.
    assert queue.sent == [(org.pk, "fast", "webhooks", None)]
    while queue.sent:
        queue.run_next()
    assert Delivery.objects.filter(pk__in=ids, status="succeeded").count() == 5
    assert [sorted(r.json["data"]["n"] for r in receiver.requests[i : i + 2]) for i in (0, 2, 4)] == [
        [0, 1],
        [2, 3],
        [4],
    ]
    # Another organisation's deliveries and deliveries not yet due are left alone.
    assert Delivery.objects.get(pk=foreign).status == "pending" and not Attempt.objects.filter(delivery=foreign)
    assert Delivery.objects.get(event=later).attempt_count == 0


def test_the_per_endpoint_cap_holds_across_concurrent_turns(org: Organization, settings: Any) -> None:
    settings.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT = 3
    endpoint_create(organization=org, url="https://hooks.example.com/a", events=["*"], actor=None)
    endpoint_create(organization=org, url="https://hooks.example.com/b", events=["*"], actor=None)
    emitted(org, 10)
    now = timezone.now()

    # Turns that claim while the earlier ones' requests are still in flight (nothing is answered here).
    taken = [engine._claim(organization_id=org.pk, lane="fast", now=now).claims for _ in range(4)]

    assert [len(claims) for claims in taken] == [4, 2, 0, 0]  # 2 + 1 per endpoint, then no room
    per_endpoint = {e.pk: 0 for e in Endpoint.objects.filter(organization=org)}
    for claims in taken:
        for claim in claims:
            per_endpoint[claim.delivery.endpoint_id] += 1
    assert set(per_endpoint.values()) == {3}
    in_flight = Delivery.objects.filter(organization=org, claimed_until__gt=now).count()
    assert in_flight == 6
    # When the leases run out (their worker died), the room comes back.
    later = now + engine.CLAIM_LEASE + timedelta(seconds=1)
    assert len(engine._claim(organization_id=org.pk, lane="fast", now=later).claims) == 4


def test_explicit_ids_are_sent_in_rounds_under_the_cap(org: Organization, receiver: Receiver, settings: Any) -> None:
    settings.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT = 5
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    ids = emitted(org, 8)

    attempts = deliveries_attempt(delivery_ids=ids[:7])

    assert [a.delivery_id for a in attempts] == ids[:7]  # 5 at once, then 2
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


def test_two_busy_businesses_take_turns_so_a_long_backlog_does_not_delay_a_new_event(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT = 4
    busy, other = make_org("Busy"), make_org("Other")
    endpoint_create(organization=busy, url=receiver.url + "/busy", events=["*"], actor=None)
    endpoint_create(organization=other, url=receiver.url + "/other", events=["*"], actor=None)
    queue = Queue(monkeypatch)
    backlog = emitted(busy, 60)  # tasks are not run: the queue only records them
    queue.sent.clear()
    queue.sent.append((busy.pk, "fast", "webhooks", None))  # the busy business's turn is first in line
    with TestCase.captureOnCommitCallbacks(execute=True):
        (news,) = emitted(other, 1)

    # The other business's event waits behind one turn of the busy one, not behind its backlog.
    assert [(org, lane) for org, lane, _, _ in queue.sent] == [(busy.pk, "fast"), (other.pk, "fast")]
    assert queue.run_next() == (busy.pk, "fast")
    assert queue.run_next() == (other.pk, "fast")
    assert Delivery.objects.get(pk=news).status == "succeeded"
    done = Delivery.objects.filter(pk__in=backlog, status="succeeded").count()
    assert done == 2  # one share of the busy business's backlog went first; it keeps its place in line
    assert [org for org, _, _, _ in queue.sent] == [busy.pk]

    # Both busy: every turn of one goes to the back, behind the other's.
    more = emitted(other, 30)
    queue.sent.append((other.pk, "fast", "webhooks", None))
    order = [queue.run_next()[0] for _ in range(6)]
    assert order == [busy.pk, other.pk] * 3
    assert Delivery.objects.filter(pk__in=more, status="succeeded").count() == 6


def test_an_endpoint_that_times_out_moves_to_the_slow_lane_and_back_after_a_quick_answer(
    org: Organization, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint, _ = endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    monkeypatch.setattr(engine, "DELIVERY_TIMEOUT_SECONDS", 0.3)
    queue = Queue(monkeypatch)
    released = threading.Event()
    receiver.reply(Reply(200, wait_for=released))
    first, second = emitted(org, 2)
    Delivery.objects.filter(pk=second).update(next_attempt_at=timezone.now() + timedelta(seconds=30))

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_turn(organization_id=org.pk, lane="fast")
    released.set()

    endpoint.refresh_from_db()
    assert endpoint.lane == "slow" and endpoint.slow_since is not None
    attempt = Attempt.objects.get(delivery_id=first)
    assert attempt.error_class == "timeout"
    # Its retry is woken in the slow lane's queue, after the backoff.
    assert queue.sent == [(org.pk, "slow", "webhooks_slow", 10.0)]
    # A fast-lane turn no longer claims its deliveries; a slow-lane turn does.
    Delivery.objects.filter(pk__in=[first, second]).update(next_attempt_at=timezone.now())
    queue.sent.clear()
    assert deliveries_turn(organization_id=org.pk, lane="fast") == []
    assert queue.sent == [(org.pk, "slow", "webhooks_slow", None)]  # the fast turn woke the slow lane
    attempts = deliveries_turn(organization_id=org.pk, lane="slow")
    assert sorted(a.delivery_id for a in attempts) == [first, second] and all(a.succeeded for a in attempts)
    endpoint.refresh_from_db()
    assert endpoint.lane == "fast" and endpoint.slow_since is None


def test_a_delivery_records_time_queued_apart_from_time_sending(org: Organization, receiver: Receiver) -> None:
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    (pk,) = emitted(org, 1)
    now = timezone.now()
    Delivery.objects.filter(pk=pk).update(next_attempt_at=now - timedelta(seconds=7))

    (attempt,) = deliveries_attempt(delivery_ids=[pk], now=now)

    assert attempt.queued_ms == 7000
    assert attempt.duration_ms is not None and attempt.duration_ms < 5000
    assert Attempt.objects.get(pk=attempt.pk).queued_ms == 7000


class FanOutTests(TestCase):
    """Real commits, so the after-commit hook that wakes the worker runs (tasks are not eager here)."""

    def setUp(self) -> None:
        from django.core.cache import cache

        cache.clear()
        self.org = make_org()
        endpoint_create(organization=self.org, url="https://hooks.example.com/in", events=["*"], actor=None)
        self.patcher = pytest.MonkeyPatch()
        self.queue = Queue(self.patcher)
        self.addCleanup(self.patcher.undo)

    def emit_one(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            emit(organization=self.org, type="call.completed", data={}, mode="live")

    def test_events_committed_while_a_turn_waits_send_no_task_of_their_own(self) -> None:
        self.emit_one()
        self.emit_one()
        self.emit_one()
        assert self.queue.sent == [(self.org.pk, "fast", "webhooks", 0.1)]  # waits a moment to gather

        # The turn starts: from then on the next event wakes a worker again.
        with pytest.MonkeyPatch.context() as patch:
            seen: list[dict[str, Any]] = []
            patch.setattr(engine, "deliveries_turn", lambda **kwargs: seen.append(kwargs))
            tasks.turn(self.org.pk, "fast")
        assert seen == [{"organization_id": self.org.pk, "lane": "fast"}]
        self.emit_one()
        assert len(self.queue.sent) == 2

    def test_a_broker_outage_clears_the_flag_so_the_next_event_tries_again(self) -> None:
        def down(args: Any, **options: Any) -> None:
            raise ConnectionError("broker down")

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(tasks.turn, "apply_async", down)
            self.emit_one()  # the delivery stays pending for the sweep; the commit is not failed
        assert Delivery.objects.filter(organization=self.org, status="pending").count() == 1
        self.emit_one()
        assert self.queue.sent == [(self.org.pk, "fast", "webhooks", 0.1)]


def test_a_lease_is_renewed_while_its_request_is_in_flight_so_the_sweep_leaves_it_alone(
    org: Organization, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    (pk,) = emitted(org, 1)
    monkeypatch.setattr(engine, "CLAIM_LEASE", timedelta(seconds=1))
    monkeypatch.setattr(engine, "LEASE_RENEW_SECONDS", 0.3)
    monkeypatch.setattr(engine, "GATHER_RESULTS_SECONDS", 0.1)
    answer = threading.Event()
    receiver.reply(Reply(200, wait_for=answer))
    leases: list[Any] = []
    renew = engine._renew

    def renew_then_sweep(claims: list[Any], *, now: Any) -> None:
        renew(claims, now=now)
        leases.append(Delivery.objects.get(pk=pk).claimed_until)
        # The sweep runs meanwhile (beat): the lease is alive, nothing is freed.
        assert engine.deliveries_sweep().lost_attempts == 0
        if len(leases) == 4:
            answer.set()

    monkeypatch.setattr(engine, "_renew", renew_then_sweep)

    (attempt,) = deliveries_attempt(delivery_ids=[pk])

    assert attempt.succeeded and attempt.duration_ms is not None and attempt.duration_ms >= 1000  # outlived one lease
    assert len(leases) >= 4 and leases == sorted(leases) and len(set(leases)) == len(leases)
    assert len(receiver.requests) == 1
    assert Delivery.objects.get(pk=pk).status == "succeeded"


def test_the_claims_update_takes_only_due_unleased_rows_and_returns_their_attempt_numbers(org: Organization) -> None:
    endpoint_create(organization=org, url="https://hooks.example.com/a", events=["*"], actor=None)
    due, retried, leased, later, done = emitted(org, 5)
    now = timezone.now()
    Delivery.objects.filter(pk=retried).update(attempt_count=2)
    Delivery.objects.filter(pk=leased).update(claimed_until=now + timedelta(seconds=5), attempt_count=1)
    Delivery.objects.filter(pk=later).update(next_attempt_at=now + timedelta(hours=1))
    Delivery.objects.filter(pk=done).update(status="succeeded")
    token = uuid.uuid4()

    taken = engine._take([due, retried, leased, later, done], token=token, now=now)

    assert taken == {due: 1, retried: 3}
    rows = {d.pk: d for d in Delivery.objects.filter(pk__in=[due, retried, leased])}
    assert rows[due].claim_token == token and rows[due].claimed_until == now + engine.CLAIM_LEASE
    assert rows[retried].attempt_count == 3 and rows[leased].attempt_count == 1 and rows[leased].claim_token is None
    # Taken twice (a redelivered turn): the second finds them leased and takes nothing.
    assert engine._take([due, retried], token=uuid.uuid4(), now=now) == {}
    # Once the lease has run out (its worker died), the row is due again, with the next number.
    assert engine._take([due], token=token, now=now + engine.CLAIM_LEASE) == {due: 2}


def test_the_lane_check_and_the_in_flight_count_see_only_their_own_business_and_lane(
    org: Organization, other_org: Organization
) -> None:
    mine, _ = endpoint_create(organization=org, url="https://hooks.example.com/mine", events=["*"], actor=None)
    theirs, _ = endpoint_create(
        organization=other_org, url="https://hooks.example.com/theirs", events=["*"], actor=None
    )
    # The other business has due work of both modes, some of it in flight.
    for mode in ("live", "test"):
        for _ in range(3):
            emit(organization=other_org, type="call.completed", data={}, mode=mode)
    now = timezone.now()
    Delivery.objects.filter(endpoint=theirs).filter(pk__in=Delivery.objects.filter(endpoint=theirs)[:2]).update(
        claimed_until=now + timedelta(seconds=5)
    )

    assert not engine._lane_due(org.pk, lane=engine.FAST, now=now)
    assert not engine._lane_due(org.pk, lane=engine.SLOW, now=now)
    assert engine._in_flight([mine], now=now) == {}
    assert engine._in_flight([mine, theirs], now=now) == {theirs.pk: 2}
    assert engine._lane_due(other_org.pk, lane=engine.FAST, now=now)
    assert not engine._lane_due(other_org.pk, lane=engine.SLOW, now=now)

    # A test-mode event of mine makes my lane due, only while its endpoint is in that lane.
    emit(organization=org, type="call.completed", data={}, mode="test")
    assert engine._lane_due(org.pk, lane=engine.FAST, now=now + timedelta(seconds=1))
    Endpoint.objects.filter(pk=mine.pk).update(slow_since=now)
    assert not engine._lane_due(org.pk, lane=engine.FAST, now=now + timedelta(seconds=1))
    assert engine._lane_due(org.pk, lane=engine.SLOW, now=now + timedelta(seconds=1))
    # Leased rows are not due; the count is of rows leased past the moment asked.
    Delivery.objects.filter(endpoint=mine).update(claimed_until=now + timedelta(seconds=5))
    assert not engine._lane_due(org.pk, lane=engine.SLOW, now=now + timedelta(seconds=1))
    assert engine._in_flight([mine], now=now + timedelta(seconds=1)) == {mine.pk: 1}
    assert engine._in_flight([mine], now=now + timedelta(seconds=6)) == {}
