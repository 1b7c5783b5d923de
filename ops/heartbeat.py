"""Worker and beat heartbeats, in the shared cache: the staff page and `/metrics` read when each last spoke.

A Celery worker beats on its own heartbeat signal (every 2 s, written at most every HEARTBEAT_EVERY);
beat proves itself alive through the `ops.beat_heartbeat` task it schedules (which also proves a
worker takes tasks). Keys expire after a day, so a worker gone for good drops off the list.
"""

from __future__ import annotations

import time

from django.core.cache import cache

HEARTBEAT_EVERY = 10.0
HEARTBEAT_TTL = 24 * 3600
BEAT = "beat"
_INDEX = "ops:heartbeats"
_PREFIX = "ops:heartbeat:"
LAST_FLUSH_KEY = "ops:last-metering-flush"

_last_written: dict[str, float] = {}


def beat(name: str, *, now: float | None = None, force: bool = False) -> None:
    """Record that `name` (a worker's hostname, or "beat") is alive. Cheap to call often."""
    now = time.time() if now is None else now
    if not force and now - _last_written.get(name, 0) < HEARTBEAT_EVERY:
        return
    _last_written[name] = now
    cache.set(_PREFIX + name, now, HEARTBEAT_TTL)
    names = cache.get(_INDEX) or []
    if name not in names:
        # Read-modify-write: two new workers at once may race, but each re-adds itself on its next beat.
        cache.set(_INDEX, sorted({*names, name}), HEARTBEAT_TTL)


def heartbeats() -> dict[str, float]:
    """Each known worker's (and beat's) last heartbeat, as Unix time."""
    names = cache.get(_INDEX) or []
    found = cache.get_many([_PREFIX + name for name in names])
    return {name: found[_PREFIX + name] for name in names if _PREFIX + name in found}


def forget_throttle() -> None:
    """Tests: let the next beat write at once."""
    _last_written.clear()


def record_flush(*, now: float | None = None) -> None:
    cache.set(LAST_FLUSH_KEY, time.time() if now is None else now, None)


def last_flush() -> float | None:
    value = cache.get(LAST_FLUSH_KEY)
    return float(value) if value is not None else None
