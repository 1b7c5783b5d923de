"""The GCRA limiter: exact under concurrency against the real Redis, same algorithm in-process."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings

from core.ratelimit import LocalLimiter, RedisLimiter, _decide
from tests.conftest import redis_available


def test_gcra_allows_a_full_burst_then_one_per_interval() -> None:
    period, limit = 60_000_000, 60
    tat, now = 0, 1_000_000_000
    allowed = 0
    for _ in range(100):
        decision, tat = _decide(tat, now, limit=limit, period_us=period, cost=1)
        allowed += decision.allowed
    assert allowed == 60
    assert decision.retry_after == pytest.approx(1.0)
    decision, tat = _decide(tat, now + 1_000_000, limit=limit, period_us=period, cost=1)
    assert decision.allowed and decision.remaining == 0


def test_remaining_counts_down_and_reset_is_when_full() -> None:
    limiter = LocalLimiter()
    first = limiter.hit("b", limit=10)
    second = limiter.hit("b", limit=10)
    assert (first.remaining, second.remaining) == (9, 8)
    assert second.reset_after == pytest.approx(12.0, abs=0.1)


def _hammer(limiter, bucket: str, limit: int, threads: int, per_thread: int) -> int:
    allowed = []
    lock = threading.Lock()

    def worker() -> None:
        mine = sum(limiter.hit(bucket, limit=limit, period=3600).allowed for _ in range(per_thread))
        with lock:
            allowed.append(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(allowed)


def test_local_limiter_is_exact_across_threads() -> None:
    assert _hammer(LocalLimiter(), "t", limit=50, threads=8, per_thread=40) == 50


@pytest.mark.redis
@pytest.mark.skipif(not redis_available(), reason="needs the real Redis server (set REDIS_URL)")
def test_redis_limiter_never_exceeds_the_limit_with_concurrent_clients() -> None:
    # Separate clients (connections) stand for separate web processes sharing one Redis.
    limiters = [RedisLimiter(settings.REDIS_URL) for _ in range(4)]
    limiters[0].reset()
    results = []
    threads = [
        threading.Thread(target=lambda lim=lim: results.append(_hammer(lim, "shared", 100, 4, 60))) for lim in limiters
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 100  # 960 attempts, exactly the limit allowed
