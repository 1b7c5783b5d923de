"""Two webhook turns metering the same organisation must not deadlock (the soak bench saw PostgreSQL
"deadlock detected" in `_meter_attempts`, and the turns' deliveries went out twice).

A live batch locks the month's counter and then a rollup row; a test batch locks only a rollup row.
Two turns that meter a test batch and a live batch in opposite orders each hold what the other wants
next. The turns below are made to take their first lock together (a barrier after the first
`record_usage`), which is the interleaving that deadlocks unless every turn locks in one order.
"""

from __future__ import annotations

import contextlib
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import close_old_connections, transaction

from billing.models import UsageRollup
from tests.conftest import is_postgres, make_org
from webhooks import delivery

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL: set DATABASE_URL (SQLite serialises writers)"),
]


def _sent(organization: Any, mode: str, reference: str) -> Any:
    """One answered attempt, shaped as `_meter_attempts` reads it."""
    event = SimpleNamespace(mode=mode)
    d = SimpleNamespace(
        organization=organization, organization_id=organization.pk, event=event, source="system", api_key_id=None
    )
    claim = SimpleNamespace(delivery=d, attempt=SimpleNamespace(public_id=reference))
    return (claim, SimpleNamespace(error_class=""), None, 200)


def test_two_turns_metering_live_and_test_in_opposite_orders_do_not_deadlock(monkeypatch: Any) -> None:
    organization = make_org()
    turns = [
        [_sent(organization, "test", "t1-test"), _sent(organization, "live", "t1-live")],
        [_sent(organization, "live", "t2-live"), _sent(organization, "test", "t2-test")],
    ]
    barrier = threading.Barrier(2, timeout=3)
    calls = threading.local()
    original = delivery.record_usage

    def record_then_meet(**kwargs: Any) -> Any:
        result = original(**kwargs)
        calls.count = getattr(calls, "count", 0) + 1
        if calls.count == 1:
            # Both turns now hold their first lock; a broken barrier means the other turn is waiting
            # for this one's lock, which is the one-order case.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
        return result

    monkeypatch.setattr(delivery, "record_usage", record_then_meet)
    errors: list[BaseException] = []

    def turn(sent: list[Any]) -> None:
        try:
            with transaction.atomic():
                delivery._meter_attempts(sent)
        except BaseException as error:
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=turn, args=(sent,)) for sent in turns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    rollups = {
        r.mode: r.quantity for r in UsageRollup.objects.filter(organization=organization, metric="webhook_attempts")
    }
    assert rollups == {"live": 2, "test": 2}
