"""Redis counters: a flush killed at any point and run again gives exact totals and charges each block once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

import billing.metering
from billing.models import (
    FlushBatch,
    LedgerEntry,
    Metric,
    MonthlyUsage,
    UsageRollup,
    Wallet,
)
from billing.quota import encode_counter_field
from developer.models import ApiKey
from developer.public_api.apicount import RedisApiCounter, api_counter, flush_api_usage
from tests.conftest import ApiClient, is_postgres, make_key, make_org, redis_available

from .conftest import set_plan_terms

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not redis_available(), reason="needs Redis: set REDIS_URL to a running server"),
]

BLOCK_PRICE = Decimal("0.40")


def _setup():
    org = make_org("Flush Co")
    set_plan_terms(org, api_requests_free=1000, api_request_block_price=str(BLOCK_PRICE))
    make_key(org, name="A")
    make_key(org, name="B")
    return org, ApiKey.objects.get(organization=org, name="A"), ApiKey.objects.get(organization=org, name="B")


def _field(org, key) -> str:
    return encode_counter_field(
        epoch_hour=int(time.time()) // 3600, organization_id=org.pk, api_key_id=key.pk, mode="live"
    )


def _incr(org, key, n: int) -> None:
    counter = api_counter()
    for _ in range(n):
        counter.incr(_field(org, key))


def _totals(org) -> dict[str, int]:
    return dict(
        UsageRollup.objects.filter(organization=org, metric=Metric.API_REQUESTS)
        .values_list("api_key__name")
        .annotate(total=Sum("quantity"))
    )


def _blocks(org) -> int:
    quantities = LedgerEntry.objects.filter(wallet__organization=org, metric=Metric.API_REQUESTS).values_list(
        "quantity", flat=True
    )
    return sum(quantity or 0 for quantity in quantities)  # a block charge always has a quantity


def test_the_counter_is_redis_when_configured():
    assert isinstance(api_counter(), RedisApiCounter)


@pytest.mark.django_db
def test_real_requests_are_counted_in_redis_and_flushed_exactly(live_key, org):
    api = ApiClient(live_key)
    for _ in range(25):
        assert api.get("/keys?limit=1").status_code == 200
    assert not UsageRollup.objects.exists()
    assert sum(api_counter().pending().values()) == 25
    assert flush_api_usage() == 25
    assert UsageRollup.objects.get(organization=org).quantity == 25
    assert api_counter().pending() == {}


@pytest.mark.django_db
def test_a_flush_that_died_after_claiming_the_counters_is_finished_by_the_next_run():
    org, a, b = _setup()
    _incr(org, a, 1500)
    _incr(org, b, 600)
    counter = api_counter()
    assert isinstance(counter, RedisApiCounter)
    assert counter.claim() is not None  # the flush renamed the hash, then its worker died
    _incr(org, a, 7)  # requests keep arriving in a fresh pending hash meanwhile
    assert flush_api_usage() == 2107
    assert _totals(org) == {"A": 1507, "B": 600}
    assert _blocks(org) == 1  # 2,107 requests, 1,000 free: one complete block
    assert api_counter().pending() == {}


@pytest.mark.django_db
def test_a_flush_killed_halfway_through_its_database_write_leaves_nothing_and_the_rerun_is_exact():
    org, a, b = _setup()
    _incr(org, a, 2000)
    _incr(org, b, 1000)
    real = billing.metering._rollup_add
    calls = {"n": 0}

    def dies_on_second_rollup(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real(**kwargs)

    with mock.patch("billing.metering._rollup_add", side_effect=dies_on_second_rollup), pytest.raises(RuntimeError):
        flush_api_usage()
    assert not UsageRollup.objects.exists()
    assert not FlushBatch.objects.exists()
    assert _blocks(org) == 0
    assert flush_api_usage() == 3000
    assert _totals(org) == {"A": 2000, "B": 1000}
    assert _blocks(org) == 2
    assert Wallet.objects.get(organization=org).balance == Decimal("50") - 2 * BLOCK_PRICE


@pytest.mark.django_db
def test_a_flush_killed_after_its_commit_but_before_cleanup_is_not_counted_twice():
    org, a, _ = _setup()
    _incr(org, a, 2500)
    with (
        mock.patch.object(RedisApiCounter, "release", autospec=True, side_effect=RuntimeError("worker killed")),
        pytest.raises(RuntimeError),
    ):
        flush_api_usage()
    assert _totals(org) == {"A": 2500}
    assert flush_api_usage() == 0  # the batch id is known: nothing applied again, the key is cleaned up
    assert _totals(org) == {"A": 2500}
    assert _blocks(org) == 1
    assert FlushBatch.objects.count() == 1
    assert api_counter().pending() == {}


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL: a second process must share the test database")
def test_a_flush_process_killed_with_sigkill_midway_is_rerun_to_exact_totals(tmp_path: Path):
    org, a, b = _setup()
    _incr(org, a, 3000)
    _incr(org, b, 1200)
    marker = tmp_path / "halfway"
    script = textwrap.dedent(f"""
        import os, time, django
        django.setup()
        import billing.metering
        import developer.public_api.apicount
        from unittest import mock
        real = billing.metering._rollup_add
        def slow(**kwargs):
            real(**kwargs)
            open({str(marker)!r}, "w").close()
            time.sleep(60)  # killed here, inside the open transaction
        with mock.patch("billing.metering._rollup_add", side_effect=slow):
            developer.public_api.apicount.flush_api_usage()
    """)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    process = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=settings.BASE_DIR)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert process.poll() is None, "the flush process ended early"
            assert time.monotonic() < deadline, "the flush never reached its database write"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert not UsageRollup.objects.exists()  # its transaction died with it
    assert flush_api_usage() == 4200
    assert _totals(org) == {"A": 3000, "B": 1200}
    assert _blocks(org) == 3
    assert MonthlyUsage.objects.get(organization=org).quantity == 4200


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db
def test_answers_at_or_above_400_give_back_the_count_the_limiter_took(live_key, org):
    """The key's round trip counts a request before its answer is known; a client error gives it back."""
    api = ApiClient(live_key)
    assert api.get("/keys?limit=1").status_code == 200
    assert api.post("/keys/key_nope/revoke").status_code == 404
    assert api.post("/keys", {"name": ""}).status_code == 400
    assert api.delete("/keys").status_code == 405
    assert api.get("/no-such-route").status_code == 404
    assert sum(api_counter().pending().values()) == 1
    assert flush_api_usage() == 1
    assert UsageRollup.objects.get(organization=org).quantity == 1


@pytest.mark.django_db
def test_a_count_given_back_after_a_flush_claimed_it_nets_out_against_the_next_requests(live_key, org):
    key = ApiKey.objects.get(organization=org)
    counter = api_counter()
    assert isinstance(counter, RedisApiCounter)
    field = _field(org, key)
    counter.incr(field)
    claimed = counter.claim()  # a flush takes the +1 ...
    assert claimed is not None
    counter.uncount(field)  # ... and the answer turns out to be a 404
    batch_id, counts = claimed
    billing.metering.apply_api_counts(batch_id=batch_id, counts=counts, source="redis")
    counter.release(batch_id)
    assert counter.pending() == {field: -1}  # carried, not lost
    counter.incr(field)
    counter.incr(field)
    flush_api_usage()
    assert UsageRollup.objects.get(organization=org).quantity == 2  # 1 + 2 - 1
