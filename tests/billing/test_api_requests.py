"""API requests: counted on the request path without a database write, flushed into rollups, billed per 1,000."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.metering import apply_api_counts
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
from developer.public_api.apicount import LocalApiCounter, api_counter, flush_api_usage
from tests.conftest import ApiClient, make_key, make_org

from .conftest import set_plan_terms

pytestmark = pytest.mark.django_db

BLOCK_PRICE = Decimal("0.40")


def _hour() -> int:
    return int(time.time()) // 3600


def _count(org, key: ApiKey, n: int, *, mode: str | None = None) -> None:
    """Count `n` requests exactly as the request path does, then flush them as the beat task does."""
    field = encode_counter_field(epoch_hour=_hour(), organization_id=org.pk, api_key_id=key.pk, mode=mode or key.mode)
    counter = api_counter()
    for _ in range(n):
        counter.incr(field)
    flush_api_usage()


def _block_charges(org):
    return list(LedgerEntry.objects.filter(wallet__organization=org, metric=Metric.API_REQUESTS).order_by("id"))


def _live_key(org) -> ApiKey:
    make_key(org, name="Server")
    return ApiKey.objects.get(organization=org, name="Server")


@pytest.fixture
def quota_org():
    org = make_org("Quota Co")
    set_plan_terms(org, api_requests_free=1000, api_request_block_price=str(BLOCK_PRICE))
    return org


@pytest.fixture(autouse=True)
def _no_auto_flush():
    """Local buffers flush themselves every 1,000 requests; these tests flush explicitly instead.

    (Their timer thread is off in tests: METERING_LOCAL_FLUSH_SECONDS=0 in the pytest settings.)
    """
    counter = api_counter()
    if isinstance(counter, LocalApiCounter):
        saved = counter.max_size
        counter.max_size = 10**9
        yield
        counter.max_size = saved
    else:
        yield


@pytest.mark.parametrize("requests", [999, 1000, 1001])
def test_requests_up_to_a_block_past_the_free_quota_are_not_charged(quota_org, requests):
    key = _live_key(quota_org)
    _count(quota_org, key, requests)
    assert UsageRollup.objects.get(organization=quota_org, metric=Metric.API_REQUESTS).quantity == requests
    assert MonthlyUsage.objects.get(organization=quota_org, metric=Metric.API_REQUESTS).quantity == requests
    assert _block_charges(quota_org) == []
    assert Wallet.objects.get(organization=quota_org).balance == Decimal("50")


def test_the_block_is_charged_when_its_thousandth_request_completes(quota_org):
    key = _live_key(quota_org)
    _count(quota_org, key, 1999)
    assert _block_charges(quota_org) == []
    _count(quota_org, key, 1)  # request 2,000: the first 1,000 after the free quota are complete
    (charge,) = _block_charges(quota_org)
    assert (charge.amount, charge.quantity, charge.unit_price, charge.api_key_id) == (
        -BLOCK_PRICE,
        1,
        BLOCK_PRICE,
        key.pk,
    )
    assert charge.reference == f"api-blocks:{quota_org.pk}:{MonthlyUsage.objects.get().month:%Y-%m}:1-1"
    assert charge.reason == "1 block of 1,000 API requests at $0.40"
    _count(quota_org, key, 999)
    assert len(_block_charges(quota_org)) == 1
    _count(quota_org, key, 1)
    assert [c.reference.rsplit(":", 1)[1] for c in _block_charges(quota_org)] == ["1-1", "2-2"]
    assert Wallet.objects.get(organization=quota_org).balance == Decimal("50") - 2 * BLOCK_PRICE
    rollup = UsageRollup.objects.get(organization=quota_org, metric=Metric.API_REQUESTS)
    assert (rollup.quantity, rollup.amount) == (3000, 2 * BLOCK_PRICE)


def test_one_flush_completing_several_blocks_charges_them_together(quota_org):
    key = _live_key(quota_org)
    _count(quota_org, key, 4500)
    (charge,) = _block_charges(quota_org)
    assert (charge.quantity, charge.amount) == (3, -3 * BLOCK_PRICE)
    assert charge.reason == "3 blocks of 1,000 API requests at $0.40"
    assert MonthlyUsage.objects.get(organization=quota_org).billed_units == 3


def test_test_key_requests_are_counted_and_never_charged(quota_org):
    make_key(quota_org, mode="test", name="Sandbox")
    key = ApiKey.objects.get(organization=quota_org, name="Sandbox")
    _count(quota_org, key, 5000)
    rollup = UsageRollup.objects.get(organization=quota_org)
    assert (rollup.mode, rollup.quantity, rollup.amount) == ("test", 5000, Decimal("0"))
    assert _block_charges(quota_org) == []
    assert not MonthlyUsage.objects.filter(organization=quota_org).exists()


def test_a_real_request_is_counted_without_any_database_write_and_flushed_later(org, live_key):
    key = ApiKey.objects.get(organization=org)
    api = ApiClient(live_key)
    api.get("/keys?limit=1")  # warm the key and gate caches
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/keys?limit=1")
    assert response.status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert not [sql for sql in writes if "billing_" in sql]
    assert not UsageRollup.objects.exists()
    assert flush_api_usage() == 2
    rollup = UsageRollup.objects.get(organization=org)
    assert (rollup.api_key_id, rollup.metric, rollup.mode, rollup.quantity) == (key.pk, "api_requests", "live", 2)


def test_test_key_requests_roll_up_as_test_mode(org, test_key):
    ApiClient(test_key).get("/keys?limit=1")
    flush_api_usage()
    assert UsageRollup.objects.get(organization=org).mode == "test"


def test_refused_and_unauthenticated_requests_are_not_counted(org, live_key):
    read_only = make_key(org, scopes=["read:calls"], name="Calls only")
    ApiClient(read_only).get("/keys")  # 403 INSUFFICIENT_SCOPE
    ApiClient().get("/keys")  # 401 API_KEY_REQUIRED
    ApiClient("aip_live_" + "x" * 43).get("/keys")  # 401 INVALID_API_KEY
    broke = make_org("Broke", credits=None)
    ApiClient(make_key(broke)).get("/keys")  # 402 INSUFFICIENT_CREDITS
    assert flush_api_usage() == 0

    # Billable: answers below 400. Client errors are not, whichever kind of 404 (issue 21).
    api = ApiClient(live_key)
    assert api.get("/no-such-route").status_code == 404  # unknown route
    assert api.post("/keys/key_nope/revoke").status_code == 404  # RESOURCE_NOT_FOUND after a lookup
    assert api.post("/keys", {"name": ""}).status_code == 400  # VALIDATION_ERROR
    assert api.delete("/keys").status_code == 405  # wrong method
    assert flush_api_usage() == 0
    assert api.get("/keys?limit=1").status_code == 200
    assert api.get("/usage").status_code == 200
    assert flush_api_usage() == 2


@pytest.mark.slow  # a whole block of real requests
def test_real_requests_complete_a_block_and_the_next_one_gets_402(db):
    """A wallet that can pay exactly one block: the 1,000th request past the free quota empties it."""
    org = make_org("One block", credits=BLOCK_PRICE)
    set_plan_terms(org, api_requests_free=0, api_request_block_price=str(BLOCK_PRICE), rate_limit_per_minute=10_000)
    api = ApiClient(make_key(org))
    statuses = {api.get("/keys?limit=1").status_code for _ in range(1000)}
    assert statuses == {200}
    flush_api_usage()
    (charge,) = _block_charges(org)
    assert charge.amount == -BLOCK_PRICE and charge.balance_after == 0
    response = api.get("/keys?limit=1")
    assert response.status_code == 402 and response.body["error"]["code"] == "INSUFFICIENT_CREDITS"


def test_metering_can_be_switched_off(org, live_key, settings):
    settings.METERING_ENABLED = False
    ApiClient(live_key).get("/keys")
    assert flush_api_usage() == 0


def test_applying_the_same_batch_twice_changes_nothing(quota_org):
    key = _live_key(quota_org)
    field = encode_counter_field(epoch_hour=_hour(), organization_id=quota_org.pk, api_key_id=key.pk, mode="live")
    assert apply_api_counts(batch_id="b-1", counts={field: 2500}, source="test")
    assert not apply_api_counts(batch_id="b-1", counts={field: 2500}, source="test")
    assert UsageRollup.objects.get(organization=quota_org).quantity == 2500
    assert len(_block_charges(quota_org)) == 1
    assert FlushBatch.objects.get(batch_id="b-1").requests == 2500


def test_counts_of_a_deleted_organisation_are_dropped_not_crashing_the_flush(quota_org):
    key = _live_key(quota_org)
    gone = encode_counter_field(epoch_hour=_hour(), organization_id=999_999, api_key_id=1, mode="live")
    kept = encode_counter_field(epoch_hour=_hour(), organization_id=quota_org.pk, api_key_id=key.pk, mode="live")
    assert apply_api_counts(batch_id="b-2", counts={gone: 5, kept: 7}, source="test")
    assert list(UsageRollup.objects.values_list("organization_id", "quantity")) == [(quota_org.pk, 7)]


def test_the_local_buffer_flushes_itself_on_size_and_keeps_counts_when_the_flush_fails():
    applied: list[dict[str, int]] = []
    fail = {"on": True}

    def apply(*, batch_id: str, counts: dict[str, int], source: str) -> bool:
        if fail["on"]:
            raise RuntimeError("database down")
        applied.append(counts)
        return True

    counter = LocalApiCounter(max_age=0, max_size=3, apply=apply)
    counter.incr("a")
    counter.incr("a")
    with pytest.raises(RuntimeError):
        counter.incr("b")  # third request: due, flush fails, counts are kept
    assert counter.pending() == {"a": 2, "b": 1}
    fail["on"] = False
    counter.incr("b")
    assert applied == [{"a": 2, "b": 2}]
    assert counter.pending() == {}


def test_the_local_buffer_timer_flushes_without_further_requests():
    flushed = threading.Event()

    def apply(*, batch_id: str, counts: dict[str, int], source: str) -> bool:
        assert batch_id.startswith("local-") and source == "local" and counts == {"a": 1}
        flushed.set()
        return True

    counter = LocalApiCounter(max_age=0.05, max_size=1000, apply=apply)
    counter.incr("a")
    assert flushed.wait(5)
    assert counter.pending() == {}
