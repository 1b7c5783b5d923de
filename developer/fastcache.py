"""The hot path's cache: key principals and gate state, shared by every process.

With Redis it talks to one long-lived client per process and pipelines what one request needs
(Django's RedisCache builds a client object per call, which costs more than the round trip).
Without Redis it falls back to Django's cache. Values are pickled dataclasses.
"""

from __future__ import annotations

import pickle
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

_PREFIX = "hot:"


@lru_cache(maxsize=1)
def _redis() -> Any:
    if not settings.REDIS_URL:
        return None
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def get(key: str) -> Any:
    client = _redis()
    if client is None:
        return cache.get(_PREFIX + key)
    raw = client.get(_PREFIX + key)
    return pickle.loads(raw) if raw is not None else None


def set(key: str, value: Any, timeout: int) -> None:  # noqa: A001 - mirrors the cache API
    client = _redis()
    if client is None:
        cache.set(_PREFIX + key, value, timeout)
    else:
        client.set(_PREFIX + key, pickle.dumps(value, pickle.HIGHEST_PROTOCOL), ex=timeout)


def get_and_claim(key: str, claim: str, claim_timeout: int) -> tuple[Any, bool]:
    """Read `key` and try to claim the flag `claim` for `claim_timeout` s, in one round trip.

    Returns (value, claimed). Used to read the gate state and take the once-a-minute right to
    write a key's last-used time together.
    """
    client = _redis()
    if client is None:
        return cache.get(_PREFIX + key), cache.add(_PREFIX + claim, 1, claim_timeout)
    pipe = client.pipeline(transaction=False)
    pipe.get(_PREFIX + key)
    pipe.set(_PREFIX + claim, 1, ex=claim_timeout, nx=True)
    raw, claimed = pipe.execute()
    return (pickle.loads(raw) if raw is not None else None), bool(claimed)


def forget(key: str) -> None:
    """Drop `key` now and again after the surrounding transaction commits, so no reader re-caches old rows."""

    def delete() -> None:
        client = _redis()
        if client is None:
            cache.delete(_PREFIX + key)
        else:
            client.delete(_PREFIX + key)

    delete()
    transaction.on_commit(delete)
