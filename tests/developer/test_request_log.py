"""Request logging: what is recorded for each public-API request, that nothing is written on the
request path, and that flushing (memory or Redis) neither loses nor duplicates an entry."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Organization
from developer.models import ApiKey, RequestLog
from developer.public_api import request_log
from developer.public_api.request_log import MemoryBuffer, scrub_query
from developer.services import api_key_revoke
from developer.tasks import flush_request_logs, prune_request_logs
from tests.conftest import ApiClient, ensure_plans, make_key, redis_available

KEY_RE = "aip_live_" + "A" * 43


# --- pure helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "logged"),
    [
        ("", ""),
        ("limit=5&cursor=abc", "limit=5&cursor=abc"),
        (f"api_key={KEY_RE}&limit=5", "api_key=[REDACTED]&limit=5"),
        (
            "apiKey=whatever&token=t&secret=s&password=p",
            "apiKey=[REDACTED]&token=[REDACTED]&secret=[REDACTED]&password=[REDACTED]",
        ),
        (f"q={KEY_RE}", "q=[REDACTED]"),
        ("note=whsec_abcdefghijkl", "note=[REDACTED]"),
        (f"{KEY_RE}=", "[REDACTED]="),
        ("status=completed&from=2026-01-01T00:00:00Z", "status=completed&from=2026-01-01T00:00:00Z"),
    ],
)
def test_scrub_query_never_keeps_a_key(raw: str, logged: str) -> None:
    assert scrub_query(raw) == logged
    assert "aip_live_A" not in scrub_query(raw)


def test_mask_presented_only_masks_key_shaped_values() -> None:
    assert request_log.mask_presented(KEY_RE) == "aip_live_…AAAA"
    assert request_log.mask_presented("garbage") == ""
    assert request_log.mask_presented(None) == ""


# --- what gets recorded -------------------------------------------------------------------------------


def _only(**filters: Any) -> RequestLog:
    request_log.flush()
    return RequestLog.objects.get(**filters)


def test_successful_request_is_buffered_then_flushed_with_every_field(api: ApiClient, org: Any) -> None:
    response = api.get("/keys?limit=2", headers={"User-Agent": "acme-sdk/1.0"})
    assert response.status_code == 200
    assert not RequestLog.objects.exists()  # nothing written on the request path
    assert len(request_log.buffer()) == 1

    entry = _only(request_id=response["X-Request-Id"])
    key = ApiKey.objects.get(organization=org)
    assert entry.organization == org and entry.api_key == key and entry.masked_key == key.masked
    assert entry.key_masked == ""  # a matched key's mask is its row's, not stored again per request
    assert (entry.mode, entry.method, entry.path, entry.query_string) == (
        "live",
        "GET",
        "/api/public/v1/keys",
        "limit=2",
    )
    assert (entry.status_code, entry.error_code) == (200, "")
    assert 0 <= entry.latency_ms < 10_000 and entry.user_agent == "acme-sdk/1.0"
    assert entry.client_ip == "127.0.0.1"
    assert abs(entry.created_at - timezone.now()) < timedelta(minutes=1)
    assert len(request_log.buffer()) == 0


def test_request_path_writes_nothing_to_the_log_table(api: ApiClient) -> None:
    api.get("/keys")  # warm the key cache
    with CaptureQueriesContext(connection) as queries:
        api.get("/keys")
        api.get("/no/such/route")
        api.get("/keys", key="aip_live_" + "Z" * 43)
    assert not [q for q in queries.captured_queries if "developer_requestlog" in q["sql"]]


def test_missing_key_is_logged_without_key_or_organisation(db: Any) -> None:
    response = ApiClient().get("/keys")
    entry = _only(request_id=response["X-Request-Id"])
    assert (entry.status_code, entry.error_code) == (401, "API_KEY_REQUIRED")
    assert entry.api_key is None and entry.organization is None and entry.key_masked == "" and entry.mode == ""


def test_revoked_key_failure_lands_in_its_owners_logs(org: Any) -> None:
    secret = make_key(org, mode="test", name="Old")
    key = ApiKey.objects.get(name="Old")
    api_key_revoke(key=key, actor=None)
    response = ApiClient(secret).get("/calls")
    entry = _only(request_id=response["X-Request-Id"])
    assert (entry.status_code, entry.error_code) == (401, "INVALID_API_KEY")
    assert entry.organization == org and entry.api_key == key and entry.mode == "test"
    assert entry.masked_key == key.masked


def test_unknown_key_is_logged_masked_without_organisation(db: Any) -> None:
    response = ApiClient("aip_test_" + "Q" * 43).get("/keys")
    entry = _only(request_id=response["X-Request-Id"])
    assert entry.error_code == "INVALID_API_KEY" and entry.organization is None
    assert entry.key_masked == "aip_test_…QQQQ" and entry.mode == "test"


def test_unknown_route_is_logged_as_resource_not_found_for_the_keys_owner(api: ApiClient, org: Any) -> None:
    response = api.post("/does/not/exist?x=1", {"a": 1})
    entry = _only(request_id=response["X-Request-Id"])
    assert (entry.method, entry.path, entry.query_string) == ("POST", "/api/public/v1/does/not/exist", "x=1")
    assert (entry.status_code, entry.error_code) == (404, "RESOURCE_NOT_FOUND")
    assert entry.organization == org and entry.api_key == ApiKey.objects.get(organization=org)


def test_rate_limited_request_is_logged_with_its_code(db: Any, settings: Any) -> None:
    settings.UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE = 1
    client = ApiClient("aip_live_" + "R" * 43)
    client.get("/keys")
    limited = client.get("/keys")
    assert limited.status_code == 429
    entry = _only(request_id=limited["X-Request-Id"])
    assert (entry.status_code, entry.error_code) == (429, "RATE_LIMIT_EXCEEDED")


def test_key_in_the_query_string_never_reaches_the_log(api: ApiClient, live_key: str) -> None:
    response = api.get(f"/keys?api_key={live_key}&limit=1")
    entry = _only(request_id=response["X-Request-Id"])
    assert entry.query_string == "api_key=[REDACTED]&limit=1"
    row = RequestLog.objects.filter(pk=entry.pk).values().get()
    assert not any(live_key in str(value) for value in row.values())


def test_dashboard_requests_are_not_logged(owner: Any) -> None:
    from django.test import Client

    client = Client()
    client.login(username="owner@acme.test", password="correct-horse-battery")
    client.get("/settings/developer/keys/")
    assert len(request_log.buffer()) == 0


# --- flushing --------------------------------------------------------------------------------------------


def _entry(org: Any = None, **overrides: Any) -> dict[str, Any]:
    return {
        "request_id": f"req_{uuid.uuid4().hex[:22]}",
        "at": timezone.now().isoformat(),
        "method": "GET",
        "path": "/api/public/v1/calls",
        "query": "",
        "status": 200,
        "error_code": "",
        "latency_ms": 3.2,
        "ip": "10.0.0.1",
        "ua": "",
        "org_id": org.pk if org else None,
        **overrides,
    }


def test_flushing_the_same_batch_twice_inserts_each_request_once(org: Any) -> None:
    batch = [_entry(org) for _ in range(5)]
    request_log.insert_entries(batch)
    request_log.insert_entries([*batch, _entry(org)])
    assert RequestLog.objects.count() == 6


def test_failed_flush_keeps_the_batch_in_order_for_the_next_flush(org: Any) -> None:
    buffer = MemoryBuffer(max_entries=100)
    entries = [_entry(org) for _ in range(7)]
    for entry in entries:
        buffer.push(entry)

    def broken(batch: list[dict[str, Any]]) -> None:
        raise RuntimeError("database unavailable")

    with pytest.raises(RuntimeError):
        buffer.flush(broken, batch_size=3)
    assert len(buffer) == 7
    inserted: list[str] = []
    assert buffer.flush(lambda b: inserted.extend(e["request_id"] for e in b), batch_size=3) == 7
    assert inserted == [e["request_id"] for e in entries]
    assert len(buffer) == 0


def test_memory_buffer_is_bounded_and_drops_the_oldest(db: Any) -> None:
    buffer = MemoryBuffer(max_entries=3)
    ids = [f"req_{i}" for i in range(5)]
    for request_id in ids:
        buffer.push({"request_id": request_id})
    seen: list[str] = []
    buffer.flush(lambda b: seen.extend(e["request_id"] for e in b), batch_size=10)
    assert seen == ids[2:] and buffer.dropped == 2


def test_entry_whose_key_was_deleted_keeps_the_row_without_the_link(org: Any) -> None:
    make_key(org, name="Gone")
    key = ApiKey.objects.get(name="Gone")
    entry = _entry(org, key_id=key.pk, key_masked=key.masked, mode="live")
    key.delete()
    request_log.insert_entries([entry, _entry(org_id=987654)])
    row = RequestLog.objects.get(request_id=entry["request_id"])
    assert row.api_key is None and row.key_masked.startswith("aip_live_…")
    assert RequestLog.objects.count() == 1  # the deleted organisation's entry went with it


def test_deleting_a_key_or_an_organisation_still_clears_or_removes_its_logged_rows(org: Any) -> None:
    # The table has no database-level foreign keys (cheaper inserts); Django does the cascade.
    make_key(org, name="Old")
    key = ApiKey.objects.get(name="Old")
    other = Organization.objects.create(name="Short-lived")  # no ledger, so it may be deleted
    request_log.insert_entries(
        [_entry(org, key_id=key.pk, key_masked=key.masked, mode="live"), _entry(other), _entry(other)]
    )
    key.delete()
    assert RequestLog.objects.get(organization=org).api_key_id is None
    other.delete()
    assert RequestLog.objects.count() == 1


def test_a_full_batch_wakes_the_flusher(settings: Any, org: Any) -> None:
    settings.REQUEST_LOG_BATCH_SIZE = 2
    request_log._flusher.wake.clear()
    request_log.record(_entry(org))
    assert not request_log._flusher.wake.is_set()
    request_log.record(_entry(org))
    assert request_log._flusher.wake.is_set()
    request_log._flusher.wake.clear()


@pytest.fixture
def seeded_plans(transactional_db: Any) -> None:
    """A transactional test starts from tables truncated by the previous one: put the plans back."""

    ensure_plans()


@pytest.mark.django_db(transaction=True)  # the flusher thread has its own connection: rows must be committed
def test_background_thread_flushes_without_being_asked(seeded_plans: None, settings: Any, org: Any) -> None:
    settings.REQUEST_LOG_FLUSH_SECONDS = 0.05
    flusher = request_log._Flusher()
    entry = _entry(org)
    request_log.buffer().push(entry)
    try:
        flusher.ensure_running()
        first = flusher.thread
        assert first is not None
        flusher.ensure_running()
        assert flusher.thread is first  # one thread per process
        deadline = timezone.now() + timedelta(seconds=10)
        while not RequestLog.objects.filter(request_id=entry["request_id"]).exists():
            assert timezone.now() < deadline, "the flusher thread never inserted the entry"
            threading.Event().wait(0.05)
    finally:
        flusher.stop()
    assert not first.is_alive()


def test_beat_tasks_are_scheduled_and_flush_and_prune(org: Any) -> None:
    schedule = {v["task"] for v in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"developer.flush_request_logs", "developer.prune_request_logs"} <= schedule
    request_log.record(_entry(org))
    assert flush_request_logs.delay().get() == 1
    assert RequestLog.objects.count() == 1
    RequestLog.objects.update(created_at=timezone.now() - timedelta(days=38))
    request_log.insert_entries([_entry(org)])
    prune_request_logs.delay().get()
    assert RequestLog.objects.count() == 1


def test_prune_keeps_thirty_days(org: Any) -> None:
    now = timezone.now()
    request_log.insert_entries(
        [
            _entry(org, at=(now - timedelta(days=29, hours=23)).isoformat()),
            _entry(org, at=(now - timedelta(days=38)).isoformat()),
            _entry(org, at=(now - timedelta(days=90)).isoformat()),
        ]
    )
    request_log.prune(now=now, chunk=1)
    # Kept 30 days at least; on PostgreSQL whole weeks go (tests/core/test_partition_retention.py),
    # so a row goes within a week after that.
    assert [(now - r.created_at).days for r in RequestLog.objects.all()] == [29]


# --- Redis buffer ----------------------------------------------------------------------------------------

needs_redis = pytest.mark.skipif(not redis_available(), reason="REDIS_URL is not set or Redis is not reachable")


@pytest.fixture
def redis_buffer() -> Any:
    buffer = request_log.RedisBuffer(settings.REDIS_URL, f"test:reqlog:{uuid.uuid4().hex}", max_entries=10_000)
    yield buffer
    buffer.clear()


@pytest.mark.redis
@needs_redis
def test_redis_buffer_flushes_everything_once(redis_buffer: Any, org: Any) -> None:
    entries = [_entry(org) for _ in range(25)]
    for entry in entries:
        redis_buffer.push(entry)
    assert redis_buffer.flush(request_log.insert_entries, batch_size=10) == 25
    assert len(redis_buffer) == 0
    assert set(RequestLog.objects.values_list("request_id", flat=True)) == {e["request_id"] for e in entries}
    assert redis_buffer.client.zcard(redis_buffer.registry) == 0


@pytest.mark.redis
@needs_redis
def test_redis_batch_of_a_crashed_flusher_is_recovered_once(redis_buffer: Any, org: Any) -> None:
    entries = [_entry(org) for _ in range(4)]
    for entry in entries:
        redis_buffer.push(entry)

    def crash(batch: list[dict[str, Any]]) -> None:
        request_log.insert_entries(batch[:2])  # half inserted, then the process dies
        raise SystemExit

    with pytest.raises(SystemExit):
        redis_buffer.flush(crash, batch_size=10)
    assert len(redis_buffer) == 0 and redis_buffer.client.zcard(redis_buffer.registry) == 1
    # Not stale yet: left alone.
    assert redis_buffer.flush(request_log.insert_entries, batch_size=10) == 0
    # Stale: inserted again, the two already in the table are not duplicated.
    name = redis_buffer.client.zrange(redis_buffer.registry, 0, -1)[0]
    redis_buffer.client.zadd(redis_buffer.registry, {name: 0})
    assert redis_buffer.flush(request_log.insert_entries, batch_size=10) == 4
    assert RequestLog.objects.count() == 4
    assert redis_buffer.client.zcard(redis_buffer.registry) == 0


@pytest.mark.redis
@needs_redis
def test_concurrent_redis_claims_never_hand_out_an_entry_twice(redis_buffer: Any) -> None:
    pushed = [f"req_{i:05d}" for i in range(2000)]
    for request_id in pushed:
        redis_buffer.push({"request_id": request_id})
    claimed: list[str] = []
    lock = threading.Lock()

    def collect(batch: list[dict[str, Any]]) -> None:
        with lock:
            claimed.extend(e["request_id"] for e in batch)

    threads = [threading.Thread(target=redis_buffer.flush, args=(collect, 37)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == pushed


@pytest.mark.redis
@needs_redis
def test_api_requests_go_through_the_redis_list_when_configured(api: ApiClient, org: Any, settings: Any) -> None:
    settings.REQUEST_LOG_BUFFER = "redis"
    assert isinstance(request_log.buffer(), request_log.RedisBuffer)
    response = api.get("/keys")
    assert len(request_log.buffer()) == 1 and not RequestLog.objects.exists()
    assert _only(request_id=response["X-Request-Id"]).organization == org
