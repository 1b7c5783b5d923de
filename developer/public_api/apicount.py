"""API-request counters: what the request path touches instead of the database.

With Redis, each counted request is one HINCRBY on a single hash (field = hour, organisation,
key, mode). A flush claims the whole hash with an atomic RENAME to a "flushing" key tagged with a
batch id, applies it to the rollups in one transaction that also records the batch id, and only
then deletes the flushing key. A flush killed at any point is simply run again: an unapplied batch
is re-read from the flushing key, an applied one is recognised by its id and just deleted, so the
totals are exact either way.

Without Redis (the embedded default) each process buffers its counts in memory and flushes them
itself every few seconds or every thousand requests, and once more when the process exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any, cast

from django.conf import settings

from billing.metering import apply_api_counts
from billing.quota import encode_counter_field

from .principal import KeyPrincipal

logger = logging.getLogger(__name__)

# The apply function, called as apply(batch_id=..., counts={field: count}, source=...); it returns
# whether this call applied the batch (False: that batch id was applied before).
Apply = Callable[..., bool]

_PENDING = "metering:api:pending"
_FLUSHING = "metering:api:flushing"
_FLUSHING_ID = "metering:api:flushing:id"

# KEYS pending, flushing, flushing id; ARGV new batch id. Returns the batch id to apply, or nil.
# A batch left by a crashed flush is returned again (same id) before any new one is claimed.
_CLAIM_LUA = """
local current = redis.call('GET', KEYS[3])
if current and redis.call('EXISTS', KEYS[2]) == 1 then return current end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[3])
  return false
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('SET', KEYS[3], ARGV[1])
return ARGV[1]
"""

# KEYS flushing, flushing id, pending; ARGV batch id, oldest epoch hour to carry. Deletes the batch only
# if it is still the one applied. A negative field (a request given back after a flush had already
# claimed its count) is carried into the pending hash, to net out against the same key's next requests of
# that hour; past the carry window it is dropped.
_RELEASE_LUA = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    local value = tonumber(fields[i + 1])
    local hour = tonumber(string.match(fields[i], '^(%d+):'))
    if value < 0 and hour and hour >= tonumber(ARGV[2]) then
      redis.call('HINCRBY', KEYS[3], fields[i], value)
    end
  end
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
"""

# Hours a given-back count is carried, waiting for a request of the same key and hour to net against.
_CARRY_HOURS = 2


class RedisApiCounter:
    pending_key = _PENDING

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._claim = self._client.register_script(_CLAIM_LUA)
        self._release = self._client.register_script(_RELEASE_LUA)

    def incr(self, field: str) -> None:
        self._client.hincrby(_PENDING, field, 1)

    def claim(self) -> tuple[str, dict[str, int]] | None:
        """Move the pending counts aside (or pick up a crashed flush's batch); None when there is nothing."""
        batch_id = self._claim(keys=[_PENDING, _FLUSHING, _FLUSHING_ID], args=[f"redis-{uuid.uuid4().hex}"])
        if batch_id is None:
            return None
        # redis-py types replies as `Awaitable[T] | T` for both clients; this one is synchronous.
        flushing = cast("dict[bytes, bytes]", self._client.hgetall(_FLUSHING))
        counts = {field.decode(): int(value) for field, value in flushing.items()}
        return batch_id.decode(), counts

    def release(self, batch_id: str) -> None:
        oldest = int(time.time()) // 3600 - _CARRY_HOURS
        self._release(keys=[_FLUSHING, _FLUSHING_ID, _PENDING], args=[batch_id, oldest])

    def uncount(self, field: str) -> None:
        """Give back one request the limiter's round trip counted (its answer was not billable)."""
        self._client.hincrby(_PENDING, field, -1)

    def flush(self, apply: Apply) -> int:
        """Apply what is pending; returns the number of requests applied by this call."""
        applied = 0
        # Twice at most: first a batch a crashed flush left behind, then the current pending counts.
        for _ in range(2):
            claimed = self.claim()
            if claimed is None:
                break
            batch_id, counts = claimed
            if apply(batch_id=batch_id, counts=counts, source="redis"):
                applied += sum(counts.values())
            self.release(batch_id)
        return applied

    def pending(self) -> dict[str, int]:
        """Counts not yet in the rollups (pending and mid-flush), for reports that want them."""
        merged: dict[str, int] = {}
        for key in (_PENDING, _FLUSHING):
            for field, value in cast("dict[bytes, bytes]", self._client.hgetall(key)).items():
                merged[field.decode()] = merged.get(field.decode(), 0) + int(value)
        return merged

    def reset(self) -> None:
        self._client.delete(_PENDING, _FLUSHING, _FLUSHING_ID)


class LocalApiCounter:
    """One process's buffer, flushed by the process itself: by a timer thread every `max_age` seconds
    (0 turns the thread off, as in tests), inline when `max_size` requests are waiting, and at exit."""

    def __init__(self, *, max_age: float, max_size: int, apply: Apply | None = None) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._size = 0
        self._timer_pid: int | None = None
        self.max_age = max_age
        self.max_size = max_size
        self.apply = apply

    def incr(self, field: str) -> None:
        with self._lock:
            self._counts[field] = self._counts.get(field, 0) + 1
            self._size += 1
            full = self._size >= self.max_size
        if self.apply is None:
            return
        self._ensure_timer()
        if full:
            self.flush(self.apply)

    def _ensure_timer(self) -> None:
        # A forked worker inherits `_timer_pid` from its parent but not the thread: one per process.
        if self.max_age <= 0 or self._timer_pid == os.getpid():
            return
        with self._lock:
            if self._timer_pid == os.getpid():
                return
            self._timer_pid = os.getpid()
        threading.Thread(target=self._run_timer, name="api-usage-flusher", daemon=True).start()

    def _run_timer(self) -> None:
        from django.db import close_old_connections

        while True:
            time.sleep(self.max_age)
            try:
                if self.apply is not None:  # the timer starts only with an apply; see incr
                    self.flush(self.apply)
            except Exception:
                logger.exception("Flushing buffered API-request counts failed; they stay buffered and are retried.")
            finally:
                close_old_connections()

    def _take(self) -> dict[str, int]:
        with self._lock:
            counts, self._counts, self._size = self._counts, {}, 0
        return counts

    def _put_back(self, counts: dict[str, int]) -> None:
        with self._lock:
            for field, value in counts.items():
                self._counts[field] = self._counts.get(field, 0) + value
                self._size += value

    def flush(self, apply: Apply) -> int:
        counts = self._take()
        if not counts:
            return 0
        try:
            apply(batch_id=f"local-{uuid.uuid4().hex}", counts=counts, source="local")
        except Exception:
            # Keep the counts for the next flush rather than lose billable requests.
            self._put_back(counts)
            raise
        return sum(counts.values())

    def pending(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        self._take()


@lru_cache(maxsize=1)
def api_counter() -> RedisApiCounter | LocalApiCounter:
    if settings.REDIS_URL:
        return RedisApiCounter(settings.REDIS_URL)
    counter = LocalApiCounter(
        max_age=settings.METERING_LOCAL_FLUSH_SECONDS,
        max_size=settings.METERING_LOCAL_FLUSH_SIZE,
        apply=apply_api_counts,
    )
    atexit.register(_flush_at_exit, counter)
    return counter


def _flush_at_exit(counter: LocalApiCounter) -> None:
    try:
        if counter.apply is not None:
            counter.flush(counter.apply)
    except Exception:
        logger.exception("Could not flush buffered API-request counts at exit")


# --- what the request path calls ----------------------------------------------------------------


def billable_status(status_code: int) -> bool:
    """Which answers are billed: those below 400. Client errors (400 validation, 404 for an unknown id or
    an unknown route, 405, 409, 413, …) and refusals (401, 402, 403, 429) are not, as most providers
    bill; neither are our own failures (5xx)."""
    return status_code < 400


def count_api_request(request: Any, response: Any) -> None:
    """Count one public-API request for billing: a Redis HINCRBY (or an in-memory add), no database write.

    Only requests authenticated with a key and answered below 400 count (`billable_status`). With Redis,
    the rate limiter's round trip counted the request before its answer was known; an answer that is
    not billable gives that count back with a compensating decrement. Counting never fails a request:
    a broken counter is logged instead.
    """
    if not settings.METERING_ENABLED:
        return
    # `_auth` rather than `auth`: reading `auth` on an unauthenticated request would authenticate again.
    principal = getattr(request, "_auth", None)
    if not isinstance(principal, KeyPrincipal):
        return
    billable = billable_status(response.status_code)
    try:
        if getattr(request._request, "api_request_counted", False):
            # Already counted by the rate limiter's Redis round trip.
            field = getattr(request._request, "api_request_counted_field", None)
            counter = api_counter()
            if not billable and field and isinstance(counter, RedisApiCounter):
                counter.uncount(field)
            return
        if not billable:
            return
        field = encode_counter_field(
            epoch_hour=int(time.time()) // 3600,
            organization_id=principal.organization_id,
            api_key_id=principal.id,
            mode=principal.mode,
        )
        api_counter().incr(field)
    except Exception:
        logger.exception("Could not count an API request for key %s", principal.public_id)


def api_request_counter(principal: Any) -> tuple[str, str] | None:
    """(Redis hash, field) the rate limiter may increment for this request, or None to count at the end.

    Saves the request path a Redis round trip: the limiter's script increments the counter when it
    allows the request. Without Redis (or with metering off) requests are counted by `count_api_request`.
    """
    if not settings.METERING_ENABLED or not settings.REDIS_URL:
        return None
    counter = api_counter()
    if not isinstance(counter, RedisApiCounter):
        return None
    field = encode_counter_field(
        epoch_hour=int(time.time()) // 3600,
        organization_id=principal.organization_id,
        api_key_id=principal.id,
        mode=principal.mode,
    )
    return counter.pending_key, field


def api_request_counter_hash() -> tuple[str, int] | None:
    """(Redis hash, epoch hour) under which the key's round trip may count this request itself; the
    field is `encode_counter_field(epoch_hour, organization, key, mode)`. None when not counting in Redis."""
    if not settings.METERING_ENABLED or not settings.REDIS_URL:
        return None
    counter = api_counter()
    if not isinstance(counter, RedisApiCounter):
        return None
    return counter.pending_key, int(time.time()) // 3600


def flush_api_usage() -> int:
    """Move counted API requests into the rollups and charge completed blocks; returns requests applied."""
    return api_counter().flush(apply_api_counts)
