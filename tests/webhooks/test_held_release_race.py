"""Issue 21, held deliveries released with real workers racing: two of the Procfile's webhooks workers,
two top-ups (one partial) and the sweep release at the same time while new live events arrive, against a
real HTTP receiver. Each endpoint receives its events in event-time order, the wallet never goes below zero,
and what stays held is exactly what the balance did not pay for."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import close_old_connections, connection

from billing.models import LedgerEntry, Wallet
from billing.wallet import wallet_credit
from tests.billing.conftest import set_plan_terms
from tests.conftest import make_org
from webhooks.delivery import deliveries_sweep
from webhooks.events import emit
from webhooks.models import Delivery, Event
from webhooks.services import endpoint_create

from .receiver import Receiver
from .test_worker_crash import Worker, _skip_reason, _wait_for, real_broker  # noqa: F401 (a fixture)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.usefixtures("real_broker"),
    pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or ""),
]

PRICE = Decimal("0.0004")
ENDPOINTS = ("a", "b", "c")
# Event times in an order unlike their ids (an id order is not an event order): minutes before now.
MINUTES_AGO = (7, 3, 9, 1, 6, 2, 8, 4, 5, 10)


def _together(*work: Callable[[], Any]) -> list[Any]:
    """Run each callable on its own thread, all released at the same instant; their results or exceptions."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work[index]()
        except Exception as exc:  # reported by the assertion below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    close_old_connections()
    return results


def _sweeps(count: int) -> Callable[[], int]:
    def run() -> int:
        released = 0
        for _ in range(count):
            released += deliveries_sweep().released
            time.sleep(0.05)  # a beat in miniature: the sweep interleaves with the releases and the claims
        return released

    return run


def _later(seconds: float, work: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        time.sleep(seconds)  # lands while the first top-up's release is being sent
        return work()

    return run


def _warm_up(receiver: Receiver) -> None:
    """Wait until a worker is consuming: another business's test event reaches its own path."""
    other = make_org("Warm-up")
    endpoint_create(organization=other, url=f"{receiver.url}/warm", events=["*"], actor=None)
    emit(organization=other, type="call.completed", data={}, mode="test")
    receiver.wait_for_requests(1, timeout=60)


def _to_racing(receiver: Receiver) -> list[Any]:
    return [r for r in receiver.requests if r.path != "/hooks/warm"]


def _new_events(org: Any, numbers: tuple[int, ...]) -> Callable[[], list[Event]]:
    def run() -> list[Event]:
        made = []
        for n in numbers:
            time.sleep(0.2)  # one lands while the releases are going on, one after them
            made.append(emit(organization=org, type="call.completed", data={"n": n}, mode="live"))
        return made

    return run


def test_racing_top_ups_and_workers_release_held_deliveries_in_event_order_only_as_far_as_the_balance_pays(
    receiver: Receiver,
) -> None:
    org = make_org("Racing Dental", credits=None)
    set_plan_terms(org, webhook_attempts_free=0, webhook_attempt_price=str(PRICE))
    for name in ENDPOINTS:
        endpoint_create(organization=org, url=f"{receiver.url}/{name}", events=["*"], actor=None)
    for n, minutes in enumerate(MINUTES_AGO):
        event = emit(organization=org, type="call.completed", data={"n": n}, mode="live")
        Event.objects.filter(pk=event.pk).update(created_at=event.created_at - timedelta(minutes=minutes))
    assert Delivery.objects.filter(organization=org, status=Delivery.Status.HELD).count() == 30

    # One request in flight per endpoint, so arrival order is the order the workers claim in (with a higher
    # cap the requests of one batch to one endpoint travel side by side and may overtake each other).
    workers = [Worker(REDIS_URL=settings.REDIS_URL, WEBHOOK_ENDPOINT_MAX_IN_FLIGHT="1") for _ in range(2)]
    try:
        _warm_up(receiver)
        # $0.0040 + a partial $0.0018 a moment later pay for 14 attempts ($0.0056) and leave $0.0002; while
        # they land and the first release is being sent, the sweep releases too and two new live events arrive
        # (later than every held one).
        results = _together(
            lambda: wallet_credit(organization=org, amount=Decimal("0.0040"), reason="Top-up", actor=None),
            _later(0.3, lambda: wallet_credit(organization=org, amount=Decimal("0.0018"), reason="Top-up", actor=None)),
            _sweeps(20),
            _new_events(org, (10, 11)),
        )
        assert not [r for r in results if isinstance(r, Exception)], results

        def settled() -> bool:
            deliveries_sweep()  # as beat does: it releases again once the released attempts are charged
            busy = Delivery.objects.filter(organization=org, status=Delivery.Status.PENDING).exists()
            return not busy and len(_to_racing(receiver)) >= 14

        _wait_for(settled, timeout=90)
        time.sleep(1)  # room for a request beyond what was paid for to show up
        deliveries_sweep()
    finally:
        for worker in workers:
            worker.stop()

    events = list(Event.objects.filter(organization=org).order_by("created_at", "id"))
    assert len(events) == 12
    order = [e.public_id for e in events]
    deliveries = list(
        Delivery.objects.filter(organization=org)
        .select_related("event", "endpoint")
        .order_by("event__created_at", "id")
    )
    # Exactly what $0.0058 pays for at $0.0004 an attempt went out: the 14 oldest deliveries by event time.
    paid, unpaid = deliveries[:14], deliveries[14:]
    assert [d.status for d in paid] == [Delivery.Status.SUCCEEDED] * 14
    assert [d.status for d in unpaid] == [Delivery.Status.HELD] * 22
    assert len(_to_racing(receiver)) == 14  # one request each, none beyond what was paid for

    for name in ENDPOINTS:
        arrived = [r.headers["x-aip-event-id"] for r in _to_racing(receiver) if r.path == f"/hooks/{name}"]
        expected = [d.event.public_id for d in paid if d.endpoint.url.endswith(f"/{name}")]
        assert arrived == expected, name  # each endpoint in event-time order
        assert arrived == order[: len(arrived)], name  # and nothing newer while an older one waits

    wallet = Wallet.objects.get(organization=org)
    entries = LedgerEntry.objects.filter(wallet=wallet)
    assert wallet.balance == Decimal("0.0058") - 14 * PRICE == Decimal("0.0002")
    assert not entries.filter(balance_after__lt=0).exists()  # never below zero, at any step
    charges = entries.filter(amount__lt=0)
    assert sum(e.quantity or 0 for e in charges) == 14 and -sum(e.amount for e in charges) == 14 * PRICE
