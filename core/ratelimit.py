"""GCRA rate limiting: one atomic Redis round trip when Redis is configured, in-process otherwise.

GCRA keeps a single "theoretical arrival time" (TAT) per bucket. A bucket of `limit` per `period`
lets `limit` requests through at once and then one every `period / limit`, never more: unlike
DRF's read-modify-write throttle, the Lua script makes check-and-update one atomic step, so many
web processes sharing Redis can never exceed the limit together.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

_US = 1_000_000

# One GCRA step on `bucket`, shared by the limiter's own script and the authentication script
# (fastcache), which admits a request in the same round trip that reads its key. Uses Redis' clock
# so every process agrees on "now". Returns allowed (1/0), remaining, retry_after_us, reset_us, now_us.
GCRA_LUA_FUNCTION = """
local function gcra(bucket, period, limit, cost)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local interval = math.floor(period / limit)
  local tat = tonumber(redis.call('GET', bucket))
  if tat == nil or tat < now then tat = now end
  local new_tat = tat + interval * cost
  if new_tat - now > period then
    return 0, 0, new_tat - now - period, tat - now, now
  end
  if cost > 0 then
    redis.call('SET', bucket, string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
  end
  return 1, math.floor((period - (new_tat - now)) / interval), 0, new_tat - now, now
end
"""

# KEYS[1] bucket, KEYS[2] optional counter hash; ARGV period_us, limit, cost, counter field. When the
# request is allowed and a counter is given, it is incremented in the same round trip (billing's
# API-request counter).
_GCRA_LUA = (
    GCRA_LUA_FUNCTION
    + """
local allowed, remaining, retry, reset, now = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
if allowed == 1 and KEYS[2] then redis.call('HINCRBY', KEYS[2], ARGV[4], 1) end
return {allowed, remaining, retry, reset, now}
"""
)

BUCKET_PREFIX = "rl:"
PERIOD_SECONDS = 60


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: float  # seconds until one more request would be allowed (0 when allowed)
    reset_after: float  # seconds until the bucket is full again
    now: float  # unix seconds, from the limiter's clock

    @property
    def reset_at(self) -> int:
        return math.ceil(self.now + self.reset_after)


def decision_from(reply: list[int], *, limit: int) -> Decision:
    """A Decision from the GCRA script's reply (allowed, remaining, retry_us, reset_us, now_us)."""
    allowed, remaining, retry_us, reset_us, now_us = reply[:5]
    return Decision(bool(allowed), limit, int(remaining), int(retry_us) / _US, int(reset_us) / _US, int(now_us) / _US)


def _decide(tat: int, now: int, *, limit: int, period_us: int, cost: int) -> tuple[Decision, int]:
    interval = period_us // limit
    tat = max(tat, now)
    new_tat = tat + interval * cost
    if new_tat - now > period_us:
        return Decision(False, limit, 0, (new_tat - now - period_us) / _US, (tat - now) / _US, now / _US), tat
    remaining = (period_us - (new_tat - now)) // interval
    return Decision(True, limit, remaining, 0.0, (new_tat - now) / _US, now / _US), new_tat


class LocalLimiter:
    """The same algorithm for a single process (no Redis): exact within the process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tats: dict[str, int] = {}

    def hit(
        self,
        bucket: str,
        *,
        limit: int,
        period: int = PERIOD_SECONDS,
        cost: int = 1,
        count_in: tuple[str, str] | None = None,
    ) -> Decision:
        if count_in is not None:
            raise ValueError("counting in the limiter needs Redis")
        now = time.time_ns() // 1000
        with self._lock:
            decision, tat = _decide(self._tats.get(bucket, now), now, limit=limit, period_us=period * _US, cost=cost)
            if cost:
                self._tats[bucket] = tat
            if len(self._tats) > 100_000:  # drop buckets that have fully refilled
                self._tats = {k: v for k, v in self._tats.items() if v > now}
        return decision

    def reset(self) -> None:
        with self._lock:
            self._tats.clear()


class RedisLimiter:
    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._script = self._client.register_script(_GCRA_LUA)

    def hit(
        self,
        bucket: str,
        *,
        limit: int,
        period: int = PERIOD_SECONDS,
        cost: int = 1,
        count_in: tuple[str, str] | None = None,
    ) -> Decision:
        """`count_in=(hash, field)`: HINCRBY that field when the hit is allowed, in the same round trip."""
        keys = [f"{BUCKET_PREFIX}{bucket}"]
        args: list[int | str] = [period * _US, limit, cost]
        if count_in is not None:
            keys.append(count_in[0])
            args.append(count_in[1])
        return decision_from(self._script(keys=keys, args=args), limit=limit)

    def reset(self) -> None:
        for key in self._client.scan_iter(f"{BUCKET_PREFIX}*"):
            self._client.delete(key)


@lru_cache(maxsize=1)
def limiter() -> LocalLimiter | RedisLimiter:
    return RedisLimiter(settings.REDIS_URL) if settings.REDIS_URL else LocalLimiter()
