"""Delivery against a real local receiver: signatures, retries on a driven clock, holds, replay, recover."""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Organization
from billing.models import UsageRecord
from billing.wallet import wallet_credit
from tests.conftest import is_postgres, make_org
from webhooks import delivery as engine
from webhooks import services
from webhooks.delivery import deliveries_prune, deliveries_release_held, deliveries_sweep, delivery_attempt
from webhooks.events import emit
from webhooks.models import Attempt, Delivery, Endpoint
from webhooks.policy import MAX_ATTEMPTS, RETRY_SCHEDULE
from webhooks.services import (
    delivery_replay,
    endpoint_create,
    endpoint_recover,
    endpoint_rotate_secret,
    endpoint_update,
)

from .receiver import Receiver, Reply

pytestmark = pytest.mark.django_db


def independent_v1_values(header: str, body: bytes, secret: str) -> tuple[str, list[str], str]:
    """Parse and recompute the signature the way a customer following the docs would."""
    parts = [p.split("=", 1) for p in header.split(",")]
    t = next(v for k, v in parts if k == "t")
    v1s = [v for k, v in parts if k == "v1"]
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return t, v1s, expected


@pytest.fixture
def hook(org: Organization, receiver: Receiver) -> tuple[Endpoint, str]:
    return endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)


def pending(org: Organization, type: str = "call.completed", mode: str = "live") -> Delivery:
    """Emit inside the test transaction (nothing is enqueued) and return the one delivery."""
    event = emit(organization=org, type=type, data={"callId": "call_123"}, mode=mode)
    return Delivery.objects.get(event=event)


def finished_at(delivery: Delivery) -> datetime:
    last = delivery.attempts.order_by("-number").first()
    assert last is not None and last.finished_at is not None
    return last.finished_at


def test_a_delivery_is_signed_over_the_exact_bytes_and_verifies_independently(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    _endpoint, secret = hook
    delivery = pending(org)

    attempt = delivery_attempt(delivery_id=delivery.pk)

    (request,) = receiver.requests
    t, v1s, expected = independent_v1_values(request.headers["x-aip-signature"], request.body, secret)
    assert v1s == [expected]
    assert abs(int(t) - int(timezone.now().timestamp())) < 5
    assert request.json["id"] == delivery.event.public_id
    assert attempt is not None and attempt.succeeded and attempt.response_status == 200
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED and delivery.completed_at is not None


def test_the_attempt_log_keeps_headers_body_status_excerpt_and_duration_but_no_secret(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, secret = hook
    receiver.reply(Reply(500, body=b"x" * 10_000, headers={"X-Trace": "abc"}))
    delivery = pending(org)

    attempt = delivery_attempt(delivery_id=delivery.pk)

    assert attempt is not None
    assert attempt.request_body == delivery.event.body
    assert attempt.request_headers["X-AIP-Signature"].startswith("t=")
    assert attempt.request_headers["X-AIP-Event-Id"] == delivery.event.public_id
    assert secret not in str(attempt.request_headers) and secret not in attempt.request_body
    assert attempt.response_status == 500
    assert attempt.response_body_excerpt == "x" * 4096
    assert attempt.response_headers["x-trace"] == "abc"
    assert attempt.duration_ms is not None and attempt.error_class == "http_error"
    assert not attempt.succeeded
    assert secret not in endpoint.secret_encrypted  # encrypted at rest


def test_failures_retry_on_the_named_schedule_with_the_same_event_id_until_they_give_up(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    receiver.default = Reply(500)
    delivery = pending(org)
    now = timezone.now()

    for number in range(1, MAX_ATTEMPTS + 1):
        attempt = delivery_attempt(delivery_id=delivery.pk, now=now)
        assert attempt is not None and attempt.number == number and attempt.finished_at is not None
        delivery.refresh_from_db()
        if number == MAX_ATTEMPTS:
            break
        assert delivery.status == Delivery.Status.PENDING
        assert delivery.next_attempt_at == attempt.finished_at + RETRY_SCHEDULE[number - 1]
        # Not a moment early.
        assert delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at - timedelta(seconds=1)) is None
        now = delivery.next_attempt_at

    assert delivery.status == Delivery.Status.FAILED
    assert delivery.status_reason.startswith(f"Gave up after {MAX_ATTEMPTS} attempts")
    assert delivery.next_attempt_at is None
    assert {r.headers["x-aip-event-id"] for r in receiver.requests} == {delivery.event.public_id}
    assert [r.headers["x-aip-attempt"] for r in receiver.requests] == [str(n) for n in range(1, MAX_ATTEMPTS + 1)]
    assert len({r.body for r in receiver.requests}) == 1
    # Every attempt is metered, retries included.
    assert UsageRecord.objects.filter(metric="webhook_attempts", organization=org).count() == MAX_ATTEMPTS
    assert sum(RETRY_SCHEDULE, timedelta()) > timedelta(days=2, hours=12)


def test_a_410_disables_the_endpoint_at_once_and_is_not_retried(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, _ = hook
    receiver.reply(Reply(410, body=b"gone"))
    delivery, waiting = pending(org), pending(org, "sms.sent")

    attempt = delivery_attempt(delivery_id=delivery.pk)

    assert attempt is not None and attempt.error_class == "gone"
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    delivery.refresh_from_db()
    waiting.refresh_from_db()
    assert delivery.status == waiting.status == Delivery.Status.FAILED
    assert "disabled" in waiting.status_reason
    assert delivery_attempt(delivery_id=waiting.pk) is None
    assert len(receiver.requests) == 1


def test_a_redirect_is_a_failure_and_is_not_followed(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    receiver.reply(Reply(302, headers={"Location": f"http://127.0.0.1:{receiver.port}/elsewhere"}))
    delivery = pending(org)

    attempt = delivery_attempt(delivery_id=delivery.pk)

    assert attempt is not None and attempt.error_class == "redirect" and attempt.response_status == 302
    assert [r.path for r in receiver.requests] == ["/hooks"]
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempt_count == 1


def test_a_receiver_slower_than_the_timeout_fails_the_attempt_with_timeout(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver, monkeypatch: Any
) -> None:
    monkeypatch.setattr(engine, "DELIVERY_TIMEOUT_SECONDS", 0.5)
    released = threading.Event()
    receiver.reply(Reply(200, wait_for=released))
    delivery = pending(org)

    try:
        attempt = delivery_attempt(delivery_id=delivery.pk)
    finally:
        released.set()

    assert attempt is not None and attempt.error_class == "timeout" and attempt.response_status is None
    assert attempt.duration_ms is not None and attempt.duration_ms < 5000
    assert attempt.finished_at is not None
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.next_attempt_at == attempt.finished_at + RETRY_SCHEDULE[0]


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_on_429_and_503_is_honoured(
    status: int, org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    receiver.reply(Reply(status, headers={"Retry-After": "3600"}), Reply(status, headers={"Retry-After": "2"}))
    delivery = pending(org)

    first = delivery_attempt(delivery_id=delivery.pk)
    assert first is not None and first.finished_at is not None
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == first.finished_at + timedelta(seconds=3600)
    assert delivery_attempt(delivery_id=delivery.pk, now=first.finished_at + timedelta(minutes=59)) is None

    second = delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    assert second is not None and second.finished_at is not None
    delivery.refresh_from_db()
    # A shorter Retry-After never makes a retry sooner than the schedule.
    assert delivery.next_attempt_at == second.finished_at + RETRY_SCHEDULE[1]


def test_live_deliveries_are_held_while_the_wallet_is_empty_and_released_oldest_first(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    broke = make_org("Broke Dental", credits=None)
    endpoint_create(organization=broke, url=receiver.url, events=["*"], actor=None)
    first = pending(broke, "call.started")
    second = pending(broke, "call.completed")
    test_mode = pending(broke, "sms.sent", mode="test")

    assert first.status == second.status == Delivery.Status.HELD
    assert test_mode.status == Delivery.Status.PENDING  # test mode never waits on the wallet
    assert delivery_attempt(delivery_id=first.pk) is None
    delivery_attempt(delivery_id=test_mode.pk)
    assert [r.json["type"] for r in receiver.requests] == ["sms.sent"]
    assert receiver.requests[0].headers["x-aip-mode"] == "test"
    assert receiver.requests[0].json["livemode"] is False
    assert deliveries_release_held(organization=broke) == 0  # still nothing to pay with

    with django_capture_on_commit_callbacks(execute=True):
        wallet_credit(organization=broke, amount=Decimal("10"), reason="Top-up", actor=None)
        deliveries_release_held(organization=broke)

    # Released oldest first (claimed in that order, then sent at once: no order between them on the wire).
    assert receiver.requests[0].json["type"] == "sms.sent"
    assert sorted(r.json["type"] for r in receiver.requests[1:]) == ["call.completed", "call.started"]
    released = Attempt.objects.filter(delivery__in=[first, second]).order_by("id").values_list("delivery_id", flat=True)
    assert list(released) == [first.pk, second.pk]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Delivery.Status.SUCCEEDED
    assert UsageRecord.objects.get(reference__startswith="webhook-attempt:", mode="test").quantity == 1


def test_a_pending_live_delivery_is_held_when_the_wallet_empties_before_its_attempt(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    delivery = pending(org)
    org.wallet.balance = Decimal("0")
    org.wallet.save()
    from billing.access import invalidate_access_state

    invalidate_access_state(org.pk)

    assert delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.HELD and delivery.held_since is not None
    assert receiver.requests == []


def test_a_stale_cached_empty_wallet_does_not_re_hold_what_a_top_up_released(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    """A reader that loaded the gate state just before a top-up committed may cache "no credits" after the
    top-up dropped the cache: a new event is not held on it, and what was held before the top-up is
    released and sent, because emit, the release and the claim read the wallet itself."""
    from billing.access import access_state, refresh_access_state
    from billing.models import Wallet

    Wallet.objects.filter(organization=org).update(balance=Decimal("0"))
    delivery = pending(org)  # held: the wallet is empty
    assert delivery.status == Delivery.Status.HELD
    refresh_access_state(org.pk)  # "no credits", cached
    Wallet.objects.filter(organization=org).update(balance=Decimal("5"))  # the top-up, its invalidation lost
    assert access_state(org.pk).has_credits is False  # the stale answer every cache reader now gets
    assert deliveries_release_held(organization=org) == 1  # the release reads the wallet itself
    later = pending(org)
    assert later.status == Delivery.Status.PENDING  # not held on the stale answer

    delivery_attempt(delivery_id=delivery.pk)
    delivery_attempt(delivery_id=later.pk)
    delivery.refresh_from_db()
    later.refresh_from_db()
    assert (delivery.status, later.status) == (Delivery.Status.SUCCEEDED, Delivery.Status.SUCCEEDED)
    assert [r.headers["x-aip-delivery-id"] for r in receiver.requests] == [delivery.public_id, later.public_id]


def test_held_deliveries_expire_after_thirty_days_with_the_reason(receiver: Receiver) -> None:
    broke = make_org("Broke Dental", credits=None)
    endpoint_create(organization=broke, url=receiver.url, events=["*"], actor=None)
    delivery = pending(broke)
    start = delivery.held_since
    assert start is not None

    assert deliveries_sweep(now=start + timedelta(days=29)).expired == 0
    assert deliveries_sweep(now=start + timedelta(days=30, seconds=1)).expired == 1

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.EXPIRED
    assert "held for more than 30 days" in delivery.status_reason
    assert receiver.requests == []


def test_an_endpoint_failing_for_five_days_without_a_success_is_disabled_with_a_reason(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, _ = hook
    receiver.default = Reply(500)
    first = pending(org)
    start = timezone.now()
    delivery_attempt(delivery_id=first.pk, now=start)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and services.disable_deadline(endpoint) is not None

    delivery_attempt(delivery_id=pending(org).pk, now=start + timedelta(days=4, hours=23))
    endpoint.refresh_from_db()
    assert endpoint.enabled

    delivery_attempt(delivery_id=pending(org).pk, now=start + timedelta(days=5, seconds=1))
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "for 5 days" in endpoint.disabled_reason
    assert not Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).exists()


def test_a_success_resets_the_failure_clock(org: Organization, hook: tuple[Endpoint, str], receiver: Receiver) -> None:
    endpoint, _ = hook
    receiver.reply(Reply(500), Reply(200), Reply(500))
    first = pending(org)
    start = timezone.now()
    delivery_attempt(delivery_id=first.pk, now=start)
    delivery_attempt(delivery_id=pending(org).pk, now=start + timedelta(days=3))
    delivery_attempt(delivery_id=pending(org).pk, now=start + timedelta(days=5, seconds=1))

    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since is not None
    assert endpoint.failing_since > start + timedelta(days=5)


def test_replay_resends_the_same_event_id_and_body_as_a_new_delivery(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    original = pending(org)
    delivery_attempt(delivery_id=original.pk)

    replay = delivery_replay(delivery=original, actor=None)
    delivery_attempt(delivery_id=replay.pk)

    first, second = receiver.requests
    assert replay.pk != original.pk and replay.replay_of == original
    assert first.body == second.body
    assert first.headers["x-aip-event-id"] == second.headers["x-aip-event-id"] == original.event.public_id
    assert first.headers["x-aip-delivery-id"] != second.headers["x-aip-delivery-id"]


def test_recover_resends_each_failed_delivery_since_a_time_once(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, _ = hook
    old = pending(org, "call.started")
    Delivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    since = timezone.now() - timedelta(hours=1)
    recent = [pending(org, "call.completed"), pending(org, "sms.received")]
    endpoint_update(endpoint=endpoint, enabled=False, actor=None)  # fails everything waiting
    endpoint_update(endpoint=endpoint, enabled=True, actor=None)

    replays = endpoint_recover(endpoint=endpoint, since=since, actor=None)
    for replay in replays:
        delivery_attempt(delivery_id=replay.pk)

    assert sorted(r.replay_of_id for r in replays if r.replay_of_id is not None) == sorted(d.pk for d in recent)
    assert sorted(r.json["type"] for r in receiver.requests) == ["call.completed", "sms.received"]
    assert endpoint_recover(endpoint=endpoint, since=since, actor=None) == []


def test_during_a_secret_rotation_overlap_deliveries_carry_old_and_new_signatures(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, old_secret = hook
    endpoint, new_secret = endpoint_rotate_secret(endpoint=endpoint, overlap="1h", actor=None)
    first, second = pending(org), pending(org)
    now = timezone.now()

    delivery_attempt(delivery_id=first.pk, now=now)
    delivery_attempt(delivery_id=second.pk, now=now + timedelta(hours=1, seconds=1))

    during, after = receiver.requests
    _, v1s, expected_old = independent_v1_values(during.headers["x-aip-signature"], during.body, old_secret)
    _, _, expected_new = independent_v1_values(during.headers["x-aip-signature"], during.body, new_secret)
    assert v1s == [expected_old, expected_new]
    _, v1s, expected_new = independent_v1_values(after.headers["x-aip-signature"], after.body, new_secret)
    assert v1s == [expected_new]


def test_rotating_with_no_overlap_signs_with_the_new_secret_only(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, _ = hook
    endpoint, new_secret = endpoint_rotate_secret(endpoint=endpoint, overlap="now", actor=None)

    delivery_attempt(delivery_id=pending(org).pk)

    (request,) = receiver.requests
    _, v1s, expected = independent_v1_values(request.headers["x-aip-signature"], request.body, new_secret)
    assert v1s == [expected]


def test_a_claim_lost_with_its_worker_is_recovered_by_the_sweep_with_the_same_event_id(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    delivery = pending(org)
    start = timezone.now()
    assert engine._claim(delivery_ids=[delivery.pk], now=start).claims  # the worker dies after claiming

    assert deliveries_sweep(now=start + timedelta(seconds=5)).lost_attempts == 0  # its lease still runs
    # Seconds later the lease has run out: the sweep frees the row and wakes the organisation's turn,
    # which sends it again at once (tasks run eagerly here).
    result = deliveries_sweep(now=start + engine.CLAIM_LEASE + timedelta(seconds=1))
    assert result.woken == 1 and result.lost_attempts == 1

    attempt = Attempt.objects.get(delivery=delivery, number=2)
    assert attempt.succeeded
    (request,) = receiver.requests
    assert request.headers["x-aip-event-id"] == delivery.event.public_id
    lost = Attempt.objects.get(delivery=delivery, number=1)
    assert lost.error_class == "worker_lost" and lost.finished_at is not None
    # One request reached the receiver: the lost attempt is shown, the re-send alone is charged (issue 21).
    (record,) = UsageRecord.objects.filter(metric="webhook_attempts", organization=org)
    assert record.quantity == 1 and record.reference == f"webhook-attempt:{attempt.public_id}"


def test_the_sweep_resends_due_deliveries_whose_task_was_lost_and_leaves_fresh_ones(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = pending(org)  # enqueued "after commit", which never happens here: the task is lost
    now = timezone.now()

    assert deliveries_sweep(now=now).woken == 0  # due moments ago: its turn is normally on its way
    with django_capture_on_commit_callbacks(execute=True):
        result = deliveries_sweep(now=now + engine.SWEEP_GRACE + timedelta(seconds=1))

    assert result.woken == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert len(receiver.requests) == 1


def test_two_workers_claiming_the_same_delivery_send_it_once(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    delivery = pending(org)
    now = timezone.now()

    first = engine._claim(delivery_ids=[delivery.pk], now=now).claims
    second = engine._claim(delivery_ids=[delivery.pk], now=now).claims

    assert len(first) == 1 and second == []


def test_prune_deletes_finished_deliveries_older_than_thirty_days(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    old = pending(org)
    delivery_attempt(delivery_id=old.pk)
    fresh = pending(org)
    delivery_attempt(delivery_id=fresh.pk)
    # 38 days: on PostgreSQL, in a week that ended before the 30-day cutoff's week began.
    Delivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=38))
    old.event.__class__.objects.filter(pk=old.event_id).update(created_at=timezone.now() - timedelta(days=38))
    Attempt.objects.filter(delivery_id=old.pk).update(started_at=timezone.now() - timedelta(days=38))

    # Row by row on SQLite; on PostgreSQL the whole week goes instead (tests/core/test_partition_retention.py).
    assert deliveries_prune() == (0 if is_postgres() else 1)

    assert list(Delivery.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not Attempt.objects.filter(delivery_id=old.pk).exists()
    assert not old.event.__class__.objects.filter(pk=old.event_id).exists()


def test_test_mode_attempts_are_metered_as_test_and_never_debit_the_wallet(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    org.wallet.refresh_from_db()
    before = org.wallet.balance
    receiver.default = Reply(500)
    delivery = pending(org, mode="test")
    now = timezone.now()
    for _ in range(3):
        attempt = delivery_attempt(delivery_id=delivery.pk, now=now)
        assert attempt is not None and attempt.finished_at is not None
        now = attempt.finished_at + RETRY_SCHEDULE[attempt.number - 1]

    records = UsageRecord.objects.filter(metric="webhook_attempts", organization=org)
    assert [r.mode for r in records] == ["test"] * 3
    org.wallet.refresh_from_db()
    assert org.wallet.balance == before
    assert all(r.headers["x-aip-mode"] == "test" and r.json["livemode"] is False for r in receiver.requests)


def test_a_url_refused_at_send_time_fails_the_attempt_without_connecting(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver, settings: Any
) -> None:
    delivery = pending(org)
    settings.OUTBOUND_ALLOW_LOOPBACK = False  # the loopback receiver is now a forbidden address

    attempt = delivery_attempt(delivery_id=delivery.pk)

    assert attempt is not None and attempt.error_class == "refused" and attempt.response_status is None
    assert "Refused before connecting" in attempt.error_message
    assert receiver.requests == []
    # Recorded and shown, not charged: nothing left the machine (the same rule as tool calls).
    assert not UsageRecord.objects.filter(metric="webhook_attempts", organization=org).exists()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING  # retried: the receiver may move to a public address


def test_an_endpoint_deleted_while_its_request_is_in_flight_is_no_error(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, _ = hook
    receiver.default = Reply(500)
    delivery = pending(org)
    (claim,) = engine._claim(delivery_ids=[delivery.pk], now=timezone.now()).claims
    sent = engine._send(claim, now=timezone.now())
    endpoint.delete()

    engine._finish(claim, outcome=sent[1], response=sent[2], duration_ms=sent[3], now=timezone.now())

    assert not Delivery.objects.filter(pk=delivery.pk).exists()


def test_a_fanned_out_batch_records_each_outcome_per_endpoint(org: Organization, receiver: Receiver) -> None:
    ok, _ = endpoint_create(organization=org, url=receiver.url + "/ok", events=["*"], actor=None)
    broken, _ = endpoint_create(organization=org, url=receiver.url + "/broken", events=["*"], actor=None)
    receiver.default = Reply(204)
    first, second = (emit(organization=org, type=t, data={}, mode="live") for t in ("call.started", "call.completed"))
    ids = list(Delivery.objects.filter(event__in=[first, second]).values_list("pk", flat=True))

    receiver.routes["/hooks/broken"] = Reply(500)

    attempts = engine.deliveries_attempt(delivery_ids=ids)

    assert len(attempts) == 4 and len(receiver.requests) == 4
    # Sent at once (up to the endpoint's cap in flight): no order is promised between deliveries.
    assert sorted(r.json["type"] for r in receiver.requests if r.path.endswith("/ok")) == [
        "call.completed",
        "call.started",
    ]
    statuses = {(d.endpoint_id, d.event_id): (d.status, d.last_status) for d in Delivery.objects.filter(pk__in=ids)}
    assert statuses[(ok.pk, first.pk)] == statuses[(ok.pk, second.pk)] == (Delivery.Status.SUCCEEDED, 204)
    assert statuses[(broken.pk, first.pk)] == (Delivery.Status.PENDING, 500)
    ok.refresh_from_db()
    broken.refresh_from_db()
    assert ok.last_status == 204 and ok.failing_since is None and ok.last_success_at is not None
    assert broken.last_status == 500 and broken.failing_since is not None
    assert sorted(a.succeeded for a in Attempt.objects.filter(delivery_id__in=ids)) == [False, False, True, True]


def test_a_claimed_attempt_is_charged_only_once_its_request_has_left(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    delivery = pending(org)
    batch = engine._claim(delivery_ids=[delivery.pk], now=timezone.now())
    assert batch.claims
    assert not UsageRecord.objects.filter(metric="webhook_attempts").exists()  # claimed, not sent yet
    engine._send_and_record(batch.claims, now=None)
    (record,) = UsageRecord.objects.filter(metric="webhook_attempts", organization=org)
    assert record.quantity == 1 and len(receiver.requests) == 1


def test_a_disabled_endpoints_delivery_fails_without_an_attempt_or_a_charge(
    org: Organization, hook: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, _ = hook
    delivery = pending(org)
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason="by hand")
    assert delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and "Endpoint disabled" in delivery.status_reason
    assert not UsageRecord.objects.filter(metric="webhook_attempts").exists() and receiver.requests == []


def test_a_partial_top_up_releases_in_event_order_only_what_it_pays_for(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    """Issue 21: $0.001 at $0.0004 an attempt (no free attempts left) pays for two; the rest stays held."""
    from tests.billing.conftest import set_plan_terms

    broke = make_org("Broke Dental", credits=None)
    set_plan_terms(broke, webhook_attempts_free=0, webhook_attempt_price="0.0004")
    endpoint_create(organization=broke, url=receiver.url, events=["*"], actor=None)
    held = [pending(broke, "call.completed") for _ in range(5)]
    # The last one's event happened first (an id order is not an event order).
    held[4].event.__class__.objects.filter(pk=held[4].event_id).update(
        created_at=held[0].event.created_at - timedelta(seconds=1)
    )
    assert all(d.status == Delivery.Status.HELD for d in held)

    with django_capture_on_commit_callbacks(execute=True):
        wallet_credit(organization=broke, amount=Decimal("0.001"), reason="Top-up", actor=None)

    sent = list(
        Attempt.objects.filter(delivery__organization=broke).order_by("id").values_list("delivery_id", flat=True)
    )
    assert sent == [held[4].pk, held[0].pk]  # the two oldest events, claimed oldest first
    statuses = {d.pk: d.status for d in Delivery.objects.filter(organization=broke)}
    assert [statuses[d.pk] for d in held[1:4]] == [Delivery.Status.HELD] * 3
    broke.wallet.refresh_from_db()
    assert broke.wallet.balance == Decimal("0.0002")  # never below zero through a release
    assert deliveries_release_held(organization=broke) == 0  # $0.0002 pays for no attempt

    with django_capture_on_commit_callbacks(execute=True):
        wallet_credit(organization=broke, amount=Decimal("1"), reason="Top-up", actor=None)
    sent = list(
        Attempt.objects.filter(delivery__organization=broke).order_by("id").values_list("delivery_id", flat=True)
    )
    assert sent == [held[4].pk, held[0].pk, held[1].pk, held[2].pk, held[3].pk]
    assert not Delivery.objects.filter(organization=broke, status=Delivery.Status.HELD).exists()


def test_a_new_live_event_waits_behind_held_deliveries_and_goes_out_after_them(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    """Issue 21: with deliveries still held after a top-up, a new live event is held too: sent at once it
    would overtake them on their endpoint and spend what the release promised them (wallet below zero)."""
    from tests.billing.conftest import set_plan_terms

    broke = make_org("Queue Dental", credits=None)
    set_plan_terms(broke, webhook_attempts_free=0, webhook_attempt_price="0.0004")
    endpoint_create(organization=broke, url=receiver.url, events=["*"], actor=None)
    held = [pending(broke) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        wallet_credit(organization=broke, amount=Decimal("0.0004"), reason="Top-up", actor=None)
    assert [r.headers["x-aip-delivery-id"] for r in receiver.requests] == [held[0].public_id]

    # A top-up whose release has not run yet: $0.0004 in the wallet, promised to the oldest held delivery.
    with django_capture_on_commit_callbacks(execute=False):
        wallet_credit(organization=broke, amount=Decimal("0.0004"), reason="Top-up", actor=None)
    late = pending(broke)
    assert late.status == Delivery.Status.HELD
    assert pending(broke, mode="test").status == Delivery.Status.PENDING  # test mode never waits
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_release_held(organization=broke) == 1
    broke.wallet.refresh_from_db()
    assert broke.wallet.balance == Decimal("0")

    with django_capture_on_commit_callbacks(execute=True):
        wallet_credit(organization=broke, amount=Decimal("1"), reason="Top-up", actor=None)
    # Claimed oldest first (the requests of one batch travel side by side, so arrival order is the cap's to keep).
    claimed = Attempt.objects.filter(delivery__organization=broke, delivery__event__mode="live").order_by("id")
    assert [a.delivery_id for a in claimed] == [d.pk for d in (*held, late)]
    broke.wallet.refresh_from_db()
    assert broke.wallet.balance == Decimal("1.0008") - 4 * Decimal("0.0004")


def test_a_release_counts_the_free_attempts_left_and_the_live_deliveries_already_pending(
    receiver: Receiver,
) -> None:
    from billing.wallet import wallet_debit
    from tests.billing.conftest import set_plan_terms

    org = make_org("Few Free", credits=Decimal("0.0008"))
    set_plan_terms(org, webhook_attempts_free=1, webhook_attempt_price="0.0004")
    endpoint_create(organization=org, url=receiver.url, events=["*"], actor=None)
    pending(org)  # pending, not yet attempted: it will use the free attempt
    wallet_debit(organization=org, amount=Decimal("0.0008"), reason="spent", reference="spent", allow_negative=True)
    from billing.access import invalidate_access_state

    invalidate_access_state(org.pk)
    held = [pending(org) for _ in range(4)]
    assert all(d.status == Delivery.Status.HELD for d in held)
    wallet_credit(organization=org, amount=Decimal("0.0008"), reason="Top-up", actor=None)
    # 1 free + 2 paid = 3 attempts affordable, one of them already owed by the pending delivery.
    assert deliveries_release_held(organization=org) == 2
